package httpapi_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/idgraph/idgraph/engine"
	"github.com/idgraph/idgraph/httpapi"
)

// clock is the fixed "now" of the tests' engine and server.
var clock = time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)

// env is a store and an HTTP server on a real loopback listener.
type env struct {
	t   *testing.T
	dir string
	db  *engine.DB
	srv *httpapi.Server
	url string
	c   *http.Client

	restartFn func(httpapi.Options)
}

// start opens a store in a temporary directory and serves it with opts
// (Logger and Now are filled in when zero).
func start(t *testing.T, opts httpapi.Options) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir()}
	e.open(opts)
	return e
}

func (e *env) open(opts httpapi.Options) {
	t := e.t
	t.Helper()
	eo := engine.DefaultOptions(e.dir)
	eo.Now = func() time.Time { return clock }
	db, err := engine.Open(eo)
	if err != nil {
		t.Fatal(err)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = func() time.Time { return clock }
	}
	srv, err := httpapi.New(db, nil, opts)
	if err != nil {
		db.Close()
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	e.db, e.srv = db, srv
	e.url = "http://" + ln.Addr().String()
	e.c = &http.Client{Timeout: 2 * time.Minute}
	closed := false
	t.Cleanup(func() {
		if closed {
			return
		}
		closed = true
		e.stop(done)
	})
	e.restartFn = func(o httpapi.Options) {
		closed = true
		e.stop(done)
		e.open(o)
	}
}

func (e *env) stop(done chan error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := e.srv.Shutdown(ctx); err != nil {
		e.t.Error(err)
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		e.t.Error(err)
	}
	e.c.CloseIdleConnections()
	if err := e.db.Close(); err != nil {
		e.t.Error(err)
	}
}

// restart closes the server and the store and opens both again on the
// same directory.
func (e *env) restart(opts httpapi.Options) { e.restartFn(opts) }

// request sends a request and returns the status and the body.
func (e *env) request(method, path, body string, header ...string) (int, string) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.url+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := e.c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, strings.TrimSpace(string(b))
}

func (e *env) post(path, body string, header ...string) (int, string) {
	e.t.Helper()
	return e.request(http.MethodPost, path, body, header...)
}

func (e *env) get(path string, header ...string) (int, string) {
	e.t.Helper()
	return e.request(http.MethodGet, path, "", header...)
}

// basic is the Authorization header Segment's SDKs send for a write key.
func basic(key string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(key+":"))
}

// who returns the profile holding id, or nil.
func (e *env) who(id string) *engine.Profile {
	e.t.Helper()
	p, err := e.db.Who(id)
	if errors.Is(err, engine.ErrNotFound) {
		return nil
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

// state is what "nothing changed" compares: identifiers, profiles and
// records allocated.
func (e *env) state() storeState {
	s := e.db.Stats()
	return storeState{Nodes: s.Nodes, Profiles: s.Profiles, Seq: s.Seq}
}

type storeState struct {
	Nodes, Profiles uint32
	Seq             uint64
}

// decode parses a JSON reply.
func decode(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("reply is not JSON: %v\n%s", err, s)
	}
	return v
}

// canon re-encodes JSON text so that key order and spacing do not matter.
func canon(t *testing.T, s string) string {
	t.Helper()
	b, err := json.Marshal(decode(t, s))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
