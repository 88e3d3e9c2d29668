package server

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/idgraph/idgraph/query"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// fakeExec stands in for the query executor. Its statements exercise what
// the server must carry between the wire and the executor.
type fakeExec struct {
	started chan struct{} // SLOW sends here when it begins
	release chan struct{} // and waits for this (or its context)
	calls   atomic.Int64
}

func newFakeExec() *fakeExec {
	return &fakeExec{started: make(chan struct{}, 16), release: make(chan struct{})}
}

func (f *fakeExec) Exec(ctx context.Context, s *query.Session, args []string) (query.Value, error) {
	f.calls.Add(1)
	switch strings.ToUpper(args[0]) {
	case "WHO":
		if len(args) != 2 {
			return query.Value{}, query.Errorf(query.CodeSyntax, len(args)+1, "WHO takes one identifier")
		}
		if args[1] == "email:nobody@example.com" {
			return query.Nil(), nil
		}
		return query.Map(
			query.Pair{Key: "profile", Val: query.Int(7)},
			query.Pair{Key: "ids", Val: query.Strings([]string{args[1]})},
		), nil
	case "KINDS":
		return query.Array(query.Nil(), query.Status("OK"), query.Int(-3), query.String("a b"),
			query.Bool(true), query.Bool(false), query.Double(1.5),
			query.Map(query.Pair{Key: "k", Val: query.Int(1)})), nil
	case "SESSION":
		return query.Map(
			query.Pair{Key: "name", Val: query.String(s.Name)},
			query.Pair{Key: "readonly", Val: query.Bool(s.ReadOnly)},
		), nil
	case "WRITE":
		if s.ReadOnly {
			return query.Value{}, query.Errorf(query.CodeReadOnly, 0, "this session is read-only")
		}
		return query.Status("OK"), nil
	case "ARGS":
		return query.Strings(args[1:]), nil
	case "BAD":
		return query.Value{}, query.Errorf(query.CodeSyntax, 2, "bad word")
	case "OOPS":
		return query.Value{}, errors.New("plain failure")
	case "PANIC":
		panic("executor bug")
	case "SLOW":
		f.started <- struct{}{}
		select {
		case <-f.release:
			return query.Status("DONE"), nil
		case <-ctx.Done():
			return query.Value{}, ctx.Err()
		}
	}
	return query.Value{}, query.Errorf(query.CodeSyntax, 1, "unknown statement %q", args[0])
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func testOptions() Options {
	o := DefaultOptions()
	o.Addr = "127.0.0.1:0"
	o.Logger = quietLogger()
	return o
}

// start serves exec on a fresh loopback port until the test ends.
func start(t *testing.T, exec Executor, opts Options) (*Server, string) {
	t.Helper()
	srv, err := New(exec, opts)
	if err != nil {
		t.Fatal(err)
	}
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
		if err := <-done; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
	})
	return srv, ln.Addr().String()
}

// raw is a plain TCP client that writes bytes and checks the exact replies.
type raw struct {
	t  *testing.T
	nc net.Conn
	br *bufio.Reader
}

func dialRaw(t *testing.T, addr string) *raw {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	t.Cleanup(func() { nc.Close() })
	return &raw{t: t, nc: nc, br: bufio.NewReader(nc)}
}

func (r *raw) send(s string) *raw {
	r.t.Helper()
	if _, err := io.WriteString(r.nc, s); err != nil {
		r.t.Fatalf("write: %v", err)
	}
	return r
}

func (r *raw) expect(want string) *raw {
	r.t.Helper()
	got := make([]byte, len(want))
	n, err := io.ReadFull(r.br, got)
	if err != nil || string(got) != want {
		r.t.Fatalf("reply %q (err %v), want %q", got[:n], err, want)
	}
	return r
}

// expectLine reads one reply line and checks its prefix.
func (r *raw) expectLine(prefix string) string {
	r.t.Helper()
	line, err := r.br.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, prefix) {
		r.t.Fatalf("reply %q (err %v), want prefix %q", line, err, prefix)
	}
	return line
}

