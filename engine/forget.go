package engine

import (
	"fmt"
	"slices"
	"strings"

	"github.com/idgraph/idgraph/engine/internal/graph"
	"github.com/idgraph/idgraph/engine/internal/store"
	"github.com/idgraph/idgraph/engine/internal/writer"
	"github.com/idgraph/idgraph/index"
)

// forgetOp erases a whole profile (SPEC.md §5): its identifiers, the records
// anchored on them (an erased event takes its links with it), the erased
// identifiers from every other record, what was said of them, and its
// index bits; what remains of its neighbourhood is re-resolved.
type forgetOp struct {
	db       *DB
	id       string
	suppress bool
	now      int64
}

type forgetPlan struct {
	op *forgetOp
	p  uint32
}

// forgetInlineRecords is the most records FORGET deletes inside its own
// transaction; a larger profile's records are purged after it, in chunks.
const forgetInlineRecords = 20000

// purgeChunk is how many records one purge transaction deletes.
const purgeChunk = 10000

func (o *forgetOp) Plan(r writer.Reader) (writer.Plan, error) {
	o.db.stamp(r, o.now)
	var p uint32
	if strings.HasPrefix(o.id, ProfileType+":") {
		id, err := parseProfileID(o.id)
		if err != nil {
			return nil, err
		}
		if p, err = live(r, id); err != nil {
			return nil, err
		}
	} else {
		id, _, blocked, err := o.db.local(r).types.ParseID(o.id, o.db.bl)
		if err != nil {
			return nil, err
		}
		if !blocked {
			_, p, err = r.Ident(id.Type, id.Value)
			if err != nil && err != store.ErrNotFound {
				return nil, err
			}
		}
	}
	if p == 0 {
		return nil, notFound(o.id, "%s is not known", graph.Clip(o.id))
	}
	return &forgetPlan{op: o, p: p}, nil
}

func (fp *forgetPlan) Apply(tx *writer.Tx) (any, error) {
	a := fp.op.db.applier(tx)
	p := fp.p
	pr := a.profile(p)
	res := Result{Profile: p, Removed: len(pr.Members)}
	gone := map[uint32]bool{}
	for _, m := range pr.Members {
		gone[m.Node] = true
	}
	a.nextSeq()
	deferRecords := pr.Events > forgetInlineRecords
	var hashes [][32]byte
	var erased []index.Event
	neighbours := map[uint32]bool{}
	meta := a.meta()
	for _, m := range pr.Members {
		n := m.Node
		// Records anchored on n: events are erased, with the links they
		// made; a MERGE keeps linking what remains of it, under a new anchor.
		for rec, err := range a.tx.Records(n, store.Range{}) {
			if err != nil {
				a.fail(err)
				return nil, a.err
			}
			for x := range nodesOf(rec.Sets) {
				if !gone[x] {
					neighbours[x] = true
					a.tx.DeletePartner(x, n)
				}
			}
			if !rec.Event {
				a.reanchor(rec, gone)
				continue
			}
			res.Events++
			erased = append(erased, index.Event{Name: rec.Name, Source: rec.Source, Time: rec.Time, Props: rec.Props})
			if !deferRecords {
				a.tx.DeleteRecord(rec.RecordKey)
			}
		}
		if deferRecords {
			// Too many to delete in this transaction: the node is listed
			// for purging, which the writer does in the next commits (and
			// finishes after a crash). Until then the records are
			// unreachable: their anchor is gone, and so are the partner
			// entries that led to them.
			meta.Purge = append(meta.Purge, n)
			a.l.metaDirty = true
		}
		// Records anchored elsewhere that hold n: n leaves them.
		partners, err := a.tx.Partners(n)
		a.fail(err)
		for _, anchor := range partners {
			a.tx.DeletePartner(n, anchor)
			if gone[anchor] {
				continue // erased above with its anchor
			}
			for rec, err := range a.tx.Records(anchor, store.Range{LinkedOnly: true}) {
				if err != nil {
					a.fail(err)
					return nil, a.err
				}
				if !rec.Holds(n) {
					continue
				}
				neighbours[anchor] = true
				var sets [][]uint32
				for _, set := range rec.Sets {
					kept := slices.DeleteFunc(slices.Clone(set), func(x uint32) bool { return gone[x] })
					for _, x := range kept {
						neighbours[x] = true
					}
					if len(kept) >= 2 {
						sets = append(sets, kept)
					}
				}
				rec.IDs = slices.DeleteFunc(rec.IDs, func(x uint32) bool { return gone[x] })
				a.rewriteSets(rec, sets)
			}
		}
		rec := a.node(n)
		a.tx.PutFacts(n, graph.Facts{})
		h := fp.op.db.suppressHash(graph.ID{Type: rec.Type, Value: rec.Value})
		hashes = append(hashes, h)
		if fp.op.suppress {
			a.tx.Suppress(h)
		}
		a.tx.DeleteNode(n)
	}
	a.tx.DeleteProfile(p)
	delete(a.l.touched, p)
	a.change(Change{Kind: ChangeForgotten, Profile: p})
	if len(erased) > 0 {
		a.tx.Index(index.Delta{Kind: index.DeltaRemove, P: p, Events: erased})
	}
	a.tx.Index(index.Delta{Kind: index.DeltaDrop, P: p})
	meta.Erase = true
	meta.EraseSeq = meta.Seq
	a.l.metaDirty = true
	a.journal(meta.Seq, fp.op.now, fp.op.suppress, hashes)
	tx.PutNamed(store.NamedFlush, "erase", nil)
	db := fp.op.db
	tx.After(func(uint64) {
		db.scheduleErasure()
		if err := db.syncJournal(); err != nil {
			db.logError(fmt.Errorf("erasure journal: %w", err))
		}
	})
	var start []uint32
	for n := range neighbours {
		if !gone[n] {
			start = append(start, n)
		}
	}
	slices.Sort(start)
	if len(start) > 0 {
		a.reresolve(start, fp.op.now)
	}
	return res, a.err
}

