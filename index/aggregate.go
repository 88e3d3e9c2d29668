package index

import (
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/RoaringBitmap/roaring/v2"
)

// Aggregates: the values of computed traits (SPEC.md §4.1) are computed from
// the entries of the events that count for a profile now, so they stay exact
// through merges, moves, splits and forgets by construction, and windows
// roll with the clock.

// AggQuery asks for an aggregate over the events a DidQuery selects (its
// Cmp and N are ignored).
type AggQuery struct {
	DidQuery
	// Kind is count, sum, min, max, avg, first, last, distinct or score.
	Kind string
	// Path is the property the value aggregates read (registered for Name).
	Path string
	// Terms are SCORE's points per event name (Name is then ignored).
	Terms []ScoreTerm
}

// ScoreTerm gives Points for each event of Event (from Source, when set,
// and meeting every condition of Where).
type ScoreTerm struct {
	Event  string
	Source string
	Where  []Cond
	Points float64
}

// AggValue is an aggregate's value for one profile. Set is false when the
// profile has no event to aggregate (COUNT and SCORE are then 0 and Set).
type AggValue struct {
	Set   bool
	IsNum bool
	Num   float64
	Str   string // FIRST and LAST of a text property
}

// Holds reports whether the value satisfies `value op lit`: compared as
// numbers when both are, else as text (byte order). An unset value
// satisfies nothing.
func (v AggValue) Holds(op, lit string) bool {
	match, ok := traitPred(op)
	if !ok || !v.Set {
		return false
	}
	litNum, litIsNum := parseNum(lit)
	var c int
	if v.IsNum && litIsNum {
		c = compareNums(v.Num, litNum)
	} else {
		s := v.Str
		if v.IsNum && s == "" {
			s = v.String()
		}
		c = strings.Compare(s, lit)
	}
	return match(c)
}

// String renders the value as WHO shows it.
func (v AggValue) String() string {
	switch {
	case !v.Set:
		return ""
	case v.IsNum:
		return strconv.FormatFloat(v.Num, 'f', -1, 64)
	}
	return v.Str
}

// agg accumulates one profile's aggregate.
type agg struct {
	n        int64
	sum      float64
	min, max float64
	nums     int64 // numeric values seen (sum, min, max, avg)
	firstT   int64
	lastT    int64
	first    propValue
	last     propValue
	distinct map[string]struct{}
}

func (a *agg) add(kind string, t int64, v propValue, points float64) {
	a.n++
	switch kind {
	case "score":
		a.sum += points
	case "sum", "avg", "min", "max":
		if !v.isNum {
			return
		}
		if a.nums == 0 || v.num < a.min {
			a.min = v.num
		}
		if a.nums == 0 || v.num > a.max {
			a.max = v.num
		}
		a.nums++
		a.sum += v.num
	case "first", "last":
		if v.kind == propMissing || v.kind == propOther {
			return
		}
		// Events at the same millisecond are ordered by value, so the
		// result does not depend on the order entries are stored in.
		if a.firstT == math.MinInt64 || t < a.firstT || t == a.firstT && valueLess(v, a.first) {
			a.firstT, a.first = t, v
		}
		if a.lastT == math.MinInt64 || t > a.lastT || t == a.lastT && valueLess(a.last, v) {
			a.lastT, a.last = t, v
		}
	case "distinct":
		if v.kind == propMissing || v.kind == propOther {
			return
		}
		if a.distinct == nil {
			a.distinct = map[string]struct{}{}
		}
		// Numbers are the same value when they are equal (5 and 5.0); a
		// string is never the same value as a number.
		key := strconv.Itoa(int(v.kind)) + v.str
		if v.kind == propNumber {
			key = strconv.Itoa(int(v.kind)) + strconv.FormatFloat(v.num, 'g', -1, 64)
		}
		a.distinct[key] = struct{}{}
	}
}

// valueLess orders property values by kind, then text.
func valueLess(a, b propValue) bool {
	if a.kind != b.kind {
		return a.kind < b.kind
	}
	return a.str < b.str
}

func newAgg() *agg { return &agg{firstT: math.MinInt64, lastT: math.MinInt64} }

