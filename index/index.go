package index

import (
	"math"
	"slices"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/RoaringBitmap/roaring/v2"
)

// dayMS is the length of a UTC day in milliseconds. Unix time has no leap
// seconds, so every UTC day starts at a multiple of dayMS.
const dayMS = 86_400_000

// Event is one behavioural event as the index sees it: a name, the source
// (channel) it came from, and the time it happened in Unix milliseconds UTC.
// Two events with the same Name, Source and Time are indistinguishable to the
// index; the index keeps them as a multiset, so adding one twice counts twice.
type Event struct {
	Name   string
	Source string
	Time   int64
	// Props is the event's PROPS (a JSON object, or nil). Only the values
	// of the paths registered for Name are kept (see RegisterPaths).
	Props []byte
}

// Attrs are the non-behavioural facts of one profile. SetAttrs replaces all
// of them at once.
type Attrs struct {
	// Types are the identifier types the profile holds (for HAS).
	Types []string
	// Traits maps a trait name to its current value (for TRAIT).
	Traits map[string]string
	// Consent maps a purpose to true when the latest decision is GRANT.
	// Purposes mapped to false are equivalent to absent ones.
	Consent map[string]bool
	// Tags are the tags on the profile (for TAGGED).
	Tags []string
}

// Index is the in-memory behavioural index of one database.
//
// Concurrency: the engine's single writer goroutine is the only caller of
// the writer methods (Add, Remove, Move, SetAttrs, Drop); each takes mu
// exclusively for its whole duration, so a reader never observes half of a
// call. Reader methods may be called from any number of goroutines at once
// and share mu. The zero value is not usable; call New or Read.
type Index struct {
	mu      sync.RWMutex
	version atomic.Uint64
	gen     atomic.Uint64 // the commit generation of the last Apply

	// Everything below is guarded by mu: written only under mu.Lock.

	// touched holds, per profile, the version after the last change to
	// its events or liveness (in pages of touchPage profiles, so that a
	// sparse id costs a page, not every id below it), touchedAll that after
	// the last change to every profile's (a rebuilt series): what
	// View.Unchanged reads.
	touched    []*[touchPage]uint64
	touchedAll uint64

	live     *roaring.Bitmap
	series   map[string]*series
	sources  []string
	sourceID map[string]uint32
	maxP     int64 // 1 + the largest profile id that ever held an event
	events   int
	// latest is the time (Unix ms) of the latest event ever added, or
	// math.MinInt64; removing events does not lower it (View.Latest).
	latest int64

	types   map[string]*roaring.Bitmap
	consent map[string]*roaring.Bitmap
	tags    map[string]*roaring.Bitmap
	traits  map[string]*trait

	// cache holds ORs of whole-day spans; readers fill it under mu.RLock
	// (serialised among themselves by cache.mu), writers invalidate it under
	// mu.Lock.
	cache spanCache
	// tallies pools the block tallies of TIMES counts and computed-trait
	// comparisons (scan.go).
	tallies sync.Pool
}

// series is everything the index knows about one event name.
type series struct {
	name    string
	buckets []*bucket    // ascending by day, never empty buckets
	props   *seriesProps // registered property paths (nil: none)
	// ever holds every profile with an event of this name — and perhaps
	// some whose events have since gone (removal does not look at other
	// days): per-profile reads skip a name the profile never had.
	ever *roaring.Bitmap
	// blocks holds, per block of blockDays days, the days of it on which
	// each profile has an event (and perhaps, as ever, days whose events
	// have since gone): a profile's own reads probe only the day buckets
	// its marks name, not every day of a long window.
	blocks map[int64]*block
}

// block is what a series knows of the profiles of blockDays days: a mark
// p*blockDays + (day - first day of the block) for each day p has an event
// (one ordered lookup finds a profile's days), or, for profiles too large
// for such a mark, the profile alone in big.
type block struct {
	marks *roaring.Bitmap
	big   *roaring.Bitmap // profiles >= markLimit (nil: none)
}

// blockDays is the number of days a block of a series spans.
const blockDays = 32

// markLimit bounds the profiles whose days a block marks (p*blockDays must
// fit in 32 bits); larger ones (past 134 million profiles) are probed day
// by day.
const markLimit = 1 << 27

// blockOf is the block of day d (floor division: days before 1970 are
// negative).
func blockOf(d int64) int64 {
	k := d / blockDays
	if d%blockDays < 0 {
		k--
	}
	return k
}

// mayHold reports whether p may have an event of s (false: it has none).
func (s *series) mayHold(p uint32) bool { return s.ever != nil && s.ever.Contains(p) }

