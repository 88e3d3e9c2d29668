package query_test

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idgraph/idgraph/engine"
	"github.com/idgraph/idgraph/query"
)

// TestScenarioFiles runs testdata/scenarios/*.txt: each file is one
// behaviour told as a conversation, in the manner of etcd raft's
// interaction tests. A line "> STATEMENT" runs a statement; the lines after
// it, up to a blank line or the next statement, are its expected reply as
// the shell prints it ("(error) ..." for an error). Directives:
//
//	clock <RFC 3339>   "now" for the executor and the engine (default 2026-11-10T12:00:00Z)
//	tick               the change feed's tick: saved segments evaluated at the clock
//	client <name>      the session's client name (the default source)
//	readonly on|off    the session is read-only
//	check              idgraph check finds no problem
//
// Each file runs on a new store, in memory. With IDGRAPH_REWRITE=1 the
// files are rewritten with the replies observed, for review with git diff.
func TestScenarioFiles(t *testing.T) {
	files, err := filepath.Glob("testdata/scenarios/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenario files: %v", err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txt"), func(t *testing.T) { runScenario(t, f) })
	}
}

func runScenario(t *testing.T, path string) {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	f.Close()
	var clock atomic.Int64 // Unix ms: the engine's clock runs on its own goroutines too
	clock.Store(time.Date(2026, 11, 10, 12, 0, 0, 0, time.UTC).UnixMilli())
	now := func() time.Time { return time.UnixMilli(clock.Load()).UTC() }
	opts := engine.DefaultOptions("")
	opts.InMemory = true
	opts.Now = now
	opts.Watch = query.Watcher{}
	db, err := engine.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	x := query.NewExecutor(db)
	x.SetClock(now)
	sess := &query.Session{}
	rewrite := os.Getenv("IDGRAPH_REWRITE") != ""
	var out []string
	failed := false
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		switch {
		case strings.HasPrefix(line, "> "):
			stmt := line[2:]
			j := i + 1
			for j < len(lines) && lines[j] != "" && !strings.HasPrefix(lines[j], "> ") && !isDirective(lines[j]) {
				j++
			}
			want := strings.Join(lines[i+1:j], "\n")
			got := reply(x, sess, stmt)
			if got != want && !rewrite {
				t.Errorf("%s:%d: %s\ngot:\n%s\nwant:\n%s", path, i+1, stmt, got, want)
				failed = true
			}
			out = append(out, line)
			if got != "" {
				out = append(out, got)
			}
			i = j - 1
			continue
		case strings.HasPrefix(line, "clock "):
			tm, err := time.Parse(time.RFC3339, strings.TrimPrefix(line, "clock "))
			if err != nil {
				t.Fatalf("%s:%d: %v", path, i+1, err)
			}
			clock.Store(tm.UnixMilli())
		case strings.HasPrefix(line, "client "):
			sess.Name = strings.TrimPrefix(line, "client ")
		case strings.HasPrefix(line, "readonly "):
			sess.ReadOnly = strings.TrimPrefix(line, "readonly ") == "on"
		case line == "tick":
			db.TickChanges()
		case line == "check":
			if problems, err := db.Check(); err != nil || len(problems) > 0 {
				t.Errorf("%s:%d: check: %v %v", path, i+1, err, problems)
				failed = true
			}
		}
		out = append(out, line)
	}
	if rewrite && !failed {
		if err := os.WriteFile(path, []byte(strings.Join(out, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func isDirective(line string) bool {
	for _, d := range []string{"clock ", "client ", "readonly ", "check", "tick", "#"} {
		if strings.HasPrefix(line, d) {
			return true
		}
	}
	return false
}

// reply renders a statement's reply as the shell prints it.
func reply(x *query.Executor, s *query.Session, stmt string) string {
	v, err := x.ExecLine(ctx, s, stmt)
	if err != nil {
		return fmt.Sprintf("(error) %v", err)
	}
	var b strings.Builder
	for _, w := range s.Warnings {
		fmt.Fprintf(&b, "(warning) %s\n", w)
	}
	return b.String() + v.String()
}
