package badgerstore

import (
	"sync"
	"sync/atomic"

	"github.com/idgraph/idgraph/engine/internal/store"
)

// cache keeps decoded records of one generation — identifier → (node,
// profile), nodes, profiles, and whether a partner entry (node, anchor)
// exists — for the writer's reads and for snapshots.
// A hot WHO or TRACK is then map lookups, no Badger read and no decoding.
//
// Consistency: every entry holds the state of generation gen. A snapshot
// of generation g uses or fills the cache only while gen == g. The writer
// moves gen to g+1 after each commit, replacing exactly the entries that
// commit wrote, so entries it did not write stay valid. Cached records are
// shared and never changed: the writer's transaction clones what it reads.
//
// Size is bounded in bytes (estimated), in two tiers. What a snapshot (a
// query) has read is hot; what only the writer has read or written is
// cold, and becomes hot when a snapshot reads it. Past the bound, cold
// entries go first, then hot ones, each tier in no particular order. So
// an ingest of new identifiers, which writes far more records than anyone
// reads back, cannot push the profiles that queries ask for out of the
// cache (the old engine kept every profile it touched decoded; a bounded
// cache that an ingest flushed made WHO after an ingest read Badger).
type cache struct {
	mu     sync.RWMutex
	gen    uint64
	idents part[string, [2]uint32]
	nodes  part[uint32, *store.Node]
	profs  part[uint32, *store.Profile]
	// partners: whether node → anchor is stored. A record of several
	// identifiers asks it for each one that is not the anchor; in the bench
	// population four of five times the answer is yes, and without the
	// cache every question was a Badger read.
	partners part[[2]uint32, bool]
	bytes    [2]int64    // estimated, by tier
	meta     *store.Meta // the meta record, decoded (nil: not read yet)
	max      int64

	hits, misses atomic.Uint64 // lookups since open
}

// The tiers, indices of part.m and cache.bytes.
const (
	cold = 0
	hot  = 1
)

// tierOf is the tier a reader's reads go to.
func tierOf(hotReader bool) int {
	if hotReader {
		return hot
	}
	return cold
}

// part holds one kind of record in both tiers. bytes is the cache's count
// by tier, which every change keeps in step. Callers hold the cache's mu.
type part[K comparable, V comparable] struct {
	m     [2]map[K]V // by tier
	size  func(K, V) int64
	bytes *[2]int64
}

func newPart[K comparable, V comparable](bytes *[2]int64, size func(K, V) int64) part[K, V] {
	return part[K, V]{m: [2]map[K]V{{}, {}}, size: size, bytes: bytes}
}

// put puts k into tier t and out of the other.
func (pt *part[K, V]) put(t int, k K, v V) {
	pt.drop(1-t, k)
	if old, ok := pt.m[t][k]; ok {
		pt.bytes[t] -= pt.size(k, old)
	}
	pt.m[t][k] = v
	pt.bytes[t] += pt.size(k, v)
}

func (pt *part[K, V]) drop(t int, k K) {
	if old, ok := pt.m[t][k]; ok {
		delete(pt.m[t], k)
		pt.bytes[t] -= pt.size(k, old)
	}
}

// write applies a commit's write of k: the entry stays in the tier that
// holds it, a record no tier holds goes to the cold one, and a deletion
// leaves both.
func (pt *part[K, V]) write(k K, v V, deleted bool) {
	if deleted {
		pt.drop(cold, k)
		pt.drop(hot, k)
		return
	}
	t := cold
	if _, ok := pt.m[hot][k]; ok {
		t = hot
	}
	pt.put(t, k, v)
}

// evict drops entries of tier t, in no particular order, while over()
// holds, and reports whether it stopped because over() no longer does.
func (pt *part[K, V]) evict(t int, over func() bool) bool {
	for k := range pt.m[t] {
		if !over() {
			return true
		}
		pt.drop(t, k)
	}
	return !over()
}

func newCache(max int64) *cache {
	c := &cache{max: max}
	c.reset(0)
	return c
}

func (c *cache) enabled() bool { return c.max > 0 }

