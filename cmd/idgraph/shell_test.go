package main

import (
	"bytes"
	"context"
	"github.com/idgraph/idgraph/query"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCmdIn(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), code
}

// parityStatements cover every reply shape: maps nested in maps and arrays,
// booleans, integers, nil, statuses, errors, empty replies. Times are given,
// so both stores hold the same data.
var parityStatements = []string{
	`TRACK signup user:42 email:Ann@Example.com cookie:abc AT 2026-01-05T10:00:00Z FROM web PROPS '{"plan":"pro","n":2}'`,
	`TRACK purchase email:ann@example.com AT 2026-01-06T11:00:00Z FROM pos`,
	`TRACK login user:43 device:d1 AT 2026-01-07T09:00:00Z`,
	`TRACK login user:42 device:d1 AT 2026-01-08T09:00:00Z`,
	`TRACK view cookie:null cookie:xyz AT 2026-01-08T10:00:00Z`,
	`SET user:42 tier=gold city="New York" AT 2026-01-06T12:00:00Z`,
	`CONSENT email:ann@example.com email GRANT AT 2026-01-06T12:00:00Z`,
	`MERGE cookie:xyz cookie:abc`,
	`WHO cookie:abc`,
	`WHO cookie:nobody`,
	`WHY cookie:abc user:42`,
	`WHY user:43 user:42`,
	`TIMELINE user:42 LIMIT 10`,
	`SEGMENT SAVE buyers DID purchase`,
	`SEGMENT COUNT DID purchase AND HAS email ASOF 2026-01-09T00:00:00Z`,
	`SEGMENT IDS HAS user`,
	`SEGMENT LIST`,
	`TYPES`,
	`HUBS MIN 1`,
	`WHO nocolon`,
	`SEGMENT COUNT DID AND`,
	`UNLINK cookie:xyz cookie:abc`,
	`FORGET user:43`,
	`WHO device:d1`,
	`PING`,
}

// The shell over --addr (RESP3 through our client) prints exactly what it
// prints over --data, as text and as JSON.
func TestQueryAddrOutputEqualsData(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	script := strings.Join(parityStatements, "\n") + "\n"
	for _, flags := range [][]string{nil, {"--json"}} {
		dataDir := t.TempDir()
		data, errb, code := runCmdIn(t, script, append([]string{"query", "--data", dataDir}, flags...)...)
		if code != 0 {
			t.Fatalf("--data shell: exit %d: %s", code, errb)
		}
		addr := startServer(t, t.TempDir())
		remote, errb, code := runCmdIn(t, script, append([]string{"query", "--addr", addr}, flags...)...)
		if code != 0 {
			t.Fatalf("--addr shell: exit %d: %s", code, errb)
		}
		if data != remote {
			t.Errorf("%v: outputs differ\n--data:\n%s\n--addr:\n%s", flags, data, remote)
		}
		for _, want := range []string{"ids:\n", "traits:\n", "  tier: \"gold\"", "linked: true", "(error) ERR BADID at word 2"} {
			if flags == nil && !strings.Contains(data, want) {
				t.Errorf("--data output lacks %q:\n%s", want, data)
			}
		}
		if flags != nil && !strings.Contains(remote, `{"consent":{"email":"grant"}`) && !strings.Contains(remote, `"profile":`) {
			t.Errorf("--json over --addr prints no objects:\n%s", remote)
		}
		// One statement on the command line, and its error.
		for _, stmt := range []string{"WHO cookie:abc", "WHY cookie:abc user:42", "TIMELINE email:ann@example.com"} {
			d, _, _ := runCmd(t, append(append([]string{"query", "--data", dataDir}, flags...), stmt)...)
			r, _, _ := runCmd(t, append(append([]string{"query", "--addr", addr}, flags...), stmt)...)
			if d != r || d == "" {
				t.Errorf("%v %s:\n--data %q\n--addr %q", flags, stmt, d, r)
			}
		}
		_, d, dc := runCmd(t, "query", "--data", dataDir, "WHO nocolon")
		_, r, rc := runCmd(t, "query", "--addr", addr, "WHO nocolon")
		if d != r || dc != 1 || rc != 1 {
			t.Errorf("error of one statement: --data %d %q, --addr %d %q", dc, d, rc, r)
		}
	}
}

func TestQueryInfoPrintsAsText(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	addr := startServer(t, t.TempDir())
	for _, mode := range [][]string{{"--data", t.TempDir()}, {"--addr", addr}} {
		out, errb, code := runCmd(t, append(append([]string{"query"}, mode...), "INFO")...)
		if code != 0 {
			t.Fatalf("%v INFO: %s", mode, errb)
		}
		if strings.Contains(out, `\r\n`) || strings.Contains(out, "\r") || !strings.Contains(out, "\n# Store\n") && !strings.HasPrefix(out, "# Store\n") {
			t.Errorf("%v INFO is not text:\n%q", mode, out)
		}
		if !strings.Contains(out, "\nidentifiers_allocated:0\n") {
			t.Errorf("%v INFO lacks its store lines:\n%s", mode, out)
		}
	}
}

func historyOf(t *testing.T, home string) (string, os.FileMode) {
	t.Helper()
	path := filepath.Join(home, ".idgraph_history")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("history: %v", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b), fi.Mode().Perm()
}

