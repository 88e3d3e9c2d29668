package cluster

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
	"github.com/idgraph/idgraph/engine"
	"github.com/idgraph/idgraph/query"
)

// Result is one statement's outcome on the node that applied it: the reply
// value, or the error the client gets.
type Result struct {
	Value query.Value
	Err   error
}

// fsm is the node's state machine: its store, and the entries applied to
// it. Raft calls Apply, Snapshot and Restore from its one FSM goroutine, so
// the store changes only there; readers run concurrently.
//
// mu is held for reading by every use of db and x, and for writing only
// while the store is replaced (init, Restore, close). clusterID and inited
// are guarded by mu too.
type fsm struct {
	n  *Node
	mu sync.RWMutex
	db *engine.DB
	x  *query.Executor

	clusterID string
	inited    bool // the init entry (or a snapshot taken after it) is applied
	closed    bool

	applied atomic.Uint64 // index of the last entry applied
	forgets atomic.Uint64 // FORGETs applied since open (the eraser watches it)
}

// storeDir is the node's directory, where the store lives.
func (f *fsm) storeDir() string { return f.n.cfg.Store.Dir }

// openStore opens the node's store with salt (nil: whatever the store
// holds, or a fresh one for a new store). Callers hold mu for writing.
func (f *fsm) openStore(salt []byte) error {
	opts := f.n.cfg.Store
	opts.Salt = salt
	db, err := engine.Open(opts)
	if err != nil {
		return err
	}
	f.db, f.x = db, query.NewExecutor(db)
	return nil
}

// resetStore closes the store, removes it (Raft's directory stays) and
// opens an empty one with salt. Callers hold mu for writing.
func (f *fsm) resetStore(salt []byte) error {
	if f.db != nil {
		if err := f.db.Close(); err != nil {
			f.n.cfg.Logger.Warn("closing the store before replacing it", "err", err)
		}
		f.db, f.x = nil, nil
	}
	if err := wipeStore(f.storeDir()); err != nil {
		return err
	}
	return f.openStore(salt)
}