// note records that p has an event of s on day d, in ever and its block.
func (s *series) note(p uint32, d int64) {
	if s.ever == nil {
		s.ever = roaring.New()
	}
	s.ever.Add(p)
	if s.blocks == nil {
		s.blocks = map[int64]*block{}
	}
	k := blockOf(d)
	b := s.blocks[k]
	if b == nil {
		b = &block{marks: roaring.New()}
		s.blocks[k] = b
	}
	if p < markLimit {
		b.marks.Add(p*blockDays + uint32(d-k*blockDays))
		return
	}
	if b.big == nil {
		b.big = roaring.New()
	}
	b.big.Add(p)
}

// recount makes ever and the blocks exactly the profiles and days of the
// buckets.
func (s *series) recount() {
	bms := make([]*roaring.Bitmap, len(s.buckets))
	marks := map[int64][]uint32{}
	bigs := map[int64][]*roaring.Bitmap{}
	for i, b := range s.buckets {
		bms[i] = b.bm
		k := blockOf(b.day)
		off := uint32(b.day - k*blockDays)
		it := b.bm.Iterator()
		for it.HasNext() {
			p := it.Next()
			if p >= markLimit {
				bigs[k] = append(bigs[k], b.bm)
				break
			}
			marks[k] = append(marks[k], p*blockDays+off)
		}
		if _, ok := marks[k]; !ok {
			marks[k] = nil
		}
	}
	s.ever = roaring.FastOr(bms...)
	s.blocks = make(map[int64]*block, len(marks))
	for k, ms := range marks {
		slices.Sort(ms)
		b := &block{marks: roaring.BitmapOf(ms...)}
		if len(bigs[k]) > 0 {
			b.big = roaring.FastOr(bigs[k]...)
			b.big.RemoveRange(0, markLimit)
		}
		s.blocks[k] = b
	}
}

// holding calls f with the index of each bucket in [i0, i1) that holds p,
// in order, probing only the buckets of the days its blocks mark, until f
// returns false. Every per-profile read of a series' days goes through
// it.
func (s *series) holding(p uint32, i0, i1 int, f func(i int) bool) {
	for i := i0; i < i1; {
		k := blockOf(s.buckets[i].day)
		end := min(i1, s.search((k+1)*blockDays))
		b := s.blocks[k]
		switch {
		case b == nil:
		case p >= markLimit:
			if b.big == nil || !b.big.Contains(p) {
				break
			}
			for ; i < end; i++ {
				if s.buckets[i].bm.Contains(p) && !f(i) {
					return
				}
			}
		default:
			// NextValue seeks the block's containers by search; an
			// iterator's AdvanceIfNeeded walks them one by one.
			lo := p * blockDays
			for v := b.marks.NextValue(lo); v >= 0 && uint32(v)-lo < blockDays; v = b.marks.NextValue(uint32(v) + 1) {
				day := k*blockDays + int64(uint32(v)-lo)
				for i < end && s.buckets[i].day < day {
					i++
				}
				if i == end {
					break
				}
				if s.buckets[i].day == day && s.buckets[i].bm.Contains(p) && !f(i) {
					return
				}
				if uint32(v) == math.MaxUint32 {
					break
				}
			}
		}
		i = end
	}
}

// bucket holds the events of one name on one UTC day.
type bucket struct {
	day int64
	bm  *roaring.Bitmap // profiles with at least one event in ev
	ev  run             // every event occurrence, sorted by (profile, ms, source)
}

// New returns an empty index.
func New() *Index {
	return &Index{
		live:     roaring.New(),
		series:   make(map[string]*series),
		sourceID: make(map[string]uint32),
		types:    make(map[string]*roaring.Bitmap),
		consent:  make(map[string]*roaring.Bitmap),
		tags:     make(map[string]*roaring.Bitmap),
		traits:   make(map[string]*trait),
		latest:   math.MinInt64,
	}
}

// splitTime splits a Unix millisecond time into its UTC day number and the
// millisecond within that day, rounding towards minus infinity so that
// negative times land on the right day too.
func splitTime(t int64) (day int64, ms uint32) {
	day, r := t/dayMS, t%dayMS
	if r < 0 {
		r += dayMS
		day--
	}
	return day, uint32(r)
}

// search returns the position of the first bucket with day >= d.
func (s *series) search(d int64) int {
	return sort.Search(len(s.buckets), func(i int) bool { return s.buckets[i].day >= d })
}

