package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func runCmd(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), code
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startServer runs `idgraph serve` in-process and returns its address.
func startServer(t *testing.T, dir string) string {
	t.Helper()
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	go func() {
		var out, errb bytes.Buffer
		done <- run(ctx, []string{"serve", "--listen", addr, "--data", dir, "--log-level", "error"}, nil, &out, &errb)
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("serve exited %d", code)
		}
	})
	for i := 0; i < 200; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return addr
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("server did not start")
	return ""
}

func TestServeWithRedisClient(t *testing.T) {
	addr := startServer(t, t.TempDir())
	ctx := context.Background()
	for _, proto := range []int{2, 3} {
		c := redis.NewClient(&redis.Options{Addr: addr, Protocol: proto})
		if err := c.Do(ctx, "TRACK", "signup", "user:42", "email:Ann@Example.com", "cookie:abc").Err(); err != nil {
			t.Fatal(err)
		}
		v, err := c.Do(ctx, "WHO", "cookie:abc").Result()
		if err != nil {
			t.Fatal(err)
		}
		got := fmt.Sprint(v)
		if !strings.Contains(got, "email:ann@example.com") || !strings.Contains(got, "user:42") {
			t.Fatalf("RESP%d WHO: %s", proto, got)
		}
		if _, err := c.Do(ctx, "WHO", "cookie:nobody").Result(); err != redis.Nil {
			t.Fatalf("unknown WHO should be nil: %v", err)
		}
		err = c.Do(ctx, "SEGMENT", "COUNT", "DID", "x", "AND", "AND").Err()
		if err == nil || !strings.HasPrefix(err.Error(), "ERR SYNTAX at word 6") {
			t.Fatalf("syntax error: %v", err)
		}
		c.Close()
	}
}

func TestRedisCLIInterop(t *testing.T) {
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		t.Skip("redis-cli not installed")
	}
	addr := startServer(t, t.TempDir())
	host, port, _ := net.SplitHostPort(addr)
	out, err := exec.Command(cli, "-h", host, "-p", port, "TRACK", "view", "cookie:c1").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "profile") {
		t.Fatalf("redis-cli TRACK: %v %s", err, out)
	}
	out, err = exec.Command(cli, "-h", host, "-p", port, "WHO", "cookie:c1").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "cookie:c1") {
		t.Fatalf("redis-cli WHO: %v %s", err, out)
	}
}

func sample(t *testing.T, name string) string {
	p := filepath.Join("..", "..", "..", "shared", "data", name, "events.csv")
	if _, err := os.Stat(p); err != nil {
		t.Skip("shared data not present")
	}
	return p
}

// countCSV counts rows and distinct values of a column, independently.
func countCSV(t *testing.T, path, col string, where func(map[string]string) bool) (rows int, distinct map[string]bool) {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	distinct = map[string]bool{}
	for _, r := range recs[1:] {
		m := map[string]string{}
		for i, h := range recs[0] {
			m[h] = r[i]
		}
		if where(m) {
			rows++
			distinct[m[col]] = true
		}
	}
	return rows, distinct
}

func TestLoadRetailrocketAndSegment(t *testing.T) {
	path := sample(t, "retailrocket-sample")
	dir := t.TempDir()
	out, errb, code := runCmd(t, "load", "--data", dir, "--progress=false", "--csv", "--id", "cookie=visitorid", "--event", "event", "--time", "timestamp", path)
	if code != 0 {
		t.Fatalf("load exit %d: %s %s", code, out, errb)
	}
	if !strings.Contains(out, "2,771 events") || !strings.Contains(out, "1,500 ids created") {
		t.Fatalf("summary: %s", out)
	}
	all := func(map[string]string) bool { return true }
	_, visitors := countCSV(t, path, "visitorid", all)
	_, carts := countCSV(t, path, "visitorid", func(m map[string]string) bool { return m["event"] == "addtocart" })
	_, buyers := countCSV(t, path, "visitorid", func(m map[string]string) bool { return m["event"] == "transaction" })
	cartNoBuy := 0
	for v := range carts {
		if !buyers[v] {
			cartNoBuy++
		}
	}
	check := func(stmt string, want int) {
		t.Helper()
		out, errb, code := runCmd(t, "query", "--data", dir, stmt)
		if code != 0 || strings.TrimSpace(out) != fmt.Sprintf("(integer) %d", want) {
			t.Fatalf("%s: got %q %s, want %d", stmt, out, errb, want)
		}
	}
	check("SEGMENT COUNT HAS cookie", len(visitors))
	check("SEGMENT COUNT DID addtocart", len(carts))
	check("SEGMENT COUNT DID transaction", len(buyers))
	check("SEGMENT COUNT DID addtocart AND NOT DID transaction", cartNoBuy)
	out, _, code = runCmd(t, "check", "--data", dir)
	if code != 0 {
		t.Fatalf("check: %s", out)
	}
}