// reply reads one reply of any type and renders it compactly.
func (r *raw) reply() string {
	r.t.Helper()
	line, err := r.br.ReadString('\n')
	if err != nil || len(line) < 3 {
		r.t.Fatalf("reply line %q: %v", line, err)
	}
	body := line[1 : len(line)-2]
	n, _ := strconv.Atoi(body)
	switch line[0] {
	case '$':
		if n < 0 {
			return "nil"
		}
		b := make([]byte, n+2)
		if _, err := io.ReadFull(r.br, b); err != nil {
			r.t.Fatal(err)
		}
		return string(b[:n])
	case '*':
		parts := make([]string, n)
		for i := range parts {
			parts[i] = r.reply()
		}
		return "[" + strings.Join(parts, " ") + "]"
	case '%':
		parts := make([]string, n)
		for i := range parts {
			parts[i] = r.reply() + ":" + r.reply()
		}
		return "map[" + strings.Join(parts, " ") + "]"
	}
	return body
}

// expectClosed checks that the server closes the connection with nothing
// more to say.
func (r *raw) expectClosed() {
	r.t.Helper()
	rest, err := io.ReadAll(r.br)
	if err != nil && !errors.Is(err, syscall.ECONNRESET) {
		r.t.Fatalf("read until close: %v", err)
	}
	if len(rest) > 0 {
		r.t.Fatalf("unexpected bytes before close: %q", rest)
	}
}

func cmd(args ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	return b.String()
}

func TestGoRedisRESP2AndRESP3(t *testing.T) {
	_, addr := start(t, newFakeExec(), testOptions())
	ctx := context.Background()
	for _, proto := range []int{2, 3} {
		t.Run(fmt.Sprint("RESP", proto), func(t *testing.T) {
			rdb := redis.NewClient(&redis.Options{Addr: addr, Protocol: proto, ClientName: "web"})
			defer rdb.Close()
			if err := rdb.Ping(ctx).Err(); err != nil {
				t.Fatal(err)
			}
			got, err := rdb.Do(ctx, "WHO", "email:a@example.com").Result()
			if err != nil {
				t.Fatal(err)
			}
			var want any = []any{"profile", int64(7), "ids", []any{"email:a@example.com"}}
			if proto == 3 {
				want = map[any]any{"profile": int64(7), "ids": []any{"email:a@example.com"}}
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("WHO = %#v, want %#v", got, want)
			}
			if err := rdb.Do(ctx, "WHO", "email:nobody@example.com").Err(); err != redis.Nil {
				t.Errorf("unknown WHO: err %v, want redis.Nil", err)
			}
			got, err = rdb.Do(ctx, "KINDS").Result()
			if err != nil {
				t.Fatal(err)
			}
			want = "[<nil> OK -3 a b 1 0 1.5 [k 1]]"
			if proto == 3 {
				want = "[<nil> OK -3 a b true false 1.5 map[k:1]]"
			}
			if fmt.Sprint(got) != want {
				t.Errorf("KINDS = %v, want %v", got, want)
			}
			// The client name from the handshake reaches the session.
			got, err = rdb.Do(ctx, "SESSION").Result()
			if err != nil || !strings.Contains(fmt.Sprint(got), "web") {
				t.Errorf("SESSION = %v, %v; want the name web", got, err)
			}
			err = rdb.Do(ctx, "BAD").Err()
			if err == nil || err.Error() != "ERR SYNTAX at word 2: bad word" {
				t.Errorf("BAD: err %v", err)
			}
			if err := rdb.Do(ctx, "OOPS").Err(); err == nil || err.Error() != "ERR plain failure" {
				t.Errorf("OOPS: err %v", err)
			}
			info, err := rdb.Info(ctx, "stats").Result()
			if err != nil || !strings.Contains(info, "cmdstat_who:calls=") {
				t.Errorf("INFO stats = %q, %v", info, err)
			}
		})
	}
}

func TestRESP3AfterHello(t *testing.T) {
	_, addr := start(t, newFakeExec(), testOptions())
	c := dialRaw(t, addr)
	c.send(cmd("KINDS")).expect("*8\r\n$-1\r\n+OK\r\n:-3\r\n$3\r\na b\r\n:1\r\n:0\r\n$3\r\n1.5\r\n*2\r\n$1\r\nk\r\n:1\r\n")
	c.send(cmd("HELLO", "3"))
	if got := c.reply(); got != "map[server:idgraph version:"+Version+" proto:3 id:1 mode:standalone role:master modules:[]]" {
		t.Errorf("HELLO 3 = %s", got)
	}
	c.send(cmd("KINDS")).expect("*8\r\n_\r\n+OK\r\n:-3\r\n$3\r\na b\r\n#t\r\n#f\r\n,1.5\r\n%1\r\n$1\r\nk\r\n:1\r\n")
	c.send(cmd("HELLO", "4")).expect("-NOPROTO unsupported protocol version\r\n")
}

