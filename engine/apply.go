package engine

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"sort"

	"github.com/idgraph/idgraph/engine/internal/graph"
	"github.com/idgraph/idgraph/engine/internal/store"
	"github.com/idgraph/idgraph/engine/internal/writer"
	"github.com/idgraph/idgraph/index"
)

// txLocal is the engine's state for one transaction (writer.Tx.Local): it
// is dropped with the transaction, so nothing derived from uncommitted
// writes outlives them.
type txLocal struct {
	types     *graph.Types    // the types table, with types declared in this transaction
	meta      *store.Meta     // the counters, loaded on first use
	metaDirty bool            // meta changed since the last EndOp
	touched   map[uint32]bool // profiles whose attributes the current operation changed

	// The change feed (changes.go).
	changes      []Change        // entries the operations recorded
	now          int64           // the latest time of an operation
	tick         bool            // evaluate saved segments at the clock
	defsChanged  bool            // saved segments or computed traits changed
	redefined    map[string]bool // saved segments (re)defined
	allRedefined bool            // computed traits changed: every segment may mean something else
}

// local returns the engine's state for the transaction r reads.
func (db *DB) local(r writer.Reader) *txLocal {
	p := r.Local()
	if l, ok := (*p).(*txLocal); ok {
		return l
	}
	l := &txLocal{types: db.types.Load(), touched: map[uint32]bool{}}
	*p = l
	return l
}

// endOp runs after every applied operation: the index learns the new
// attributes of the profiles it touched, and changed counters are put.
func (db *DB) endOp(tx *writer.Tx) {
	l := db.local(tx)
	if l.metaDirty {
		tx.PutMeta(*l.meta)
		l.metaDirty = false
	}
	if len(l.touched) == 0 {
		return
	}
	ps := make([]uint32, 0, len(l.touched))
	for p := range l.touched {
		ps = append(ps, p)
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i] < ps[j] })
	for _, p := range ps {
		pr, err := tx.Profile(p)
		if err != nil || pr.Into != 0 {
			continue
		}
		tx.Index(index.Delta{Kind: index.DeltaSetAttrs, P: p, Attrs: attrsOf(pr)})
	}
	clear(l.touched)
}

// attrsOf is what the index knows of a live profile: its identifier types,
// traits, consent and tags.
func attrsOf(pr *store.Profile) index.Attrs {
	a := index.Attrs{Traits: pr.TraitValues(), Consent: pr.Granted(), Tags: pr.TagList()}
	for _, tc := range pr.Counts {
		a.Types = append(a.Types, tc.Type) // sorted, as Counts are
	}
	return a
}

// applier is one operation's work in a transaction.
type applier struct {
	db    *DB
	tx    *writer.Tx
	l     *txLocal
	types *graph.Types
	fresh map[uint32]bool // nodes this operation created
	born  map[uint32]bool // profiles this operation created
	moved []Moved
	err   error // the first storage error; the operation fails with it
}

func (db *DB) applier(tx *writer.Tx) *applier {
	l := db.local(tx)
	return &applier{db: db, tx: tx, l: l, types: l.types, fresh: map[uint32]bool{}, born: map[uint32]bool{}}
}

// fail records a storage error (sticky).
func (a *applier) fail(err error) {
	if a.err == nil && err != nil {
		a.err = err
	}
}

func (a *applier) meta() *store.Meta {
	if a.l.meta == nil {
		m, err := a.tx.Meta()
		a.fail(err)
		a.l.meta = &m
	}
	return a.l.meta
}

func (a *applier) nextSeq() uint64 {
	m := a.meta()
	m.Seq++
	a.l.metaDirty = true
	return m.Seq
}

func (a *applier) node(n uint32) *store.Node {
	rec, err := a.tx.Node(n)
	if err != nil {
		a.fail(fmt.Errorf("node %d: %w", n, err))
		return &store.Node{}
	}
	return rec
}

func (a *applier) profile(p uint32) *store.Profile {
	pr, err := a.tx.Profile(p)
	if err != nil {
		a.fail(fmt.Errorf("profile %d: %w", p, err))
		return &store.Profile{}
	}
	return pr
}

// touch marks p's attributes (types, traits, consent, tags) changed.
func (a *applier) touch(p uint32) { a.l.touched[p] = true }

// newNode allocates a node for a new identifier (no profile yet).
func (a *applier) newNode(id graph.ID) uint32 {
	m := a.meta()
	m.Node++
	a.l.metaDirty = true
	n := m.Node
	a.tx.PutNode(n, &store.Node{Type: id.Type, Value: id.Value})
	a.fresh[n] = true
	return n
}

// newProfile allocates an empty profile created at now.
func (a *applier) newProfile(now int64) (uint32, *store.Profile) {
	m := a.meta()
	m.Profile++
	a.l.metaDirty = true
	p := m.Profile
	pr := &store.Profile{Created: now}
	a.tx.PutProfile(p, pr)
	a.born[p] = true
	a.touch(p)
	return p, pr
}

// live follows forwarding pointers from p to the profile that holds its
// members now; 0 when there is none (forgotten or never existed). Each
// pointer leads to a strictly older profile, so the walk ends.
func live(r store.Reader, p uint32) (uint32, error) {
	for p != 0 {
		pr, err := r.Profile(p)
		if errors.Is(err, store.ErrNotFound) {
			return 0, nil
		}
		if err != nil {
			return 0, err
		}
		if pr.Into == 0 {
			return p, nil
		}
		if pr.Into >= p {
			return 0, fmt.Errorf("%w: profile %d forwards to %d, which is not older", store.ErrCorrupt, p, pr.Into)
		}
		p = pr.Into
	}
	return 0, nil
}

// nodeEvents returns the events anchored on n, as the index knows them,
// and their span.
func (a *applier) nodeEvents(n uint32) ([]index.Event, graph.Span) {
	var out []index.Event
	var sp graph.Span
	for rec, err := range a.tx.Records(n, store.Range{EventsOnly: true}) {
		if err != nil {
			a.fail(err)
			return nil, graph.Span{}
		}
		out = append(out, index.Event{Name: rec.Name, Source: rec.Source, Time: rec.Time, Props: rec.Props})
		sp.AddTime(rec.Time)
	}
	return out, sp
}

// suppressHash is the salted hash kept for an identifier forgotten with
// SUPPRESS.
func (db *DB) suppressHash(id graph.ID) [32]byte {
	h := sha256.New()
	h.Write(db.salt)
	h.Write([]byte(id.Type))
	h.Write([]byte{0})
	h.Write([]byte(id.Value))
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out
}