func (a *agg) value(kind string) AggValue {
	num := func(f float64) AggValue { return AggValue{Set: true, IsNum: true, Num: f} }
	switch kind {
	case "count":
		return num(float64(a.n))
	case "score":
		return num(a.sum)
	case "sum":
		if a.nums == 0 {
			return AggValue{}
		}
		return num(a.sum)
	case "avg":
		if a.nums == 0 {
			return AggValue{}
		}
		return num(a.sum / float64(a.nums))
	case "min":
		if a.nums == 0 {
			return AggValue{}
		}
		return num(a.min)
	case "max":
		if a.nums == 0 {
			return AggValue{}
		}
		return num(a.max)
	case "first", "last":
		v, t := a.first, a.firstT
		if kind == "last" {
			v, t = a.last, a.lastT
		}
		if t == math.MinInt64 {
			return AggValue{}
		}
		if v.isNum {
			return AggValue{Set: true, IsNum: true, Num: v.num, Str: v.str}
		}
		return AggValue{Set: true, Str: v.str}
	case "distinct":
		if len(a.distinct) == 0 {
			return AggValue{}
		}
		return num(float64(len(a.distinct)))
	}
	return AggValue{}
}

// termsOf returns the event names (with source and conditions) and points
// the query reads.
func termsOf(q AggQuery) []ScoreTerm {
	if q.Kind == "score" {
		return q.Terms
	}
	return []ScoreTerm{{Event: q.Name, Source: q.Source, Where: q.Where, Points: 1}}
}

// pathIndex returns the position of path in the series' registered paths.
func pathIndex(s *series, path string) int {
	if s.props == nil {
		return -1
	}
	for i, p := range s.props.paths {
		if p == path {
			return i
		}
	}
	return -1
}

// scanAgg calls f for every event of the query's terms in its window (and
// source, conditions), for profile p only when p != 0, with the value of
// q.Path. h, when set, knows which buckets hold p.
func (x *Index) scanAgg(q AggQuery, p uint32, h *held, f func(p uint32, t int64, v propValue, points float64)) {
	var last *series
	pi := -1
	x.scanAggEntries(q, p, h, func(s *series, term ScoreTerm, t int64, e entry) {
		if s != last {
			last, pi = s, pathIndex(s, q.Path)
		}
		var v propValue
		if pi >= 0 && int(e.tup) < len(s.props.tuples) {
			v = s.props.tuples[e.tup][pi]
		}
		f(e.p, t, v, term.Points)
	})
}

// held remembers, for one profile and a set of aggregate queries, which
// buckets of each series the queries read hold the profile: found once
// per series over the union of the windows, not once per query (WHO with
// five computed traits over the same event read its buckets five times).
type held struct {
	p    uint32
	span map[*series][2]int // bucket index range to look at
	idx  map[*series][]int  // bucket indices that hold p, ascending
}

func (x *Index) heldBy(qs []AggQuery, p uint32, reach bool) *held {
	h := &held{p: p, span: map[*series][2]int{}, idx: map[*series][]int{}}
	for _, q := range qs {
		if q.From > q.To && !reach {
			continue
		}
		sp := newSpan(q.From, q.To)
		for _, term := range termsOf(q) {
			s := x.series[term.Event]
			if s == nil || !s.mayHold(p) {
				continue
			}
			i0, i1 := s.search(sp.d0), s.search(sp.d1+1)
			if reach { // nextAfter looks from the window's end on
				i0, i1 = min(i0, s.search(sp.d1)), len(s.buckets)
			}
			if r, ok := h.span[s]; ok {
				i0, i1 = min(i0, r[0]), max(i1, r[1])
			}
			h.span[s] = [2]int{i0, i1}
		}
	}
	return h
}

// buckets returns the indices of s's buckets in the prepared range that
// hold the profile.
func (h *held) buckets(s *series) []int {
	if ix, ok := h.idx[s]; ok {
		return ix
	}
	r := h.span[s]
	ix := []int{}
	s.holding(h.p, r[0], r[1], func(i int) bool { ix = append(ix, i); return true })
	h.idx[s] = ix
	return ix
}