func TestInlineCommands(t *testing.T) {
	_, addr := start(t, newFakeExec(), testOptions())
	c := dialRaw(t, addr)
	c.send("PING\r\n").expect("+PONG\r\n")
	c.send("ping hello\n").expect("$5\r\nhello\r\n")
	c.send("\r\n   \r\n") // empty lines are skipped without a reply
	c.send(`ARGS plain "two words" 'it\'s' "tab\there" "\x41\x42" ""` + "\r\n").
		expect("*6\r\n$5\r\nplain\r\n$9\r\ntwo words\r\n$4\r\nit's\r\n$8\r\ntab\there\r\n$2\r\nAB\r\n$0\r\n\r\n")
	c.send("ARGS \"unbalanced\r\n").expectLine("-ERR SYNTAX Protocol error: unbalanced quotes")
	c.expectClosed()
}

func TestPipelinedRepliesInOrder(t *testing.T) {
	_, addr := start(t, newFakeExec(), testOptions())
	c := dialRaw(t, addr)
	var req, want strings.Builder
	for i := range 500 {
		id := fmt.Sprintf("email:%d@example.com", i)
		req.WriteString(cmd("ARGS", id))
		fmt.Fprintf(&want, "*1\r\n$%d\r\n%s\r\n", len(id), id)
		if i%100 == 0 {
			req.WriteString("PING\r\n")
			want.WriteString("+PONG\r\n")
		}
	}
	c.send(req.String()).expect(want.String())
}

func TestTruncatedFrameIsDropped(t *testing.T) {
	exec := newFakeExec()
	_, addr := start(t, exec, testOptions())
	c := dialRaw(t, addr)
	c.send("*2\r\n$4\r\nARGS\r\n$5\r\nab")
	c.nc.(*net.TCPConn).CloseWrite()
	c.expectClosed()
	if n := exec.calls.Load(); n != 0 {
		t.Errorf("executor ran %d times for a truncated frame", n)
	}
}

func TestLimitsCutOffOnlyTheOffender(t *testing.T) {
	opts := testOptions()
	opts.MaxInlineLen = 100
	opts.MaxArgs = 8
	_, addr := start(t, newFakeExec(), opts)
	bystander := dialRaw(t, addr)
	bystander.send("PING\r\n").expect("+PONG\r\n")

	cases := []struct{ name, frame, reply string }{
		{"huge bulk header", "*2\r\n$4\r\nECHO\r\n$2147483647\r\n", "-ERR TOOLARGE bulk length 2147483647"},
		{"huge bulk over limit", "*1\r\n$1048577\r\n", "-ERR TOOLARGE bulk length 1048577"},
		{"too many args", "*9\r\n", "-ERR TOOLARGE 9 arguments"},
		{"huge arg count", "*9223372036854775\r\n", "-ERR TOOLARGE"},
		{"too many inline args", "a b c d e f g h i\r\n", "-ERR TOOLARGE more than 8 arguments"},
		{"long inline", strings.Repeat("x", 101) + "\r\n", "-ERR TOOLARGE inline command"},
		{"long inline without newline", strings.Repeat("x", 200), "-ERR TOOLARGE inline command"},
		{"bad count", "*abc\r\n", "-ERR SYNTAX Protocol error: invalid length"},
		{"not a bulk", "*1\r\n:5\r\n", "-ERR SYNTAX Protocol error: expected '$', got ':'"},
		{"negative bulk", "*1\r\n$-1\r\n", "-ERR SYNTAX Protocol error: invalid bulk length"},
		{"bulk without CRLF", "*1\r\n$4\r\nPINGxx", "-ERR SYNTAX Protocol error: bulk string not terminated"},
		{"endless header", "*1\r\n$" + strings.Repeat("1", 40), "-ERR SYNTAX Protocol error: header line too long"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := dialRaw(t, addr)
			c.send(tc.frame)
			c.expectLine(tc.reply)
			c.expectClosed()
		})
	}
	bystander.send(cmd("WHO", "email:a@example.com")).expectLine("*4")
}