func TestLoadOverTCPEqualsEmbedded(t *testing.T) {
	path := sample(t, "rees46-head")
	args := []string{"--progress=false", "--csv", "--id", "user=user_id", "--id", "cookie=user_session", "--event", "event_type", "--time", "event_time", path}
	embDir := t.TempDir()
	if out, errb, code := runCmd(t, append([]string{"load", "--data", embDir}, args...)...); code != 0 {
		t.Fatalf("embedded load: %s %s", out, errb)
	}
	srvDir := t.TempDir()
	addr := startServer(t, srvDir)
	if out, errb, code := runCmd(t, append([]string{"load", "--addr", addr}, args...)...); code != 0 {
		t.Fatalf("TCP load: %s %s", out, errb)
	}
	_, users := countCSV(t, path, "user_id", func(map[string]string) bool { return true })
	c := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2})
	defer c.Close()
	for _, stmt := range []string{"SEGMENT COUNT HAS user", "SEGMENT COUNT HAS cookie", "SEGMENT COUNT DID purchase", "SEGMENT COUNT DID view >= 3 TIMES"} {
		out, _, code := runCmd(t, "query", "--data", embDir, stmt)
		if code != 0 {
			t.Fatal(out)
		}
		words := strings.Fields(stmt)
		args := make([]any, len(words))
		for i, w := range words {
			args[i] = w
		}
		n, err := c.Do(context.Background(), args...).Int64()
		if err != nil {
			t.Fatal(err)
		}
		if strings.TrimSpace(out) != fmt.Sprintf("(integer) %d", n) {
			t.Fatalf("%s: embedded %s, over TCP %d", stmt, out, n)
		}
		if stmt == "SEGMENT COUNT HAS user" && n != int64(len(users)) {
			t.Fatalf("users: %d, CSV has %d", n, len(users))
		}
	}
}

func TestLoadRejectsBadLines(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(t.TempDir(), "in.ndjson")
	os.WriteFile(f, []byte(`{"event":"view","ids":["cookie:a"]}
not json
{"event":"view","ids":["cookie:null"]}
{"event":"view","ids":["cookie:b"],"time":"yesterday"}
`), 0o600)
	out, errb, code := runCmd(t, "load", "--data", dir, "--progress=false", f)
	if code != 1 {
		t.Fatalf("exit %d: %s", code, out)
	}
	for _, want := range []string{f + ":2:", f + ":3:", f + ":4:"} {
		if !strings.Contains(errb, want) {
			t.Fatalf("stderr lacks %q:\n%s", want, errb)
		}
	}
	if !strings.Contains(out, "1 events") || !strings.Contains(out, "3 rejected") {
		t.Fatalf("summary: %s", out)
	}
}