func (s *series) find(d int64) *bucket {
	i := s.search(d)
	if i < len(s.buckets) && s.buckets[i].day == d {
		return s.buckets[i]
	}
	return nil
}

func (s *series) findOrCreate(d int64) *bucket {
	i := s.search(d)
	if i < len(s.buckets) && s.buckets[i].day == d {
		return s.buckets[i]
	}
	b := &bucket{day: d, bm: roaring.New()}
	s.buckets = append(s.buckets, nil)
	copy(s.buckets[i+1:], s.buckets[i:])
	s.buckets[i] = b
	return b
}

func (s *series) drop(d int64) {
	i := s.search(d)
	if i < len(s.buckets) && s.buckets[i].day == d {
		copy(s.buckets[i:], s.buckets[i+1:])
		s.buckets[len(s.buckets)-1] = nil
		s.buckets = s.buckets[:len(s.buckets)-1]
	}
}

func (x *Index) sourceFor(name string) uint32 {
	id, ok := x.sourceID[name]
	if !ok {
		id = uint32(len(x.sources))
		x.sources = append(x.sources, name)
		x.sourceID[name] = id
	}
	return id
}

func (x *Index) seriesFor(name string) *series {
	s := x.series[name]
	if s == nil {
		s = &series{name: name}
		x.series[name] = s
	}
	return s
}

// Add records evs as events of profile p and marks p live. Adding the same
// event twice makes it count twice (see Remove).
func (x *Index) Add(p uint32, evs ...Event) {
	x.mu.Lock()
	defer x.mu.Unlock()
	defer x.version.Add(1)
	x.live.Add(p)
	for _, ev := range evs {
		x.add(p, ev)
	}
}

// touchPage is the number of profiles of one page of Index.touched.
const touchPage = 4096

// touch records that p's events change in the version being made.
func (x *Index) touch(p uint32) {
	i := int(p / touchPage)
	if i >= len(x.touched) {
		x.touched = append(x.touched, make([]*[touchPage]uint64, i+1-len(x.touched))...)
	}
	if x.touched[i] == nil {
		x.touched[i] = new([touchPage]uint64)
	}
	x.touched[i][p%touchPage] = x.version.Load() + 1
}

// touchedAt returns the version after the last change to p (0: none since
// the index was made or read).
func (x *Index) touchedAt(p uint32) uint64 {
	i := int(p / touchPage)
	if i >= len(x.touched) || x.touched[i] == nil {
		return 0
	}
	return x.touched[i][p%touchPage]
}

func (x *Index) add(p uint32, ev Event) {
	x.touch(p)
	s := x.seriesFor(ev.Name)
	day, ms := splitTime(ev.Time)
	b := s.findOrCreate(day)
	b.ev.insert(entry{p: p, ms: ms, src: x.sourceFor(ev.Source), tup: s.props.tupleOf(ev.Props)})
	b.bm.Add(p)
	s.note(p, day)
	x.events++
	if int64(p) >= x.maxP {
		x.maxP = int64(p) + 1
	}
	x.latest = max(x.latest, ev.Time)
	x.cache.invalidate(s, day)
}

// remove deletes one occurrence of ev from p and reports whether it existed.
func (x *Index) remove(p uint32, ev Event) bool {
	s := x.series[ev.Name]
	src, ok := x.sourceID[ev.Source]
	if s == nil || !ok {
		return false
	}
	day, ms := splitTime(ev.Time)
	b := s.find(day)
	if b == nil || !b.ev.remove(entry{p: p, ms: ms, src: src, tup: s.props.tupleOf(ev.Props)}) {
		return false
	}
	x.touch(p)
	x.events--
	if !b.ev.hasProfile(p) {
		b.bm.Remove(p)
	}
	if b.ev.n == 0 {
		s.drop(day)
	}
	x.cache.invalidate(s, day)
	return true
}

// Remove takes away one occurrence of each of evs from profile p (multiset
// removal: an event added twice and removed once still counts once). Events
// p does not hold are ignored. Liveness of p is unchanged.
func (x *Index) Remove(p uint32, evs ...Event) {
	x.mu.Lock()
	defer x.mu.Unlock()
	defer x.version.Add(1)
	for _, ev := range evs {
		x.remove(p, ev)
	}
}

// Move relabels one occurrence of each of evs from profile `from` to profile
// `to`, as a merge or a split does, and marks `to` live. Events `from` does
// not hold are ignored. The cost is O(len(evs) · log n) and independent of
// the number of days or names in the index. Liveness of `from` is unchanged:
// call Drop when it ceases to exist.
func (x *Index) Move(from, to uint32, evs []Event) {
	x.mu.Lock()
	defer x.mu.Unlock()
	defer x.version.Add(1)
	x.move(from, to, evs)
}

