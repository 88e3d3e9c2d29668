package cluster

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/raft"
	"github.com/idgraph/idgraph/query"
	"github.com/vmihailenco/msgpack/v5"
)

// Status is what a member reports of itself.
type Status struct {
	Node       string `msgpack:"node"`
	Addr       string `msgpack:"addr"`
	Role       string `msgpack:"role"` // leader, follower, candidate or shutdown
	Leader     string `msgpack:"leader"`
	LeaderAddr string `msgpack:"leader_addr"`
	ClusterID  string `msgpack:"cluster_id"`
	Term       uint64 `msgpack:"term"`
	Applied    uint64 `msgpack:"applied"` // the last log entry applied to the store
	Commit     uint64 `msgpack:"commit"`  // the last log entry known committed
	LastIndex  uint64 `msgpack:"last"`    // the last log entry held
	Snapshot   uint64 `msgpack:"snapshot"`
	// Erasures counts the erasures of the log completed since the node
	// started; ErasurePending is set from a FORGET's apply until its log
	// erasure completes.
	Erasures       uint64 `msgpack:"erasures"`
	ErasurePending bool   `msgpack:"erasure_pending"`
	// FirstIndex is the first entry the log holds (0: none); KeyEpochs
	// how many keys can read the log's entries (one after an erasure).
	FirstIndex uint64 `msgpack:"first"`
	KeyEpochs  int    `msgpack:"epochs"`
}

// Status returns this node's status.
func (n *Node) Status() Status {
	addr, id := n.raft.LeaderWithID()
	st := Status{Node: n.self.ID, Addr: n.self.Addr, Role: strings.ToLower(n.raft.State().String()),
		Leader: string(id), LeaderAddr: string(addr), Term: n.raft.CurrentTerm(),
		Applied: n.fsm.applied.Load(), Commit: n.raft.CommitIndex(), LastIndex: n.raft.LastIndex()}
	n.fsm.mu.RLock()
	st.ClusterID = n.fsm.clusterID
	n.fsm.mu.RUnlock()
	if s, err := strconv.ParseUint(n.raft.Stats()["last_snapshot_index"], 10, 64); err == nil {
		st.Snapshot = s
	}
	st.Erasures, st.ErasurePending = n.erasures.get()
	st.FirstIndex, _ = n.wal.FirstIndex()
	eps, _ := n.codec.epochs()
	st.KeyEpochs = len(eps)
	return st
}

// memberTimeout bounds asking a member for its status.
const memberTimeout = time.Second

// Members returns every member's status, asking the others over the
// replication port; a member that does not answer within a second is
// reported with Role "unreachable".
func (n *Node) Members() []Status {
	out := make([]Status, len(n.cfg.Members))
	var wg sync.WaitGroup
	for i, m := range n.cfg.Members {
		if m.ID == n.self.ID {
			out[i] = n.Status()
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = Status{Node: m.ID, Addr: m.Addr, Role: "unreachable"}
			var raw []byte
			if err := n.peers.call(m.Addr, "Cluster.Status", nil, &raw, time.Now().Add(memberTimeout)); err != nil {
				return
			}
			var st Status
			if msgpack.Unmarshal(raw, &st) == nil {
				out[i] = st
			}
		}()
	}
	wg.Wait()
	return out
}

// Info returns the lines of INFO's "cluster" section: this node's role,
// leader and indexes, and one line per member.
func (n *Node) Info() []query.Pair {
	st := n.Status()
	s := func(k, v string) query.Pair { return query.Pair{Key: k, Val: query.String(v)} }
	u := func(k string, v uint64) query.Pair { return s(k, strconv.FormatUint(v, 10)) }
	out := []query.Pair{
		s("cluster_enabled", "1"), s("cluster_id", st.ClusterID), s("node", st.Node), s("node_addr", st.Addr),
		s("role", st.Role), s("leader", st.Leader), s("leader_addr", st.LeaderAddr),
		u("term", st.Term), u("applied", st.Applied), u("commit_index", st.Commit),
		u("last_log_index", st.LastIndex), u("last_snapshot_index", st.Snapshot),
		u("first_log_index", st.FirstIndex), u("log_key_epochs", uint64(st.KeyEpochs)),
		u("log_erasures", st.Erasures), s("log_erasure_pending", boolStr(st.ErasurePending)),
		u("members", uint64(len(n.cfg.Members))),
	}
	for _, m := range n.Members() {
		out = append(out, s("member_"+m.Node, fmt.Sprintf("addr=%s,role=%s,applied=%d,commit=%d,term=%d",
			m.Addr, m.Role, m.Applied, m.Commit, m.Term)))
	}
	return out
}

func boolStr(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// StoreInfo returns the lines of INFO's "store" section for this node's
// store.
func (n *Node) StoreInfo() []query.Pair {
	n.fsm.mu.RLock()
	defer n.fsm.mu.RUnlock()
	if n.fsm.x == nil {
		return nil
	}
	return n.fsm.x.StoreInfo()
}

// IsLeader reports whether this node leads now.
func (n *Node) IsLeader() bool { return n.raft.State() == raft.Leader }

// WaitApplied waits until this node has applied the log's command entries
// up to index (Status.Applied ≥ index), or until timeout; it reports
// whether it has. Barriers and no-ops that Raft writes are not applied to
// the store, so index should be a command entry's: another node's
// Status.Applied.
func (n *Node) WaitApplied(index uint64, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for n.fsm.applied.Load() < index {
		if time.Now().After(deadline) || n.stopping() {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}
