// Tests of the Go client (module github.com/idgraph/idgraph/client) against
// the real server. They live here because the client module has no
// dependencies, so its own tests cannot import the server.
package server_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idgraph/idgraph/client"
	"github.com/idgraph/idgraph/engine"
	"github.com/idgraph/idgraph/query"
	"github.com/idgraph/idgraph/server"
)

// fakeExec answers every statement with the reply shape the real executor
// documents, and remembers the words it was sent.
type fakeExec struct {
	mu       sync.Mutex
	last     map[string][]string         // statement → its last words
	sessions map[*query.Session]struct{} // distinct connections seen
	started  chan struct{}               // SLOW sends here when it begins
	release  chan struct{}               // and returns when this is closed
}

func newFakeExec() *fakeExec {
	return &fakeExec{last: map[string][]string{}, sessions: map[*query.Session]struct{}{}, started: make(chan struct{}, 4), release: make(chan struct{})}
}

func (f *fakeExec) words(stmt string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last[stmt]
}

func (f *fakeExec) connections() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.sessions)
}

func pair(k string, v query.Value) query.Pair { return query.Pair{Key: k, Val: v} }

var codes = map[string]string{
	"SYNTAX": query.CodeSyntax, "BADID": query.CodeBadID, "NOTFOUND": query.CodeNotFound,
	"TOOLARGE": query.CodeTooLarge, "NOAUTH": query.CodeNoAuth, "READONLY": query.CodeReadOnly,
}

func (f *fakeExec) Exec(ctx context.Context, s *query.Session, args []string) (query.Value, error) {
	stmt := strings.ToUpper(args[0])
	if stmt == "SEGMENT" && len(args) > 1 {
		stmt += " " + strings.ToUpper(args[1])
	}
	f.mu.Lock()
	f.last[stmt] = args
	f.sessions[s] = struct{}{}
	f.mu.Unlock()

	trackReply := query.Map(
		pair("profile", query.Int(12)),
		pair("dropped", query.Strings([]string{"cookie:null"})),
		pair("refused", query.Array(query.Map(pair("id", query.String("device:d1")), pair("rule", query.String("device limit 20"))))),
	)
	switch stmt {
	case "TRACK", "MERGE":
		return trackReply, nil
	case "SET", "CONSENT":
		return query.Map(pair("profile", query.Int(12))), nil
	case "WRITE":
		if s.ReadOnly {
			return query.Value{}, query.Errorf(query.CodeReadOnly, 0, "read-only session")
		}
		return query.Status("OK"), nil
	case "WHO":
		if !strings.Contains(args[1], ":") {
			return query.Value{}, query.Errorf(query.CodeBadID, 2, "an identifier is type:value")
		}
		if args[1] == "email:nobody@example.com" {
			return query.Nil(), nil
		}
		return query.Map(
			pair("profile", query.Int(12)),
			pair("ids", query.Strings([]string{"cookie:abc", "email:ann@example.com"})),
			pair("traits", query.Map(pair("city", query.String("Oslo")), pair("tier", query.String("gold")))),
			pair("consent", query.Map(pair("email", query.String("grant")), pair("sms", query.String("deny")))),
			pair("segments", query.Strings([]string{"buyers"})),
			pair("first_seen", query.String("2026-01-02T03:04:05.678Z")),
			pair("last_seen", query.String("")),
			pair("events", query.Int(5)),
		), nil
	case "WHY":
		edge := func(from, to, status, rule string) query.Value {
			return query.Map(pair("from", query.String(from)), pair("to", query.String(to)),
				pair("status", query.String(status)), pair("rule", query.String(rule)),
				pair("count", query.Int(3)), pair("first_seen", query.String("2026-01-01T00:00:00.000Z")),
				pair("last_seen", query.String("2026-01-03T00:00:00.000Z")), pair("source", query.String("web")))
		}
		return query.Map(
			pair("linked", query.Bool(true)),
			pair("path", query.Array(edge("cookie:abc", "email:ann@example.com", "linked", ""),
				edge("email:ann@example.com", "user:7", "refused", "user limit 1"))),
			pair("reason", query.String("linked by 1 edge")),
		), nil
	case "TIMELINE":
		return query.Array(
			query.Map(pair("time", query.String("2026-01-03T00:00:00.000Z")), pair("event", query.String("purchase")),
				pair("source", query.String("pos")), pair("ids", query.Strings([]string{"user:7"})),
				pair("props", query.String(`{"total":42}`))),
			query.Map(pair("time", query.String("2026-01-01T00:00:00.000Z")), pair("event", query.String("view")),
				pair("source", query.String("web")), pair("ids", query.Strings([]string{"cookie:abc"})),
				pair("props", query.String(""))),
		), nil
	case "UNLINK":
		return query.Map(pair("removed", query.Int(2)), pair("profiles", query.Array(query.Int(12), query.Int(13)))), nil
	case "FORGET":
		return query.Map(pair("profile", query.Int(12)), pair("ids", query.Int(3)), pair("events", query.Int(10))), nil
	case "SEGMENT COUNT":
		return query.Int(42), nil
	case "SEGMENT IDS":
		return query.Array(query.Int(1), query.Int(2), query.Int(4294967295)), nil
	case "SEGMENT SAVE":
		return query.Status("OK"), nil
	case "SEGMENT DROP":
		if args[2] == "buyers" {
			return query.Int(1), nil
		}
		return query.Int(0), nil
	case "SEGMENT LIST":
		return query.Map(pair("buyers", query.String("DID purchase WITHIN 30d"))), nil
	case "FAIL": // FAIL <code> <pos>
		pos := 0
		if len(args) > 2 {
			pos = 3
		}
		return query.Value{}, query.Errorf(codes[args[1]], pos, "failed on purpose")
	case "SLOW":
		f.started <- struct{}{}
		select {
		case <-f.release:
			return query.Status("OK"), nil
		case <-ctx.Done():
			return query.Value{}, ctx.Err()
		}
	}
	return query.Value{}, query.Errorf(query.CodeSyntax, 1, "unknown statement %q", args[0])
}