func TestAuth(t *testing.T) {
	opts := testOptions()
	opts.Password = "s3cret"
	opts.ReadOnlyPassword = "r3ad"
	_, addr := start(t, newFakeExec(), opts)

	c := dialRaw(t, addr)
	c.send("PING\r\n").expect("+PONG\r\n")
	c.send(cmd("WHO", "email:a@example.com")).expect("-ERR NOAUTH Authentication required.\r\n")
	c.send(cmd("CLIENT", "SETNAME", "x")).expect("-ERR NOAUTH Authentication required.\r\n")
	c.send(cmd("AUTH", "wrong")).expect("-ERR NOAUTH invalid password\r\n")
	c.send(cmd("AUTH", "reader", "s3cret")).expect("-ERR NOAUTH invalid password\r\n")
	c.send(cmd("HELLO", "3")).expectLine("-ERR NOAUTH HELLO must be called")
	c.send(cmd("AUTH", "s3cret")).expect("+OK\r\n")
	c.send(cmd("WRITE")).expect("+OK\r\n")
	c.send(cmd("AUTH", "reader", "r3ad")).expect("+OK\r\n")
	c.send(cmd("WRITE")).expect("-ERR READONLY this session is read-only\r\n")
	c.send(cmd("AUTH", "default", "s3cret")).expect("+OK\r\n")
	c.send(cmd("WRITE")).expect("+OK\r\n")

	// Before AUTH the frame limits are the small pre-auth ones.
	c = dialRaw(t, addr)
	c.send(cmd("AUTH", strings.Repeat("p", 5000))).expectLine("-ERR TOOLARGE bulk length 5000")
	c.expectClosed()
	c = dialRaw(t, addr)
	c.send("*17\r\n").expectLine("-ERR TOOLARGE 17 arguments")
	c.expectClosed()
	c = dialRaw(t, addr)
	c.send(cmd("AUTH", "s3cret")).expect("+OK\r\n")
	c.send(cmd("ARGS", strings.Repeat("p", 5000))).expectLine("*1")

	ctx := context.Background()
	for _, tc := range []struct {
		user, pass string
		proto      int
		readOnly   bool
		ok         bool
	}{
		{"", "s3cret", 3, false, true},
		{"", "s3cret", 2, false, true},
		{"default", "s3cret", 3, false, true},
		{"reader", "r3ad", 3, true, true},
		{"reader", "r3ad", 2, true, true},
		{"", "r3ad", 2, true, true},
		{"", "nope", 3, false, false},
		{"reader", "s3cret", 2, false, false},
	} {
		rdb := redis.NewClient(&redis.Options{Addr: addr, Username: tc.user, Password: tc.pass, Protocol: tc.proto})
		got, err := rdb.Do(ctx, "SESSION").Result()
		rdb.Close()
		if !tc.ok {
			if err == nil {
				t.Errorf("go-redis %q/%q: logged in, want refused", tc.user, tc.pass)
			}
			continue
		}
		if err != nil {
			t.Errorf("go-redis %q/%q RESP%d: %v", tc.user, tc.pass, tc.proto, err)
			continue
		}
		wantRO := "false"
		if tc.proto == 2 {
			wantRO = "0"
		}
		if tc.readOnly {
			wantRO = map[string]string{"false": "true", "0": "1"}[wantRO]
		}
		if !strings.Contains(fmt.Sprint(got), "readonly:"+wantRO) && !strings.HasSuffix(fmt.Sprint(got), "readonly "+wantRO+"]") {
			t.Errorf("go-redis %q RESP%d: session %v, want readonly %s", tc.user, tc.proto, got, wantRO)
		}
	}
}

type fakeListener struct{ addr net.Addr }

func (l fakeListener) Accept() (net.Conn, error) { return nil, net.ErrClosed }
func (l fakeListener) Close() error              { return nil }
func (l fakeListener) Addr() net.Addr            { return l.addr }

