package console_test

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/idgraph/idgraph/console"
)

// mux mounts the console as httpapi does, with a JSON 404 for the rest,
// and a read-only user "ro" and a read-write user "rw".
func mux(t *testing.T) *http.ServeMux {
	t.Helper()
	m := http.NewServeMux()
	console.Mount(m, console.Options{
		PasswordRequired: true,
		Authenticate: func(r *http.Request) console.Role {
			switch r.Header.Get("Authorization") {
			case "Bearer rw":
				return console.ReadWrite
			case "Bearer ro":
				return console.ReadOnly
			}
			return console.Denied
		},
	})
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { http.Error(w, `{"code":"NOTFOUND"}`, 404) })
	return m
}

// final follows the mux's redirects (a cleaned path, a trailing slash).
func final(t *testing.T, h http.Handler, path string) *httptest.ResponseRecorder {
	t.Helper()
	for i := 0; i < 5; i++ {
		rec := get(t, h, path)
		if rec.Code != http.StatusTemporaryRedirect && rec.Code != http.StatusMovedPermanently {
			return rec
		}
		path = rec.Header().Get("Location")
	}
	t.Fatalf("%s: too many redirects", path)
	return nil
}

func get(t *testing.T, h http.Handler, path string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// build reads the build hash out of the page's script address.
func build(t *testing.T, h http.Handler) string {
	t.Helper()
	m := regexp.MustCompile(`src="/console/([0-9a-f]+)/app\.js"`).FindStringSubmatch(get(t, h, "/").Body.String())
	if m == nil {
		t.Fatal("the page names no /console/<build>/app.js")
	}
	return m[1]
}

// TestPagesAndAssets: every view's path serves the page, every file is
// served from the binary under the build with its type and the CSP, a
// file the browser has is 304, and unknown files are 404.
func TestPagesAndAssets(t *testing.T) {
	h := mux(t)
	b := build(t, h)
	index, err := os.ReadFile("assets/index.html")
	if err != nil {
		t.Fatal(err)
	}
	page := strings.ReplaceAll(string(index), `"/console/`, `"/console/`+b+`/`)
	for _, path := range []string{"/", "/profile/serial:SN-1", "/profile/email:ann%40example.com", "/profile/cookie:a%2Fb", "/segment", "/segment?expr=DID%20purchase", "/segments"} {
		rec := get(t, h, path)
		if rec.Code != 200 || rec.Body.String() != page {
			t.Errorf("GET %s: %d, the page? %v", path, rec.Code, rec.Body.String() == page)
		}
		if got := rec.Header().Get("Content-Type"); got != "text/html; charset=utf-8" {
			t.Errorf("GET %s: Content-Type %q", path, got)
		}
		if got := rec.Header().Get("Cache-Control"); got != "no-cache" {
			t.Errorf("GET %s: Cache-Control %q", path, got)
		}
		checkHeaders(t, path, rec)
	}
	types := map[string]string{".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
	n := 0
	fs.WalkDir(os.DirFS("assets"), ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || name == "index.html" {
			return err
		}
		n++
		want, _ := os.ReadFile("assets/" + name)
		path := "/console/" + b + "/" + name
		rec := get(t, h, path)
		if rec.Code != 200 || rec.Body.String() != string(want) {
			t.Errorf("GET %s: %d, body equal to the file: %v", path, rec.Code, rec.Body.String() == string(want))
		}
		for ext, ct := range types {
			if strings.HasSuffix(name, ext) && rec.Header().Get("Content-Type") != ct {
				t.Errorf("GET %s: Content-Type %q, want %q", path, rec.Header().Get("Content-Type"), ct)
			}
		}
		if got := rec.Header().Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
			t.Errorf("GET %s: Cache-Control %q", path, got)
		}
		checkHeaders(t, path, rec)
		if again := get(t, h, path, "If-None-Match", rec.Header().Get("ETag")); again.Code != http.StatusNotModified || again.Body.Len() != 0 {
			t.Errorf("GET %s with its ETag: %d, %d bytes", path, again.Code, again.Body.Len())
		}
		return nil
	})
	if n < 7 {
		t.Errorf("%d assets served, want the scripts and the styles", n)
	}
	for _, path := range []string{
		"/console/" + b + "/nope.js",
		"/console/" + b + "/index.html",
		"/console/000000000000/app.js", // another build
		"/console/" + b + "/../console.go",
		"/console/" + b + "/",
		"/profile/",
	} {
		if rec := final(t, h, path); rec.Code != 404 {
			t.Errorf("GET %s: %d, want 404", path, rec.Code)
		}
	}
	for _, path := range []string{"/nope", "/console/app.js", "/profile", "/v1/nope"} {
		if rec := final(t, h, path); rec.Code != 404 {
			t.Errorf("GET %s: %d %q, want 404", path, rec.Code, rec.Body.String())
		}
	}
}

