// Package writer is the engine's single writer: one goroutine that takes
// the operations callers submit, applies as many as are queued in one store
// transaction, commits once, applies the commit's index deltas, and only
// then acknowledges each operation. An acknowledged write is durable and
// visible to every reader that starts afterwards.
//
// # Operations in two phases
//
// An Op first plans: it validates its input against what the transaction
// has seen so far and cannot write (Plan gets a store.Reader). A planning
// error fails that operation alone and changes nothing. Then its Plan
// applies; applying can fail only because storage failed, and such an error
// aborts every operation of the transaction. So a bad operation changes
// nothing, by construction.
//
// # Transaction size
//
// The writer commits between operations once the transaction passes the
// store's soft limits. An operation that takes it past the hard limits is
// retried in a transaction of its own (after the operations before it are
// committed), and fails with a TooLarge error when alone it still does not
// fit. Either way an operation is applied whole or not at all.
//
// # Ownership
//
// The writer goroutine owns the store transaction, the Tx and the index's
// writer side. Submit may be called from any goroutine.
package writer

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/idgraph/idgraph/engine/internal/graph"
	"github.com/idgraph/idgraph/engine/internal/store"
	"github.com/idgraph/idgraph/index"
)

// Op is one write operation.
type Op interface {
	// Plan validates the operation against r, the transaction's view so
	// far, and returns what Apply will do. It cannot write.
	Plan(r Reader) (Plan, error)
}

// Reader is what planning may read: the transaction's view, and the
// caller's state for the transaction.
type Reader interface {
	store.Reader
	Local() *any
}

// A Warmer is an Op that can read ahead what it will read when it
// applies. The writer calls Warm, on a goroutine of its own and with a
// snapshot of the latest commit, for the operations of a batch after the
// one it is applying, so that their records are in the store's cache when
// their turn comes: the writer is one goroutine, and a record it has to
// read from disk holds up every operation behind it. Warm only reads, and
// what it finds changes no outcome; an operation the writer has reached is
// not warmed.
type Warmer interface {
	Warm(r store.Reader)
}

// Plan is a validated operation.
type Plan interface {
	// Apply performs the operation in tx. An error means storage failed
	// and aborts the transaction.
	Apply(tx *Tx) (any, error)
}

// Tx is what the operations of one transaction write to: the store
// transaction, the index deltas the commit will apply, and functions to
// run once it is committed.
type Tx struct {
	store.Txn
	deltas []index.Delta
	after  []func(gen uint64)
	local  any
}

// Local returns the caller's state for this transaction (nil at first); it
// is dropped with the transaction, so state derived from uncommitted writes
// never outlives them.
func (t *Tx) Local() *any { return &t.local }

// Index queues index deltas for the commit.
func (t *Tx) Index(ds ...index.Delta) { t.deltas = append(t.deltas, ds...) }

// Deltas returns the index deltas queued so far (not to be changed).
func (t *Tx) Deltas() []index.Delta { return t.deltas }

// After runs f on the writer goroutine once the transaction is committed
// and its deltas applied, with the commit's generation.
func (t *Tx) After(f func(gen uint64)) { t.after = append(t.after, f) }

// Config sets up a Writer.
type Config struct {
	Store store.Store
	Index *index.Index
	// MaxBatch is the most operations one batch takes from the queue.
	MaxBatch int
	// EndOp, when set, runs after each operation applies, in its Tx.
	EndOp func(tx *Tx)
	// BeforeCommit, when set, runs once per transaction just before it is
	// committed, on the index as it still is (the deltas not yet applied):
	// what it writes to tx is committed with the operations. An error
	// fails every operation of the transaction.
	BeforeCommit func(tx *Tx) error
	// Pending, when set, is asked after each batch for maintenance work
	// (a purge of forgotten events); an Op it returns runs as its own
	// commit, and it is asked again until it returns nil.
	Pending func(r store.Reader) Op
	// OnError receives errors of maintenance work.
	OnError func(error)
}

// Writer is the single writer.
type Writer struct {
	cfg  Config
	reqs chan *request
	quit chan struct{}
	done chan struct{}

	closeMu sync.RWMutex // held for reading while submitting; Close takes it to stop submissions
	closed  bool
}

// ErrClosed is returned by Submit after Close.
var ErrClosed = errors.New("engine: closed")

type request struct {
	ops  []Op
	res  []any
	errs []error
	fn   func() // Between: run with no transaction open
	done chan struct{}
}