func TestProtectedMode(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:7380", ":7380", "10.1.2.3:7380", "[::]:7380", "example.com:7380"} {
		opts := testOptions()
		opts.Addr = addr
		if _, err := New(newFakeExec(), opts); err == nil || !strings.Contains(err.Error(), "protected mode") {
			t.Errorf("New(%s) without password: err %v, want protected mode", addr, err)
		}
		opts.Password = "pw"
		if _, err := New(newFakeExec(), opts); err != nil {
			t.Errorf("New(%s) with password: %v", addr, err)
		}
	}
	for _, addr := range []string{"127.0.0.1:7380", "localhost:7380", "[::1]:7380"} {
		opts := testOptions()
		opts.Addr = addr
		if _, err := New(newFakeExec(), opts); err != nil {
			t.Errorf("New(%s): %v", addr, err)
		}
	}
	srv, err := New(newFakeExec(), testOptions())
	if err != nil {
		t.Fatal(err)
	}
	err = srv.Serve(fakeListener{&net.TCPAddr{IP: net.ParseIP("10.1.2.3"), Port: 7380}})
	if err == nil || !strings.Contains(err.Error(), "protected mode") {
		t.Errorf("Serve on a public listener without password: %v", err)
	}
	opts := testOptions()
	opts.ReadOnlyPassword = "r"
	if _, err := New(newFakeExec(), opts); err == nil {
		t.Error("New accepted a read-only password without a password")
	}
}

func selfSigned(t *testing.T) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "idgraph test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, pool
}

func TestTLS(t *testing.T) {
	serverTLS, roots := selfSigned(t)
	opts := testOptions()
	opts.TLSConfig = serverTLS
	_, addr := start(t, newFakeExec(), opts)

	rdb := redis.NewClient(&redis.Options{Addr: addr, TLSConfig: &tls.Config{RootCAs: roots}})
	defer rdb.Close()
	ctx := context.Background()
	got, err := rdb.Do(ctx, "WHO", "email:a@example.com").Result()
	if err != nil || fmt.Sprint(got) != "map[ids:[email:a@example.com] profile:7]" {
		t.Fatalf("WHO over TLS = %v, %v", got, err)
	}
	// A plain-text client gets nowhere.
	c := dialRaw(t, addr)
	c.send("PING\r\n")
	if line, _ := c.br.ReadString('\n'); strings.Contains(line, "PONG") {
		t.Error("plain-text PING answered by a TLS server")
	}
}

func TestIdleAndSlowClientsAreClosed(t *testing.T) {
	opts := testOptions()
	opts.IdleTimeout = 200 * time.Millisecond
	_, addr := start(t, newFakeExec(), opts)

	idle := dialRaw(t, addr)
	idle.expectClosed()

	// A slow-loris client trickling one byte at a time never completes a
	// frame: the per-frame deadline cuts it off although bytes keep coming.
	slow := dialRaw(t, addr)
	slow.send("*1\r\n$1000\r\n")
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if _, err := slow.nc.Write([]byte("x")); err != nil {
					return
				}
			}
		}
	}()
	slow.expectClosed()
}

func TestMaxClients(t *testing.T) {
	opts := testOptions()
	opts.MaxClients = 2
	_, addr := start(t, newFakeExec(), opts)
	a := dialRaw(t, addr)
	a.send("PING\r\n").expect("+PONG\r\n")
	b := dialRaw(t, addr)
	b.send("PING\r\n").expect("+PONG\r\n")
	c := dialRaw(t, addr)
	c.expect("-ERR max number of clients reached\r\n")
	c.expectClosed()
	a.send("PING\r\n").expect("+PONG\r\n")
}

func TestShutdownLetsCommandsInFlightReply(t *testing.T) {
	exec := newFakeExec()
	srv, addr := start(t, exec, testOptions())
	busy := dialRaw(t, addr)
	idle := dialRaw(t, addr)
	idle.send("PING\r\n").expect("+PONG\r\n")
	busy.send(cmd("SLOW"))
	<-exec.started

	shut := make(chan error, 1)
	go func() { shut <- srv.Shutdown(context.Background()) }()
	idle.expectClosed() // idle connections go at once, after the listener
	if servedBy(addr) {
		t.Error("a new connection was accepted during shutdown")
	}
	close(exec.release)
	busy.expect("+DONE\r\n")
	busy.expectClosed()
	if err := <-shut; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

// servedBy reports whether a new connection to addr gets PONG to PING. A
// closed port may be taken by another process on a busy machine, or the
// dial may connect to itself (a local port dialled from the same port
// number), so a connection that succeeds proves nothing by itself.
func servedBy(addr string) bool {
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return false
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := nc.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	line, _ := bufio.NewReader(nc).ReadString('\n')
	return line == "+PONG\r\n"
}

func TestShutdownGivesUpAtDeadline(t *testing.T) {
	exec := newFakeExec()
	srv, addr := start(t, exec, testOptions())
	busy := dialRaw(t, addr)
	busy.send(cmd("SLOW"))
	<-exec.started
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := srv.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Shutdown with expired context: %v", err)
	}
	busy.expectClosed()
}