// scanAggEntries calls f for every entry scanAgg visits, with its series,
// term and time. With p != 0, h (when set) must have been prepared by
// heldBy for a set of queries including q.
func (x *Index) scanAggEntries(q AggQuery, p uint32, h *held, f func(s *series, term ScoreTerm, t int64, e entry)) {
	if q.From > q.To {
		return
	}
	sp := newSpan(q.From, q.To)
	for _, term := range termsOf(q) {
		s := x.series[term.Event]
		src, filter, ok := x.source(DidQuery{Source: term.Source})
		if s == nil || !ok || p != 0 && !s.mayHold(p) {
			continue
		}
		m := newMatcher(s.props, term.Where)
		i0, i1 := s.search(sp.d0), s.search(sp.d1+1)
		bucket := func(i int) {
			b := s.buckets[i]
			lo, hi, _ := sp.bounds(b.day)
			t0 := b.day * dayMS
			visit := func(e entry) {
				if e.ms < lo || e.ms > hi || filter && e.src != src || !m.match(e.tup) {
					return
				}
				f(s, term, t0+int64(e.ms), e)
			}
			if p == 0 {
				for _, c := range b.ev.chunks {
					for _, e := range c {
						visit(e)
					}
				}
				return
			}
			ci, k := b.ev.lowerBound(entry{p: p})
			for ; ci < len(b.ev.chunks); ci, k = ci+1, 0 {
				c := b.ev.chunks[ci]
				for ; k < len(c) && c[k].p == p; k++ {
					visit(c[k])
				}
				if k < len(c) {
					break
				}
			}
		}
		switch {
		case p == 0:
			for i := i0; i < i1; i++ {
				bucket(i)
			}
		case h != nil:
			ix := h.buckets(s)
			for k := sort.SearchInts(ix, i0); k < len(ix) && ix[k] < i1; k++ {
				bucket(ix[k])
			}
		default:
			s.holding(p, i0, i1, func(i int) bool { bucket(i); return true })
		}
	}
}

// AggregateFor computes the aggregate for one live profile from its own
// entries.
func (v *View) AggregateFor(q AggQuery, p uint32) AggValue {
	a := newAgg()
	v.x.scanAgg(q, p, nil, func(_ uint32, t int64, pv propValue, points float64) { a.add(q.Kind, t, pv, points) })
	return a.value(q.Kind)
}

// AggregatesFor is AggregateFor of each query, for one profile, reading
// each bucket that could hold it once (WHO's computed traits).
func (v *View) AggregatesFor(qs []AggQuery, p uint32) []AggValue {
	out, _ := v.aggregatesFor(qs, p, false)
	return out
}

// Reach tells, for one aggregate of one profile, which of its events the
// value depends on: Oldest is the time of the earliest event that counted
// (math.MaxInt64: none), Next the earliest event that would count but for
// falling after To (math.MaxInt64: none). While a moving window [From, To]
// keeps Oldest and does not reach Next, the value stays what it is.
type Reach struct{ Oldest, Next int64 }

// AggregatesReach is AggregatesFor with the Reach of each value.
func (v *View) AggregatesReach(qs []AggQuery, p uint32) ([]AggValue, []Reach) {
	return v.aggregatesFor(qs, p, true)
}

func (v *View) aggregatesFor(qs []AggQuery, p uint32, reach bool) ([]AggValue, []Reach) {
	h := v.x.heldBy(qs, p, reach)
	out := make([]AggValue, len(qs))
	var rs []Reach
	if reach {
		rs = make([]Reach, len(qs))
	}
	for i, q := range qs {
		a := newAgg()
		oldest := int64(math.MaxInt64)
		v.x.scanAgg(q, p, h, func(_ uint32, t int64, pv propValue, points float64) {
			a.add(q.Kind, t, pv, points)
			oldest = min(oldest, t)
		})
		out[i] = a.value(q.Kind)
		if !reach {
			continue
		}
		rs[i] = Reach{Oldest: oldest, Next: v.x.nextAfter(q, p, h)}
	}
	return out, rs
}

// nextAfter returns the time of p's earliest event after q.To that q's
// terms would count, or math.MaxInt64. h, prepared by heldBy with reach
// for a set of queries including q, has the buckets past the window.
func (x *Index) nextAfter(q AggQuery, p uint32, h *held) int64 {
	next := int64(math.MaxInt64)
	if q.To == math.MaxInt64 {
		return next
	}
	later := q
	later.From, later.To = q.To+1, math.MaxInt64
	x.scanAggEntries(later, p, h, func(_ *series, _ ScoreTerm, t int64, _ entry) { next = min(next, t) })
	return next
}