// serve runs the real server with exec on a loopback port until the test
// ends.
func serve(t *testing.T, exec server.Executor, mod func(*server.Options)) string {
	t.Helper()
	opts := server.DefaultOptions()
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	if mod != nil {
		mod(&opts)
	}
	srv, err := server.New(exec, opts)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return ln.Addr().String()
}

func dial(t *testing.T, opts client.Options) *client.Client {
	t.Helper()
	c, err := client.Dial(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func check[T any](t *testing.T, name string, got T, err error, want T) {
	t.Helper()
	if err != nil {
		t.Errorf("%s: %v", name, err)
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %#v\nwant %#v", name, got, want)
	}
}

func TestClientTypedCallsDecodeReplies(t *testing.T) {
	exec := newFakeExec()
	c := dial(t, client.Options{Addr: serve(t, exec, nil)})
	ctx := context.Background()
	at := time.UnixMilli(1767225600123)

	wantTrack := &client.TrackResult{Profile: 12, Dropped: []string{"cookie:null"},
		Refused: []client.Refusal{{ID: "device:d1", Rule: "device limit 20"}}}
	tr, err := c.Track(ctx, "purchase", []string{"email:ann@example.com", "cookie:abc"},
		client.TrackOptions{At: at, From: "web", Props: map[string]any{"total": 42}})
	check(t, "Track", tr, err, wantTrack)
	check(t, "TRACK words", exec.words("TRACK"), nil, []string{"TRACK", "purchase", "email:ann@example.com",
		"cookie:abc", "AT", "1767225600123", "FROM", "web", "PROPS", `{"total":42}`})
	tr, err = c.Track(ctx, "view", []string{"cookie:abc"}, client.TrackOptions{Props: `{"page":"/"}`})
	check(t, "Track raw props", tr, err, wantTrack)
	check(t, "TRACK words", exec.words("TRACK"), nil, []string{"TRACK", "view", "cookie:abc", "PROPS", `{"page":"/"}`})

	mr, err := c.Merge(ctx, []string{"user:7", "email:ann@example.com"}, "crm")
	check(t, "Merge", mr, err, wantTrack)
	check(t, "MERGE words", exec.words("MERGE"), nil, []string{"MERGE", "user:7", "email:ann@example.com", "FROM", "crm"})

	id, err := c.Set(ctx, "user:7", map[string]string{"tier": "gold", "city": "New York"}, at)
	check(t, "Set", id, err, uint32(12))
	check(t, "SET words", exec.words("SET"), nil, []string{"SET", "user:7", "city=New York", "tier=gold", "AT", "1767225600123"})

	id, err = c.Consent(ctx, "user:7", "email", false, time.Time{})
	check(t, "Consent", id, err, uint32(12))
	check(t, "CONSENT words", exec.words("CONSENT"), nil, []string{"CONSENT", "user:7", "email", "DENY"})

	p, err := c.Who(ctx, "cookie:abc")
	check(t, "Who", p, err, &client.Profile{
		ID: 12, IDs: []string{"cookie:abc", "email:ann@example.com"},
		Traits:    map[string]string{"city": "Oslo", "tier": "gold"},
		Consent:   map[string]bool{"email": true, "sms": false},
		Segments:  []string{"buyers"},
		FirstSeen: mustTime("2026-01-02T03:04:05.678Z"), Events: 5,
	})
	if _, err := c.Who(ctx, "email:nobody@example.com"); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("Who of an unknown id: %v, want ErrNotFound", err)
	}

	why, err := c.Why(ctx, "cookie:abc", "user:7")
	check(t, "Why", why, err, &client.Why{Linked: true, Reason: "linked by 1 edge", Path: []client.Edge{
		{From: "cookie:abc", To: "email:ann@example.com", Status: "linked", Count: 3,
			FirstSeen: mustTime("2026-01-01T00:00:00Z"), LastSeen: mustTime("2026-01-03T00:00:00Z"), Source: "web"},
		{From: "email:ann@example.com", To: "user:7", Status: "refused", Rule: "user limit 1", Count: 3,
			FirstSeen: mustTime("2026-01-01T00:00:00Z"), LastSeen: mustTime("2026-01-03T00:00:00Z"), Source: "web"},
	}})

	events, err := c.Timeline(ctx, "user:7", 10, at)
	check(t, "Timeline", events, err, []client.Event{
		{Time: mustTime("2026-01-03T00:00:00Z"), Name: "purchase", Source: "pos", IDs: []string{"user:7"}, Props: json.RawMessage(`{"total":42}`)},
		{Time: mustTime("2026-01-01T00:00:00Z"), Name: "view", Source: "web", IDs: []string{"cookie:abc"}},
	})
	check(t, "TIMELINE words", exec.words("TIMELINE"), nil, []string{"TIMELINE", "user:7", "LIMIT", "10", "BEFORE", "1767225600123"})

	ur, err := c.Unlink(ctx, "cookie:abc", "email:ann@example.com")
	check(t, "Unlink", ur, err, &client.UnlinkResult{Removed: 2, Profiles: []uint32{12, 13}})

	fr, err := c.Forget(ctx, "user:7", true)
	check(t, "Forget", fr, err, &client.ForgetResult{Profile: 12, IDs: 3, Events: 10})
	check(t, "FORGET words", exec.words("FORGET"), nil, []string{"FORGET", "user:7", "SUPPRESS"})

	n, err := c.SegmentCount(ctx, `DID purchase WITHIN 30d AND (TRAIT city = "New York" OR NOT HAS email)`, at)
	check(t, "SegmentCount", n, err, int64(42))
	check(t, "SEGMENT COUNT words", exec.words("SEGMENT COUNT"), nil, []string{"SEGMENT", "COUNT",
		"DID", "purchase", "WITHIN", "30d", "AND", "(", "TRAIT", "city", "=", "New York", "OR", "NOT", "HAS", "email", ")",
		"ASOF", "1767225600123"})

	ids, err := c.SegmentIDs(ctx, "HAS email", time.Time{}, 100, 7)
	check(t, "SegmentIDs", ids, err, []uint32{1, 2, 4294967295})
	check(t, "SEGMENT IDS words", exec.words("SEGMENT IDS"), nil, []string{"SEGMENT", "IDS", "HAS", "email", "LIMIT", "100", "AFTER", "7"})

	if err := c.SegmentSave(ctx, "buyers", "DID purchase WITHIN 30d"); err != nil {
		t.Errorf("SegmentSave: %v", err)
	}
	check(t, "SEGMENT SAVE words", exec.words("SEGMENT SAVE"), nil, []string{"SEGMENT", "SAVE", "buyers", "DID", "purchase", "WITHIN", "30d"})
	dropped, err := c.SegmentDrop(ctx, "buyers")
	check(t, "SegmentDrop", dropped, err, true)
	dropped, err = c.SegmentDrop(ctx, "nosuch")
	check(t, "SegmentDrop of nothing", dropped, err, false)
	list, err := c.SegmentList(ctx)
	check(t, "SegmentList", list, err, map[string]string{"buyers": "DID purchase WITHIN 30d"})

	if _, err := c.SegmentCount(ctx, `TRAIT city = "New York`, time.Time{}); !errors.Is(err, client.ErrSyntax) {
		t.Errorf("unbalanced quote: %v, want ErrSyntax", err)
	}
	v, err := c.Do(ctx, "ECHO", "a b")
	check(t, "Do", v, err, any("a b"))
}

func TestClientServerErrorsMatchSentinels(t *testing.T) {
	c := dial(t, client.Options{Addr: serve(t, newFakeExec(), nil)})
	ctx := context.Background()
	for code, sentinel := range map[string]error{
		"SYNTAX": client.ErrSyntax, "BADID": client.ErrBadID, "NOTFOUND": client.ErrNotFound,
		"TOOLARGE": client.ErrTooLarge, "NOAUTH": client.ErrNoAuth, "READONLY": client.ErrReadOnly,
	} {
		_, err := c.Do(ctx, "FAIL", code, "at")
		if !errors.Is(err, sentinel) {
			t.Errorf("%s: %v does not match its sentinel", code, err)
		}
		if code != "SYNTAX" && errors.Is(err, client.ErrSyntax) {
			t.Errorf("%s matches ErrSyntax", code)
		}
		var e *client.Error
		if !errors.As(err, &e) || e.Code != "ERR "+code || e.Pos != 3 || e.Msg != "failed on purpose" {
			t.Errorf("%s: error %#v", code, e)
		}
		if want := "ERR " + code + " at word 3: failed on purpose"; err.Error() != want {
			t.Errorf("%s: %q, want %q", code, err.Error(), want)
		}
	}
	// Typed calls return server errors the same way.
	_, err := c.Who(ctx, "no-colon")
	var e *client.Error
	if !errors.Is(err, client.ErrBadID) || !errors.As(err, &e) || e.Pos != 2 {
		t.Errorf("Who: %v", err)
	}
}

func TestClientPipeline(t *testing.T) {
	exec := newFakeExec()
	c := dial(t, client.Options{Addr: serve(t, exec, nil), PoolSize: 1})
	ctx := context.Background()
	p := c.Pipeline()
	track := p.Track("view", []string{"cookie:abc"}, client.TrackOptions{From: "web"})
	who := p.Who("cookie:abc")
	missing := p.Who("email:nobody@example.com")
	bad := p.Do("FAIL", "BADID")
	count := p.SegmentCount("HAS email", time.Time{})
	unbuilt := p.SegmentIDs(`"unbalanced`, time.Time{}, 0, 0)
	ids := p.SegmentIDs("HAS email", time.Time{}, 0, 0)
	if _, err := who.Result(); err == nil {
		t.Error("a result before Exec")
	}
	results, err := p.Exec(ctx)
	if !errors.Is(err, client.ErrNotFound) {
		t.Errorf("Exec: %v, want the first error, ErrNotFound", err)
	}
	if len(results) != 7 || p.Len() != 0 {
		t.Fatalf("%d results, %d still queued", len(results), p.Len())
	}
	if tr, err := track.Result(); err != nil || tr.Profile != 12 || results[0].(*client.TrackResult) != tr {
		t.Errorf("track: %v, %v", tr, err)
	}
	if pr, err := who.Result(); err != nil || pr.ID != 12 || results[1].(*client.Profile) != pr {
		t.Errorf("who: %v, %v", pr, err)
	}
	if !errors.Is(missing.Err(), client.ErrNotFound) || !errors.Is(results[2].(error), client.ErrNotFound) {
		t.Errorf("missing: %v", missing.Err())
	}
	if !errors.Is(bad.Err(), client.ErrBadID) {
		t.Errorf("bad: %v", bad.Err())
	}
	if n, err := count.Result(); err != nil || n != 42 || results[4] != int64(42) {
		t.Errorf("count: %v, %v", n, err)
	}
	if !errors.Is(unbuilt.Err(), client.ErrSyntax) {
		t.Errorf("unbuilt: %v", unbuilt.Err())
	}
	if got, err := ids.Result(); err != nil || len(got) != 3 {
		t.Errorf("ids: %v, %v", got, err)
	}
	if n := exec.connections(); n != 1 {
		t.Errorf("pipeline used %d connections", n)
	}
}

func TestClientPoolSharedByManyGoroutines(t *testing.T) {
	exec := newFakeExec()
	c := dial(t, client.Options{Addr: serve(t, exec, nil), PoolSize: 4})
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for g := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				if g%2 == 0 && i%10 == 0 {
					p := c.Pipeline()
					p.Who("cookie:abc")
					p.SegmentCount("HAS email", time.Time{})
					if _, err := p.Exec(ctx); err != nil {
						errs <- err
						return
					}
					continue
				}
				p, err := c.Who(ctx, "cookie:abc")
				if err != nil || p.ID != 12 {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := exec.connections(); n > 4 {
		t.Errorf("%d connections for a pool of 4", n)
	}
}

func TestClientContextEndsTheCall(t *testing.T) {
	exec := newFakeExec()
	c := dial(t, client.Options{Addr: serve(t, exec, nil), PoolSize: 1})
	t.Cleanup(func() { close(exec.release) }) // before the server shuts down

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := c.Do(ctx, "SLOW")
		done <- err
	}()
	<-exec.started
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled call: %v", err)
	}

	ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.Do(ctx, "SLOW"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("call past its deadline: %v", err)
	}
	// The broken connections were dropped; the pool dials a fresh one.
	if err := c.Ping(context.Background()); err != nil {
		t.Errorf("Ping after cancellations: %v", err)
	}
	if _, err := c.Do(context.Background(), "ECHO", "x"); err != nil {
		t.Error(err)
	}
}

