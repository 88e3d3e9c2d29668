package httpapi

import (
	"net/http"

	"github.com/idgraph/idgraph/console"
)

// The console (package console) is served beside the API at /, with the
// same users: it reads and writes through the JSON API like any client.

// mountConsole registers the console's pages and assets.
func (s *Server) mountConsole(mux *http.ServeMux) {
	console.Mount(mux, console.Options{
		PasswordRequired: s.opts.Password != "",
		Authenticate: func(r *http.Request) console.Role {
			switch s.bearer(r) {
			case readWrite:
				return console.ReadWrite
			case readOnly:
				return console.ReadOnly
			}
			return console.Denied
		},
	})
}

// guarded puts everything but the tracking API behind console.Guard:
// cross-origin and cookie-carrying writes are refused (CSRF), and a server
// without a password answers only to loopback host names (DNS rebinding).
// The tracking API stays open to every origin, as analytics.js needs (its
// write keys authorise its calls), and so does the OpenAPI document, which
// is public.
func (s *Server) guarded(next http.Handler) http.Handler {
	g := console.Guard(next, console.GuardOptions{
		LoopbackOnly: s.opts.Password == "",
		Deny: func(w http.ResponseWriter, _ *http.Request, status int, code, msg string) {
			apiError(w, status, code, msg)
		},
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isTrackingPath(r.URL.Path) || r.URL.Path == "/v1/openapi.json" {
			next.ServeHTTP(w, r)
			return
		}
		g.ServeHTTP(w, r)
	})
}
