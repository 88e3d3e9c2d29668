package console

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

//go:embed assets
var assets embed.FS

// Role is who a request authenticated as.
type Role int

const (
	// Denied: the request's credentials are missing or wrong.
	Denied Role = iota
	// ReadWrite may read and write.
	ReadWrite
	// ReadOnly may only read: the console shows it no write buttons.
	ReadOnly
)

// Options configure the console. The zero value serves a console for a
// server without a password, where every request is the read-write user.
type Options struct {
	// Authenticate tells who a request's credentials (its Authorization
	// header) are. Nil means every request is ReadWrite.
	Authenticate func(r *http.Request) Role

	// PasswordRequired makes the page ask for a password before it shows
	// anything; the password is kept in the tab's sessionStorage and sent
	// as "Authorization: Bearer <password>".
	PasswordRequired bool
}

// CSP is the Content-Security-Policy of the console's pages and assets:
// scripts, styles and connections from the server's own origin only (no
// inline script or style, no eval), images also from data: and blob: URLs
// the page makes itself, no plugins, no framing.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// pages are the paths that serve the console's document; its script
// routes on the path.
var pages = []string{"/{$}", "/profile/{id...}", "/segment", "/segments"}

// asset is one embedded file, ready to serve.
type asset struct {
	body  []byte
	ctype string
	etag  string
}

// Mount registers the console on mux, for GET (and so HEAD): its pages,
// its assets under /console/ and GET /console/session. Requests for other
// paths under /console/ are answered 404.
func Mount(mux *http.ServeMux, o Options) {
	files := loadAssets()
	index := files["index.html"]
	page := func(w http.ResponseWriter, r *http.Request) { serveAsset(w, r, index) }
	for _, p := range pages {
		mux.HandleFunc("GET "+p, page)
	}
	mux.HandleFunc("GET /console/session", func(w http.ResponseWriter, r *http.Request) { session(w, r, o) })
	mux.HandleFunc("GET /console/{file...}", func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("file")
		a, ok := files[name]
		if !ok || name == "index.html" {
			headers(w)
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte("404: no such file in the console\n"))
			return
		}
		serveAsset(w, r, a)
	})
}

// loadAssets reads the embedded files once per Mount, with their types and
// entity tags (a hash of the content, so a browser revalidates cheaply and
// never runs a stale script after an upgrade).
func loadAssets() map[string]asset {
	out := map[string]asset{}
	fs.WalkDir(assets, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := assets.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		out[strings.TrimPrefix(p, "assets/")] = asset{
			body:  b,
			ctype: contentType(p),
			etag:  `"` + hex.EncodeToString(sum[:12]) + `"`,
		}
		return nil
	})
	return out
}

func contentType(name string) string {
	switch path.Ext(name) {
	case ".html":
		return "text/html; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".png":
		return "image/png"
	}
	return "text/plain; charset=utf-8"
}

// headers sets what every console response carries.
func headers(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
}

func serveAsset(w http.ResponseWriter, r *http.Request, a asset) {
	headers(w)
	h := w.Header()
	h.Set("Content-Type", a.ctype)
	h.Set("ETag", a.etag)
	h.Set("Cache-Control", "no-cache")
	if match := r.Header.Get("If-None-Match"); match != "" && match == a.etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if r.Method == http.MethodHead {
		return
	}
	w.Write(a.body)
}

// sessionReply is GET /console/session's reply.
type sessionReply struct {
	User     string `json:"user"`     // "read-write" or "read-only"
	Password bool   `json:"password"` // whether the server wants a password
}

// session tells the page who its credentials are: 200 with the user, or
// 401 when they are missing or wrong (the page then asks for a password).
func session(w http.ResponseWriter, r *http.Request, o Options) {
	headers(w)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "application/json")
	role := ReadWrite
	if o.Authenticate != nil {
		role = o.Authenticate(r)
	}
	var reply any
	switch role {
	case ReadWrite:
		reply = sessionReply{"read-write", o.PasswordRequired}
	case ReadOnly:
		reply = sessionReply{"read-only", o.PasswordRequired}
	default:
		w.WriteHeader(http.StatusUnauthorized)
		reply = map[string]string{"code": "NOAUTH", "error": "authentication required: give the password"}
	}
	json.NewEncoder(w).Encode(reply)
}