// wipeStore removes everything in dir but Raft's directory.
func wipeStore(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Name() == raftDirName {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

// ready reports whether the init entry has been applied.
func (f *fsm) ready() bool {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.inited
}

// Apply applies one committed log entry. Its return value is the
// []Result of a write entry (the ApplyFuture's response on the leader).
func (f *fsm) Apply(l *raft.Log) any {
	defer f.applied.Store(l.Index)
	e, err := decodeEntry(l.Data)
	if err != nil {
		// Every node sees the same bytes, so every node skips it alike.
		f.n.cfg.Logger.Error("skipping a log entry this node cannot read", "index", l.Index, "err", err)
		return nil
	}
	switch e.Kind {
	case kindInit:
		f.init(e, l.Index)
		return nil
	case kindWrite:
		res := f.apply(e)
		if e.Origin == f.n.cfg.NodeID {
			f.n.deliver(e.Req, res)
		}
		return res
	case kindRecords:
		res := f.applyRecords(e)
		if e.Origin == f.n.cfg.NodeID {
			f.n.deliver(e.Req, res)
		}
		return res
	}
	f.n.cfg.Logger.Error("skipping a log entry of an unknown kind", "index", l.Index, "kind", e.Kind)
	return nil
}

// init applies the init entry: the first one decides the cluster's id and
// salt, and the store (empty until then) is created anew with that salt.
// Later init entries (a leader that could not tell the first had been
// written) change nothing.
func (f *fsm) init(e *entry, index uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.inited {
		return
	}
	if err := f.resetStore(e.Salt); err != nil {
		f.fatal(fmt.Errorf("create the store with the cluster's salt: %w", err))
		return
	}
	f.clusterID, f.inited = e.ClusterID, true
	f.n.cfg.Logger.Info("cluster initialised", "cluster_id", e.ClusterID, "index", index)
}

// apply runs a write entry's statements in order under the entry's "now".
func (f *fsm) apply(e *entry) []Result {
	f.mu.RLock()
	defer f.mu.RUnlock()
	ctx := engine.WithNow(context.Background(), time.UnixMilli(e.Now).UTC())
	sess := &query.Session{Name: e.Source}
	out := make([]Result, len(e.Stmts))
	if f.x == nil {
		// The store could not be opened or replaced (logged): this node
		// diverges until it is restarted, which rebuilds the store.
		for i := range out {
			out[i].Err = unavailable("this node's store is not open; restart the node")
		}
		return out
	}
	for i, words := range e.Stmts {
		for {
			v, err := f.x.Exec(ctx, sess, words)
			var qe *query.Error
			if errors.As(err, &qe) && qe.Code == query.CodeNoSpace && !f.n.stopping() {
				// This node's disk is full; the others applied the entry.
				// Applying it later keeps this store equal to theirs.
				f.n.cfg.Logger.Error("the disk is nearly full: waiting for space to apply the next log entry", "err", err)
				select {
				case <-f.n.done:
				case <-time.After(5 * time.Second):
				}
				continue
			}
			out[i] = Result{Value: v, Err: err}
			if err == nil && len(words) > 0 && isForget(words[0]) {
				f.forgets.Add(1)
				f.n.kickEraser()
			}
			break
		}
	}
	return out
}

// recordsResult is a records entry's outcome on this node.
type recordsResult struct {
	res  []engine.Result
	errs []error
	err  error // the entry as a whole
}

// applyRecords applies a records entry's records in order, in one call of
// the engine's Apply (one group commit when they fit), under the entry's
// "now".
func (f *fsm) applyRecords(e *entry) *recordsResult {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.db == nil {
		return &recordsResult{err: unavailable("this node's store is not open; restart the node")}
	}
	ctx := engine.WithNow(context.Background(), time.UnixMilli(e.Now).UTC())
	ops := make([]engine.Op, len(e.Records))
	for i, w := range e.Records {
		ops[i] = engine.RecordOp(w.record())
	}
	for {
		res, errs, err := f.db.Apply(ctx, ops)
		if errors.Is(err, engine.ErrNoSpace) && !f.n.stopping() {
			f.n.cfg.Logger.Error("the disk is nearly full: waiting for space to apply the next log entry", "err", err)
			select {
			case <-f.n.done:
			case <-time.After(5 * time.Second):
			}
			continue
		}
		return &recordsResult{res: res, errs: errs, err: err}
	}
}

// fatal reports a failure that leaves this node unable to apply the log.
func (f *fsm) fatal(err error) {
	f.n.cfg.Logger.Error("this node cannot apply the log any more; restart it", "err", err)
}

// snapshotHeader precedes the store's backup in a snapshot. (The salt is
// in the store, encrypted with it when it is.)
type snapshotHeader struct {
	Version   int    `json:"version"`
	ClusterID string `json:"cluster_id"`
	Inited    bool   `json:"inited"`
	Applied   uint64 `json:"applied"` // the last command entry the store holds
}

const snapshotMagic = "idgraph-raft-snapshot\n"

// Snapshot captures the store as of the last applied entry. The backup
// pins its generation before it writes its first byte, and Snapshot
// returns only once it has (Raft calls Apply again as soon as Snapshot
// returns); the bytes are then streamed by Persist while entries apply.
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	f.mu.RLock()
	hdr := snapshotHeader{Version: 1, ClusterID: f.clusterID, Inited: f.inited, Applied: f.applied.Load()}
	f.mu.RUnlock()
	pr, pw := io.Pipe()
	started := make(chan error, 1)
	go func() {
		f.mu.RLock()
		defer f.mu.RUnlock()
		sw := &startWriter{w: pw, started: started}
		var err error
		if f.db == nil {
			err = errors.New("the store is closed")
		} else {
			_, err = f.db.Backup(sw)
		}
		if !sw.signalled {
			if err == nil {
				err = errors.New("the backup wrote nothing")
			}
			started <- err
		}
		pw.CloseWithError(err)
	}()
	if err := <-started; err != nil {
		pr.Close()
		return nil, err
	}
	return &snapshot{hdr: hdr, r: pr}, nil
}

// startWriter signals on its first Write, before passing it on.
type startWriter struct {
	w         io.Writer
	started   chan<- error
	signalled bool
}

func (s *startWriter) Write(b []byte) (int, error) {
	if !s.signalled {
		s.signalled = true
		s.started <- nil
	}
	return s.w.Write(b)
}

type snapshot struct {
	hdr snapshotHeader
	r   *io.PipeReader
}

func (s *snapshot) Persist(sink raft.SnapshotSink) error {
	err := func() error {
		hb, err := json.Marshal(&s.hdr)
		if err != nil {
			return err
		}
		if _, err := io.WriteString(sink, snapshotMagic); err != nil {
			return err
		}
		if _, err := sink.Write(append(hb, '\n')); err != nil {
			return err
		}
		_, err = io.Copy(sink, s.r)
		return err
	}()
	if err != nil {
		sink.Cancel()
		return err
	}
	return sink.Close()
}

func (s *snapshot) Release() { s.r.Close() }

// Restore replaces the store with a snapshot's: the store is closed and
// removed, the backup is restored in a fresh directory beside Raft's, and
// its files are moved into the node's directory.
func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	br := bufio.NewReaderSize(rc, 1<<20)
	magic := make([]byte, len(snapshotMagic))
	if _, err := io.ReadFull(br, magic); err != nil || string(magic) != snapshotMagic {
		return fmt.Errorf("not an idgraph snapshot")
	}
	line, err := br.ReadBytes('\n')
	if err != nil {
		return fmt.Errorf("snapshot header: %w", err)
	}
	var hdr snapshotHeader
	if err := json.Unmarshal(line, &hdr); err != nil {
		return fmt.Errorf("snapshot header: %w", err)
	}
	if hdr.Version != 1 {
		return fmt.Errorf("a snapshot of version %d: this node knows version 1 only; upgrade it", hdr.Version)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.db != nil {
		if err := f.db.Close(); err != nil {
			f.n.cfg.Logger.Warn("closing the store before restoring a snapshot", "err", err)
		}
		f.db, f.x = nil, nil
	}
	if err := wipeStore(f.storeDir()); err != nil {
		return err
	}
	tmp := filepath.Join(f.n.raftDir, "restore")
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	opts := f.n.cfg.Store
	opts.Dir, opts.Salt = tmp, nil
	if _, err := engine.Restore(opts, br, nil); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("restore snapshot: %w", err)
	}
	entries, err := os.ReadDir(tmp)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := os.Rename(filepath.Join(tmp, e.Name()), filepath.Join(f.storeDir(), e.Name())); err != nil {
			return err
		}
	}
	if err := os.Remove(tmp); err != nil {
		return err
	}
	if err := f.openStore(nil); err != nil {
		return fmt.Errorf("open the restored store: %w", err)
	}
	f.clusterID, f.inited = hdr.ClusterID, hdr.Inited
	f.applied.Store(hdr.Applied)
	return nil
}

// close closes the store; later reads and writes fail.
func (f *fsm) close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	if f.db == nil {
		return nil
	}
	err := f.db.Close()
	f.db, f.x = nil, nil
	return err
}