func TestExecutorPanicEndsOnlyThatConnection(t *testing.T) {
	_, addr := start(t, newFakeExec(), testOptions())
	c := dialRaw(t, addr)
	c.send(cmd("PANIC")).expect("-ERR internal error\r\n")
	c.expectClosed()
	dialRaw(t, addr).send("PING\r\n").expect("+PONG\r\n")
}

func TestConnectionCommands(t *testing.T) {
	_, addr := start(t, newFakeExec(), testOptions())
	c := dialRaw(t, addr)
	c.send(cmd("ECHO", "hi")).expect("$2\r\nhi\r\n")
	c.send(cmd("SELECT", "0")).expect("+OK\r\n")
	c.send(cmd("SELECT", "1")).expect("-ERR DB index is out of range\r\n")
	c.send(cmd("CONFIG", "GET", "save")).expect("*2\r\n$4\r\nsave\r\n$0\r\n\r\n")
	c.send(cmd("CONFIG", "GET", "appendonly")).expect("*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n")
	c.send(cmd("CONFIG", "GET", "maxmemory")).expect("*0\r\n")
	c.send(cmd("CONFIG", "SET", "x", "y")).expectLine("-ERR SYNTAX CONFIG SET is not supported")
	c.send(cmd("COMMAND", "COUNT")).expect(fmt.Sprintf(":%d\r\n", numCmds-1))
	c.send(cmd("COMMAND", "DOCS")).expect("*0\r\n")
	c.send(cmd("COMMAND", "INFO", "who", "nope")).expect("*2\r\n*6\r\n$3\r\nwho\r\n:2\r\n*1\r\n+readonly\r\n:0\r\n:0\r\n:0\r\n$-1\r\n")
	c.send(cmd("CLIENT", "GETNAME")).expect("$-1\r\n")
	c.send(cmd("CLIENT", "SETNAME", "pos")).expect("+OK\r\n")
	c.send(cmd("CLIENT", "SETNAME", "two words")).expectLine("-ERR SYNTAX client names cannot")
	c.send(cmd("CLIENT", "GETNAME")).expect("$3\r\npos\r\n")
	c.send(cmd("SESSION")).expect("*4\r\n$4\r\nname\r\n$3\r\npos\r\n$8\r\nreadonly\r\n:0\r\n")
	c.send(cmd("CLIENT", "SETINFO", "LIB-NAME", "test")).expect("+OK\r\n")
	c.send(cmd("CLIENT", "ID")).expectLine(":")
	c.send(cmd("CLIENT", "INFO")).expectLine("$")
	if line := c.expectLine("id="); !strings.Contains(line, "name=pos") || !strings.Contains(line, "lib-name=test") {
		t.Errorf("CLIENT INFO = %q", line)
	}
	c.expect("\r\n")
	if got := c.send(cmd("COMMAND")).reply(); !strings.HasPrefix(got, "[[ping -1 [fast] 0 0 0] [echo 2") {
		t.Errorf("COMMAND = %s", got)
	}
	c.send(cmd("QUIT")).expect("+OK\r\n")
	c.expectClosed()
}

