package cluster

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/idgraph/idgraph/engine"
)

// Member is one node of a cluster: its name and its replication address
// (host:port), where Raft's traffic and forwarded writes arrive.
type Member struct {
	ID   string
	Addr string
}

// ParseMembers parses a member list written "n1=host:port,n2=host:port".
// Names are 1 to 64 letters, digits, '-' or '_'; names and addresses must
// be distinct.
func ParseMembers(s string) ([]Member, error) {
	var out []Member
	ids, addrs := map[string]bool{}, map[string]bool{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		id, addr, ok := strings.Cut(part, "=")
		if !ok || !validNodeID(id) {
			return nil, fmt.Errorf("cluster member %q: write it NAME=HOST:PORT, NAME of letters, digits, '-' or '_'", part)
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return nil, fmt.Errorf("cluster member %s: address %q: %w", id, addr, err)
		}
		if ids[id] {
			return nil, fmt.Errorf("cluster member %s is named twice", id)
		}
		if addrs[addr] {
			return nil, fmt.Errorf("cluster address %s is given twice", addr)
		}
		ids[id], addrs[addr] = true, true
		out = append(out, Member{ID: id, Addr: addr})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no cluster members given")
	}
	return out, nil
}

func validNodeID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// Config configures a Node. The zero value of every duration and count is
// its documented default.
type Config struct {
	// NodeID names this node; it must be one of Members.
	NodeID string
	// Members are every node of the cluster, this one included. All nodes
	// must be given the same list (membership is static).
	Members []Member
	// Store are the options of this node's store. Store.Dir is the node's
	// directory: the store lives there and Raft's state in Store.Dir/raft.
	// Store.Salt must be empty: the cluster decides the salt.
	Store engine.Options
	// Logger receives the node's messages; nil discards them.
	Logger *slog.Logger
	// RaftLog receives the Raft library's own messages (warnings and
	// errors); nil discards them.
	RaftLog io.Writer

	// WriteTimeout bounds how long a write waits for a leader and for a
	// majority before it is answered ERR UNAVAILABLE (default 5 s).
	WriteTimeout time.Duration
	// HeartbeatTimeout and ElectionTimeout are Raft's (default 1 s each):
	// a follower that hears nothing from the leader for about this long
	// starts an election.
	HeartbeatTimeout time.Duration
	ElectionTimeout  time.Duration
	// SnapshotThreshold is how many log entries since the last snapshot
	// make a node take one (default 8192); SnapshotInterval is how often
	// it checks (default 2 minutes).
	SnapshotThreshold uint64
	SnapshotInterval  time.Duration
	// TrailingLogs is how many entries a snapshot leaves in the log, so a
	// follower that lags by less catches up without a snapshot (default
	// 10240).
	TrailingLogs uint64
	// SegmentBytes is the size of one log segment file (default 16 MiB).
	SegmentBytes int
}

func (c Config) withDefaults() Config {
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 5 * time.Second
	}
	if c.HeartbeatTimeout <= 0 {
		c.HeartbeatTimeout = time.Second
	}
	if c.ElectionTimeout <= 0 {
		c.ElectionTimeout = time.Second
	}
	if c.SnapshotThreshold == 0 {
		c.SnapshotThreshold = 8192
	}
	if c.SnapshotInterval <= 0 {
		c.SnapshotInterval = 2 * time.Minute
	}
	if c.TrailingLogs == 0 {
		c.TrailingLogs = 10240
	}
	if c.SegmentBytes <= 0 {
		c.SegmentBytes = 16 << 20
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.RaftLog == nil {
		c.RaftLog = io.Discard
	}
	return c
}

// self returns this node's member entry.
func (c Config) self() (Member, error) {
	for _, m := range c.Members {
		if m.ID == c.NodeID {
			return m, nil
		}
	}
	names := make([]string, len(c.Members))
	for i, m := range c.Members {
		names[i] = m.ID
	}
	return Member{}, fmt.Errorf("node %q is not a member of the cluster (%s)", c.NodeID, strings.Join(names, ", "))
}