// New starts a writer.
func New(cfg Config) *Writer {
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 2000
	}
	w := &Writer{cfg: cfg, reqs: make(chan *request, 1024), quit: make(chan struct{}), done: make(chan struct{})}
	go w.run()
	return w
}

// Submit hands ops to the writer and waits until they are committed (or
// failed). res[i] and errs[i] are op i's result and error; err is set when
// nothing was submitted (closed, or ctx ended before the ops were queued).
// Once queued, ops are applied even if ctx ends, and Submit waits for them,
// so a caller never mistakes an applied write for a failed one.
func (w *Writer) Submit(ctx context.Context, ops []Op) (res []any, errs []error, err error) {
	w.closeMu.RLock()
	if w.closed {
		w.closeMu.RUnlock()
		return nil, nil, ErrClosed
	}
	r := &request{ops: ops, res: make([]any, len(ops)), errs: make([]error, len(ops)), done: make(chan struct{})}
	select {
	case w.reqs <- r:
	case <-ctx.Done():
		w.closeMu.RUnlock()
		return nil, nil, ctx.Err()
	}
	w.closeMu.RUnlock()
	<-r.done
	return r.res, r.errs, nil
}

// Between runs f on the writer goroutine with no transaction open, after
// every operation submitted before it is committed, and waits for it. Store
// maintenance that must not overlap a commit (a memtable flush) uses it.
func (w *Writer) Between(ctx context.Context, f func()) error {
	w.closeMu.RLock()
	if w.closed {
		w.closeMu.RUnlock()
		return ErrClosed
	}
	r := &request{fn: f, done: make(chan struct{})}
	select {
	case w.reqs <- r:
	case <-ctx.Done():
		w.closeMu.RUnlock()
		return ctx.Err()
	}
	w.closeMu.RUnlock()
	<-r.done
	return nil
}

// Close stops accepting operations, applies the queued ones and stops.
func (w *Writer) Close() {
	w.closeMu.Lock()
	if w.closed {
		w.closeMu.Unlock()
		return
	}
	w.closed = true
	w.closeMu.Unlock()
	close(w.quit)
	<-w.done
}

func (w *Writer) run() {
	defer close(w.done)
	for {
		select {
		case r := <-w.reqs:
			w.batch(w.collect(r))
		case <-w.quit:
			for {
				select {
				case r := <-w.reqs:
					w.batch(w.collect(r))
				default:
					return
				}
			}
		}
	}
}

func (w *Writer) collect(first *request) []*request {
	batch := []*request{first}
	n := len(first.ops)
	for n < w.cfg.MaxBatch {
		select {
		case r := <-w.reqs:
			batch = append(batch, r)
			n += len(r.ops)
		default:
			return batch
		}
	}
	return batch
}

// slot is one operation of a batch and where its outcome goes.
type slot struct {
	op  Op
	res *any
	err *error
}

// commit is the open transaction and the operations applied in it.
type commit struct {
	w   *Writer
	tx  *Tx
	ops []slot
}

func (c *commit) begin() {
	if c.tx == nil {
		c.tx = &Tx{Txn: c.w.cfg.Store.Begin()}
	}
}

func (c *commit) discard() {
	if c.tx != nil {
		c.w.cfg.Store.Discard(c.tx.Txn)
		c.tx = nil
	}
	c.ops = c.ops[:0]
}

// fail fails every operation of the transaction and drops it.
func (c *commit) fail(err error) {
	for _, s := range c.ops {
		*s.res, *s.err = nil, err
	}
	c.discard()
}

// full reports whether the transaction is past the hard limits.
func (c *commit) full() bool {
	e, b := c.tx.Size()
	l := c.w.cfg.Store.Limits()
	return e > l.HardEntries || b > l.HardBytes
}

func (c *commit) soft() bool {
	e, b := c.tx.Size()
	l := c.w.cfg.Store.Limits()
	return e > l.SoftEntries || b > l.SoftBytes
}

// apply plans and applies one operation in the open transaction. It
// reports false when the operation took the transaction past the hard
// limits (the transaction must then be redone without it).
func (c *commit) apply(s slot) bool {
	c.begin()
	plan, err := s.op.Plan(c.tx)
	if err != nil {
		*s.res, *s.err = nil, err
		return true
	}
	res, err := plan.Apply(c.tx)
	if err != nil {
		*s.err = err
		c.fail(fmt.Errorf("aborted: another operation in the same commit failed: %w", err))
		return true
	}
	if c.w.cfg.EndOp != nil {
		c.w.cfg.EndOp(c.tx)
	}
	*s.res, *s.err = res, nil
	c.ops = append(c.ops, s)
	return !c.full()
}

