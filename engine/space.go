package engine

import (
	"sync/atomic"
	"time"

	"github.com/idgraph/idgraph/engine/internal/graph"
)

// space watches the free space of the data disk, so that writes are
// refused with ERR NOSPACE before the disk is full (Badger's memory-mapped
// files crash the process when a write finds no room) while reads go on.
type space struct {
	free     atomic.Int64 // bytes free for us, at the last look
	full     atomic.Bool  // below the reserve: writes are refused
	readOnly bool         // opened read-only for lack of space
}

// low looks at the free space once and reports whether it is below reserve.
func (s *space) low(dir string, reserve int64) bool {
	if reserve <= 0 {
		return false
	}
	free, ok := freeBytes(dir)
	if !ok {
		return false
	}
	s.free.Store(free)
	s.full.Store(free < reserve)
	return free < reserve
}

// watch looks every second until quit is closed.
func (s *space) watch(dir string, reserve int64, quit <-chan struct{}) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-quit:
			return
		case <-tick.C:
			s.low(dir, reserve)
		}
	}
}

func (s *space) err(reserve int64) error {
	if s.readOnly {
		return graph.Errorf(graph.NoSpace, "", "writes are refused: the store was opened read-only because the data disk had %d MiB free, below the reserve of %d MiB; free space and restart",
			s.free.Load()>>20, reserve>>20)
	}
	return graph.Errorf(graph.NoSpace, "", "writes are refused: the data disk has %d MiB free, below the reserve of %d MiB (reads go on)",
		s.free.Load()>>20, reserve>>20)
}