func checkHeaders(t *testing.T, path string, rec *httptest.ResponseRecorder) {
	t.Helper()
	want := map[string]string{
		"Content-Security-Policy": console.CSP,
		"X-Content-Type-Options":  "nosniff",
		"X-Frame-Options":         "DENY",
		"Referrer-Policy":         "no-referrer",
	}
	for k, v := range want {
		if got := rec.Header().Get(k); got != v {
			t.Errorf("GET %s: %s %q, want %q", path, k, got, v)
		}
	}
}

// TestCSPAllowsNothingInline: the policy names no 'unsafe-inline' nor
// 'unsafe-eval' nor any other origin, and the page and the scripts hold
// nothing the policy would block: no inline script, event handler, style
// element or style attribute, no address of another origin, no eval.
func TestCSPAllowsNothingInline(t *testing.T) {
	for _, bad := range []string{"unsafe", "http:", "https:", "*"} {
		if strings.Contains(console.CSP, bad) {
			t.Errorf("CSP allows %q: %s", bad, console.CSP)
		}
	}
	for _, d := range []string{"default-src 'self'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "object-src 'none'"} {
		if !strings.Contains(console.CSP, d) {
			t.Errorf("CSP lacks %s", d)
		}
	}
	index, _ := os.ReadFile("assets/index.html")
	html := string(index)
	for _, m := range regexp.MustCompile(`<script[^>]*>`).FindAllString(html, -1) {
		if !strings.Contains(m, ` src="/console/`) {
			t.Errorf("inline or foreign script: %s", m)
		}
	}
	for _, re := range []string{`<style`, `\sstyle=`, `\son[a-z]+=`, `(src|href)="(https?:)?//`, `javascript:`} {
		if m := regexp.MustCompile(re).FindString(html); m != "" {
			t.Errorf("index.html holds %q", m)
		}
	}
	// Every file the page names exists.
	for _, m := range regexp.MustCompile(`"/console/([^"]+)"`).FindAllStringSubmatch(html, -1) {
		if _, err := os.Stat("assets/" + m[1]); err != nil {
			t.Errorf("index.html names /console/%s: %v", m[1], err)
		}
	}
	entries, _ := os.ReadDir("assets")
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".js") {
			continue
		}
		b, _ := os.ReadFile("assets/" + e.Name())
		src := string(b)
		for _, re := range []string{`\beval\(`, `new Function\(`, `innerHTML`, `outerHTML`, `insertAdjacentHTML`, `document\.write`, `\.setAttribute\('style'`} {
			if m := regexp.MustCompile(re).FindString(src); m != "" {
				t.Errorf("%s uses %q", e.Name(), m)
			}
		}
		for _, u := range regexp.MustCompile(`https?://[^'"\s)]+`).FindAllString(src, -1) {
			if u != "http://www.w3.org/2000/svg" { // SVG's namespace name, never fetched
				t.Errorf("%s names %s", e.Name(), u)
			}
		}
		for _, m := range regexp.MustCompile(`from '\./([^']+)'`).FindAllStringSubmatch(src, -1) {
			if _, err := os.Stat("assets/" + m[1]); err != nil {
				t.Errorf("%s imports %s: %v", e.Name(), m[1], err)
			}
		}
	}
}

// TestSession tells the page who the credentials are.
func TestSession(t *testing.T) {
	h := mux(t)
	cases := []struct {
		auth string
		code int
		body string
	}{
		{"Bearer rw", 200, `{"user":"read-write","password":true}`},
		{"Bearer ro", 200, `{"user":"read-only","password":true}`},
		{"Bearer wrong", 401, `{"code":"NOAUTH","error":"authentication required: give the password"}`},
		{"", 401, `{"code":"NOAUTH","error":"authentication required: give the password"}`},
	}
	for _, c := range cases {
		rec := get(t, h, "/console/session", "Authorization", c.auth)
		if rec.Code != c.code || strings.TrimSpace(rec.Body.String()) != c.body {
			t.Errorf("%q: %d %s, want %d %s", c.auth, rec.Code, rec.Body.String(), c.code, c.body)
		}
		if rec.Header().Get("Cache-Control") != "no-store" {
			t.Errorf("%q: Cache-Control %q", c.auth, rec.Header().Get("Cache-Control"))
		}
	}
	open := http.NewServeMux()
	console.Mount(open, console.Options{})
	if rec := get(t, open, "/console/session"); rec.Code != 200 || strings.TrimSpace(rec.Body.String()) != `{"user":"read-write","password":false}` {
		t.Errorf("without a password: %d %s", rec.Code, rec.Body.String())
	}
}

