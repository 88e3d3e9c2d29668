package index

import (
	"math"
	"strconv"
	"sync"

	"github.com/RoaringBitmap/roaring/v2"
)

// DidQuery selects profiles by their events: those with a number of matching
// events that satisfies Cmp N. An event matches when its name is Name (any
// name if Name is ""), its source is Source (any if ""), and From <= Time <=
// To, both bounds inclusive, to the millisecond. Use math.MinInt64 and
// math.MaxInt64 for open ends.
type DidQuery struct {
	Name, Source string
	From, To     int64
	// Cmp is "" (at least one matching event; N is ignored) or one of
	// >= > = < <= comparing the number of matching events with N. Another
	// value yields the empty set.
	Cmp string
	N   int
	// Where are conditions on the event's properties, all of which must
	// hold. Their paths must be registered for Name (RegisterPaths); a
	// condition on a path that is not matches nothing.
	Where []Cond
}

// Ever is the From of a query without a lower time bound.
const Ever = math.MinInt64

// queryKind classifies a (Cmp, N) pair; most reduce to set operations that
// need no counting.
type queryKind int

const (
	kindNone      queryKind = iota // no profile
	kindAll                        // every live profile
	kindExists                     // count >= 1
	kindNotExists                  // count == 0
	kindCount                      // count cmp N, needs counting
)

func classify(cmp string, n int) (queryKind, func(c int64) bool) {
	N := int64(n)
	var pred func(c int64) bool
	switch cmp {
	case "":
		return kindExists, nil
	case ">=":
		pred = func(c int64) bool { return c >= N }
	case ">":
		pred = func(c int64) bool { return c > N }
	case "=":
		pred = func(c int64) bool { return c == N }
	case "<":
		pred = func(c int64) bool { return c < N }
	case "<=":
		pred = func(c int64) bool { return c <= N }
	default:
		return kindNone, nil
	}
	// Counts are >= 0. Decide from pred(0), pred(1) and whether the predicate
	// is constant over all counts >= 1 (true for cmp >=/>/ with N <= 1 etc.).
	p0, p1 := pred(0), pred(1)
	constAbove := false
	switch cmp {
	case ">=":
		constAbove = N <= 1
	case ">":
		constAbove = N <= 0
	case "=":
		constAbove = N <= 0
	case "<":
		constAbove = N <= 1
	case "<=":
		constAbove = N <= 0
	}
	if !constAbove {
		return kindCount, pred
	}
	switch {
	case p0 && p1:
		return kindAll, nil
	case !p0 && !p1:
		return kindNone, nil
	case p1:
		return kindExists, nil
	default:
		return kindNotExists, nil
	}
}

// Did returns the live profiles selected by q (see DidQuery). With Cmp "",
// or >= 1, the result is the live profiles with at least one matching event;
// with a comparison that holds for zero (< n, <= n, = 0, >= 0) it includes
// the live profiles without any matching event. The result is always a
// subset of All. The caller owns it.
func (x *Index) Did(q DidQuery) *roaring.Bitmap {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.did(q)
}

func (x *Index) did(q DidQuery) *roaring.Bitmap {
	kind, pred := classify(q.Cmp, q.N)
	switch kind {
	case kindNone:
		return roaring.New()
	case kindAll:
		return x.live.Clone()
	case kindExists:
		return roaring.And(x.exists(q), x.live)
	case kindNotExists:
		return roaring.AndNot(x.live, x.exists(q))
	}
	if pred(0) {
		// Start from everyone and take away those whose count fails.
		res := x.live.Clone()
		res.AndNot(x.counted(q, func(n float64) bool { return !pred(int64(n)) }))
		return res
	}
	res := x.counted(q, func(n float64) bool { return pred(int64(n)) })
	res.And(x.live)
	return res
}

// span is the part of a query that concerns one bucket.
type span struct {
	d0, d1 int64  // first and last day touched
	m0, m1 uint32 // ms within d0 from which, within d1 up to which, events count
}

func newSpan(from, to int64) span {
	var s span
	s.d0, s.m0 = splitTime(from)
	s.d1, s.m1 = splitTime(to)
	return s
}

