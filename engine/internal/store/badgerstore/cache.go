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
// Size is bounded in bytes (estimated); past the bound an arbitrary part
// of the cache is dropped.
type cache struct {
	mu     sync.RWMutex
	gen    uint64
	idents map[string][2]uint32
	nodes  map[uint32]*store.Node
	profs  map[uint32]*store.Profile
	meta   *store.Meta // the meta record, decoded (nil: not read yet)
	bytes  int64
	max    int64
}

func newCache(max int64) *cache {
	return &cache{idents: map[string][2]uint32{}, nodes: map[uint32]*store.Node{},
		profs: map[uint32]*store.Profile{}, max: max}
}

func (c *cache) enabled() bool { return c.max > 0 }

func (c *cache) ident(key string, gen uint64) ([2]uint32, bool) {
	if !c.enabled() {
		return [2]uint32{}, false
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.gen != gen {
		return [2]uint32{}, false
	}
	v, ok := c.idents[key]
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

func (c *cache) node(n uint32, gen uint64) *store.Node {
	if !c.enabled() {
		return nil
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.gen != gen {
		return nil
	}
	return c.nodes[n]
}

func (c *cache) profile(p uint32, gen uint64) *store.Profile {
	if !c.enabled() {
		return nil
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.gen != gen {
		return nil
	}
	return c.profs[p]
}

// fill adds entries read at generation gen, unless the cache has moved on.
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

func (c *cache) putIdent(key string, n, p uint32) {
	if _, ok := c.idents[key]; !ok {
		c.bytes += int64(len(key)) + 48
	}
	c.idents[key] = [2]uint32{n, p}
}

func (c *cache) putNode(n uint32, rec *store.Node) {
	if old := c.nodes[n]; old != nil {
		c.bytes -= nodeBytes(old)
	}
	c.nodes[n] = rec
	c.bytes += nodeBytes(rec)
}

func (c *cache) putProfile(p uint32, rec *store.Profile) {
	if old := c.profs[p]; old != nil {
		c.bytes -= profileBytes(old)
	}
	c.profs[p] = rec
	c.bytes += profileBytes(rec)
}

func (c *cache) dropIdent(key string) {
	if _, ok := c.idents[key]; ok {
		delete(c.idents, key)
		c.bytes -= int64(len(key)) + 48
	}
}

func (c *cache) dropNode(n uint32) {
	if old := c.nodes[n]; old != nil {
		c.bytes -= nodeBytes(old)
		delete(c.nodes, n)
	}
}

func (c *cache) dropProfile(p uint32) {
	if old := c.profs[p]; old != nil {
		c.bytes -= profileBytes(old)
		delete(c.profs, p)
	}
}

// trim drops arbitrary entries until the cache is under 90% of its bound.
// The caller holds mu.
func (c *cache) trim() {
	if c.bytes <= c.max {
		return
	}
	goal := c.max * 9 / 10
	for p := range c.profs {
		if c.bytes <= goal {
			return
		}
		c.dropProfile(p)
	}
	for n := range c.nodes {
		if c.bytes <= goal {
			return
		}
		c.dropNode(n)
	}
	for k := range c.idents {
		if c.bytes <= goal {
			return
		}
		c.dropIdent(k)
	}
}

// reset empties the cache and moves it to generation gen.
func (c *cache) reset(gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen = gen
	c.meta = nil
	c.idents = map[string][2]uint32{}
	c.nodes = map[uint32]*store.Node{}
	c.profs = map[uint32]*store.Profile{}
	c.bytes = 0
}

func (c *cache) stats() (entries int, bytes int64) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.idents) + len(c.nodes) + len(c.profs), c.bytes
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
