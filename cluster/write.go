package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/raft"
	"github.com/idgraph/idgraph/engine"
	"github.com/idgraph/idgraph/query"
)

// Exec runs one statement: a write goes through the replicated log and is
// answered with this node's result for its entry; anything else (reads,
// BACKUP, INFO, PING, a statement that does not parse) runs on this node's
// store. It is the server.Executor of a cluster node.
func (n *Node) Exec(ctx context.Context, s *query.Session, args []string) (query.Value, error) {
	if s == nil {
		s = &query.Session{}
	}
	st, err := query.Parse(args)
	if err != nil || !replicated(st) {
		return n.local(ctx, s, args)
	}
	if s.ReadOnly {
		return query.Value{}, query.Errorf(query.CodeReadOnly, 0, "this user may only read")
	}
	res, err := n.Apply(ctx, s.Name, [][]string{args})
	if err != nil {
		return query.Value{}, err
	}
	return res[0].Value, res[0].Err
}

// replicated reports whether a statement goes through the log: every
// statement that writes, except BACKUP, which writes a file of this node's.
func replicated(st query.Statement) bool {
	return query.IsWrite(st) && st.Command() != "BACKUP"
}

func isForget(word string) bool { return strings.EqualFold(word, "FORGET") }

// local runs a statement on this node's store.
func (n *Node) local(ctx context.Context, s *query.Session, args []string) (query.Value, error) {
	n.fsm.mu.RLock()
	defer n.fsm.mu.RUnlock()
	if n.fsm.x == nil {
		return query.Value{}, unavailable("this node's store is being replaced or is closed; try again")
	}
	return n.fsm.x.Exec(ctx, s, args)
}

// Applier applies write statements through the replicated log. The HTTP
// API applies its records through it (as RECORD statements), so that they
// reach every node; a *Node is one.
type Applier interface {
	// Apply writes one log entry holding stmts, each a write statement's
	// words, applied in order with source as the default source. It
	// returns once a majority holds the entry and this node has applied
	// it, with this node's result for each statement; the error is for
	// the entry as a whole (ERR UNAVAILABLE when no majority could be
	// reached within the write timeout, or a FORGET whose identifier is
	// unknown or malformed).
	Apply(ctx context.Context, source string, stmts [][]string) ([]Result, error)
}

var _ Applier = (*Node)(nil)

// RecordApplier applies engine records through the replicated log, as
// engine.DB.Apply applies them on one node: the HTTP API's path, which
// keeps its message-id de-duplication. A *Node is one.
type RecordApplier interface {
	// ApplyRecords writes one log entry holding records; every node
	// applies them in order, each atomically, in one group commit when
	// they fit (engine.DB.Apply of engine.RecordOp). It returns once a
	// majority holds the entry and this node has applied it, with this
	// node's result and error for each record; the error is for the
	// entry as a whole (ERR UNAVAILABLE without a majority, or the
	// engine's own failure). Records' Time, when set, keeps millisecond
	// precision.
	ApplyRecords(ctx context.Context, records []engine.Record) ([]engine.Result, []error, error)
}

var _ RecordApplier = (*Node)(nil)

// ApplyRecords implements RecordApplier.
func (n *Node) ApplyRecords(ctx context.Context, records []engine.Record) ([]engine.Result, []error, error) {
	if len(records) == 0 {
		return nil, nil, nil
	}
	req := n.nextReq.Add(1)
	e := &entry{Kind: kindRecords, Origin: n.self.ID, Req: req, Records: make([]recordWire, len(records))}
	for i, r := range records {
		e.Records[i] = wireRecord(r)
	}
	v, err := n.replicate(ctx, e)
	if err != nil {
		return nil, nil, err
	}
	rr := v.(*recordsResult)
	return rr.res, rr.errs, rr.err
}

// CheckRecord validates a record against this node's store, as
// engine.DB.CheckRecord (the HTTP API checks a whole request before it
// writes any of it).
func (n *Node) CheckRecord(rec engine.Record) error {
	n.fsm.mu.RLock()
	defer n.fsm.mu.RUnlock()
	if n.fsm.db == nil {
		return unavailable("this node's store is being replaced or is closed; try again")
	}
	return n.fsm.db.CheckRecord(rec)
}