// bounds returns, for bucket day d, the inclusive ms range that counts and
// whether that range is the whole day.
func (s span) bounds(d int64) (lo, hi uint32, whole bool) {
	lo, hi = 0, dayMS-1
	if d == s.d0 {
		lo = s.m0
	}
	if d == s.d1 {
		hi = s.m1
	}
	return lo, hi, lo == 0 && hi == dayMS-1
}

// selected returns the series q names.
func (x *Index) selected(q DidQuery) []*series {
	if q.Name != "" {
		if s := x.series[q.Name]; s != nil {
			return []*series{s}
		}
		return nil
	}
	all := make([]*series, 0, len(x.series))
	for _, s := range x.series {
		all = append(all, s)
	}
	return all
}

// source resolves q.Source; ok is false when no stored event can match it.
func (x *Index) source(q DidQuery) (src uint32, filter, ok bool) {
	if q.Source == "" {
		return 0, false, true
	}
	src, ok = x.sourceID[q.Source]
	return src, true, ok
}

// exists returns the profiles (live or not) with at least one event
// matching q. A run of whole days is the OR of its day bitmaps, or, under
// a source filter or property conditions, of the profiles of their
// matching entries; a run of four days or more is cached. Partial days at
// the ends are scanned exactly.
func (x *Index) exists(q DidQuery) *roaring.Bitmap {
	src, filter, ok := x.source(q)
	if !ok || q.From > q.To {
		return roaring.New()
	}
	sp := newSpan(q.From, q.To)
	var parts []*roaring.Bitmap
	var ids []uint32
	scanned := roaring.New() // the profiles of the days scanned entry by entry
	for _, s := range x.selected(q) {
		f := dayFilter{m: newMatcher(s.props, q.Where), filter: filter, src: src}
		// sp.d1 is at most about 1.1e11 (MaxInt64 / dayMS): d1+1 cannot overflow.
		i0, i1 := s.search(sp.d0), s.search(sp.d1+1)
		// Whole days form a contiguous run of buckets [w0, w1).
		w0, w1 := -1, -1
		for i := i0; i < i1; i++ {
			b := s.buckets[i]
			lo, hi, whole := sp.bounds(b.day)
			if whole {
				if w0 < 0 {
					w0 = i
				}
				w1 = i + 1
				continue
			}
			ids = f.profiles(b, lo, hi, ids[:0])
			scanned.AddMany(ids)
		}
		if w0 >= 0 {
			parts = append(parts, x.wholeDays(s, w0, w1, f))
		}
	}
	if !scanned.IsEmpty() || len(parts) == 0 {
		parts = append(parts, scanned)
	}
	if len(parts) == 1 {
		return parts[0] // callers only read it
	}
	return roaring.FastOr(parts...)
}

// dayFilter selects a query's entries within a day: by source (when
// filter) and by property conditions (m, nil for none).
type dayFilter struct {
	m      *matcher
	filter bool
	src    uint32
}

// none reports whether the filter keeps every entry.
func (f dayFilter) none() bool { return f.m == nil && !f.filter }

// key names the filter in the span cache ("" for none).
func (f dayFilter) key() string {
	if f.none() {
		return ""
	}
	k := "\x00"
	if f.filter {
		k += strconv.FormatUint(uint64(f.src), 10)
	}
	if f.m != nil {
		k += "\x00" + strconv.FormatBool(f.m.ok) + "\x00" + f.m.key
	}
	return k
}

// profiles appends to ids the profiles of b's entries within [lo, hi]
// that the filter keeps, ascending: entries are sorted by profile, so a
// caller's AddMany appends without searching.
func (f dayFilter) profiles(b *bucket, lo, hi uint32, ids []uint32) []uint32 {
	for _, c := range b.ev.chunks {
		for _, e := range c {
			if e.ms >= lo && e.ms <= hi && (!f.filter || e.src == f.src) &&
				(len(ids) == 0 || ids[len(ids)-1] != e.p) && f.m.match(e.tup) {
				ids = append(ids, e.p)
			}
		}
	}
	return ids
}

