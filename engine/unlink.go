package engine

import (
	"github.com/idgraph/idgraph/engine/internal/graph"
	"github.com/idgraph/idgraph/engine/internal/store"
	"github.com/idgraph/idgraph/engine/internal/writer"
)

// unlinkOp removes the pair a–b from every link record: a set holding both
// becomes two sets, one without each (the one keeping the higher-priority
// identifier first); sets left with fewer than two identifiers link
// nothing and go. Then the touched component is replayed.
type unlinkOp struct {
	db   *DB
	a, b string
	now  int64
}

type unlinkPlan struct {
	op    *unlinkOp
	nodes [2]uint32
}

func (o *unlinkOp) Plan(r writer.Reader) (writer.Plan, error) {
	o.db.stamp(r, o.now)
	tt := o.db.local(r).types
	var ids [2]graph.ID
	p := &unlinkPlan{op: o}
	for i, raw := range []string{o.a, o.b} {
		id, _, blocked, err := tt.ParseID(raw, o.db.bl)
		if err != nil {
			return nil, err
		}
		if blocked {
			return nil, graph.Errorf(graph.BadID, raw, "%q is a blocked value", graph.Clip(raw))
		}
		ids[i] = id
	}
	if ids[0] == ids[1] {
		return nil, invalid(o.b, "cannot unlink %s from itself", ids[0])
	}
	for i, id := range ids {
		n, _, err := r.Ident(id.Type, id.Value)
		if err == store.ErrNotFound {
			return nil, notFound([]string{o.a, o.b}[i], "%s is not known", graph.Clip(id.String()))
		}
		if err != nil {
			return nil, err
		}
		p.nodes[i] = n
	}
	return p, nil
}

func (p *unlinkPlan) Apply(tx *writer.Tx) (any, error) {
	a := p.op.db.applier(tx)
	na, nb := p.nodes[0], p.nodes[1]
	res := Result{}
	for _, rec := range a.linkedRecords(na) {
		if !rec.Holds(nb) {
			continue
		}
		var sets [][]uint32
		for _, set := range rec.Sets {
			i, j := indexOf(set, na), indexOf(set, nb)
			if i < 0 || j < 0 {
				sets = append(sets, set)
				continue
			}
			if j < i {
				i, j = j, i
			}
			for _, part := range [][]uint32{without(set, set[j]), without(set, set[i])} {
				if len(part) >= 2 {
					sets = append(sets, part)
				}
			}
		}
		res.Removed++
		a.rewriteSets(rec, sets)
	}
	if res.Removed > 0 {
		a.nextSeq()
		a.reresolve([]uint32{na, nb}, p.op.now)
	}
	res.Profiles = []uint32{a.node(na).Profile, a.node(nb).Profile}
	res.Profile = res.Profiles[0]
	return res, a.err
}

// rewriteSets stores a record's new link sets (their decisions are set by
// the replay that follows) and drops the partner entries of nodes it no
// longer links.
func (a *applier) rewriteSets(rec *store.Record, sets [][]uint32) {
	before := nodesOf(rec.Sets)
	rec.Sets = sets
	rec.Rules = make([][]string, len(sets))
	for i, set := range sets {
		rec.Rules[i] = make([]string, len(set))
	}
	if len(sets) == 0 {
		rec.Sets, rec.Rules = nil, nil
	}
	a.tx.PutRecord(rec)
	after := nodesOf(rec.Sets)
	gone := map[uint32]bool{}
	for n := range before {
		if !after[n] {
			gone[n] = true
		}
	}
	a.fixPartners(rec.Anchor, gone)
}

func nodesOf(sets [][]uint32) map[uint32]bool {
	m := map[uint32]bool{}
	for _, set := range sets {
		for _, n := range set {
			m[n] = true
		}
	}
	return m
}

func indexOf(s []uint32, v uint32) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

func without(s []uint32, v uint32) []uint32 {
	out := make([]uint32, 0, len(s))
	for _, x := range s {
		if x != v {
			out = append(out, x)
		}
	}
	return out
}