// Segment returns a saved segment's expression from this node's store.
func (n *Node) Segment(name string) (string, bool) {
	n.fsm.mu.RLock()
	defer n.fsm.mu.RUnlock()
	if n.fsm.db == nil {
		return "", false
	}
	return n.fsm.db.Segment(name)
}

// errNotLeader: the entry was not handed to Raft (this node or the one
// asked is not the leader); it is safe to send it again.
var errNotLeader = errors.New("not the leader")

func unavailable(format string, args ...any) *query.Error {
	return query.Errorf(query.CodeUnavailable, 0, format, args...)
}

// Apply implements Applier.
func (n *Node) Apply(ctx context.Context, source string, stmts [][]string) ([]Result, error) {
	if len(stmts) == 0 {
		return nil, nil
	}
	for _, words := range stmts {
		st, err := query.Parse(words)
		if err != nil {
			return nil, err
		}
		if !replicated(st) {
			return nil, query.Errorf(query.CodeSyntax, 1, "%s does not write; only write statements go through the log", st.Command())
		}
	}
	req := n.nextReq.Add(1)
	v, err := n.replicate(ctx, &entry{Kind: kindWrite, Stmts: stmts, Source: source, Origin: n.self.ID, Req: req})
	if err != nil {
		return nil, err
	}
	return v.([]Result), nil
}

// replicate has e (received here: Origin and Req set) written into the log
// and returns this node's result for it once applied here.
func (n *Node) replicate(ctx context.Context, e *entry) (any, error) {
	ch := n.wait(e.Req)
	defer n.unwait(e.Req)
	deadline := time.Now().Add(n.cfg.WriteTimeout)
	if err := n.submit(ctx, e, deadline); err != nil {
		return nil, err
	}
	// A majority holds the entry; this node applies it as soon as it
	// learns it is committed (at once on the leader).
	t := time.NewTimer(time.Until(deadline) + n.cfg.WriteTimeout)
	defer t.Stop()
	select {
	case res := <-ch:
		return res, nil
	case <-t.C:
		return nil, unavailable("the write is committed but this node has not applied it yet; read it on the leader")
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-n.done:
		return nil, unavailable("this node is shutting down")
	}
}

// submit has the leader write e into the log, proposing it here when this
// node leads and forwarding it otherwise, and returns once the entry is
// committed. It waits for a leader until deadline.
func (n *Node) submit(ctx context.Context, e *entry, deadline time.Time) error {
	for {
		addr, id := n.raft.LeaderWithID()
		var err error
		switch {
		case id == "":
			err = errNotLeader
		case string(id) == n.self.ID:
			_, err = n.propose(e, deadline)
		default:
			err = n.forward(string(addr), e, deadline)
		}
		if !errors.Is(err, errNotLeader) {
			return err
		}
		if !time.Now().Before(deadline) {
			return unavailable("no leader reachable with a majority within %v; this node serves reads only until one is", n.cfg.WriteTimeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-n.done:
			return unavailable("this node is shutting down")
		case <-time.After(min(25*time.Millisecond, time.Until(deadline))):
		}
	}
}

// propose writes e into the log on the leader and returns its index once
// it is committed and applied here. It decides what every node must apply
// alike: "now", and the profile a FORGET erases.
func (n *Node) propose(e *entry, deadline time.Time) (uint64, error) {
	if n.raft.State() != raft.Leader {
		return 0, errNotLeader
	}
	if err := n.ensureInit(deadline); err != nil {
		return 0, err
	}
	forget := false
	for _, words := range e.Stmts {
		forget = forget || len(words) > 0 && isForget(words[0])
	}
	var f raft.ApplyFuture
	if forget {
		n.propMu.Lock()
		// Resolve on a store that has applied every earlier entry, and
		// let no entry in between.
		if err := n.raft.Barrier(time.Until(deadline)).Error(); err != nil {
			n.propMu.Unlock()
			return 0, raftErr(err)
		}
		stmts, err := n.resolveForgets(e.Stmts)
		if err != nil {
			n.propMu.Unlock()
			return 0, err
		}
		e2 := *e
		e2.Stmts = stmts
		f, err = n.applyEntry(&e2, deadline)
		n.propMu.Unlock()
		if err != nil {
			return 0, err
		}
	} else {
		n.propMu.RLock()
		var err error
		f, err = n.applyEntry(e, deadline)
		n.propMu.RUnlock()
		if err != nil {
			return 0, err
		}
	}
	errc := make(chan error, 1)
	go func() { errc <- f.Error() }()
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case err := <-errc:
		if err != nil {
			return 0, raftErr(err)
		}
		return f.Index(), nil
	case <-t.C:
		return 0, unavailable("no majority acknowledged the write within %v; it may still be applied", n.cfg.WriteTimeout)
	case <-n.done:
		return 0, unavailable("this node is shutting down; the write may still be applied")
	}
}