func TestClientAuth(t *testing.T) {
	addr := serve(t, newFakeExec(), func(o *server.Options) {
		o.Password = "s3cret"
		o.ReadOnlyPassword = "r3ad"
	})
	ctx := context.Background()
	// PING needs no password, so Dial succeeds; statements are refused.
	anon := dial(t, client.Options{Addr: addr})
	if _, err := anon.Who(ctx, "cookie:abc"); !errors.Is(err, client.ErrNoAuth) {
		t.Errorf("no password: %v, want ErrNoAuth", err)
	}
	if _, err := client.Dial(ctx, client.Options{Addr: addr, Password: "wrong"}); !errors.Is(err, client.ErrNoAuth) {
		t.Errorf("wrong password: %v, want ErrNoAuth", err)
	}
	c := dial(t, client.Options{Addr: addr, Password: "s3cret"})
	if _, err := c.Do(ctx, "WRITE"); err != nil {
		t.Errorf("WRITE as default: %v", err)
	}
	r := dial(t, client.Options{Addr: addr, Username: "reader", Password: "r3ad"})
	if _, err := r.Do(ctx, "WRITE"); !errors.Is(err, client.ErrReadOnly) {
		t.Errorf("WRITE as reader: %v, want ErrReadOnly", err)
	}
	if _, err := r.Who(ctx, "cookie:abc"); err != nil {
		t.Errorf("WHO as reader: %v", err)
	}
}

