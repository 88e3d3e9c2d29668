package index

import "github.com/RoaringBitmap/roaring/v2"

// DeltaKind says what a Delta does.
type DeltaKind uint8

// The kinds of Delta, one per writer method.
const (
	DeltaAdd      DeltaKind = iota + 1 // Add(P, Events...)
	DeltaRemove                        // Remove(P, Events...)
	DeltaMove                          // Move(P, To, Events)
	DeltaSetAttrs                      // SetAttrs(P, Attrs)
	DeltaDrop                          // Drop(P)
)

// Delta is one change to the index, as data: the engine's writer collects
// the deltas of a commit and applies them together with Apply, so that no
// reader ever sees half of a commit (a merge's Move without its Drop).
type Delta struct {
	Kind   DeltaKind
	P, To  uint32
	Events []Event
	Attrs  Attrs
}

// Apply applies the deltas of the commit of generation gen, in order,
// under one exclusive lock, and makes gen the index's generation: a View
// taken afterwards reads gen.
func (x *Index) Apply(gen uint64, ds []Delta) {
	x.mu.Lock()
	defer x.mu.Unlock()
	defer x.version.Add(1)
	for i := range ds {
		d := &ds[i]
		switch d.Kind {
		case DeltaAdd:
			x.live.Add(d.P)
			for _, ev := range d.Events {
				x.add(d.P, ev)
			}
		case DeltaRemove:
			for _, ev := range d.Events {
				x.remove(d.P, ev)
			}
		case DeltaMove:
			x.move(d.P, d.To, d.Events)
		case DeltaSetAttrs:
			x.setAttrs(d.P, d.Attrs)
		case DeltaDrop:
			x.drop(d.P)
		}
	}
	x.gen.Store(gen)
}

// Gen returns the generation of the last Apply.
func (x *Index) Gen() uint64 { return x.gen.Load() }

// View is a read view of the index pinned at one generation: while it is
// open no Apply runs, so every answer it gives is of the same moment.
// Close it promptly: the engine's writer waits for open views before it
// applies the next commit.
type View struct {
	x      *Index
	gen    uint64
	closed bool
}

// View opens a read view. The caller must Close it.
func (x *Index) View() *View {
	x.mu.RLock()
	return &View{x: x, gen: x.gen.Load()}
}

// Close releases the view; further calls do nothing.
func (v *View) Close() {
	if !v.closed {
		v.closed = true
		v.x.mu.RUnlock()
	}
}

// Version is the index's version the view reads: it changes with every
// change to the index.
func (v *View) Version() uint64 { return v.x.version.Load() }

// Unchanged reports whether profile p's events and liveness are as they
// were at version since (no Add, Remove, Move or Drop of p, and no series
// rebuilt, since then). Callers that keep values computed from a
// profile's events use it to know they still hold.
func (v *View) Unchanged(p uint32, since uint64) bool {
	if v.x.touchedAll > since {
		return false
	}
	return v.x.touchedAt(p) <= since
}

// Latest returns the time (Unix ms) of the latest event the index has
// taken in since it was made or read (math.MinInt64: none), whether or not
// it is still there. When it is before now, no event of the index lies in
// the future, so a span that ends at now takes in no event as the clock
// moves on without a write.
func (v *View) Latest() int64 { return v.x.latest }

// Index returns the index the view reads.
func (v *View) Index() *Index { return v.x }

// Gen is the generation the view reads.
func (v *View) Gen() uint64 { return v.gen }

// All returns the live profiles. The caller owns the result.
func (v *View) All() *roaring.Bitmap { return v.x.live.Clone() }

// Live reports whether p is a live profile.
func (v *View) Live(p uint32) bool { return v.x.live.Contains(p) }

// Did is Index.Did at the view's moment.
func (v *View) Did(q DidQuery) *roaring.Bitmap { return v.x.did(q) }

// Has is Index.Has at the view's moment.
func (v *View) Has(typ string) *roaring.Bitmap { return v.x.has(typ) }

// Trait is Index.Trait at the view's moment.
func (v *View) Trait(name, op, value string) *roaring.Bitmap { return v.x.trait(name, op, value) }

// Consent is Index.Consent at the view's moment.
func (v *View) Consent(purpose string) *roaring.Bitmap { return v.x.consentOf(purpose) }

// Tagged is Index.Tagged at the view's moment.
func (v *View) Tagged(tag string) *roaring.Bitmap { return v.x.taggedOf(tag) }

// HasTag reports whether live profile p carries tag.
func (v *View) HasTag(tag string, p uint32) bool {
	bm := v.x.tags[tag]
	return bm != nil && bm.Contains(p)
}

// HasType reports whether live profile p holds an identifier of type typ.
func (v *View) HasType(typ string, p uint32) bool {
	bm := v.x.types[typ]
	return bm != nil && bm.Contains(p)
}

// Granted reports whether live profile p's latest decision for purpose is
// GRANT.
func (v *View) Granted(purpose string, p uint32) bool {
	bm := v.x.consent[purpose]
	return bm != nil && bm.Contains(p)
}

// TraitHolds reports whether p's value of trait name satisfies
// `stored op value`, compared as Index.Trait does.
func (v *View) TraitHolds(name, op, value string, p uint32) bool {
	match, ok := traitPred(op)
	if !ok {
		return false
	}
	t := v.x.traits[name]
	if t == nil {
		return false
	}
	tv := t.of[p]
	if tv == nil {
		return false
	}
	return match(compareTrait(tv, value))
}

// countFor counts p's events q selects (its Cmp and N aside), stopping as
// soon as the count reaches enough when enough > 0.
func (x *Index) countFor(q DidQuery, p uint32, enough int64) int64 {
	src, filter, ok := x.source(q)
	if !ok || q.From > q.To {
		return 0
	}
	var n int64
	sp := newSpan(q.From, q.To)
	for _, s := range x.selected(q) {
		if !s.mayHold(p) {
			continue
		}
		m := newMatcher(s.props, q.Where)
		i0, i1 := s.search(sp.d0), s.search(sp.d1+1)
		s.holding(p, i0, i1, func(i int) bool {
			b := s.buckets[i]
			lo, hi, _ := sp.bounds(b.day)
			n += b.ev.countProfile(p, lo, hi, filter, src, m)
			return enough <= 0 || n < enough
		})
		if enough > 0 && n >= enough {
			return n
		}
	}
	return n
}

// DidHolds reports whether profile p is selected by q (see DidQuery): the
// answer Did(q).Contains(p) gives, found by looking at p's events only.
func (v *View) DidHolds(q DidQuery, p uint32) bool {
	x := v.x
	if !x.live.Contains(p) {
		return false
	}
	kind, pred := classify(q.Cmp, q.N)
	switch kind {
	case kindNone:
		return false
	case kindAll:
		return true
	}
	var enough int64 // one event answers (NOT) DID
	if kind == kindExists || kind == kindNotExists {
		enough = 1
	}
	n := x.countFor(q, p, enough)
	switch kind {
	case kindExists:
		return n > 0
	case kindNotExists:
		return n == 0
	}
	return pred(n)
}