// TestMemoryFlags: --cache bounds the record cache (INFO's cache_bytes
// stays under it), --memory-limit sets the process's soft limit, and bad
// sizes are refused before anything is created.
func TestMemoryFlags(t *testing.T) {
	old := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(old) })
	f := filepath.Join(t.TempDir(), "in.ndjson")
	var lines strings.Builder
	for i := range 2000 {
		fmt.Fprintf(&lines, "{\"event\":\"view\",\"ids\":[\"cookie:c%d\",\"email:u%d@example.com\"]}\n", i, i)
	}
	os.WriteFile(f, []byte(lines.String()), 0o600)
	dir := filepath.Join(t.TempDir(), "data")
	out, errb, code := runCmd(t, "load", "--data", dir, "--progress=false", "--cache", "64k", "--memory-limit", "900m", f)
	if code != 0 {
		t.Fatalf("exit %d: %s %s", code, out, errb)
	}
	if got := debug.SetMemoryLimit(-1); got != 900<<20 {
		t.Errorf("memory limit %d after --memory-limit 900m", got)
	}
	var whos strings.Builder
	for range 2 {
		for i := range 2000 {
			fmt.Fprintf(&whos, "WHO email:u%d@example.com\n", i)
		}
	}
	whos.WriteString("INFO\n")
	for _, c := range []struct {
		cache    string
		min, max int
	}{{"64k", 1, 64 << 10}, {"0", 0, 0}, {"64m", 64 << 10, 64 << 20}} {
		out, _, code := runCmdIn(t, whos.String(), "query", "--data", dir, "--cache", c.cache)
		if code != 0 {
			t.Fatalf("--cache %s: exit %d", c.cache, code)
		}
		m := regexp.MustCompile(`cache_bytes:(\d+)`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("INFO lacks cache_bytes:\n%s", out)
		}
		if n, _ := strconv.Atoi(m[1]); n < c.min || n > c.max {
			t.Errorf("--cache %s: cache_bytes %d after 4,000 WHOs, want %d to %d", c.cache, n, c.min, c.max)
		}
		// Only queries read: everything cached is in the hot tier.
		if h := regexp.MustCompile(`cache_hot_bytes:(\d+)`).FindStringSubmatch(out); h == nil || h[1] != m[1] {
			t.Errorf("--cache %s: INFO cache_hot_bytes %v, want %s (all of cache_bytes)", c.cache, h, m[1])
		}
		// Each WHO reads its identifier and its profile: from the store the
		// first time, from the cache the second when the cache holds all.
		hits := regexp.MustCompile(`cache_hits:(\d+)`).FindStringSubmatch(out)
		misses := regexp.MustCompile(`cache_misses:(\d+)`).FindStringSubmatch(out)
		want := map[string][2]string{"0": {"0", "0"}, "64m": {"4000", "4000"}}[c.cache]
		if hits == nil || misses == nil {
			t.Errorf("--cache %s: INFO lacks cache_hits or cache_misses", c.cache)
		} else if want[0] != "" && (hits[1] != want[0] || misses[1] != want[1]) {
			t.Errorf("--cache %s: %s hits, %s misses after 4,000 WHOs; want %s and %s", c.cache, hits[1], misses[1], want[0], want[1])
		}
	}
	for _, bad := range [][]string{{"--memory-limit", "lots"}, {"--memory-limit", "0"}, {"--cache", "-1m"}} {
		fresh := filepath.Join(t.TempDir(), "fresh")
		_, errb, code := runCmd(t, append([]string{"load", "--data", fresh, "--progress=false"}, append(bad, f)...)...)
		if code != 2 || !strings.Contains(errb, bad[0]) {
			t.Errorf("%v: exit %d, %q", bad, code, errb)
		}
		if _, err := os.Stat(fresh); err == nil {
			t.Errorf("%v: the data directory was created", bad)
		}
	}
}

func TestBackupRestore(t *testing.T) {
	dir := t.TempDir()
	runCmd(t, "query", "--data", dir, "TRACK login user:u email:e@x.io")
	bk := filepath.Join(t.TempDir(), "b.bak")
	if out, errb, code := runCmd(t, "backup", "--data", dir, "--out", bk); code != 0 {
		t.Fatalf("backup: %s %s", out, errb)
	}
	dst := filepath.Join(t.TempDir(), "restored")
	if out, errb, code := runCmd(t, "restore", "--data", dst, bk); code != 0 {
		t.Fatalf("restore: %s %s", out, errb)
	}
	a, _, _ := runCmd(t, "query", "--data", dir, "--json", "WHO email:e@x.io")
	b, _, _ := runCmd(t, "query", "--data", dst, "--json", "WHO email:e@x.io")
	if a != b || !strings.Contains(a, "user:u") {
		t.Fatalf("restored store answers differently:\n%s\n%s", a, b)
	}
	if _, _, code := runCmd(t, "check", "--data", dst); code != 0 {
		t.Fatal("check after restore failed")
	}
}