// applyEntry stamps "now" on e and hands it to Raft.
func (n *Node) applyEntry(e *entry, deadline time.Time) (raft.ApplyFuture, error) {
	e.Now = time.Now().UnixMilli()
	data, err := encodeEntry(e)
	if err != nil {
		return nil, err
	}
	return n.raft.Apply(data, max(time.Until(deadline), time.Millisecond)), nil
}

// raftErr turns Raft's error for an entry into the client's.
func raftErr(err error) error {
	switch {
	case errors.Is(err, raft.ErrNotLeader):
		return errNotLeader // not written: safe to send again
	case errors.Is(err, raft.ErrEnqueueTimeout):
		return unavailable("the leader is overloaded; the write was not applied")
	case errors.Is(err, raft.ErrRaftShutdown):
		return unavailable("this node is shutting down")
	}
	return unavailable("the leader lost its majority: %v; the write may still be applied", err)
}

// resolveForgets rewrites each FORGET <id> [SUPPRESS] to FORGET
// profile:<n> [SUPPRESS], so that the log entry names no identifier.
// Callers hold propMu for writing after a barrier.
func (n *Node) resolveForgets(stmts [][]string) ([][]string, error) {
	out := make([][]string, len(stmts))
	for i, words := range stmts {
		out[i] = words
		if len(words) == 0 || !isForget(words[0]) {
			continue
		}
		st, err := query.Parse(words)
		if err != nil {
			return nil, err
		}
		fg, ok := st.(*query.Forget)
		if !ok {
			continue
		}
		p, err := n.profileOf(fg.ID)
		if err != nil {
			return nil, err
		}
		w := []string{words[0], "profile:" + strconv.FormatUint(uint64(p), 10)}
		if fg.Suppress {
			w = append(w, "SUPPRESS")
		}
		out[i] = w
	}
	return out, nil
}

// profileOf returns the live profile holding id on this node's store.
func (n *Node) profileOf(id string) (uint32, error) {
	n.fsm.mu.RLock()
	defer n.fsm.mu.RUnlock()
	if n.fsm.db == nil {
		return 0, unavailable("this node's store is being replaced; try again")
	}
	p, err := n.fsm.db.Who(id)
	if err != nil {
		var ee *engine.Error
		switch {
		case errors.Is(err, engine.ErrNotFound):
			return 0, query.Errorf(query.CodeNotFound, 2, "%s is not known", clip(id))
		case errors.As(err, &ee) && ee.Kind == engine.KindBadID:
			return 0, query.Errorf(query.CodeBadID, 2, "%s", ee.Msg)
		case errors.As(err, &ee):
			return 0, query.Errorf(query.CodeSyntax, 2, "%s", ee.Msg)
		}
		return 0, err
	}
	return p.ID, nil
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// ensureInit writes the init entry (the cluster's id and salt) unless it
// has been applied. Only the leader calls it.
func (n *Node) ensureInit(deadline time.Time) error {
	if n.fsm.ready() {
		return nil
	}
	n.initMu.Lock()
	defer n.initMu.Unlock()
	if n.fsm.ready() {
		return nil
	}
	// The init entry may be in the log, not yet applied here.
	if err := n.raft.Barrier(max(time.Until(deadline), time.Millisecond)).Error(); err != nil {
		return raftErr(err)
	}
	if n.fsm.ready() {
		return nil
	}
	id := make([]byte, 8)
	salt := make([]byte, 32)
	rand.Read(id)
	rand.Read(salt)
	data, err := encodeEntry(&entry{Kind: kindInit, ClusterID: hex.EncodeToString(id), Salt: salt})
	if err != nil {
		return err
	}
	if err := n.raft.Apply(data, max(time.Until(deadline), time.Millisecond)).Error(); err != nil {
		return raftErr(err)
	}
	if !n.fsm.ready() {
		return unavailable("the cluster could not be initialised; see the log")
	}
	return nil
}
