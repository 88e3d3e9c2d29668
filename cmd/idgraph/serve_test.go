package main

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a bytes.Buffer that a server goroutine may write while
// the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// runBounded runs a command that should refuse to start; if it serves
// instead, it is stopped after a while and the test sees exit 0.
func runBounded(t *testing.T, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out, errb lockedBuffer
	code := run(ctx, args, strings.NewReader(""), &out, &errb)
	return errb.String(), code
}

func TestServeRefusesEmptyPasswords(t *testing.T) {
	empty := writeFile(t, "empty", " \n")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--requirepass", ""}, "--requirepass is empty: an empty password is refused"},
		{[]string{"--password-file", empty}, "--password-file: " + empty + " is empty: an empty password is refused"},
		{[]string{"--requirepass", "x", "--readonly-pass", ""}, "--readonly-pass is empty"},
		{[]string{"--requirepass", "x", "--readonly-pass-file", empty}, "--readonly-pass-file: " + empty + " is empty"},
		{[]string{"--requirepass", "x", "--password-file", empty}, "give --requirepass or --password-file, not both"},
	} {
		args := append([]string{"serve", "--listen", freeAddr(t), "--data", t.TempDir(), "--log-level", "error"}, tc.args...)
		errb, code := runBounded(t, args...)
		if code != 2 || !strings.Contains(errb, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, errb, tc.want)
		}
	}
	for _, args := range [][]string{{"query", "--addr", "127.0.0.1:1", "--password", "", "PING"}, {"load", "--addr", "127.0.0.1:1", "--password-file", empty, "x"}} {
		if errb, code := runBounded(t, args...); code != 2 || !strings.Contains(errb, "empty") {
			t.Errorf("%v: exit %d %s", args, code, errb)
		}
	}
}

func TestServeRefusesExposedDebugListenersWithoutPassword(t *testing.T) {
	for _, flag := range []string{"--metrics", "--pprof"} {
		for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0"} {
			errb, code := runBounded(t, "serve", "--listen", freeAddr(t), "--data", t.TempDir(), "--log-level", "error", flag, addr)
			if code != 2 || !strings.Contains(errb, "refusing to serve metrics or profiling on "+addr+" without a password") {
				t.Errorf("%s %s: exit %d, %q", flag, addr, code, errb)
			}
		}
	}
}

func get(t *testing.T, url string, auth func(*http.Request)) int {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if auth != nil {
		auth(req)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	res.Body.Close()
	return res.StatusCode
}

// With a password, the metrics and profiling listeners answer only requests
// that carry it, even on loopback (metrics also take the read-only one).
func TestDebugListenersRequireThePassword(t *testing.T) {
	pw := writeFile(t, "pw", "s3cret")
	ro := writeFile(t, "ro", "r3ad")
	metrics, pprofAddr := freeAddr(t), freeAddr(t)
	serveInProcess(t, t.TempDir(), "--password-file", pw, "--readonly-pass-file", ro, "--metrics", metrics, "--pprof", pprofAddr)
	for _, a := range []string{metrics, pprofAddr} {
		if err := waitListening(a, 30*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	bearer := func(tok string) func(*http.Request) {
		return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
	}
	basic := func(pass string) func(*http.Request) {
		return func(r *http.Request) { r.SetBasicAuth("prometheus", pass) }
	}
	for _, tc := range []struct {
		url  string
		auth func(*http.Request)
		want int
	}{
		{"http://" + metrics + "/metrics", nil, 401},
		{"http://" + metrics + "/metrics", bearer("wrong"), 401},
		{"http://" + metrics + "/metrics", bearer("s3cret"), 200},
		{"http://" + metrics + "/metrics", basic("s3cret"), 200},
		{"http://" + metrics + "/metrics", basic("r3ad"), 200},
		{"http://" + pprofAddr + "/debug/pprof/", nil, 401},
		{"http://" + pprofAddr + "/debug/pprof/", basic("r3ad"), 401},
		{"http://" + pprofAddr + "/debug/pprof/", bearer("s3cret"), 200},
	} {
		if got := get(t, tc.url, tc.auth); got != tc.want {
			t.Errorf("GET %s: %d, want %d", tc.url, got, tc.want)
		}
	}
}

// serveCapture runs serve in this process and returns its address, its
// standard error so far, and a stop function.
func serveCapture(t *testing.T, dir string, extra ...string) (string, *lockedBuffer, func()) {
	t.Helper()
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	errb := &lockedBuffer{}
	done := make(chan int, 1)
	go func() {
		var out lockedBuffer
		done <- run(ctx, append([]string{"serve", "--listen", addr, "--data", dir, "--log-level", "warn"}, extra...), nil, &out, errb)
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if code := <-done; code != 0 {
				t.Errorf("serve exited %d: %s", code, errb)
			}
		})
	}
	t.Cleanup(stop)
	if err := waitListening(addr, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	return addr, errb, stop
}

func TestSecretFilesReadableByOthersWarn(t *testing.T) {
	pw := writeFile(t, "pw", "s3cret")
	key := writeFile(t, "key", strings.Repeat("k", 32))
	os.Chmod(pw, 0o640)
	os.Chmod(key, 0o604)
	_, errb, stop := serveCapture(t, t.TempDir(), "--password-file", pw, "--encryption-key-file", key)
	stop()
	for _, f := range []string{pw, key} {
		if !strings.Contains(errb.String(), "warning: "+f+" holds a secret and its group or others may read it") {
			t.Errorf("no warning for %s: %s", f, errb)
		}
	}
	// Private files give none.
	os.Chmod(pw, 0o600)
	_, errb, stop = serveCapture(t, t.TempDir(), "--password-file", pw)
	stop()
	if strings.Contains(errb.String(), "warning") {
		t.Errorf("warning for a private file: %s", errb)
	}
}

// modesOpen lists the files and folders under dir that the owner's group
// or others may use.
func modesOpen(t *testing.T, dir string) []string {
	t.Helper()
	var open []string
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		info, err := d.Info()
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm()&0o077 != 0 {
			open = append(open, path+" "+info.Mode().Perm().String())
		}
		return nil
	})
	return open
}

func TestDataFilesArePrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	addr, _, stop := serveCapture(t, dir)
	c, err := dialRESP(addr)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		if _, err := c.do("TRACK", "visit", "cookie:c"+strconv.Itoa(i), "email:p"+strconv.Itoa(i)+"@x.io"); err != nil {
			t.Fatal(err)
		}
	}
	if v, err := c.do("BACKUP"); err != nil {
		t.Fatalf("BACKUP: %v %v", v, err)
	}
	c.Close()
	// While the server runs (memtables, the pid file) and after it stops.
	if open := modesOpen(t, dir); len(open) > 0 {
		t.Errorf("open to others while serving: %v", open)
	}
	stop()
	if open := modesOpen(t, dir); len(open) > 0 {
		t.Errorf("open to others after a stop: %v", open)
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Errorf("data directory mode %v", fi.Mode().Perm())
	}

	// A store left open by an older version is tightened, with a warning.
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if d.IsDir() {
			os.Chmod(path, 0o755)
		} else {
			os.Chmod(path, 0o644)
		}
		return nil
	})
	_, errb, stop := serveCapture(t, dir)
	stop()
	if open := modesOpen(t, dir); len(open) > 0 {
		t.Errorf("still open to others: %v", open)
	}
	if !strings.Contains(errb.String(), "could read; they are now private to their owner") {
		t.Errorf("no warning: %s", errb)
	}
}

func TestServeLimitFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--max-command-bytes", "lots"},
		{"--max-command-bytes", "0"},
		{"--client-output-buffer-limit", "1m 1m"},
		{"--client-output-buffer-limit", "1m 1m 0"},
		{"--client-output-buffer-limit", "1m x 60"},
	} {
		errb, code := runBounded(t, append([]string{"serve", "--listen", freeAddr(t), "--data", t.TempDir()}, args...)...)
		if code != 2 || !strings.Contains(errb, args[0]) {
			t.Errorf("%v: exit %d %q", args, code, errb)
		}
	}

	// The reproductions, scaled down: a command over the byte cap,
	// and a TIMELINE of large events over the output limit.
	addr, _, _ := serveCapture(t, t.TempDir(), "--max-command-bytes", "1m", "--client-output-buffer-limit", "1m 0 0")
	c, err := dialRESP(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	big := strings.Repeat("x", 600<<10)
	if v, err := c.do("ECHO", big, big); err == nil {
		if e, ok := v.(respError); !ok || !strings.HasPrefix(string(e), "ERR TOOLARGE command of more than") {
			t.Errorf("2 × 600 KiB: %.80v", v)
		}
	}
	c, err = dialRESP(addr)
	if err != nil {
		t.Fatal(err)
	}
	props := `{"blob":"` + strings.Repeat("p", 60<<10) + `"}`
	for i := range 20 {
		if v, err := c.do("TRACK", "view", "cookie:big", "AT", strconv.Itoa(1767225600000+i), "PROPS", props); err != nil {
			t.Fatalf("TRACK: %v %v", v, err)
		}
	}
	v, err := c.do("TIMELINE", "cookie:big", "LIMIT", "10000")
	if e, ok := v.(respError); err != nil || !ok || !strings.HasPrefix(string(e), "ERR TOOLARGE a reply of ") {
		t.Errorf("TIMELINE of 1.2 MB with a 1 MiB limit: %.80v, %v", v, err)
	}
	if _, err := c.read(); err == nil {
		t.Error("the connection stayed open")
	}
}