// numericMatch is AggregateMatch for COUNT, SCORE and SUM: the window's
// entries are added up a block of profiles at a time (see scan.go), and
// only the profiles with entries are compared; the others have 0 (COUNT,
// SCORE) or no value (SUM), decided once for all of them.
func (v *View) numericMatch(q AggQuery, op, lit string) *roaring.Bitmap {
	x := v.x
	var curs []cursor
	if q.From <= q.To {
		sp := newSpan(q.From, q.To)
		for _, term := range termsOf(q) {
			s := x.series[term.Event]
			src, filter, ok := x.source(DidQuery{Source: term.Source})
			if s == nil || !ok {
				continue
			}
			m := newMatcher(s.props, term.Where)
			var col []float64
			if q.Kind == "sum" {
				// SUM reads the path's dense column of numbers: a tuple
				// per entry would be another cache miss per entry.
				pi := pathIndex(s, q.Path)
				if pi < 0 {
					continue // the path is not registered: no numbers
				}
				col = s.props.nums[pi]
			}
			curs = appendCursors(curs, s, sp, filter, src, m, term.Points, col)
		}
	}
	holds := numberHolds(op, lit)
	// COUNT and SCORE are 0 for a profile without entries; SUM has no
	// value there, which satisfies nothing.
	zeroHolds := q.Kind != "sum" && holds(0)
	// Collect the profiles with entries that decide differently from one
	// without: those that hold when zero does not, else those that do not.
	odd := func(n float64) bool { return holds(n) != zeroHolds }
	bm := x.tallied(curs, odd)
	if zeroHolds {
		res := x.live.Clone()
		res.AndNot(bm)
		return res
	}
	bm.And(x.live)
	return bm
}

// numberHolds returns AggValue.Holds(op, lit) for a numeric value, with
// the operator and the literal parsed once.
func numberHolds(op, lit string) func(float64) bool {
	match, _ := traitPred(op)
	litNum, litIsNum := parseNum(lit)
	if !litIsNum {
		return func(n float64) bool { return AggValue{Set: true, IsNum: true, Num: n}.Holds(op, lit) }
	}
	return func(n float64) bool { return match(compareNums(n, litNum)) }
}

// AggregateAll returns the aggregate of each profile of ps, from one scan
// of the entries (an export's computed fields).
func (v *View) AggregateAll(q AggQuery, ps *roaring.Bitmap) map[uint32]AggValue {
	accs := map[uint32]*agg{}
	v.x.scanAgg(q, 0, nil, func(p uint32, t int64, pv propValue, points float64) {
		if !ps.Contains(p) {
			return
		}
		a := accs[p]
		if a == nil {
			a = newAgg()
			accs[p] = a
		}
		a.add(q.Kind, t, pv, points)
	})
	out := make(map[uint32]AggValue, ps.GetCardinality())
	empty := newAgg().value(q.Kind)
	it := ps.Iterator()
	for it.HasNext() {
		p := it.Next()
		if a := accs[p]; a != nil {
			out[p] = a.value(q.Kind)
		} else {
			out[p] = empty
		}
	}
	return out
}

// AggregateMatch returns the live profiles whose aggregate satisfies
// `value op lit` (compared as numbers when both are, else as text). A
// profile without events has COUNT and SCORE 0 and no other value.
func (v *View) AggregateMatch(q AggQuery, op, lit string) *roaring.Bitmap {
	if _, ok := traitPred(op); !ok {
		return roaring.New()
	}
	if q.Kind == "count" || q.Kind == "score" || q.Kind == "sum" {
		return v.numericMatch(q, op, lit)
	}
	holds := func(val AggValue) bool { return val.Holds(op, lit) }
	accs := map[uint32]*agg{}
	v.x.scanAgg(q, 0, nil, func(p uint32, t int64, pv propValue, points float64) {
		a := accs[p]
		if a == nil {
			a = newAgg()
			accs[p] = a
		}
		a.add(q.Kind, t, pv, points)
	})
	out := roaring.New()
	var ids []uint32
	for p, a := range accs {
		if v.x.live.Contains(p) && holds(a.value(q.Kind)) {
			ids = append(ids, p)
		}
	}
	out.AddMany(ids)
	if (q.Kind == "count" || q.Kind == "score") && holds(AggValue{Set: true, IsNum: true}) {
		// Profiles without any such event have 0.
		rest := v.x.live.Clone()
		for p := range accs {
			rest.Remove(p)
		}
		out.Or(rest)
	}
	return out
}
