package engine_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/idgraph/idgraph/engine"
	"github.com/idgraph/idgraph/query"
)

// TestMain lets the test binary act as the child that the crash test kills.
func TestMain(m *testing.M) {
	if dir := os.Getenv("IDGRAPH_CRASH_CHILD"); dir != "" {
		crashChild(dir)
		return
	}
	os.Exit(m.Run())
}

// crashChild tracks logins forever, printing the number of each one the
// engine acknowledged, until it is killed.
func crashChild(dir string) {
	opts := engine.DefaultOptions(dir)
	opts.Watch = query.Watcher{} // the change feed watches "logged"
	db, err := engine.Open(opts)
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(1)
	}
	start, _ := strconv.Atoi(os.Getenv("IDGRAPH_CRASH_START"))
	if start == 0 {
		if _, err := query.NewExecutor(db).ExecLine(context.Background(), nil, "SEGMENT SAVE logged DID login"); err != nil {
			fmt.Println("segment:", err)
			os.Exit(1)
		}
	}
	out := bufio.NewWriter(os.Stdout)
	for i := start; ; i++ {
		ids := []string{fmt.Sprintf("user:u%d", i), fmt.Sprintf("cookie:c%d", i/3), fmt.Sprintf("device:d%d", i%17)}
		if _, err := db.Track(context.Background(), engine.Event{Name: "login", IDs: ids}); err != nil {
			fmt.Println("track:", err)
			os.Exit(1)
		}
		fmt.Fprintf(out, "%d\n", i)
		out.Flush()
	}
}

func TestKillNineLosesNothingAcknowledged(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	dir := t.TempDir()
	next := 0
	for round := 0; round < 3; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "IDGRAPH_CRASH_CHILD="+dir, "IDGRAPH_CRASH_START="+strconv.Itoa(next))
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(stdout)
		acked := -1
		deadline := time.Now().Add(time.Duration(300+round*200) * time.Millisecond)
		for sc.Scan() {
			line := sc.Text()
			n, err := strconv.Atoi(line)
			if err != nil {
				t.Fatalf("child: %s", line)
			}
			acked = n
			if time.Now().After(deadline) && acked >= next+50 {
				break
			}
		}
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		if acked < next {
			t.Fatalf("round %d: child acknowledged nothing", round)
		}
		db, err := engine.Open(engine.DefaultOptions(dir))
		if err != nil {
			t.Fatalf("reopen after kill -9: %v", err)
		}
		for i := 0; i <= acked; i++ {
			p, err := db.Who(fmt.Sprintf("user:u%d", i))
			if err != nil {
				t.Fatalf("round %d: acknowledged login %d lost: %v", round, i, err)
			}
			if !slices.Contains(p.IDs, fmt.Sprintf("user:u%d", i)) || p.Events < 1 {
				t.Fatalf("round %d: login %d: %+v", round, i, p)
			}
		}
		if problems, err := db.Check(); err != nil || len(problems) > 0 {
			t.Fatalf("round %d: check after kill -9: %v %v", round, err, problems)
		}
		checkFeedAfterCrash(t, db, round, acked)
		// Later rounds continue after what this round may also have written.
		next = acked + 1
		for {
			if _, err := db.Who(fmt.Sprintf("user:u%d", next)); err != nil {
				break
			}
			next++
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// checkFeedAfterCrash: every acknowledged login's profile has entered
// "logged" in the feed (its entry was committed with it); the cursors run
// without a gap; no profile entered twice; and every profile the feed
// names exists (nothing was reported of a write that was not committed).
func checkFeedAfterCrash(t *testing.T, db *engine.DB, round, acked int) {
	t.Helper()
	entries, _, err := db.Changes(engine.ChangePage{Start: true, Limit: 1 << 30, Scan: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	entered := map[uint32]bool{}
	for i, e := range entries {
		if e.Cursor != uint64(i+1) {
			t.Fatalf("round %d: entry %d has cursor %d", round, i, e.Cursor)
		}
		if e.Kind != engine.ChangeEntered {
			continue
		}
		if entered[e.Profile] {
			t.Fatalf("round %d: profile %d entered twice", round, e.Profile)
		}
		entered[e.Profile] = true
		if _, err := db.Who(fmt.Sprintf("profile:%d", e.Profile)); err != nil {
			t.Fatalf("round %d: the feed reports profile %d, which does not exist: %v", round, e.Profile, err)
		}
	}
	for i := 0; i <= acked; i++ {
		p, err := db.Who(fmt.Sprintf("user:u%d", i))
		if err != nil {
			t.Fatal(err)
		}
		if !entered[p.ID] {
			t.Fatalf("round %d: acknowledged login %d (profile %d) has no segment.entered entry", round, i, p.ID)
		}
	}
}
