package server

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idgraph/idgraph/query"
)

// bigExec answers "BIG <n> <size>" with an array of n fresh strings of size
// bytes, like a TIMELINE of large events, and counts the calls.
type bigExec struct{ calls atomic.Int64 }

func (b *bigExec) Exec(_ context.Context, _ *query.Session, args []string) (query.Value, error) {
	b.calls.Add(1)
	if strings.ToUpper(args[0]) != "BIG" || len(args) != 3 {
		return query.Status("OK"), nil
	}
	n, _ := strconv.Atoi(args[1])
	size, _ := strconv.Atoi(args[2])
	out := make([]query.Value, n)
	for i := range out {
		out[i] = query.String(strings.Repeat(string(rune('a'+i%26)), size))
	}
	return query.Array(out...), nil
}

// logBuffer collects log lines from many goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) lines(containing string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, line := range strings.Split(l.b.String(), "\n") {
		if strings.Contains(line, containing) {
			out = append(out, line)
		}
	}
	return out
}

func capture(o *Options) *logBuffer {
	lb := &logBuffer{}
	o.Logger = slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelWarn}))
	return lb
}

// startWith is start with a hook that may replace the server's clock and
// sleep before it serves.
func startWith(t *testing.T, exec Executor, opts Options, hook func(*Server)) (*Server, string) {
	t.Helper()
	srv, err := New(exec, opts)
	if err != nil {
		t.Fatal(err)
	}
	hook(srv)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		<-done
	})
	return srv, ln.Addr().String()
}

// infoField reads one INFO field over a fresh connection.
func infoField(t *testing.T, addr, name string, password ...string) int64 {
	t.Helper()
	c := dialRaw(t, addr)
	defer c.nc.Close()
	for _, p := range password {
		c.send(cmd("AUTH", p)).expect("+OK\r\n")
	}
	info := c.send(cmd("INFO", "stats")).reply()
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	t.Fatalf("INFO has no %s: %q", name, info)
	return 0
}

// waitFor polls cond until it holds, for at most a generous minute.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestCommandBytesCappedBeforeBuffering(t *testing.T) {
	opts := testOptions()
	opts.MaxCommandBytes = 1 << 20
	_, addr := start(t, newFakeExec(), opts)

	// Two arguments under the bulk limit whose sum is over the command
	// limit: refused at the second header, before any of its bytes are
	// sent, so the server does not wait for (or keep) them.
	half := 600 << 10
	c := dialRaw(t, addr)
	c.send("*3\r\n$4\r\nARGS\r\n$" + strconv.Itoa(half) + "\r\n" + strings.Repeat("x", half) + "\r\n")
	c.send("$" + strconv.Itoa(half) + "\r\n")
	c.expect("-ERR TOOLARGE command of more than 1228804 bytes exceeds the limit of 1048576 bytes\r\n")
	c.expectClosed()

	// At the limit it is served.
	c = dialRaw(t, addr)
	each := (1<<20 - 4) / 2
	c.send(cmd("ARGS", strings.Repeat("y", each), strings.Repeat("z", each))).expectLine("*2")
}

func TestOutputHardLimitClosesTheClient(t *testing.T) {
	opts := testOptions()
	opts.OutputLimit = OutputLimit{Hard: 1 << 20, Soft: -1}
	lb := capture(&opts)
	_, addr := start(t, &bigExec{}, opts)

	// Replies under the limit are served whole.
	c := dialRaw(t, addr)
	c.send(cmd("BIG", "2", "100000"))
	if got := c.reply(); len(got) != 2*100000+3 {
		t.Fatalf("reply of %d bytes", len(got))
	}
	// A pipeline whose first reply alone is over the limit: the client gets
	// an error instead of it, and is disconnected; the rest is not run.
	c.send(strings.Repeat(cmd("BIG", "4", "300000"), 10))
	c.expect("-ERR TOOLARGE a reply of 1200048 bytes is over the client output buffer limit of 1048576 bytes; ask for less (LIMIT)\r\n")
	c.expectClosed()
	if n := len(lb.lines("over its output buffer hard limit")); n != 1 {
		t.Errorf("%d log lines for the disconnection, want 1:\n%s", n, lb.lines(""))
	}
	if n := infoField(t, addr, "client_output_buffer_disconnections"); n != 1 {
		t.Errorf("INFO client_output_buffer_disconnections:%d, want 1", n)
	}
}