// An offline backup restored without its erasure journal says that the
// forgotten may be back; with --journal they are erased again.
func TestRestoreReplaysTheJournalOrWarns(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "data")
	runCmd(t, "query", "--data", dir, "TRACK login user:u email:gone@x.io")
	bk := filepath.Join(t.TempDir(), "b.bak")
	if out, errb, code := runCmd(t, "backup", "--data", dir, "--out", bk); code != 0 {
		t.Fatalf("backup: %s %s", out, errb)
	}
	if out, errb, code := runCmd(t, "query", "--data", dir, "FORGET email:gone@x.io"); code != 0 {
		t.Fatalf("forget: %s %s", out, errb)
	}
	bare := filepath.Join(t.TempDir(), "bare")
	_, errb, code := runCmd(t, "restore", "--data", bare, bk)
	if code != 0 || !strings.Contains(errb, "warning: no erasure journal") || !strings.Contains(errb, "--journal") {
		t.Fatalf("restore without a journal: code %d, stderr %q", code, errb)
	}
	journal := filepath.Join(root, "data-backups", "erasures.journal")
	dst := filepath.Join(t.TempDir(), "replayed")
	out, errb, code := runCmd(t, "restore", "--data", dst, "--journal", journal, bk)
	if code != 0 || !strings.Contains(out, "2 identifier(s) forgotten after the backup erased again") {
		t.Fatalf("restore with the journal: code %d, stdout %q stderr %q", code, out, errb)
	}
	// The profile was forgotten whole: neither identifier is known again.
	for _, id := range []string{"email:gone@x.io", "user:u"} {
		back, _, _ := runCmd(t, "query", "--data", bare, "WHO "+id)
		replayed, _, _ := runCmd(t, "query", "--data", dst, "WHO "+id)
		if !strings.Contains(back, "gone@x.io") || strings.TrimSpace(replayed) != "(nil)" {
			t.Fatalf("WHO %s: without the journal %q, with it %q", id, back, replayed)
		}
	}
}

func TestBackupOnlineWhileServing(t *testing.T) {
	dir := t.TempDir()
	addr := startServer(t, dir)
	c := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2})
	defer c.Close()
	if err := c.Do(context.Background(), "TRACK", "login", "user:online", "cookie:o1").Err(); err != nil {
		t.Fatal(err)
	}
	bk := filepath.Join(t.TempDir(), "online.bak")
	if out, errb, code := runCmd(t, "backup", "--addr", addr, "--out", bk); code != 0 {
		t.Fatalf("online backup: %s %s", out, errb)
	}
	dst := filepath.Join(t.TempDir(), "r")
	if out, errb, code := runCmd(t, "restore", "--data", dst, bk); code != 0 {
		t.Fatalf("restore: %s %s", out, errb)
	}
	out, _, _ := runCmd(t, "query", "--data", dst, "WHO cookie:o1")
	if !strings.Contains(out, "user:online") {
		t.Fatalf("restored online backup: %s", out)
	}
}

// A line is applied whole or not at all: its traits land on the anchor even
// when the first identifier is junk, and a bad identifier rejects the line
// without applying its traits.
func TestLoadLinesAreAtomic(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(t.TempDir(), "in.ndjson")
	os.WriteFile(f, []byte(`{"event":"buy","ids":["cookie:null","email:a@b.c"],"traits":{"tier":"gold"}}
{"ids":["user:u1","bogus:x"],"traits":{"tier":"silver"}}
`), 0o600)
	out, errb, code := runCmd(t, "load", "--data", dir, "--progress=false", f)
	if code != 1 || !strings.Contains(out, "1 events") || !strings.Contains(out, "1 rejected") || !strings.Contains(errb, f+":2:") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errb)
	}
	out, _, _ = runCmd(t, "query", "--data", dir, "--json", "WHO email:a@b.c")
	if !strings.Contains(out, `"tier":"gold"`) || !strings.Contains(out, `"events":1`) {
		t.Fatalf("WHO email:a@b.c: %s", out)
	}
	out, _, _ = runCmd(t, "query", "--data", dir, "WHO user:u1")
	if strings.TrimSpace(out) != "(nil)" {
		t.Fatalf("a rejected line left user:u1 behind: %s", out)
	}
}

// TestDemo: idgraph demo loads a small shop into a new directory, runs its
// statements without an error, and refuses a directory that is not empty.
func TestDemo(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	out, errb, code := runCmd(t, "demo", "--data", dir, "--people", "200")
	if code != 0 || !strings.Contains(out, "Loaded a synthetic shop of 200 people") || !strings.Contains(out, "> SEGMENT COUNT IN carts\n(integer) ") ||
		!strings.Contains(out, "> WHO profile:") || strings.Contains(out, "(error)") {
		t.Fatalf("demo: exit %d\n%s\n%s", code, out, errb)
	}
	if out, errb, code := runCmd(t, "check", "--data", dir); code != 0 {
		t.Fatalf("check after the demo: %s %s", out, errb)
	}
	if _, errb, code := runCmd(t, "demo", "--data", dir); code != 2 || !strings.Contains(errb, "is not empty") {
		t.Fatalf("demo into a full directory: exit %d, %s", code, errb)
	}
}
