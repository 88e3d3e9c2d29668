package cluster

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/idgraph/idgraph/engine"
	"github.com/idgraph/idgraph/query"
)

// testCluster runs n nodes in this process, on loopback.
type testCluster struct {
	t       *testing.T
	edit    func(*Config)
	members []Member
	dirs    []string
	nodes   []*Node
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func newTestCluster(t *testing.T, size int) *testCluster {
	t.Helper()
	return newTestClusterWith(t, size, nil)
}

// newTestClusterWith starts a cluster whose every node's configuration is
// changed by edit.
func newTestClusterWith(t *testing.T, size int, edit func(*Config)) *testCluster {
	t.Helper()
	tc := &testCluster{t: t, nodes: make([]*Node, size), edit: edit}
	root := t.TempDir()
	for i := range size {
		tc.members = append(tc.members, Member{ID: fmt.Sprintf("n%d", i+1), Addr: freeAddr(t)})
		tc.dirs = append(tc.dirs, filepath.Join(root, fmt.Sprintf("n%d", i+1)))
	}
	for i := range size {
		tc.start(i)
	}
	t.Cleanup(func() {
		for i := range tc.nodes {
			tc.stop(i)
		}
	})
	return tc
}

func (tc *testCluster) start(i int) { tc.startWith(i, tc.edit) }

// startWith starts node i with the test configuration, changed by edit.
func (tc *testCluster) startWith(i int, edit func(*Config)) {
	tc.t.Helper()
	opts := engine.DefaultOptions(tc.dirs[i])
	opts.DiskReserve = -1
	opts.ErasureDelay = 50 * time.Millisecond
	cfg := Config{NodeID: tc.members[i].ID, Members: tc.members, Store: opts,
		HeartbeatTimeout: 500 * time.Millisecond, ElectionTimeout: 500 * time.Millisecond}
	if edit != nil {
		edit(&cfg)
	}
	n, err := Open(cfg)
	if err != nil {
		tc.t.Fatal(err)
	}
	tc.nodes[i] = n
}

func (tc *testCluster) stop(i int) {
	if tc.nodes[i] != nil {
		if err := tc.nodes[i].Close(); err != nil {
			tc.t.Errorf("close n%d: %v", i+1, err)
		}
		tc.nodes[i] = nil
	}
}

// exec runs a statement on node i, failing the test on an error.
func (tc *testCluster) exec(i int, words ...string) query.Value {
	tc.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for {
		v, err := tc.nodes[i].Exec(ctx, &query.Session{Name: "test"}, words)
		if qe, ok := err.(*query.Error); ok && qe.Code == query.CodeUnavailable && ctx.Err() == nil {
			continue // no leader yet
		}
		if err != nil {
			tc.t.Fatalf("n%d %v: %v", i+1, words, err)
		}
		return v
	}
}

// converge waits until every running node has applied what node i, and
// any other node, has.
func (tc *testCluster) converge(i int) {
	tc.t.Helper()
	idx := tc.nodes[i].Status().Applied
	for _, n := range tc.nodes {
		if n != nil {
			idx = max(idx, n.Status().Applied)
		}
	}
	for j, n := range tc.nodes {
		if n != nil && !n.WaitApplied(idx, time.Minute) {
			tc.t.Fatalf("n%d did not apply up to %d", j+1, idx)
		}
	}
}

func TestWritesOnAnyNodeReachEveryNode(t *testing.T) {
	tc := newTestCluster(t, 3)
	v := tc.exec(1, "TRACK", "login", "email:ann@example.com", "cookie:c1")
	if p, _ := v.Get("profile"); p.Int != 1 {
		t.Fatalf("TRACK on a follower or leader: %v", v)
	}
	tc.exec(2, "SET", "email:ann@example.com", "plan=gold")
	tc.exec(0, "MERGE", "email:ann@example.com", "user:42")
	tc.converge(0)
	want := tc.exec(0, "WHO", "cookie:c1").String()
	for i := range tc.nodes {
		if got := tc.exec(i, "WHO", "cookie:c1").String(); got != want {
			t.Errorf("n%d WHO = %s, want %s", i+1, got, want)
		}
	}
}

func TestNodeRestartsAndKeepsItsLog(t *testing.T) {
	tc := newTestCluster(t, 3)
	tc.exec(0, "TRACK", "login", "email:bo@example.com")
	tc.converge(0)
	for i := range tc.nodes {
		tc.stop(i)
	}
	for i := range tc.nodes {
		tc.start(i)
	}
	v := tc.exec(2, "TRACK", "login", "email:bo@example.com", "cookie:b2")
	if p, _ := v.Get("profile"); p.Int != 1 {
		t.Fatalf("after a restart of every node, TRACK = %v", v)
	}
	tc.converge(2)
	if got := tc.exec(0, "WHO", "cookie:b2"); got.Kind == query.KindNil {
		t.Fatal("the write after the restart is not on n1")
	}
}

func TestEncryptedClusterRestarts(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	tc := newTestClusterWith(t, 3, func(c *Config) { c.Store.EncryptionKey = key })
	tc.exec(1, "TRACK", "signup", "email:enc-secret@example.com")
	tc.converge(1)
	for i := range tc.nodes {
		tc.stop(i)
	}
	for i := range tc.nodes {
		assertNoFileHolds(t, tc.dirs[i], "enc-secret")
		tc.start(i)
	}
	tc.exec(2, "TRACK", "login", "email:enc-secret@example.com")
	tc.converge(2)
	if who := tc.exec(0, "WHO", "email:enc-secret@example.com"); who.Kind == query.KindNil {
		t.Fatal("the encrypted cluster lost its profile across a restart")
	}
}