func TestOutputSoftLimitClosesClientsThatDoNotRead(t *testing.T) {
	opts := testOptions()
	// A soft limit this small cuts off any client that takes nothing for
	// SoftTime while a reply waits for it. (Under it, a client is cut off
	// by IdleTimeout, which this test leaves at 5 minutes.)
	opts.OutputLimit = OutputLimit{Hard: 8 << 20, Soft: 1 << 10, SoftTime: 200 * time.Millisecond}
	lb := capture(&opts)
	exec := &bigExec{}
	_, addr := start(t, exec, opts)

	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var peak atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() { // a loose watch on the heap while the clients misbehave
		defer close(sampled)
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()

	// Four clients pipeline 40 TIMELINE-like replies of 2 MiB each (320 MiB
	// in all) and never read.
	const clients, pipelined = 4, 40
	conns := make([]*raw, clients)
	for i := range conns {
		conns[i] = dialRaw(t, addr)
		conns[i].nc.SetDeadline(time.Now().Add(2 * time.Minute))
		conns[i].send(strings.Repeat(cmd("BIG", "8", strconv.Itoa(256<<10)), pipelined))
	}
	waitFor(t, "the server to cut off the four clients", func() bool {
		return infoField(t, addr, "client_output_buffer_disconnections") == clients
	})
	close(stop)
	<-sampled
	for _, c := range conns {
		io.Copy(io.Discard, c.br) // what reached the socket, then the close
		if _, err := c.nc.Write([]byte(cmd("PING"))); err == nil {
			// A write may still land in the socket buffer; a read may not.
			if _, err := c.br.ReadByte(); err == nil {
				t.Error("a cut-off connection still answers")
			}
		}
	}
	if n := len(lb.lines("over its soft limit for too long")); n != clients {
		t.Errorf("%d log lines for the disconnections, want %d", n, clients)
	}
	// Each connection held at most one reply at a time: the server ran only
	// what the sockets could take, not all 160 statements.
	if n := exec.calls.Load(); n >= clients*pipelined {
		t.Errorf("the executor ran all %d statements for clients that never read", n)
	}
	if grew := int64(peak.Load()) - int64(before.HeapInuse); grew > 128<<20 {
		t.Errorf("heap grew by %d MiB while four clients did not read", grew>>20)
	}
}

func TestAuthFailuresAreSlowedAndLogRateLimited(t *testing.T) {
	opts := testOptions()
	opts.Password = "s3cret"
	lb := capture(&opts)
	var mu sync.Mutex
	var slept []time.Duration
	var clock atomic.Int64 // nanoseconds since the epoch; frozen unless moved
	clock.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	_, addr := startWith(t, newFakeExec(), opts, func(s *Server) {
		s.now = func() time.Time { return time.Unix(0, clock.Load()) }
		s.sleep = func(d time.Duration, _ <-chan struct{}) {
			mu.Lock()
			slept = append(slept, d)
			mu.Unlock()
		}
	})
	delays := func() []time.Duration {
		mu.Lock()
		defer mu.Unlock()
		out := slept
		slept = nil
		return out
	}

	c := dialRaw(t, addr)
	for range 6 {
		c.send(cmd("AUTH", "wrong")).expect("-ERR NOAUTH invalid password\r\n")
	}
	ms := time.Millisecond
	if got, want := delays(), []time.Duration{100 * ms, 200 * ms, 400 * ms, 800 * ms, 1600 * ms}; !equalDurations(got, want) {
		t.Errorf("delays %v, want %v", got, want)
	}
	c.send(cmd("HELLO", "3", "AUTH", "default", "wrong")).expect("-ERR NOAUTH invalid password\r\n")
	c.send(cmd("AUTH", "s3cret")).expect("+OK\r\n")
	c.send(cmd("AUTH", "wrong")).expect("-ERR NOAUTH invalid password\r\n")
	c.send(cmd("AUTH", "wrong")).expect("-ERR NOAUTH invalid password\r\n")
	// The 7th failure waits 3.2 s; a success starts the count again, so
	// the next failure is answered at once and the one after waits 100 ms.
	if got, want := delays(), []time.Duration{3200 * ms, 100 * ms}; !equalDurations(got, want) {
		t.Errorf("delays %v, want %v", got, want)
	}
	// Other connections start their own count.
	other := dialRaw(t, addr)
	other.send(cmd("AUTH", "wrong")).expect("-ERR NOAUTH invalid password\r\n")
	if got := delays(); len(got) != 0 {
		t.Errorf("a first failure on a new connection waited %v", got)
	}
	for range 20 {
		other.send(cmd("AUTH", "wrong")).expect("-ERR NOAUTH invalid password\r\n")
	}
	// 30 failures with the clock stopped: the burst of 10 is logged.
	if n := len(lb.lines("authentication failed")); n != authLogBurst {
		t.Errorf("%d failure lines logged, want %d", n, authLogBurst)
	}
	clock.Add(int64(time.Second))
	other.send(cmd("AUTH", "wrong")).expect("-ERR NOAUTH invalid password\r\n")
	lines := lb.lines("authentication failed")
	if len(lines) != authLogBurst+1 || !strings.Contains(lines[len(lines)-1], "not_logged_since_last=20") {
		t.Errorf("after a second: %d lines, last %q; want %d and not_logged_since_last=20", len(lines), lines[len(lines)-1], authLogBurst+1)
	}
	if n := infoField(t, addr, "auth_failures", "s3cret"); n != 31 {
		t.Errorf("INFO auth_failures:%d, want 31", n)
	}
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestAuthDelayGrowsToItsMaximum(t *testing.T) {
	var got []time.Duration
	for n := 1; n <= 14; n++ {
		got = append(got, authDelay(n))
	}
	ms := time.Millisecond
	want := []time.Duration{0, 100 * ms, 200 * ms, 400 * ms, 800 * ms, 1600 * ms, 3200 * ms,
		authDelayMax, authDelayMax, authDelayMax, authDelayMax, authDelayMax, authDelayMax, authDelayMax}
	if !equalDurations(got, want) {
		t.Errorf("delays %v, want %v", got, want)
	}
}

func TestShutdownEndsAnAuthDelay(t *testing.T) {
	opts := testOptions()
	opts.Password = "s3cret"
	srv, addr := start(t, newFakeExec(), opts)
	c := dialRaw(t, addr)
	for range 12 { // the last ones wait the maximum, 5 s
		c.send(cmd("AUTH", "wrong"))
	}
	c.expect("-ERR NOAUTH invalid password\r\n") // the first, at once
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Error("Shutdown waited out the delays")
	}
}
