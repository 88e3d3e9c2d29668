package cluster

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// The eraser makes what a FORGET erased leave the node's Raft files (the
// store's own files are the engine's job): after each applied FORGET it
//
//  1. starts a new key epoch, so every later entry is sealed under a key
//     that the erasure keeps (logstore.go), and learns the highest index
//     sealed under the older keys;
//  2. waits until the node has applied that far;
//  3. takes a snapshot with no trailing log, so the log is truncated up to
//     it: raft-wal deletes every segment file wholly before the snapshot,
//     and the file store keeps only this snapshot, which is the store's
//     backup and holds nothing erased;
//  4. checks that the log's first entry is past the older keys' entries,
//     and destroys those keys: the segment still being written may hold
//     their bytes, which nobody can read any more.
//
// FORGETs that come while an erasure runs are covered by the next one.

// erasureStats is what INFO reports of the eraser.
type erasureStats struct {
	mu      sync.Mutex
	done    uint64
	pending bool
}

func (s *erasureStats) get() (uint64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.done, s.pending
}

func (s *erasureStats) set(pending bool, finished bool) {
	s.mu.Lock()
	s.pending = pending
	if finished {
		s.done++
	}
	s.mu.Unlock()
}

func (n *Node) kickEraser() {
	n.erasures.set(true, false)
	select {
	case n.eraseKick <- struct{}{}:
	default:
	}
}

func (n *Node) eraser() {
	defer n.wg.Done()
	for {
		select {
		case <-n.done:
			return
		case <-n.eraseKick:
		}
		for {
			err := n.eraseLog()
			if err == nil {
				n.erasures.set(false, true)
				break
			}
			if n.stopping() {
				return
			}
			n.cfg.Logger.Warn("erasing the raft log after a FORGET failed; retrying", "err", err)
			select {
			case <-n.done:
				return
			case <-time.After(time.Second):
			}
		}
	}
}

// eraseLog runs one erasure of the Raft files (see above).
func (n *Node) eraseLog() error {
	upTo, err := n.codec.rotate()
	if err != nil {
		return fmt.Errorf("start a new key epoch: %w", err)
	}
	_, cur := n.codec.epochs()
	// Entries up to upTo may be barriers or no-ops, which the state
	// machine never sees: wait until Raft has handed them over. A
	// snapshot taken before the FSM got there does not reach upTo, and
	// the check below sends us round again.
	if !n.waitRaftApplied(upTo, 30*time.Second) {
		return fmt.Errorf("the log is not applied up to %d yet", upTo)
	}
	if err := n.snapshotNoTrail(); errors.Is(err, raft.ErrNothingNewToSnapshot) {
		// The last snapshot is recent but kept trailing entries: have the
		// leader append an entry, then snapshot past it.
		before := n.raft.AppliedIndex()
		if err := n.nudge(); err != nil {
			return err
		}
		if !n.waitRaftApplied(before+1, 30*time.Second) {
			return errors.New("no new entry applied after the barrier")
		}
		if err := n.snapshotNoTrail(); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	first, err := n.wal.FirstIndex()
	if err != nil {
		return err
	}
	if first != 0 && first <= upTo {
		return fmt.Errorf("the log still starts at %d, at or before %d", first, upTo)
	}
	return n.codec.destroyBefore(cur)
}

// waitRaftApplied waits until Raft has handed the entries up to index to
// the state machine, or until timeout.
func (n *Node) waitRaftApplied(index uint64, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for n.raft.AppliedIndex() < index {
		if time.Now().After(deadline) || n.stopping() {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

// snapshotNoTrail takes a snapshot that truncates the whole log up to it.
func (n *Node) snapshotNoTrail() error {
	rc := n.raft.ReloadableConfig()
	trail := rc.TrailingLogs
	rc.TrailingLogs = 0
	if err := n.raft.ReloadConfig(rc); err != nil {
		return err
	}
	err := n.raft.Snapshot().Error()
	rc.TrailingLogs = trail
	if rerr := n.raft.ReloadConfig(rc); err == nil {
		err = rerr
	}
	return err
}

// nudge has the leader append a barrier entry.
func (n *Node) nudge() error {
	addr, id := n.raft.LeaderWithID()
	switch {
	case id == "":
		return errors.New("no leader")
	case string(id) == n.self.ID:
		return n.raft.Barrier(n.cfg.WriteTimeout).Error()
	}
	var raw []byte
	return n.peers.call(string(addr), "Cluster.Barrier", nil, &raw, time.Now().Add(n.cfg.WriteTimeout))
}
