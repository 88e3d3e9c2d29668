package console

import (
	"fmt"
	"net"
	"net/http"
	"strings"
)

// GuardOptions configure Guard.
type GuardOptions struct {
	// LoopbackOnly refuses requests whose Host header is not a loopback
	// name or address (localhost, *.localhost, 127.0.0.0/8, ::1): a page of
	// another site that rebinds its own name to 127.0.0.1 (DNS rebinding)
	// still sends its own name as Host. Set it when the server has no
	// password, which is when it may only listen on loopback.
	LoopbackOnly bool

	// Deny writes a refusal. Nil writes the status and the message as
	// plain text.
	Deny func(w http.ResponseWriter, r *http.Request, status int, code, msg string)
}

// Guard wraps the JSON API (and the console) against requests a browser
// makes on behalf of another site:
//
//   - A write — any method but GET, HEAD and OPTIONS — that a browser marks
//     as cross-origin (Sec-Fetch-Site, or an Origin that is not the Host)
//     is refused with 403 (net/http's CrossOriginProtection). Clients that
//     are not browsers send neither header and are not affected.
//   - A write that carries a Cookie header but no Authorization header is
//     refused with 403: idgraph never authenticates by cookie, so such a
//     request can only be a browser's ambient credentials for something
//     else (a proxy's login, say) being replayed by another site. The
//     console sends its password as a Bearer token from sessionStorage,
//     which another site's page cannot read or make a browser send.
//   - With LoopbackOnly, a request for another Host is refused with 403.
//
// Every reply carries X-Content-Type-Options: nosniff, Referrer-Policy:
// no-referrer, and by default Cache-Control: no-store (replies hold
// personal data; the console's assets set their own) and a
// Content-Security-Policy that lets nothing run and nothing frame it.
func Guard(next http.Handler, o GuardOptions) http.Handler {
	deny := o.Deny
	if deny == nil {
		deny = func(w http.ResponseWriter, _ *http.Request, status int, _, msg string) {
			http.Error(w, msg, status)
		}
	}
	cop := http.NewCrossOriginProtection()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		if o.LoopbackOnly && !loopbackHost(r.Host) {
			deny(w, r, http.StatusForbidden, "FORBIDDEN", fmt.Sprintf(
				"host %q refused: a server without a password answers only to a loopback name or address (localhost, 127.0.0.1, [::1])", r.Host))
			return
		}
		if safeMethod(r.Method) {
			next.ServeHTTP(w, r)
			return
		}
		if err := cop.Check(r); err != nil {
			deny(w, r, http.StatusForbidden, "CSRF", "cross-origin write refused: a browser sent it on behalf of another site")
			return
		}
		if r.Header.Get("Cookie") != "" && r.Header.Get("Authorization") == "" {
			deny(w, r, http.StatusForbidden, "CSRF",
				"write with a cookie and no Authorization header refused: idgraph does not authenticate by cookie; send Authorization: Bearer <password>")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// loopbackHost reports whether a Host header names this machine's
// loopback interface.
func loopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSuffix(host, "."), "["), "]")
	lower := strings.ToLower(host)
	if lower == "localhost" || strings.HasSuffix(lower, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