// lookup returns pt's entry for k at generation gen; a hot reader's hit on
// a cold entry makes it hot.
func lookup[K comparable, V comparable](c *cache, pt *part[K, V], k K, gen uint64, hotReader bool) (V, bool) {
	var zero V
	if !c.enabled() {
		return zero, false
	}
	c.mu.RLock()
	if c.gen != gen {
		c.mu.RUnlock()
		c.misses.Add(1)
		return zero, false
	}
	if v, ok := pt.m[hot][k]; ok {
		c.mu.RUnlock()
		c.hits.Add(1)
		return v, true
	}
	v, ok := pt.m[cold][k]
	c.mu.RUnlock()
	if !ok {
		c.misses.Add(1)
		return zero, false
	}
	c.hits.Add(1)
	if hotReader {
		c.fill(gen, func() {
			if w, still := pt.m[cold][k]; still && w == v {
				pt.put(hot, k, v)
			}
		})
	}
	return v, ok
}

// metaAt returns the meta record of generation gen, or nil. Unlike the
// other entries it is kept even when the cache is disabled: every commit
// reads it.
func (c *cache) metaAt(gen uint64) *store.Meta {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.gen != gen {
		return nil
	}
	return c.meta
}

// fill adds entries read at generation gen (f calls the parts' put),
// unless the cache has moved on.
func (c *cache) fill(gen uint64, f func()) {
	if !c.enabled() {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	f()
	c.trim()
}

// trim drops cold entries, then hot ones, until the cache is under 90% of
// its bound. The caller holds mu.
func (c *cache) trim() {
	if c.bytes[cold]+c.bytes[hot] <= c.max {
		return
	}
	goal := c.max * 9 / 10
	over := func() bool { return c.bytes[cold]+c.bytes[hot] > goal }
	for _, t := range []int{cold, hot} {
		if c.profs.evict(t, over) || c.nodes.evict(t, over) || c.idents.evict(t, over) || c.partners.evict(t, over) {
			return
		}
	}
}

// reset empties the cache and moves it to generation gen.
func (c *cache) reset(gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen = gen
	c.meta = nil
	c.bytes = [2]int64{}
	c.idents = newPart(&c.bytes, func(k string, _ [2]uint32) int64 { return int64(len(k)) + 48 })
	c.nodes = newPart(&c.bytes, func(_ uint32, n *store.Node) int64 { return nodeBytes(n) })
	c.profs = newPart(&c.bytes, func(_ uint32, p *store.Profile) int64 { return profileBytes(p) })
	c.partners = newPart(&c.bytes, func([2]uint32, bool) int64 { return partnerBytes })
}

// partnerBytes estimates a partner entry's share of its map.
const partnerBytes = 32

// CacheStats are the decoded-record cache's figures.
type CacheStats struct {
	Entries, HotEntries int
	Bytes, HotBytes     int64  // estimated; hot: what queries have read
	Hits, Misses        uint64 // lookups since open
}

func (c *cache) stats() CacheStats {
	c.mu.RLock()
	defer c.mu.RUnlock()
	count := func(t int) int {
		return len(c.idents.m[t]) + len(c.nodes.m[t]) + len(c.profs.m[t]) + len(c.partners.m[t])
	}
	return CacheStats{
		Entries: count(cold) + count(hot), HotEntries: count(hot),
		Bytes: c.bytes[cold] + c.bytes[hot], HotBytes: c.bytes[hot],
		Hits: c.hits.Load(), Misses: c.misses.Load(),
	}
}

func nodeBytes(n *store.Node) int64 { return int64(64 + len(n.Type) + len(n.Value)) }

// profileBytes estimates a decoded profile's heap: measured within 10%
// for profiles of 1, 3 and 10 members.
func profileBytes(p *store.Profile) int64 {
	b := int64(128 + 40*len(p.Members))
	for _, m := range p.Members {
		b += int64(len(m.ID))
	}
	b += int64(24 * len(p.Counts))
	for k, v := range p.Traits {
		b += int64(64 + len(k) + len(v.V))
	}
	b += int64(64 * (len(p.Consent) + len(p.Tags)))
	return b
}