// TestGuard: cross-origin and cookie-carrying writes are refused before
// they reach the handler; reads, same-origin writes and clients that are
// not browsers pass; with LoopbackOnly, another Host is refused.
func TestGuard(t *testing.T) {
	reached := 0
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached++; io.WriteString(w, "ok") })
	g := console.Guard(next, console.GuardOptions{LoopbackOnly: true})
	cases := []struct {
		name, method, host string
		header             []string
		code               int
	}{
		{"curl", "POST", "127.0.0.1:7381", nil, 200},
		{"same-origin fetch", "POST", "127.0.0.1:7381", []string{"Sec-Fetch-Site", "same-origin", "Origin", "http://127.0.0.1:7381"}, 200},
		{"cross-site fetch", "POST", "127.0.0.1:7381", []string{"Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"}, 403},
		{"same-site fetch from another port", "POST", "127.0.0.1:7381", []string{"Sec-Fetch-Site", "same-site", "Origin", "http://127.0.0.1:8080"}, 403},
		{"old browser, foreign Origin", "POST", "127.0.0.1:7381", []string{"Origin", "https://evil.example"}, 403},
		{"old browser, own Origin", "POST", "localhost:7381", []string{"Origin", "http://localhost:7381"}, 200},
		{"cross-site read", "GET", "127.0.0.1:7381", []string{"Sec-Fetch-Site", "cross-site"}, 200},
		{"cookie without a token", "POST", "127.0.0.1:7381", []string{"Cookie", "session=1"}, 403},
		{"cookie with a token", "POST", "127.0.0.1:7381", []string{"Cookie", "session=1", "Authorization", "Bearer x"}, 200},
		{"rebound name", "GET", "evil.example:7381", nil, 403},
		{"rebound name, write", "POST", "evil.example", nil, 403},
		{"localhost", "GET", "localhost:7381", nil, 200},
		{"a name under localhost", "GET", "app.localhost:7381", nil, 200},
		{"IPv6 loopback", "GET", "[::1]:7381", nil, 200},
		{"127.0.0.2", "GET", "127.0.0.2", nil, 200},
		{"a private address", "GET", "192.168.1.5:7381", nil, 403},
	}
	for _, c := range cases {
		reached = 0
		req := httptest.NewRequest(c.method, "http://"+c.host+"/v1/query", strings.NewReader("FORGET user:1"))
		req.Host = c.host
		for i := 0; i+1 < len(c.header); i += 2 {
			req.Header.Set(c.header[i], c.header[i+1])
		}
		rec := httptest.NewRecorder()
		g.ServeHTTP(rec, req)
		if rec.Code != c.code || (c.code == 200) != (reached == 1) {
			t.Errorf("%s: %d (handler reached %d times), want %d: %s", c.name, rec.Code, reached, c.code, rec.Body.String())
		}
		for k, v := range map[string]string{"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store", "Referrer-Policy": "no-referrer"} {
			if rec.Header().Get(k) != v {
				t.Errorf("%s: %s %q", c.name, k, rec.Header().Get(k))
			}
		}
	}
	// Without LoopbackOnly any Host passes (the server has a password).
	g = console.Guard(next, console.GuardOptions{})
	req := httptest.NewRequest("GET", "http://idgraph.shop.example/v1/profiles/user:1", nil)
	rec := httptest.NewRecorder()
	g.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Errorf("a named host with a password: %d", rec.Code)
	}
}

// FuzzGuard: whatever the headers, the guard never panics, and a write a
// browser marks as cross-site, or that carries a cookie and no token, or
// comes for a Host that is not loopback, never reaches the handler.
func FuzzGuard(f *testing.F) {
	f.Add("POST", "127.0.0.1:7381", "cross-site", "https://evil.example", "", "")
	f.Add("POST", "localhost", "", "http://localhost", "a=b", "Bearer x")
	f.Add("GET", "[::1]:1", "same-origin", "", "", "")
	f.Add("PUT", "evil.example.", "none", "null", "", "")
	f.Fuzz(func(t *testing.T, method, host, site, origin, cookie, auth string) {
		if !regexp.MustCompile(`^[A-Z]{1,10}$`).MatchString(method) {
			return
		}
		reached := false
		g := console.Guard(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached = true }),
			console.GuardOptions{LoopbackOnly: true})
		req, err := http.NewRequest(method, "http://127.0.0.1/v1/query", nil)
		if err != nil {
			return
		}
		req.Host = host
		for k, v := range map[string]string{"Sec-Fetch-Site": site, "Origin": origin, "Cookie": cookie, "Authorization": auth} {
			if v != "" {
				req.Header.Set(k, v)
			}
		}
		g.ServeHTTP(httptest.NewRecorder(), req)
		write := method != "GET" && method != "HEAD" && method != "OPTIONS"
		switch {
		case !reached:
		case write && (site == "cross-site" || site == "same-site"):
			t.Errorf("%s with Sec-Fetch-Site %s reached the handler", method, site)
		case write && cookie != "" && auth == "":
			t.Errorf("%s with a cookie and no token reached the handler", method)
		case strings.HasPrefix(strings.ToLower(host), "evil.example"):
			t.Errorf("Host %q reached the handler", host)
		}
	})
}
