package index

import (
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

	// touched[p] is the version after the last change to p's events or
	// liveness, touchedAll that after the last change to every profile's
	// (a rebuilt series): what View.Unchanged reads.
	touched    []uint64
	touchedAll uint64

	live     *roaring.Bitmap
	series   map[string]*series
	sources  []string
	sourceID map[string]uint32
	maxP     int64 // 1 + the largest profile id that ever held an event
	events   int

	types   map[string]*roaring.Bitmap
	consent map[string]*roaring.Bitmap
	tags    map[string]*roaring.Bitmap
	traits  map[string]*trait

	// cache holds ORs of whole-day spans; readers fill it under mu.RLock
	// (serialised among themselves by cache.mu), writers invalidate it under
	// mu.Lock.
	cache spanCache
	// counters pools the scratch arrays TIMES queries count in.
	counters sync.Pool
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
	// blocks holds, per block of blockDays days, every profile with an
	// event in it (and perhaps, as ever, some whose events there have
	// since gone): a profile's own reads probe the day buckets of the
	// blocks that may hold it only, not every day of a long window.
	blocks map[int64]*roaring.Bitmap
}

// blockDays is the number of days a block of a series spans.
const blockDays = 32

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
		s.blocks = map[int64]*roaring.Bitmap{}
	}
	k := blockOf(d)
	bm := s.blocks[k]
	if bm == nil {
		bm = roaring.New()
		s.blocks[k] = bm
	}
	bm.Add(p)
}

// recount makes ever and the blocks exactly the profiles of the buckets.
func (s *series) recount() {
	bms := make([]*roaring.Bitmap, len(s.buckets))
	byBlock := map[int64][]*roaring.Bitmap{}
	for i, b := range s.buckets {
		bms[i] = b.bm
		byBlock[blockOf(b.day)] = append(byBlock[blockOf(b.day)], b.bm)
	}
	s.ever = roaring.FastOr(bms...)
	s.blocks = make(map[int64]*roaring.Bitmap, len(byBlock))
	for k, bms := range byBlock {
		s.blocks[k] = roaring.FastOr(bms...)
	}
}

// holding calls f with the index of each bucket in [i0, i1) that holds p,
// in order, probing only the buckets of the blocks that may hold it, until
// f returns false. Every per-profile read of a series' days goes through
// it.
func (s *series) holding(p uint32, i0, i1 int, f func(i int) bool) {
	for i := i0; i < i1; {
		k := blockOf(s.buckets[i].day)
		end := min(i1, s.search((k+1)*blockDays))
		if bm := s.blocks[k]; bm == nil || !bm.Contains(p) {
			i = end
			continue
		}
		for ; i < end; i++ {
			if s.buckets[i].bm.Contains(p) && !f(i) {
				return
			}
		}
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

// touch records that p's events change in the version being made.
func (x *Index) touch(p uint32) {
	if int(p) >= len(x.touched) {
		x.touched = append(x.touched, make([]uint64, int(p)+1-len(x.touched))...)
	}
	x.touched[p] = x.version.Load() + 1
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
	Bytes      uint64 // approximate heap bytes of the index structures
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
		for _, bm := range s.blocks {
			st.Bytes += 16 + bm.GetSizeInBytes()
		}
		for _, b := range s.buckets {
			st.Bytes += 64 + b.bm.GetSizeInBytes() + b.ev.bytes()
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
