package engine

import (
	"time"

	"github.com/idgraph/idgraph/engine/internal/store/badgerstore"
)

// gcLoop reclaims space on a schedule and soon after a FORGET.
func (db *DB) gcLoop() {
	defer close(db.gcDone)
	tick := time.NewTicker(10 * time.Minute)
	defer tick.Stop()
	for {
		select {
		case _, ok := <-db.gcKick:
			if !ok {
				return
			}
			db.collectGarbage()
		case <-tick.C:
			db.collectGarbage()
		}
	}
}

// kickGC asks the garbage collector to run soon.
func (db *DB) kickGC() {
	select {
	case db.gcKick <- struct{}{}:
	default:
	}
}

func (db *DB) collectGarbage() {
	if db.bst != nil && !db.opts.InMemory {
		db.bst.CollectGarbage(0.5)
	}
}

// finishErasure runs after a FORGET, on the closed store: every level is
// compacted into one, which drops deleted keys and superseded versions,
// then the value log is garbage-collected. Only then are erased values
// gone from the files (SPEC.md §5).
func (db *DB) finishErasure() error {
	if err := badgerstore.CompactErased(db.storeOptions()); err != nil {
		return err
	}
	bs, err := badgerstore.Open(db.storeOptions())
	if err != nil {
		return err
	}
	txn := bs.Begin()
	m, err := txn.Meta()
	if err == nil {
		m.Erase = false
		txn.PutMeta(m)
		_, err = bs.Commit(txn)
	} else {
		bs.Discard(txn)
	}
	if cerr := bs.Close(); err == nil {
		err = cerr
	}
	return err
}
