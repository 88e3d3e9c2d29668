package server

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/idgraph/idgraph/engine"
	"github.com/idgraph/idgraph/query"
)

func engineExec(t *testing.T) (*query.Executor, *engine.DB) {
	t.Helper()
	opts := engine.DefaultOptions("")
	opts.InMemory = true
	now := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	opts.Now = func() time.Time { return now }
	db, err := engine.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	x := query.NewExecutor(db)
	x.SetClock(opts.Now)
	return x, db
}

// A pipeline of simple writes is applied in group commits, with the same
// replies, in the same order, as the statements sent one at a time; a read
// or a failing statement in the pipeline sees and changes what it would.
func TestPipelinedWritesShareCommits(t *testing.T) {
	var cmds []string
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for i := range 300 {
		when := at.Add(time.Duration(i) * time.Minute).Format(time.RFC3339)
		switch {
		case i == 150:
			cmds = append(cmds, cmd("WHO", "cookie:c3"))
		case i == 151:
			cmds = append(cmds, cmd("TRACK", "page_view", "nocolon"))
		case i == 152:
			cmds = append(cmds, cmd("MERGE", "user:u1", "user:u2"))
		case i%50 == 7:
			cmds = append(cmds, cmd("SET", fmt.Sprintf("cookie:c%d", i%10), fmt.Sprintf("tier=%d", i), "AT", when))
		default:
			cmds = append(cmds, cmd("TRACK", "page_view", fmt.Sprintf("cookie:c%d", i%10), fmt.Sprintf("user:u%d", i%4), "AT", when))
		}
	}

	xa, dba := engineExec(t)
	_, addrA := start(t, xa, testOptions())
	alone := dialRaw(t, addrA)
	var want []string
	for _, c := range cmds {
		want = append(want, alone.send(c).reply())
	}
	commitsAlone := dba.Stats().Gen

	xb, dbb := engineExec(t)
	_, addrB := start(t, xb, testOptions())
	piped := dialRaw(t, addrB)
	piped.send(strings.Join(cmds, ""))
	for i := range cmds {
		if got := piped.reply(); got != want[i] {
			t.Fatalf("reply %d to %q:\n piped %s\n alone %s", i, cmds[i], got, want[i])
		}
	}
	for _, id := range []string{"cookie:c1", "cookie:c3", "user:u2"} {
		a, b := alone.send(cmd("WHO", id)).reply(), piped.send(cmd("WHO", id)).reply()
		if a != b {
			t.Fatalf("WHO %s:\n piped %s\n alone %s", id, b, a)
		}
	}
	commitsPiped := dbb.Stats().Gen
	if commitsPiped*2 > commitsAlone {
		t.Errorf("pipelined writes took %d commits, one at a time %d: not grouped", commitsPiped, commitsAlone)
	}
	if !strings.HasPrefix(want[151], "ERR BADID") || !strings.Contains(want[150], "cookie:c3") {
		t.Errorf("the WHO and the bad TRACK inside the pipeline answered %q and %q", want[150], want[151])
	}
}
