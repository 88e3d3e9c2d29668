package engine

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/idgraph/idgraph/engine/internal/store/badgerstore"
	"github.com/idgraph/idgraph/engine/internal/writer"
)

// Erasure (SPEC.md §5). FORGET deletes keys in its commit; Badger keeps the
// deleted values in its write-ahead files and tables until they are
// flushed and compacted. So a FORGET schedules an erasure, which runs
// Options.ErasureDelay later (default two minutes, so FORGETs in a burst
// share one): the writer flushes the memtables between two commits (their
// write-ahead files are then deleted), the tables are compacted into one
// level (deletion markers and old versions go), the value log is
// garbage-collected, and a last commit clears the store's pending mark. A
// crash in between leaves the mark set: the next open schedules it again,
// and a clean Close finishes it offline. No record is ever larger than
// Badger's value threshold, so nothing personal lives in the value log.

// erasure schedules and runs erasures.
type erasure struct {
	mu      sync.Mutex
	due     time.Time // zero: none scheduled
	running bool
	last    time.Time // when the last erasure finished
	lastErr error
	kick    chan struct{}
}

// scheduleErasure asks for an erasure ErasureDelay from now, unless one is
// due sooner.
func (db *DB) scheduleErasure() {
	if db.bst == nil || db.w == nil || db.opts.InMemory || db.opts.ErasureDelay < 0 {
		return
	}
	e := &db.erase
	e.mu.Lock()
	if e.due.IsZero() {
		e.due = time.Now().Add(db.opts.ErasureDelay)
	}
	e.mu.Unlock()
	select {
	case e.kick <- struct{}{}:
	default:
	}
}

// erasureLoop runs scheduled erasures until Close.
func (db *DB) erasureLoop() {
	defer close(db.eraseDone)
	e := &db.erase
	for {
		e.mu.Lock()
		due := e.due
		e.mu.Unlock()
		var wait <-chan time.Time
		var t *time.Timer
		if !due.IsZero() {
			t = time.NewTimer(time.Until(due))
			wait = t.C
		}
		stop := func() {
			if t != nil {
				t.Stop()
			}
		}
		select {
		case <-db.quit:
			stop()
			return
		case <-e.kick:
			stop()
			continue
		case <-wait:
		}
		e.mu.Lock()
		e.due, e.running = time.Time{}, true
		e.mu.Unlock()
		err := db.eraseNow()
		e.mu.Lock()
		e.running, e.last, e.lastErr = false, time.Now(), err
		e.mu.Unlock()
		if err != nil && !errors.Is(err, writer.ErrClosed) {
			db.logError(err)
			db.scheduleErasure() // try again later
		}
	}
}

// eraseNow makes the values of every FORGET committed so far leave the
// files.
func (db *DB) eraseNow() error {
	snap := db.st.View()
	meta, err := snap.Meta()
	snap.Close()
	if err != nil || !meta.Erase {
		return err
	}
	upTo := meta.EraseSeq
	var flushErr error
	var gen uint64
	err = db.w.Between(context.Background(), func() {
		// Between commits, the index has applied every commit: no reader
		// will open a generation older than this one from now on.
		gen = db.st.Gen()
		flushErr = db.bst.FlushMemtables(gen)
	})
	if err != nil {
		return err
	}
	if flushErr != nil {
		return flushErr
	}
	if err := db.bst.CompactOut(gen); err != nil {
		return err
	}
	_, err = db.submitOne(context.Background(), &erasedOp{db: db, upTo: upTo})
	return err
}

// ErasureStatus is what INFO reports of erasures.
type ErasureStatus struct {
	Pending bool      // a FORGET's values may still be in the files
	Due     time.Time // when the next erasure runs (zero: none scheduled)
	Running bool
	Last    time.Time // when the last one finished
	LastErr error
}

// Erasure reports the state of erasures.
func (db *DB) Erasure() ErasureStatus {
	st := db.Stats()
	e := &db.erase
	e.mu.Lock()
	defer e.mu.Unlock()
	return ErasureStatus{Pending: st.ErasePending, Due: e.due, Running: e.running, Last: e.last, LastErr: e.lastErr}
}

// erasedOp clears the store's pending-erasure mark, unless a FORGET
// committed after the erasure started.
type erasedOp struct {
	db   *DB
	upTo uint64
}

func (o *erasedOp) Plan(writer.Reader) (writer.Plan, error) { return o, nil }

func (o *erasedOp) Apply(tx *writer.Tx) (any, error) {
	a := o.db.applier(tx)
	if m := a.meta(); m.Erase && m.EraseSeq <= o.upTo {
		m.Erase = false
		a.l.metaDirty = true
	}
	return Result{}, a.err
}

// gcLoop reclaims space on a schedule.
func (db *DB) gcLoop() {
	defer close(db.gcDone)
	tick := time.NewTicker(10 * time.Minute)
	defer tick.Stop()
	for {
		select {
		case <-db.quit:
			return
		case <-tick.C:
			if db.bst != nil && !db.opts.InMemory {
				db.bst.CollectGarbage(0.5)
			}
		}
	}
}

// finishErasure runs at Close when an erasure is still pending, on the
// closed store: every level is compacted into one and the value log is
// garbage-collected, then the mark is cleared.
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