// flush commits the open transaction. A transaction the store finds too
// large is redone one operation per commit.
func (c *commit) flush() {
	if c.tx == nil {
		return
	}
	tx, ops := c.tx, append([]slot(nil), c.ops...)
	c.tx, c.ops = nil, c.ops[:0]
	if c.w.cfg.BeforeCommit != nil {
		if err := c.w.cfg.BeforeCommit(tx); err != nil {
			c.w.cfg.Store.Discard(tx.Txn)
			for _, s := range ops {
				*s.res, *s.err = nil, fmt.Errorf("aborted before the commit: %w", err)
			}
			return
		}
	}
	gen, err := c.w.cfg.Store.Commit(tx.Txn)
	switch {
	case err == nil:
		c.w.cfg.Index.Apply(gen, tx.deltas)
		for _, f := range tx.after {
			f(gen)
		}
	case errors.Is(err, store.ErrTxnFull) && len(ops) > 1:
		for _, s := range ops {
			c.alone(s)
		}
	case errors.Is(err, store.ErrTxnFull):
		*ops[0].res, *ops[0].err = nil, tooLarge()
	default:
		for _, s := range ops {
			*s.res, *s.err = nil, fmt.Errorf("commit: %w", err)
		}
	}
}

// alone applies one operation in a transaction of its own.
func (c *commit) alone(s slot) {
	if !c.apply(s) {
		c.discard()
		*s.res, *s.err = nil, tooLarge()
		return
	}
	c.flush()
}

func tooLarge() error {
	return graph.Errorf(graph.TooLarge, "", "the operation touches more data than one transaction can hold")
}

func (w *Writer) batch(reqs []*request) {
	var reached atomic.Int64 // operations of the batch the writer has reached
	stop := w.warm(reqs, &reached)
	defer stop()
	c := &commit{w: w}
	for _, r := range reqs {
		if r.fn != nil {
			c.flush()
			r.fn()
			continue
		}
		for i := range r.ops {
			reached.Add(1)
			s := slot{op: r.ops[i], res: &r.res[i], err: &r.errs[i]}
			if c.tx != nil && c.soft() {
				c.flush()
			}
			if c.apply(s) {
				continue
			}
			// Too big for what is left of the transaction: redo the
			// operations before it in a transaction of their own (they fit
			// before, so they fit again), then this one alone.
			before := append([]slot(nil), c.ops[:len(c.ops)-1]...)
			c.discard()
			for _, p := range before {
				c.apply(p)
			}
			c.flush()
			c.alone(s)
		}
	}
	c.flush()
	for _, r := range reqs {
		close(r.done)
	}
	w.maintain()
}

// warm starts reading ahead for the operations of a batch (see Warmer),
// skipping those the writer has reached, and returns what stops it and
// waits for it. A batch with fewer than two Warmers has nothing to read
// ahead of: the writer starts on the first at once.
func (w *Writer) warm(reqs []*request, reached *atomic.Int64) (stop func()) {
	n := 0
	for _, r := range reqs {
		for _, op := range r.ops {
			if _, ok := op.(Warmer); ok {
				n++
			}
		}
	}
	if n < 2 {
		return func() {}
	}
	var done atomic.Bool
	var wg sync.WaitGroup
	wg.Go(func() {
		snap := w.cfg.Store.AheadView()
		defer snap.Close()
		k := 0
		for _, r := range reqs {
			for _, op := range r.ops {
				k++
				if done.Load() {
					return
				}
				if wo, ok := op.(Warmer); ok && int64(k) > reached.Load() {
					wo.Warm(snap)
				}
			}
		}
	})
	return func() {
		done.Store(true)
		wg.Wait()
	}
}

// maintain runs pending maintenance work, one commit per operation.
func (w *Writer) maintain() {
	if w.cfg.Pending == nil {
		return
	}
	for {
		snap := w.cfg.Store.View()
		op := w.cfg.Pending(snap)
		snap.Close()

		if op == nil {
			return
		}
		var res any
		var err error
		c := &commit{w: w}
		c.alone(slot{op: op, res: &res, err: &err})
		if err != nil {
			if w.cfg.OnError != nil {
				w.cfg.OnError(err)
			}
			return
		}
	}
}
