package console

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
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
// its scripts and styles under /console/<build>/, and GET
// /console/session. <build> is a hash of every embedded file, so the
// scripts and styles can be cached for good (a new binary has a new
// build); the pages name the current build and are revalidated on every
// load. Other paths under /console/<build>/ are answered 404.
func Mount(mux *http.ServeMux, o Options) {
	files, build := loadAssets()
	index := files["index.html"]
	index.body = []byte(strings.ReplaceAll(string(index.body), `"/console/`, `"/console/`+build+`/`))
	index.etag = etag(index.body)
	page := func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/profile/") && r.PathValue("id") == "" {
			notFound(w)
			return
		}
		w.Header().Set("Cache-Control", "no-cache")
		serveAsset(w, r, index)
	}
	for _, p := range pages {
		mux.HandleFunc("GET "+p, page)
	}
	mux.HandleFunc("GET /console/session", func(w http.ResponseWriter, r *http.Request) { session(w, r, o) })
	mux.HandleFunc("GET /console/{build}/{file...}", func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("file")
		a, ok := files[name]
		if !ok || name == "index.html" || r.PathValue("build") != build {
			notFound(w)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		serveAsset(w, r, a)
	})
}

func notFound(w http.ResponseWriter) {
	headers(w)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusNotFound)
	w.Write([]byte("404: no such page or file in this console\n"))
}

// loadAssets reads the embedded files once per Mount, with their types and
// entity tags, and the build: a hash of them all.
func loadAssets() (map[string]asset, string) {
	out := map[string]asset{}
	all := sha256.New()
	fs.WalkDir(assets, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := assets.ReadFile(p)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(p, "assets/")
		fmt.Fprintf(all, "%s %d\n", name, len(b))
		all.Write(b)
		out[name] = asset{body: b, ctype: contentType(p), etag: etag(b)}
		return nil
	})
	return out, hex.EncodeToString(all.Sum(nil)[:6])
}

func etag(b []byte) string {
	sum := sha256.Sum256(b)
	return `"` + hex.EncodeToString(sum[:12]) + `"`
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

// serveAsset sends a file with its type and entity tag (or 304 when the
// browser has it); the caller sets Cache-Control.
func serveAsset(w http.ResponseWriter, r *http.Request, a asset) {
	headers(w)
	h := w.Header()
	h.Set("Content-Type", a.ctype)
	h.Set("ETag", a.etag)
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
