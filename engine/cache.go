package engine

import (
	"sync"
	"sync/atomic"
)

// profileCache keeps what WHO reads — identifier → (node, profile) and
// decoded profile records — so a hot lookup is two map hits and no Badger
// read at all.
//
// Consistency: the writer invalidates what a commit changes twice, just
// before the commit (gen becomes odd: a commit is in flight) and just after
// it (gen becomes even again). A reader notes gen before opening its
// snapshot and uses or fills the cache only while gen is even and has not
// moved since: then no commit started after its note, every commit before
// it is in its snapshot, and the cache holds exactly what the snapshot
// holds. Otherwise it reads the snapshot alone, so one reply never mixes
// two moments.
type profileCache struct {
	mu      sync.RWMutex
	entries map[uint32]*profRec
	ids     map[string][2]uint32 // identKey → node, profile
	max     int
	gen     atomic.Uint64
}

func newProfileCache(max int) *profileCache {
	return &profileCache{entries: map[uint32]*profRec{}, ids: map[string][2]uint32{}, max: max}
}

func (c *profileCache) getID(key []byte, gen0 uint64) ([2]uint32, bool) {
	if c == nil {
		return [2]uint32{}, false
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	if !c.usable(gen0) {
		return [2]uint32{}, false
	}
	v, ok := c.ids[string(key)]
	return v, ok
}

// putID inserts an identifier's (node, profile), read by a reader that
// noted gen0, unless an invalidation happened since.
func (c *profileCache) putID(key []byte, v [2]uint32, gen0 uint64) {
	if c == nil || c.max <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.usable(gen0) {
		return
	}
	if len(c.ids) >= 2*c.max {
		for k := range c.ids {
			delete(c.ids, k)
			if len(c.ids) < c.max*9/5 {
				break
			}
		}
	}
	c.ids[string(key)] = v
}

// usable reports whether a reader that noted gen0 may use the cache now.
// The caller holds the lock.
func (c *profileCache) usable(gen0 uint64) bool {
	return gen0%2 == 0 && c.gen.Load() == gen0
}

func (c *profileCache) get(p uint32, gen0 uint64) *profRec {
	if c == nil {
		return nil
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	if !c.usable(gen0) {
		return nil
	}
	return c.entries[p]
}

// put inserts rec, read by a reader that noted gen0, unless an invalidation
// happened since. The record must not be changed afterwards.
func (c *profileCache) put(p uint32, rec *profRec, gen0 uint64) {
	if c == nil || c.max <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.usable(gen0) {
		return
	}
	if len(c.entries) >= c.max {
		for k := range c.entries { // evict an arbitrary tenth
			delete(c.entries, k)
			if len(c.entries) < c.max*9/10 {
				break
			}
		}
	}
	c.entries[p] = rec
}

// invalidate drops the profiles and identifier keys a commit changes.
func (c *profileCache) invalidate(ps map[uint32]bool, ids map[string]bool) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen.Add(1)
	for p := range ps {
		delete(c.entries, p)
	}
	for k := range ids {
		delete(c.ids, k)
	}
}

func (c *profileCache) reset() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen.Add(2) // keeps the parity: no commit is in flight
	c.entries = map[uint32]*profRec{}
	c.ids = map[string][2]uint32{}
}
