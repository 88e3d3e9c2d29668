package query

import (
	"context"
	"math"
	"sync"
	"sync/atomic"

	"github.com/idgraph/idgraph/engine"
	"github.com/idgraph/idgraph/index"
)

// Computed traits' values in WHO are computed from the profile's index
// entries (AggregatesReach) and then kept, per profile, for as long as
// they provably hold: until one of the profile's events changes (an
// event, a merge, a move, a split, a forget: index.View.Unchanged), the
// definitions change, or the clock reaches the first moment at which a
// window would lose an event it counts or take in one it does not yet
// (Window.changesAt). A kept value is therefore always the value a fresh
// computation would give, to the millisecond; asking WHO of the same
// profile again costs a map lookup instead of a scan of its entries.

// computedSet is the computed traits of one version of their definitions,
// parsed, in name order.
type computedSet struct {
	db      *engine.DB
	version uint64
	byName  map[string]*Aggregate // nil when none is defined; shared, never changed
	names   []string
	aggs    []*Aggregate
}

// lastSet is the set computedSetOf made last (one slot: a process almost
// always has one database).
var lastSet atomic.Pointer[computedSet]

// computedSetOf returns the computed traits defined now, parsed. A
// definition that no longer parses (it cannot happen through COMPUTE) is
// left out.
func computedSetOf(db *engine.DB) *computedSet {
	defs, version := db.ComputedDefs()
	if s := lastSet.Load(); s != nil && s.db == db && s.version == version {
		return s
	}
	s := &computedSet{db: db, version: version}
	if len(defs) > 0 {
		s.byName = make(map[string]*Aggregate, len(defs))
		for name, text := range defs {
			if a, err := parsedAggregate(text); err == nil {
				s.byName[name] = a
			}
		}
		s.names = sortedKeys(s.byName)
		for _, n := range s.names {
			s.aggs = append(s.aggs, s.byName[n])
		}
	}
	lastSet.Store(s)
	return s
}

// pairs are values for WHO: numbers as doubles, FIRST and LAST of text as
// strings; a trait without a value (no such event) is left out.
func (s *computedSet) pairs(vals []index.AggValue) []Pair {
	out := make([]Pair, 0, len(vals))
	for i, v := range vals {
		switch {
		case !v.Set:
		case v.IsNum:
			out = append(out, Pair{s.names[i], Double(v.Num)})
		default:
			out = append(out, Pair{s.names[i], String(v.Str)})
		}
	}
	return out
}

// changesAt returns the first time (Unix ms) at which an aggregate over w
// could count other events than it counts at the moment its value had
// reach r: when its earliest counted event leaves a window that moves
// with the clock, or when the earliest event after the window's end comes
// into it. math.MaxInt64 means never.
func (w Window) changesAt(r index.Reach) int64 {
	at := int64(math.MaxInt64)
	if r.Oldest != math.MaxInt64 {
		switch w.Kind {
		case WindowWithin: // from = first ms of day(now) - (Days-1)
			at = (floorDiv(r.Oldest, dayMs) + int64(w.Days)) * dayMs
		case WindowHours: // from = now - Hours
			at = r.Oldest + int64(w.Hours)*hourMs + 1
		}
	}
	if r.Next != math.MaxInt64 && (w.Kind != WindowBetween || r.Next <= w.To.UnixMilli()) {
		at = min(at, r.Next) // to = now (BETWEEN: up to its end)
	}
	return at
}

// keptValues are computed values kept per profile, for one set of
// definitions and one index.
type keptValues struct {
	mu  sync.Mutex
	set *computedSet
	ix  *index.Index
	m   map[uint32]keptEntry
}

type keptEntry struct {
	version     uint64 // the index version they were computed at
	from, until int64  // they hold for now in [from, until) (Unix ms)
	vals        []index.AggValue
}

// maxKept bounds the profiles whose values are kept (each about 240
// bytes with five traits: 60 MB at most); past it a tenth of them, any, is
// dropped.
const maxKept = 1 << 18

// current reports whether the kept values are of set and ix (else the
// next put starts afresh). The caller holds mu.
func (k *keptValues) current(set *computedSet, ix *index.Index) bool {
	return k.set == set && k.ix == ix && k.m != nil
}

func (k *keptValues) get(set *computedSet, v *index.View, p uint32, now int64) (vals []index.AggValue, until int64, ok bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.current(set, v.Index()) {
		return nil, 0, false
	}
	e, ok := k.m[p]
	if !ok || now < e.from || now >= e.until || !v.Unchanged(p, e.version) {
		return nil, 0, false
	}
	return e.vals, e.until, true
}

// room reports whether more profiles can be kept for set on ix without
// dropping any (values kept for other definitions or another index do not
// count: the next put drops them).
func (k *keptValues) room(set *computedSet, ix *index.Index) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return !k.current(set, ix) || len(k.m) < maxKept
}

func (k *keptValues) put(set *computedSet, v *index.View, p uint32, e keptEntry) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.current(set, v.Index()) {
		k.set, k.ix, k.m = set, v.Index(), map[uint32]keptEntry{}
	}
	if len(k.m) >= maxKept {
		n := maxKept / 10
		for q := range k.m {
			if n == 0 {
				break
			}
			delete(k.m, q)
			n--
		}
	}
	k.m[p] = e
}

// warmKept computes the computed traits of the live profiles, as many as
// can be kept, after a definition is made or dropped: values are
// materialised when the definitions change, as their property paths are
// indexed then, so WHO finds them kept. A batch of profiles at a time
// pins the index, so writers wait for one batch at most. It stops early
// when ctx ends.
func (x *Executor) warmKept(ctx context.Context) {
	set, ix := computedSetOf(x.db), x.db.Index()
	if set.byName == nil {
		return
	}
	now := x.clock(ctx)
	v := ix.View()
	all := v.All()
	v.Close()
	it := all.Iterator()
	batch := make([]uint32, 0, 256)
	for it.HasNext() && ctx.Err() == nil && x.kept.room(set, ix) {
		batch = batch[:0]
		for it.HasNext() && len(batch) < cap(batch) {
			batch = append(batch, it.Next())
		}
		v := ix.View()
		e := x.evaluator(v, now, nil)
		for _, p := range batch {
			if v.Live(p) {
				x.keptOrComputed(e, p)
			}
		}
		v.Close()
	}
}

// computedValues are profile p's computed traits for WHO, kept or
// computed.
func (x *Executor) computedValues(e *evaluator, p uint32) []Pair {
	if e.set.byName == nil {
		return nil
	}
	return e.set.pairs(x.keptOrComputed(e, p))
}

// keptOrComputed returns profile p's computed values in e.set's order: the
// kept ones while they hold, else computed and kept. It lowers e.until to
// the moment they stop holding.
func (x *Executor) keptOrComputed(e *evaluator, p uint32) []index.AggValue {
	set := e.set
	now := e.now.UnixMilli()
	if vals, until, ok := x.kept.get(set, e.v, p, now); ok {
		e.until = min(e.until, until)
		return vals
	}
	qs := make([]index.AggQuery, len(set.aggs))
	for i, a := range set.aggs {
		qs[i] = e.aggQuery(a)
	}
	vals, reach := e.v.AggregatesReach(qs, p)
	until := int64(math.MaxInt64)
	for i, a := range set.aggs {
		until = min(until, a.Window.changesAt(reach[i]))
	}
	if until > now {
		x.kept.put(set, e.v, p, keptEntry{version: e.v.Version(), from: now, until: until, vals: vals})
	}
	e.until = min(e.until, until)
	return vals
}