func TestShellHistoryIsPrivate(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	dir := t.TempDir()
	if _, errb, code := runCmdIn(t, "TRACK visit cookie:c1\nWHO cookie:c1\n", "query", "--data", dir); code != 0 {
		t.Fatal(errb)
	}
	hist, mode := historyOf(t, home)
	if mode != 0o600 || hist != "TRACK visit cookie:c1\nWHO cookie:c1\n" {
		t.Fatalf("new history mode %v:\n%s", mode, hist)
	}
	// One left world-readable by an older version is tightened, with a warning.
	path := filepath.Join(home, ".idgraph_history")
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	_, errb, code := runCmdIn(t, "PING\n", "query", "--data", dir)
	if code != 0 || !strings.Contains(errb, "was readable by others (mode -rw-r--r--); it is now 0600") {
		t.Fatalf("exit %d, stderr %q", code, errb)
	}
	hist, mode = historyOf(t, home)
	if mode != 0o600 || !strings.HasSuffix(hist, "WHO cookie:c1\nPING\n") {
		t.Fatalf("history mode %v:\n%s", mode, hist)
	}
}

// A FORGET typed in the shell leaves no line naming the forgotten person in
// the history: not the identifier given, nor the others of its profile, in
// any case; lines about other people stay.
func TestShellForgetScrubsHistory(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	addr := startServer(t, t.TempDir())
	path := filepath.Join(home, ".idgraph_history")
	// A line from an earlier session.
	if err := os.WriteFile(path, []byte("WHY user:gone-42 cookie:other\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	script := strings.Join([]string{
		"TRACK signup email:Gone@Example.com user:gone-42",
		"TRACK visit cookie:kept",
		"WHO user:gone-42",
		`TRACK note cookie:kept PROPS '{"about":"gone@example.com"}'`,
		"FORGET email:gone@example.com",
		"WHO cookie:kept",
	}, "\n") + "\n"
	if _, errb, code := runCmdIn(t, script, "query", "--addr", addr); code != 0 {
		t.Fatal(errb)
	}
	hist, mode := historyOf(t, home)
	if want := "TRACK visit cookie:kept\nWHO cookie:kept\n"; hist != want || mode != 0o600 {
		t.Errorf("history after FORGET (mode %v):\n%s\nwant:\n%s", mode, hist, want)
	}

	// A FORGET run as one statement scrubs the file too.
	os.WriteFile(path, []byte("WHO cookie:kept\nWHY cookie:kept cookie:x\n"), 0o600)
	if _, errb, code := runCmd(t, "query", "--addr", addr, "FORGET cookie:kept"); code != 0 {
		t.Fatal(errb)
	}
	if hist, _ := historyOf(t, home); hist != "" {
		t.Errorf("history after FORGET on the command line:\n%s", hist)
	}
}

func TestPurgeHistory(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	dir := t.TempDir()
	path := filepath.Join(home, ".idgraph_history")
	if _, errb, code := runCmdIn(t, "WHO cookie:a\npurge-history\nWHO cookie:b\n", "query", "--data", dir); code != 0 {
		t.Fatal(errb)
	}
	if hist, _ := historyOf(t, home); hist != "WHO cookie:b\n" {
		t.Errorf("history after purge-history in the shell:\n%q", hist)
	}
	out, _, code := runCmd(t, "query", "--purge-history")
	if code != 0 || !strings.Contains(out, "history purged") {
		t.Fatalf("--purge-history: %d %s", code, out)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("history file still there: %v", err)
	}
	if out, _, code := runCmd(t, "query", "--purge-history"); code != 0 || !strings.Contains(out, "no history") {
		t.Errorf("--purge-history without a file: %d %s", code, out)
	}
}

// TestShellHelp: help lists every statement of the language with its
// syntax, and the grammar of expressions; help <command> narrows it.
func TestShellHelp(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	out, errb, code := runCmdIn(t, "help\nhelp compute\nhelp nosuch\n", "query", "--data", t.TempDir())
	if code != 0 {
		t.Fatal(errb)
	}
	for _, c := range query.Commands() {
		if !strings.Contains(out, c.Syntax) {
			t.Errorf("help lacks %s", c.Syntax)
		}
	}
	for _, want := range []string{"WHERE <cond>", "TAGGED <tag>", "WITHIN <n>h", "SCORE <n> <event>", "purge-history",
		"  COMPUTE DROP <name>\n      drop a computed trait", `no statement starts with "NOSUCH"`} {
		if !strings.Contains(out, want) {
			t.Errorf("help lacks %q", want)
		}
	}
}

// TestWarningsReachTheShell: a DID on an event name never recorded gets a
// warning, embedded and over --addr (a RESP3 attribute) alike.
func TestWarningsReachTheShell(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	dir := t.TempDir()
	if _, errb, code := runCmd(t, "query", "--data", dir, "TRACK purchase cookie:c1"); code != 0 {
		t.Fatal(errb)
	}
	want := `(warning) no event Purchase was ever recorded: did you mean purchase? (event names are case-sensitive)` + "\n"
	out, errb, code := runCmd(t, "query", "--data", dir, "SEGMENT COUNT DID Purchase")
	if code != 0 || out != "(integer) 0\n" || !strings.HasSuffix(errb, want) {
		t.Fatalf("embedded: exit %d, out %q, stderr %q", code, out, errb)
	}
	addr := startServer(t, dir)
	out, errb, code = runCmd(t, "query", "--addr", addr, "SEGMENT COUNT DID Purchase")
	if code != 0 || out != "(integer) 0\n" || errb != want {
		t.Fatalf("over --addr: exit %d, out %q, stderr %q", code, out, errb)
	}
}