func TestClientTLS(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	addr := serve(t, newFakeExec(), func(o *server.Options) {
		o.TLSConfig = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	})
	c := dial(t, client.Options{Addr: addr, TLSConfig: &tls.Config{RootCAs: roots}})
	if p, err := c.Who(context.Background(), "cookie:abc"); err != nil || p.ID != 12 {
		t.Errorf("Who over TLS: %v, %v", p, err)
	}
	if _, err := client.Dial(context.Background(), client.Options{Addr: addr, TLSConfig: &tls.Config{}}); err == nil {
		t.Error("Dial trusted an unknown certificate")
	}
}

func TestClientClosed(t *testing.T) {
	c := dial(t, client.Options{Addr: serve(t, newFakeExec(), nil)})
	c.Close()
	if err := c.Ping(context.Background()); !errors.Is(err, client.ErrClosed) {
		t.Errorf("Ping after Close: %v", err)
	}
}

func TestClientLazyReportsDialErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	c := client.New(client.Options{Addr: addr, DialTimeout: time.Second})
	defer c.Close()
	if err := c.Ping(context.Background()); err == nil {
		t.Error("Ping to a closed port succeeded")
	}
}

// realServer serves a fresh store through the real executor.
func realServer(t *testing.T) string {
	t.Helper()
	db, err := engine.Open(engine.DefaultOptions(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	addr := serve(t, query.NewExecutor(db), nil)
	t.Cleanup(func() { db.Close() }) // runs after the server's shutdown
	return addr
}

func TestClientNameIsTheDefaultSource(t *testing.T) {
	addr := realServer(t)
	ctx := context.Background()
	for _, proto := range []int{2, 3} {
		name := fmt.Sprintf("pos%d", proto)
		c := dial(t, client.Options{Addr: addr, Name: name, Protocol: proto})
		id := fmt.Sprintf("cookie:named-%d", proto)
		if _, err := c.Track(ctx, "visit", []string{id}, client.TrackOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Track(ctx, "visit", []string{id}, client.TrackOptions{From: "web"}); err != nil {
			t.Fatal(err)
		}
		evs, err := c.Timeline(ctx, id, 0, time.Time{})
		if err != nil || len(evs) != 2 {
			t.Fatalf("RESP%d timeline: %v, %v", proto, evs, err)
		}
		got := []string{evs[0].Source, evs[1].Source}
		sort.Strings(got)
		if want := []string{name, "web"}; !reflect.DeepEqual(got, want) {
			t.Errorf("RESP%d sources %q, want %q", proto, got, want)
		}
		if n, err := c.Do(ctx, "CLIENT", "GETNAME"); err != nil || n != name {
			t.Errorf("RESP%d CLIENT GETNAME: %v, %v", proto, n, err)
		}
	}
}

func TestClientDoReplyOverRESP3KeepsMaps(t *testing.T) {
	addr := realServer(t)
	ctx := context.Background()
	c := dial(t, client.Options{Addr: addr, Protocol: 3})
	if _, err := c.Track(ctx, "signup", []string{"user:42", "email:ann@example.com"}, client.TrackOptions{}); err != nil {
		t.Fatal(err)
	}
	r, err := c.DoReply(ctx, "WHO", "email:ann@example.com")
	if err != nil || r.Type != client.ReplyMap || len(r.Elems)%2 != 0 {
		t.Fatalf("WHO over RESP3: %v, %v", r, err)
	}
	if k := r.Elems[0]; k.Type != client.ReplyString || k.Str != "profile" || r.Elems[1].Type != client.ReplyInt {
		t.Errorf("first entry %v = %v", k, r.Elems[1])
	}
	r, err = c.DoReply(ctx, "WHO", "email:nobody@example.com")
	if err != nil || r.Type != client.ReplyNil {
		t.Errorf("unknown WHO: %v, %v", r, err)
	}
	c2 := dial(t, client.Options{Addr: addr})
	r, err = c2.DoReply(ctx, "WHO", "email:ann@example.com")
	if err != nil || r.Type != client.ReplyArray {
		t.Errorf("WHO over RESP2 is a flat array: %v, %v", r, err)
	}
}
