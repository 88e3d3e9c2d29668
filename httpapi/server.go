package httpapi

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/idgraph/idgraph/engine"
	"github.com/idgraph/idgraph/query"
)

// Server serves the tracking API and the JSON API over HTTP. Create it
// with New; it is safe for concurrent use.
type Server struct {
	b    Backend
	opts Options
	mux  *http.ServeMux
	h    http.Handler // mux behind the browser guards (console.go)
	hs   *http.Server
	sem  chan struct{} // one token per request in progress (MaxConcurrent)

	// failAfterCommit, when set (tests only), is asked after each tracking
	// request's Apply; true makes the server answer 500 although the calls
	// were committed, as when an acknowledgement is lost on the way.
	failAfterCommit atomic.Pointer[func(recs []engine.Record) bool]
}

// route is one endpoint: the table the mux, the method checks and the
// OpenAPI test all read.
type route struct {
	method  string
	pattern string // http.ServeMux pattern without the method
	handler http.HandlerFunc
}

// New checks the options and returns a Server of one store that is not
// yet listening. x runs the JSON API's statements; nil means
// query.NewExecutor(db). It refuses a non-loopback Addr without both write
// keys and a password.
func New(db *engine.DB, x *query.Executor, opts Options) (*Server, error) {
	if db == nil {
		return nil, errors.New("httpapi: nil engine")
	}
	if x == nil {
		x = query.NewExecutor(db)
	}
	return NewOn(single{db: db, x: x}, opts)
}

// NewOn is New over any Backend: a cluster node serves the HTTP API
// through it, its writes replicated.
func NewOn(b Backend, opts Options) (*Server, error) {
	opts = opts.withDefaults()
	if opts.ReadOnlyPassword != "" && opts.Password == "" {
		return nil, errors.New("httpapi: a read-only password needs a password for the read-write user")
	}
	if opts.ReadOnlyPassword != "" && opts.ReadOnlyPassword == opts.Password {
		return nil, errors.New("httpapi: the read-only password must differ from the password")
	}
	for key, src := range opts.WriteKeys {
		if key == "" {
			return nil, errors.New("httpapi: an empty write key")
		}
		if err := validSource(src); err != nil {
			return nil, fmt.Errorf("httpapi: write key of %q: %w", src, err)
		}
	}
	if err := protected(opts.Addr, opts); err != nil {
		return nil, err
	}
	s := &Server{b: b, opts: opts, sem: make(chan struct{}, opts.MaxConcurrent)}
	s.mux = s.newMux()
	s.h = s.guarded(s.mux)
	s.hs = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: opts.ReadHeaderTimeout,
		ReadTimeout:       opts.ReadTimeout,
		WriteTimeout:      opts.ReadTimeout + opts.RequestTimeout,
		IdleTimeout:       opts.IdleTimeout,
		MaxHeaderBytes:    opts.MaxHeaderBytes,
		TLSConfig:         opts.TLSConfig,
		// Failed handshakes and broken connections are the clients'.
		ErrorLog: slog.NewLogLogger(opts.Logger.Handler(), slog.LevelDebug),
	}
	return s, nil
}

// protected refuses to serve beyond the loopback interface without write
// keys and a password, as the RESP server refuses without a password.
func protected(addr string, o Options) error {
	if isLoopback(addr) || len(o.WriteKeys) > 0 && o.Password != "" {
		return nil
	}
	return fmt.Errorf("httpapi: refusing to serve HTTP on %s without a write-key file and a password "+
		"(protected mode): give both, or use a loopback address such as 127.0.0.1", addr)
}

func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// trackingCalls are the tracking API's endpoints: /v1/<call>, and the
// one-letter path analytics.js posts to (/v1/t for track, /v1/b for a
// batch).
var trackingCalls = []string{"identify", "track", "page", "screen", "alias", "group", "batch"}

// routes lists every endpoint.
func (s *Server) routes() []route {
	r := []route{}
	for _, call := range trackingCalls {
		h := s.tracking(call)
		r = append(r, route{http.MethodPost, "/v1/" + call, h}, route{http.MethodPost, "/v1/" + call[:1], h})
	}
	return append(r,
		route{http.MethodGet, "/v1/profiles/{id}", s.profile},
		route{http.MethodGet, "/v1/profiles/{id}/timeline", s.timeline},
		route{http.MethodGet, "/v1/profiles/{id}/why/{other}", s.why},
		route{http.MethodGet, "/v1/profiles/{id}/graph", s.graph},
		route{http.MethodGet, "/v1/segments/{name}/export", s.export},
		route{http.MethodGet, "/v1/changes", s.changes},
		route{http.MethodPost, "/v1/query", s.query},
		route{http.MethodGet, "/v1/openapi.json", s.openapi},
	)
}