// The reproduction: clients pipelining TIMELINE of events with large
// PROPS and never reading are cut off by the soft output limit (and the
// server runs only what their sockets could take).
func TestClientsThatNeverReadTimelinesAreCutOff(t *testing.T) {
	addr, _, _ := serveCapture(t, t.TempDir(), "--client-output-buffer-limit", "64m 64k 1")
	c, err := dialRESP(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	props := `{"blob":"` + strings.Repeat("p", 60<<10) + `"}`
	for i := range 20 {
		if v, err := c.do("TRACK", "view", "cookie:big", "AT", strconv.Itoa(1767225600000+i), "PROPS", props); err != nil {
			t.Fatalf("TRACK: %v %v", v, err)
		}
	}
	const clients = 4
	var readers []*respConn
	for range clients {
		r, err := dialRESP(addr)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		r.nc.SetDeadline(time.Now().Add(2 * time.Minute))
		for range 100 { // 100 × 1.2 MB
			r.send("TIMELINE", "cookie:big", "LIMIT", "10000")
		}
		if err := r.flush(); err != nil {
			t.Fatal(err)
		}
		readers = append(readers, r)
	}
	cut := func() int64 {
		v, err := c.do("INFO", "stats")
		if err != nil {
			t.Fatal(err)
		}
		s, _ := v.(string)
		for _, line := range strings.Split(s, "\r\n") {
			if n, ok := strings.CutPrefix(line, "client_output_buffer_disconnections:"); ok {
				v, _ := strconv.ParseInt(n, 10, 64)
				return v
			}
		}
		return -1
	}
	deadline := time.Now().Add(time.Minute)
	for cut() < clients {
		if time.Now().After(deadline) {
			t.Fatalf("after a minute, %d of %d clients that never read were cut off", cut(), clients)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, r := range readers {
		for { // what reached the socket, then the end
			if _, err := r.read(); err != nil {
				break
			}
		}
	}
}

// --reply-cache bounds the cache of encoded WHO replies: a WHO asked again
// is answered from it (INFO counts the hit), 0 keeps none (INFO has no
// such lines), and a size that does not parse is refused.
func TestServeReplyCacheFlag(t *testing.T) {
	errb, code := runBounded(t, "serve", "--listen", freeAddr(t), "--data", t.TempDir(), "--reply-cache", "lots")
	if code != 2 || !strings.Contains(errb, "--reply-cache") {
		t.Errorf("--reply-cache lots: exit %d %q", code, errb)
	}
	for _, tc := range []struct {
		flag     string
		wantHits string // the reply_cache_hits line of INFO stats; "" for none
	}{
		{"64m", "reply_cache_hits:1"},
		{"0", ""},
	} {
		addr, _, stop := serveCapture(t, t.TempDir(), "--reply-cache", tc.flag)
		c, err := dialRESP(addr)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.do("MERGE", "email:a@x.io", "cookie:c1"); err != nil {
			t.Fatal(err)
		}
		first, err := c.do("WHO", "cookie:c1")
		if err != nil {
			t.Fatal(err)
		}
		if again, err := c.do("WHO", "cookie:c1"); err != nil || fmt.Sprint(again) != fmt.Sprint(first) {
			t.Errorf("--reply-cache %s: WHO again gave %v, %v; first %v", tc.flag, again, err, first)
		}
		info, err := c.do("INFO", "stats")
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		for _, line := range strings.Split(fmt.Sprint(info), "\r\n") {
			if strings.HasPrefix(line, "reply_cache_hits:") {
				got = line
			}
		}
		if got != tc.wantHits {
			t.Errorf("--reply-cache %s: INFO stats has %q, want %q", tc.flag, got, tc.wantHits)
		}
		c.Close()
		stop()
	}
}
