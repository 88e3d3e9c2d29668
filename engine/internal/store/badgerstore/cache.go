package badgerstore

import (
	"sync"

	"github.com/idgraph/idgraph/engine/internal/store"
)

// cache keeps decoded records of one generation — identifier → (node,
// profile), nodes and profiles — for the writer's reads and for snapshots.
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
	mu        sync.RWMutex
	gen       uint64
	hot, cold tier
	meta      *store.Meta // the meta record, decoded (nil: not read yet)
	max       int64
}

// tier is one tier of the cache.
type tier struct {
	idents map[string][2]uint32
	nodes  map[uint32]*store.Node
	profs  map[uint32]*store.Profile
	bytes  int64
}

func newTier() tier {
	return tier{idents: map[string][2]uint32{}, nodes: map[uint32]*store.Node{}, profs: map[uint32]*store.Profile{}}
}

func newCache(max int64) *cache {
	return &cache{hot: newTier(), cold: newTier(), max: max}
}

func (c *cache) enabled() bool { return c.max > 0 }

// ident looks key up at generation gen; a hot reader's hit on a cold entry
// makes it hot.
func (c *cache) ident(key string, gen uint64, hot bool) ([2]uint32, bool) {
	if !c.enabled() {
		return [2]uint32{}, false
	}
	c.mu.RLock()
	if c.gen != gen {
		c.mu.RUnlock()
		return [2]uint32{}, false
	}
	if v, ok := c.hot.idents[key]; ok {
		c.mu.RUnlock()
		return v, true
	}
	v, ok := c.cold.idents[key]
	c.mu.RUnlock()
	if ok && hot {
		c.fill(gen, func() {
			if w, still := c.cold.idents[key]; still && w == v {
				c.putIdent(true, key, v[0], v[1])
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

func (c *cache) node(n uint32, gen uint64, hot bool) *store.Node {
	if !c.enabled() {
		return nil
	}
	c.mu.RLock()
	if c.gen != gen {
		c.mu.RUnlock()
		return nil
	}
	if rec := c.hot.nodes[n]; rec != nil {
		c.mu.RUnlock()
		return rec
	}
	rec := c.cold.nodes[n]
	c.mu.RUnlock()
	if rec != nil && hot {
		c.fill(gen, func() {
			if c.cold.nodes[n] == rec {
				c.putNode(true, n, rec)
			}
		})
	}
	return rec
}

func (c *cache) profile(p uint32, gen uint64, hot bool) *store.Profile {
	if !c.enabled() {
		return nil
	}
	c.mu.RLock()
	if c.gen != gen {
		c.mu.RUnlock()
		return nil
	}
	if rec := c.hot.profs[p]; rec != nil {
		c.mu.RUnlock()
		return rec
	}
	rec := c.cold.profs[p]
	c.mu.RUnlock()
	if rec != nil && hot {
		c.fill(gen, func() {
			if c.cold.profs[p] == rec {
				c.putProfile(true, p, rec)
			}
		})
	}
	return rec
}

// fill adds entries read at generation gen (f calls the put methods),
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

// putIdent, putNode and putProfile put an entry into the hot tier or the
// cold one, and out of the other. The caller holds mu.

func (c *cache) putIdent(hot bool, key string, n, p uint32) {
	c.tierOf(!hot).dropIdent(key)
	c.tierOf(hot).putIdent(key, n, p)
}

func (c *cache) putNode(hot bool, n uint32, rec *store.Node) {
	c.tierOf(!hot).dropNode(n)
	c.tierOf(hot).putNode(n, rec)
}

func (c *cache) putProfile(hot bool, p uint32, rec *store.Profile) {
	c.tierOf(!hot).dropProfile(p)
	c.tierOf(hot).putProfile(p, rec)
}

// writeIdent, writeNode and writeProfile apply a commit's write: an entry
// stays in the tier that holds it, a record no tier holds goes to the
// cold one, and a deletion (zero, nil) leaves both. The caller holds mu.

func (c *cache) writeIdent(key string, v [2]uint32) {
	if v[0] == 0 {
		c.hot.dropIdent(key)
		c.cold.dropIdent(key)
		return
	}
	_, hot := c.hot.idents[key]
	c.putIdent(hot, key, v[0], v[1])
}

func (c *cache) writeNode(n uint32, rec *store.Node) {
	if rec == nil {
		c.hot.dropNode(n)
		c.cold.dropNode(n)
		return
	}
	c.putNode(c.hot.nodes[n] != nil, n, rec)
}

func (c *cache) writeProfile(p uint32, rec *store.Profile) {
	if rec == nil {
		c.hot.dropProfile(p)
		c.cold.dropProfile(p)
		return
	}
	c.putProfile(c.hot.profs[p] != nil, p, rec)
}

func (c *cache) tierOf(hot bool) *tier {
	if hot {
		return &c.hot
	}
	return &c.cold
}

func (t *tier) putIdent(key string, n, p uint32) {
	if _, ok := t.idents[key]; !ok {
		t.bytes += int64(len(key)) + 48
	}
	t.idents[key] = [2]uint32{n, p}
}

func (t *tier) putNode(n uint32, rec *store.Node) {
	if old := t.nodes[n]; old != nil {
		t.bytes -= nodeBytes(old)
	}
	t.nodes[n] = rec
	t.bytes += nodeBytes(rec)
}

func (t *tier) putProfile(p uint32, rec *store.Profile) {
	if old := t.profs[p]; old != nil {
		t.bytes -= profileBytes(old)
	}
	t.profs[p] = rec
	t.bytes += profileBytes(rec)
}

func (t *tier) dropIdent(key string) {
	if _, ok := t.idents[key]; ok {
		delete(t.idents, key)
		t.bytes -= int64(len(key)) + 48
	}
}

func (t *tier) dropNode(n uint32) {
	if old := t.nodes[n]; old != nil {
		t.bytes -= nodeBytes(old)
		delete(t.nodes, n)
	}
}

func (t *tier) dropProfile(p uint32) {
	if old := t.profs[p]; old != nil {
		t.bytes -= profileBytes(old)
		delete(t.profs, p)
	}
}

// trim drops cold entries, then hot ones, until the cache is under 90% of
// its bound. The caller holds mu.
func (c *cache) trim() {
	if c.hot.bytes+c.cold.bytes <= c.max {
		return
	}
	goal := c.max * 9 / 10
	for _, t := range []*tier{&c.cold, &c.hot} {
		over := func() bool { return c.hot.bytes+c.cold.bytes > goal }
		for p := range t.profs {
			if !over() {
				return
			}
			t.dropProfile(p)
		}
		for n := range t.nodes {
			if !over() {
				return
			}
			t.dropNode(n)
		}
		for k := range t.idents {
			if !over() {
				return
			}
			t.dropIdent(k)
		}
	}
}

// reset empties the cache and moves it to generation gen.
func (c *cache) reset(gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen = gen
	c.meta = nil
	c.hot, c.cold = newTier(), newTier()
}

// stats returns the entries and estimated bytes of both tiers, and of the
// hot one.
func (c *cache) stats() (entries int, bytes int64, hotEntries int, hotBytes int64) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	count := func(t *tier) int { return len(t.idents) + len(t.nodes) + len(t.profs) }
	return count(&c.hot) + count(&c.cold), c.hot.bytes + c.cold.bytes, count(&c.hot), c.hot.bytes
}

func nodeBytes(n *store.Node) int64 { return int64(64 + len(n.Type) + len(n.Value)) }

func profileBytes(p *store.Profile) int64 {
	b := int64(160 + 40*len(p.Members))
	for _, m := range p.Members {
		b += int64(len(m.ID))
	}
	b += int64(48 * len(p.Counts))
	for k, v := range p.Traits {
		b += int64(64 + len(k) + len(v.V))
	}
	b += int64(64 * (len(p.Consent) + len(p.Tags)))
	return b
}