// reanchor keeps what remains of a MERGE whose anchor is erased: its sets
// without the erased identifiers, under the first identifier left. A MERGE
// left with nothing to link goes.
func (a *applier) reanchor(rec *store.Record, gone map[uint32]bool) {
	a.tx.DeleteRecord(rec.RecordKey)
	var sets [][]uint32
	for _, set := range rec.Sets {
		if kept := slices.DeleteFunc(slices.Clone(set), func(x uint32) bool { return gone[x] }); len(kept) >= 2 {
			sets = append(sets, kept)
		}
	}
	if len(sets) == 0 {
		return
	}
	rec.Anchor = sets[0][0]
	rec.Sets = sets
	rec.Rules = make([][]string, len(sets))
	for i, set := range sets {
		rec.Rules[i] = make([]string, len(set))
	}
	rec.IDs = slices.DeleteFunc(rec.IDs, func(x uint32) bool { return gone[x] })
	a.tx.PutRecord(rec)
	for n := range nodesOf(sets) {
		if n != rec.Anchor {
			a.tx.AddPartner(n, rec.Anchor)
		}
	}
}

// purgeOp deletes, in one commit, up to purgeChunk records anchored on the
// first node a FORGET listed for purging, and takes the node off the list
// when none is left.
type purgeOp struct{}

type purgePlan struct {
	node uint32
	keys []store.RecordKey
}

// pendingPurge returns the purge to run next, or nil.
func (db *DB) pendingPurge(r store.Reader) writer.Op {
	m, err := r.Meta()
	if err != nil || len(m.Purge) == 0 {
		return nil
	}
	return purgeOp{}
}

func (purgeOp) Plan(r writer.Reader) (writer.Plan, error) {
	m, err := r.Meta()
	if err != nil || len(m.Purge) == 0 {
		return nil, err
	}
	p := &purgePlan{node: m.Purge[0]}
	for rec, err := range r.Records(p.node, store.Range{KeysOnly: true}) {
		if err != nil {
			return nil, err
		}
		p.keys = append(p.keys, rec.RecordKey)
		if len(p.keys) == purgeChunk {
			break
		}
	}
	return p, nil
}

func (p *purgePlan) Apply(tx *writer.Tx) (any, error) {
	for _, k := range p.keys {
		tx.DeleteRecord(k)
	}
	if len(p.keys) < purgeChunk {
		m, err := tx.Meta()
		if err != nil {
			return nil, err
		}
		m.Purge = slices.DeleteFunc(m.Purge, func(n uint32) bool { return n == p.node })
		tx.PutMeta(m)
	}
	return Result{}, nil
}