func (x *Index) move(from, to uint32, evs []Event) {
	x.live.Add(to)
	if from == to {
		return
	}
	for _, ev := range evs {
		if x.remove(from, ev) {
			x.add(to, ev)
		}
	}
}

// Drop records that profile p no longer exists: it leaves All and every
// HAS, TRAIT and CONSENT set. The caller removes or moves p's events first;
// events it leaves behind stay stored but never count, because every Did
// result is a subset of All — until p is made live again by Add, Move or
// SetAttrs, when they count again.
func (x *Index) Drop(p uint32) {
	x.mu.Lock()
	defer x.mu.Unlock()
	defer x.version.Add(1)
	x.drop(p)
}

func (x *Index) drop(p uint32) {
	x.touch(p)
	x.live.Remove(p)
	x.clearAttrs(p)
}

// HasEvent reports whether an event of that name is held.
func (x *Index) HasEvent(name string) bool {
	x.mu.RLock()
	defer x.mu.RUnlock()
	s := x.series[name]
	return s != nil && len(s.buckets) > 0
}

// EventNames returns the names of the events held, sorted.
func (x *Index) EventNames() []string {
	x.mu.RLock()
	defer x.mu.RUnlock()
	var out []string
	for name, s := range x.series {
		if len(s.buckets) > 0 {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// All returns the live profiles: those made live by Add, Move or SetAttrs
// and not dropped since. The caller owns the result.
func (x *Index) All() *roaring.Bitmap {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.live.Clone()
}

// Version returns a number that changes (increments) on every call of a
// writer method, even one that changes nothing, so a result computed at
// version v is still valid while Version() == v.
func (x *Index) Version() uint64 { return x.version.Load() }

// Stats are sizes of the index, for INFO.
type Stats struct {
	Profiles   int    // live profiles
	Events     int    // stored event occurrences
	Names      int    // distinct event names with at least one event
	Sources    int    // distinct sources ever seen
	DayBuckets int    // (name, UTC day) pairs with at least one event
	Types      int    // identifier types held by at least one live profile
	Traits     int    // trait names held by at least one live profile
	Purposes   int    // consent purposes granted by at least one live profile
	Cached     int    // whole-day-span ORs currently cached
	Bytes      uint64 // approximate heap bytes of the index structures, property tuples and their columns included
	Version    uint64 // as Version
}

// Stats walks the index and reports its sizes; the cost is proportional to
// the number of buckets and bitmaps, not events.
func (x *Index) Stats() Stats {
	x.mu.RLock()
	defer x.mu.RUnlock()
	st := Stats{
		Profiles: int(x.live.GetCardinality()),
		Events:   x.events,
		Sources:  len(x.sources),
		Types:    len(x.types),
		Traits:   len(x.traits),
		Purposes: len(x.consent),
		Version:  x.Version(),
		Bytes:    x.live.GetSizeInBytes(),
	}
	for _, s := range x.series {
		if len(s.buckets) > 0 {
			st.Names++
		}
		st.DayBuckets += len(s.buckets)
		st.Bytes += uint64(cap(s.buckets))*8 + 64
		if s.ever != nil {
			st.Bytes += s.ever.GetSizeInBytes()
		}
		for _, b := range s.blocks {
			st.Bytes += 32 + b.marks.GetSizeInBytes()
			if b.big != nil {
				st.Bytes += b.big.GetSizeInBytes()
			}
		}
		for _, b := range s.buckets {
			st.Bytes += 64 + b.bm.GetSizeInBytes() + b.ev.bytes()
		}
		if s.props != nil {
			st.Bytes += s.props.bytes()
		}
	}
	for _, bm := range x.types {
		st.Bytes += bm.GetSizeInBytes()
	}
	for _, bm := range x.consent {
		st.Bytes += bm.GetSizeInBytes()
	}
	for _, bm := range x.tags {
		st.Bytes += bm.GetSizeInBytes()
	}
	for _, t := range x.traits {
		st.Bytes += uint64(len(t.of)) * 48
		for _, v := range t.byStr {
			st.Bytes += 64 + uint64(len(v.s)) + v.bm.GetSizeInBytes()
		}
	}
	x.cache.mu.Lock()
	st.Cached = x.cache.n
	for _, ss := range x.cache.m {
		for _, bm := range ss.spans {
			st.Bytes += bm.GetSizeInBytes()
		}
	}
	x.cache.mu.Unlock()
	return st
}
