package cluster

import (
	"fmt"
	"os"
	"testing"
	"time"
)

func TestLaggingFollowerCatchesUpFromASnapshot(t *testing.T) {
	tc := newTestCluster(t, 3)
	tc.exec(0, "TRACK", "login", "email:first@example.com")
	tc.converge(0)
	leader := -1
	for i, n := range tc.nodes {
		if n.IsLeader() {
			leader = i
		}
	}
	f := (leader + 1) % 3
	held := tc.nodes[f].Status().LastIndex
	tc.stop(f)
	for k := range 300 {
		tc.exec(leader, "TRACK", "visit", fmt.Sprintf("cookie:k%d", k%50))
	}
	// Snapshot and truncate on every running node, as the threshold would.
	for i, n := range tc.nodes {
		if n == nil {
			continue
		}
		if err := n.snapshotNoTrail(); err != nil {
			t.Fatalf("n%d snapshot: %v", i+1, err)
		}
		if first, _ := n.wal.FirstIndex(); first != 0 && first <= held+1 {
			t.Fatalf("n%d log starts at %d", i+1, first)
		}
	}
	tc.start(f)
	tc.converge(leader)
	// Raft records the installed snapshot just after the store is restored.
	for deadline := time.Now().Add(time.Minute); tc.nodes[f].Status().Snapshot <= held; {
		if time.Now().After(deadline) {
			t.Fatalf("the follower caught up without a snapshot: %+v", tc.nodes[f].Status())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got, want := tc.exec(f, "WHO", "cookie:k7").String(), tc.exec(leader, "WHO", "cookie:k7").String(); got != want {
		t.Fatalf("follower WHO = %s, leader %s", got, want)
	}
}

// A member that comes back with an empty directory (a replaced disk)
// catches up from the others with no manual step.
func TestMemberWithAnEmptyDirectoryCatchesUp(t *testing.T) {
	tc := newTestCluster(t, 3)
	for k := range 50 {
		tc.exec(k%3, "TRACK", "visit", fmt.Sprintf("cookie:e%d", k%7), fmt.Sprintf("email:e%d@example.com", k%5))
	}
	tc.converge(0)
	lost := 2
	for i, n := range tc.nodes {
		if n.IsLeader() && i == lost {
			lost = 1
		}
	}
	tc.stop(lost)
	if err := os.RemoveAll(tc.dirs[lost]); err != nil {
		t.Fatal(err)
	}
	other := (lost + 1) % 3
	tc.exec(other, "TRACK", "visit", "cookie:after")
	tc.start(lost)
	tc.converge(other)
	for _, id := range []string{"cookie:e3", "cookie:after"} {
		if got, want := tc.exec(lost, "WHO", id).String(), tc.exec(other, "WHO", id).String(); got != want {
			t.Fatalf("WHO %s on the rebuilt member = %s, want %s", id, got, want)
		}
	}
}