func TestInfoSections(t *testing.T) {
	opts := testOptions()
	opts.StoreInfo = func() []query.Pair {
		return []query.Pair{{Key: "profiles", Val: query.Int(42)}, {Key: "data_dir", Val: query.String("/tmp/x")}}
	}
	_, addr := start(t, newFakeExec(), opts)
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	ctx := context.Background()
	rdb.Do(ctx, "WHO", "email:a@example.com")
	rdb.Do(ctx, "NOSUCH")
	all, err := rdb.Info(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"# Server\r\nidgraph_version:" + Version + "\r\n", "# Clients\r\nconnected_clients:1\r\n",
		"# Stats\r\n", "cmdstat_who:calls=1,", "cmdstat_other:calls=1,", "failed_calls=1",
		"# Store\r\nprofiles:42\r\ndata_dir:/tmp/x\r\n", "# Memory\r\nused_memory:", "\r\nmaxmemory:",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("INFO lacks %q:\n%s", want, all)
		}
	}
	store, _ := rdb.Info(ctx, "store").Result()
	if strings.Contains(store, "# Server") || !strings.Contains(store, "profiles:42") {
		t.Errorf("INFO store = %q", store)
	}
	if strings.Contains(all, "# Cluster") {
		t.Errorf("INFO of a server without ClusterInfo has a cluster section:\n%s", all)
	}
	mem, _ := rdb.Info(ctx, "memory").Result()
	fields := map[string]int64{}
	for _, line := range strings.Split(strings.TrimSpace(mem), "\r\n")[1:] {
		k, v, _ := strings.Cut(line, ":")
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			t.Errorf("INFO memory: %q is not a number", line)
		}
		fields[k] = n
	}
	if fields["used_memory"] <= 0 || fields["used_memory_heap_live"] < 0 || fields["used_memory_heap_live"] > fields["used_memory"] {
		t.Errorf("INFO memory = %q", mem)
	}
	if runtime.GOOS == "linux" && (fields["used_memory_rss"] <= 0 || fields["used_memory_peak_rss"] < fields["used_memory_rss"]) {
		t.Errorf("INFO memory on Linux = %q", mem)
	}
	old := debug.SetMemoryLimit(3 << 30)
	defer debug.SetMemoryLimit(old)
	mem, _ = rdb.Info(ctx, "memory").Result()
	if !strings.Contains(mem, "\r\nmaxmemory:3221225472\r\n") {
		t.Errorf("INFO memory with a 3 GiB limit = %q", mem)
	}
}

func TestInfoClusterSection(t *testing.T) {
	opts := testOptions()
	opts.ClusterInfo = func() []query.Pair {
		return []query.Pair{{Key: "role", Val: query.String("leader")}, {Key: "applied", Val: query.Int(7)},
			{Key: "member_n1", Val: query.String("addr=127.0.0.1:7391,role=leader")}}
	}
	_, addr := start(t, newFakeExec(), opts)
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	ctx := context.Background()
	want := "# Cluster\r\nrole:leader\r\napplied:7\r\nmember_n1:addr=127.0.0.1:7391,role=leader\r\n"
	if got, _ := rdb.Info(ctx, "cluster").Result(); got != want {
		t.Errorf("INFO cluster = %q, want %q", got, want)
	}
	if all, _ := rdb.Info(ctx).Result(); !strings.HasSuffix(all, "\r\n"+want) {
		t.Errorf("INFO does not end with the cluster section:\n%s", all)
	}
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	opts := testOptions()
	opts.MetricsRegistry = reg
	_, addr := start(t, newFakeExec(), opts)
	c := dialRaw(t, addr)
	c.send(cmd("WHO", "email:a@example.com")).reply()
	c.send(cmd("made-up-1")).expectLine("-ERR")
	c.send(cmd("made-up-2")).expectLine("-ERR")

	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			key := f.GetName()
			for _, l := range m.GetLabel() {
				key += "{" + l.GetValue() + "}"
			}
			switch {
			case m.Counter != nil:
				got[key] = m.Counter.GetValue()
			case m.Gauge != nil:
				got[key] = m.Gauge.GetValue()
			case m.Histogram != nil:
				got[key] = float64(m.Histogram.GetSampleCount())
			}
		}
	}
	for key, want := range map[string]float64{
		"idgraph_server_commands_total{who}":            1,
		"idgraph_server_commands_total{other}":          2,
		"idgraph_server_command_errors_total{other}":    2,
		"idgraph_server_command_duration_seconds{who}":  1,
		"idgraph_server_connected_clients":              1,
		"idgraph_server_command_errors_total{who}":      0,
		"idgraph_server_command_duration_seconds{ping}": 0,
	} {
		if got[key] != want {
			t.Errorf("%s = %v, want %v", key, got[key], want)
		}
	}
	if _, err := New(newFakeExec(), opts); err == nil {
		t.Error("a second server registered the same collectors")
	}
}