// counted returns the profiles with at least one event matching q whose
// number of such events satisfies keep, a block of profiles at a time
// (see scan.go).
func (x *Index) counted(q DidQuery, keep func(n float64) bool) *roaring.Bitmap {
	src, filter, ok := x.source(q)
	if !ok || q.From > q.To {
		return roaring.New()
	}
	sp := newSpan(q.From, q.To)
	var curs []cursor
	for _, s := range x.selected(q) {
		curs = appendCursors(curs, s, sp, filter, src, newMatcher(s.props, q.Where), 1, nil)
	}
	return x.tallied(curs, keep)
}

// wholeDays returns the OR of the bitmaps of buckets [w0, w1) of s. The
// result may be shared (cached); callers must not modify it.
func (x *Index) wholeDays(s *series, w0, w1 int, f dayFilter) *roaring.Bitmap {
	if w1-w0 == 1 && f.none() {
		return s.buckets[w0].bm
	}
	key := spanKey{s: s, d0: s.buckets[w0].day, d1: s.buckets[w1-1].day, filter: f.key()}
	if w1-w0 >= cacheMinDays {
		if bm := x.cache.get(key); bm != nil {
			return bm
		}
	}
	var bm *roaring.Bitmap
	if f.none() {
		bms := make([]*roaring.Bitmap, 0, w1-w0)
		for _, b := range s.buckets[w0:w1] {
			bms = append(bms, b.bm)
		}
		bm = roaring.FastOr(bms...)
	} else {
		bm = roaring.New()
		var ids []uint32
		for _, b := range s.buckets[w0:w1] {
			ids = f.profiles(b, 0, math.MaxUint32, ids[:0])
			bm.AddMany(ids)
		}
	}
	if w1-w0 >= cacheMinDays {
		x.cache.put(key, bm)
	}
	return bm
}

// cacheMinDays is the shortest whole-day span worth caching.
const cacheMinDays = 4

// cacheMax bounds the number of cached spans; when full the cache is reset.
const cacheMax = 256

// spanCache maps a run of whole-day buckets of one name, identified by its
// first and last day, to the OR of their bitmaps. An entry is removed when
// any bucket whose day lies in [d0, d1] is written; a bucket added outside
// that range changes the key of the spans that include it, so those miss.
// Entries are grouped by series so that a write looks only at its own
// name's spans, and not even at those when it writes after all of them
// (live traffic writes today; cached spans end at yesterday at the latest).
type spanCache struct {
	mu sync.Mutex
	m  map[*series]*seriesSpans
	n  int // entries over all series
}

type seriesSpans struct {
	spans map[cachedSpan]*roaring.Bitmap
	last  int64 // the largest d1 in spans
}

type spanKey struct {
	s      *series
	d0, d1 int64
	filter string // dayFilter.key: "" for every entry
}

// cachedSpan is a cached span of one series: its days and filter.
type cachedSpan struct {
	d0, d1 int64
	filter string
}

func (c *spanCache) get(k spanKey) *roaring.Bitmap {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ss := c.m[k.s]; ss != nil {
		return ss.spans[cachedSpan{k.d0, k.d1, k.filter}]
	}
	return nil
}

func (c *spanCache) put(k spanKey, bm *roaring.Bitmap) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || c.n >= cacheMax {
		c.m, c.n = make(map[*series]*seriesSpans), 0
	}
	ss := c.m[k.s]
	if ss == nil {
		ss = &seriesSpans{spans: make(map[cachedSpan]*roaring.Bitmap), last: k.d1}
		c.m[k.s] = ss
	}
	if _, ok := ss.spans[cachedSpan{k.d0, k.d1, k.filter}]; !ok {
		c.n++
	}
	ss.spans[cachedSpan{k.d0, k.d1, k.filter}] = bm
	ss.last = max(ss.last, k.d1)
}

// drop removes every cached span of s (its events were replaced).
func (c *spanCache) drop(s *series) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ss := c.m[s]; ss != nil {
		c.n -= len(ss.spans)
		delete(c.m, s)
	}
}

// invalidate is called by the writer (under Index.mu.Lock) after writing
// bucket (s, day).
func (c *spanCache) invalidate(s *series, day int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ss := c.m[s]
	if ss == nil || day > ss.last {
		return
	}
	for k := range ss.spans {
		if k.d0 <= day && day <= k.d1 {
			delete(ss.spans, k)
			c.n--
		}
	}
}