// newMux registers the routes, plus for each path a fallback that answers
// other methods with a JSON 405 (and CORS preflights of the tracking API),
// and a JSON 404 for everything else.
func (s *Server) newMux() *http.ServeMux {
	mux := http.NewServeMux()
	allowed := map[string][]string{}
	for _, rt := range s.routes() {
		mux.HandleFunc(rt.method+" "+rt.pattern, rt.handler)
		allowed[rt.pattern] = append(allowed[rt.pattern], rt.method)
	}
	for pattern, methods := range allowed {
		sort.Strings(methods)
		allow := strings.Join(methods, ", ")
		tracking := isTrackingPath(pattern)
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			if tracking && r.Method == http.MethodOptions {
				cors(w)
				w.Header().Set("Access-Control-Max-Age", "86400")
				w.WriteHeader(http.StatusNoContent)
				return
			}
			w.Header().Set("Allow", allow)
			apiError(w, http.StatusMethodNotAllowed, "METHOD", fmt.Sprintf("%s takes %s, not %s", r.URL.Path, allow, r.Method))
		})
	}
	s.mountConsole(mux)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		apiError(w, http.StatusNotFound, "NOTFOUND", fmt.Sprintf("no endpoint %s; see /v1/openapi.json", r.URL.Path))
	})
	return mux
}

func isTrackingPath(p string) bool {
	call, ok := strings.CutPrefix(p, "/v1/")
	if !ok {
		return false
	}
	for _, c := range trackingCalls {
		if call == c || call == c[:1] {
			return true
		}
	}
	return false
}

// cors lets browsers (analytics.js on a shop's pages) post to the tracking
// API from any origin; the write key, not the origin, authorises a call.
func cors(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Content-Type, Authorization")
}

// ServeHTTP bounds the requests in progress and dispatches to the routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	select {
	case s.sem <- struct{}{}:
		defer func() { <-s.sem }()
	default:
		w.Header().Set("Retry-After", "1")
		if isTrackingPath(r.URL.Path) {
			cors(w)
			trackingError(w, http.StatusServiceUnavailable, "too many requests in progress; retry later")
			return
		}
		apiError(w, http.StatusServiceUnavailable, "BUSY", "too many requests in progress; retry later")
		return
	}
	s.h.ServeHTTP(w, r)
}

// Serve accepts connections on ln until Shutdown, when it returns
// http.ErrServerClosed; ln is closed on return. With TLSConfig set it
// speaks HTTPS. A TCP listener on a non-loopback address needs write keys
// and a password, as in New.
func (s *Server) Serve(ln net.Listener) error {
	if a, ok := ln.Addr().(*net.TCPAddr); ok && !a.IP.IsLoopback() {
		if err := protected(a.String(), s.opts); err != nil {
			ln.Close()
			return err
		}
	}
	if s.opts.TLSConfig != nil {
		ln = tls.NewListener(ln, s.opts.TLSConfig)
	}
	s.opts.Logger.Info("idgraph HTTP API listening", "addr", ln.Addr().String(), "tls", s.opts.TLSConfig != nil,
		"write_keys", len(s.opts.WriteKeys))
	return s.hs.Serve(ln)
}

// Shutdown stops accepting, lets requests in progress finish and closes
// idle connections; if ctx ends first it returns ctx.Err().
func (s *Server) Shutdown(ctx context.Context) error {
	return s.hs.Shutdown(ctx)
}

// Close closes the listeners and every connection at once.
func (s *Server) Close() error { return s.hs.Close() }

// user is who a JSON API request authenticated as.
type user int

const (
	noUser user = iota
	readWrite
	readOnly
)

// bearer checks "Authorization: Bearer <password>" against the server's
// users. Without a password every request is the read-write user.
func (s *Server) bearer(r *http.Request) user {
	if s.opts.Password == "" {
		return readWrite
	}
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return noUser
	}
	token = strings.TrimSpace(token)
	eq := func(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }
	switch {
	case eq(token, s.opts.Password):
		return readWrite
	case s.opts.ReadOnlyPassword != "" && eq(token, s.opts.ReadOnlyPassword):
		return readOnly
	}
	return noUser
}

// writeJSON sends v with the status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":"the reply could not be encoded","code":"ERR"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// apiError is the JSON API's error reply: a sentence and the code a
// program branches on (the RESP error code without "ERR ").
func apiError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]string{"error": msg, "code": code})
}

// trackingError is the tracking API's error reply, in Segment's shape.
func trackingError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"success": false, "error": msg})
}
