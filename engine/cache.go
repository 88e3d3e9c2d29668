package engine

import (
	"sync"
	"sync/atomic"
)

// profileCache keeps what WHO reads — identifier → (node, profile) and
// decoded profile records — so a hot lookup is two map hits and no Badger
// read at all.
//
// Consistency: the writer invalidates the profiles a batch changed twice,
// just before its commit and just after, bumping gen each time. A reader
// notes gen before opening its snapshot and inserts what it read only if gen
// has not moved since (checked under the lock invalidation takes). A record
// read from a snapshot older than some commit is therefore either never
// inserted or removed by that commit's second invalidation; an entry in the
// cache is always the latest committed version.
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

func (c *profileCache) getID(key []byte) ([2]uint32, bool) {
	if c == nil {
		return [2]uint32{}, false
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
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
	if c.gen.Load() != gen0 {
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

func (c *profileCache) get(p uint32) *profRec {
	if c == nil {
		return nil
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
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
	if c.gen.Load() != gen0 {
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
	c.gen.Add(1)
	c.entries = map[uint32]*profRec{}
	c.ids = map[string][2]uint32{}
}
