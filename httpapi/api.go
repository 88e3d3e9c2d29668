package httpapi

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/idgraph/idgraph/engine"
	"github.com/idgraph/idgraph/query"
)

// The JSON API runs statements through the query executor, so its replies
// are the maps RESP sends (query.Value.JSON), its errors carry the same
// codes and the read-only user meets the same ERR READONLY.

//go:embed openapi.json
var openAPI []byte

func (s *Server) openapi(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Write(openAPI)
}

// begin authenticates a JSON API request and checks its query parameters
// against known; false means the error reply is sent.
func (s *Server) begin(w http.ResponseWriter, r *http.Request, known ...string) (user, url.Values, bool) {
	u := s.auth(w, r)
	if u == noUser {
		return noUser, nil, false
	}
	q, ok := params(w, r, known...)
	return u, q, ok
}

// auth authenticates a JSON API request; noUser means the 401 is sent.
func (s *Server) auth(w http.ResponseWriter, r *http.Request) user {
	u := s.bearer(r)
	if u == noUser {
		w.Header().Set("WWW-Authenticate", `Bearer realm="idgraph"`)
		apiError(w, http.StatusUnauthorized, "NOAUTH", "authentication required: send Authorization: Bearer <password>")
	}
	return u
}

// exec runs one statement as user u.
func (s *Server) run(r *http.Request, u user, args []string) (query.Value, error) {
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.RequestTimeout)
	defer cancel()
	return s.b.Exec(ctx, &query.Session{ReadOnly: u == readOnly}, args)
}

// params checks the query parameters against those the endpoint knows, so
// that a typo is an error rather than a silent default.
func params(w http.ResponseWriter, r *http.Request, known ...string) (url.Values, bool) {
	q := r.URL.Query()
	for k := range q {
		found := false
		for _, n := range known {
			found = found || k == n
		}
		if !found {
			msg := fmt.Sprintf("unknown parameter %q", k)
			if len(known) > 0 {
				msg += " (known: " + strings.Join(known, ", ") + ")"
			}
			apiError(w, http.StatusBadRequest, "SYNTAX", msg)
			return nil, false
		}
	}
	return q, true
}

// GET /v1/profiles/{id}: WHO.
func (s *Server) profile(w http.ResponseWriter, r *http.Request) {
	u, _, ok := s.begin(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	v, err := s.run(r, u, []string{"WHO", id})
	if err != nil {
		s.queryError(w, err)
		return
	}
	if v.Kind == query.KindNil {
		apiError(w, http.StatusNotFound, "NOTFOUND", fmt.Sprintf("no profile holds %s", id))
		return
	}
	writeJSON(w, http.StatusOK, v.JSON())
}

// GET /v1/profiles/{id}/timeline?limit=&before=: TIMELINE.
func (s *Server) timeline(w http.ResponseWriter, r *http.Request) {
	u, q, ok := s.begin(w, r, "limit", "before")
	if !ok {
		return
	}
	args := []string{"TIMELINE", r.PathValue("id")}
	if l := q.Get("limit"); l != "" {
		if n, err := strconv.Atoi(l); err != nil || n < 1 {
			apiError(w, http.StatusBadRequest, "SYNTAX", fmt.Sprintf("limit %q must be a positive whole number", l))
			return
		}
		args = append(args, "LIMIT", l)
	}
	if b := q.Get("before"); b != "" {
		args = append(args, "BEFORE", b)
	}
	s.reply(w, r, u, args)
}

// GET /v1/profiles/{id}/why/{other}: WHY.
func (s *Server) why(w http.ResponseWriter, r *http.Request) {
	u, _, ok := s.begin(w, r)
	if !ok {
		return
	}
	s.reply(w, r, u, []string{"WHY", r.PathValue("id"), r.PathValue("other")})
}

// GET /v1/profiles/{id}/graph: GRAPH, the profile's identity graph.
func (s *Server) graph(w http.ResponseWriter, r *http.Request) {
	u, _, ok := s.begin(w, r)
	if !ok {
		return
	}
	s.reply(w, r, u, []string{"GRAPH", r.PathValue("id")})
}

// reply runs a statement and sends its reply as JSON.
func (s *Server) reply(w http.ResponseWriter, r *http.Request, u user, args []string) {
	v, err := s.run(r, u, args)
	if err != nil {
		s.queryError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, v.JSON())
}

// maxExportLimit is the largest page of an export (as SEGMENT IDS).
const maxExportLimit = 100_000

// GET /v1/segments/{name}/export?fields=&limit=&after=&asof=&snapshot=:
// SEGMENT EXPORT of a saved segment — the members ascending by profile id,
// each a map of "profile" and the fields asked for (comma-separated: an
// identifier type, trait:<name>, computed:<name>, consent:<purpose>,
// tags). A snapshot token, the same on every page, reads every page at the
// moment of the first.
func (s *Server) export(w http.ResponseWriter, r *http.Request) {
	u, q, ok := s.begin(w, r, "fields", "limit", "after", "asof", "snapshot")
	if !ok {
		return
	}
	name := r.PathValue("name")
	if _, found := s.b.Segment(name); !found {
		apiError(w, http.StatusNotFound, "NOTFOUND", fmt.Sprintf("no saved segment %q (SEGMENT SAVE creates one)", name))
		return
	}
	args := []string{"SEGMENT", "EXPORT", "IN", name}
	if f := q.Get("fields"); f != "" {
		args = append(args, "FIELDS")
		for _, field := range strings.Split(f, ",") {
			if field = strings.TrimSpace(field); field == "" {
				apiError(w, http.StatusBadRequest, "SYNTAX", "fields: an empty field name")
				return
			}
			args = append(args, field)
		}
	}
	for _, p := range []struct{ param, word string }{{"limit", "LIMIT"}, {"after", "AFTER"}, {"asof", "ASOF"}, {"snapshot", "SNAPSHOT"}} {
		if v := q.Get(p.param); v != "" {
			args = append(args, p.word, v)
		}
	}
	s.reply(w, r, u, args)
}

// GET /v1/changes?after=&limit=&block=&kinds=&segments=&fields=: CHANGES —
// the change feed after a cursor (none: from the oldest entry kept; $:
// only new ones), oldest first; block (ms) waits for the next entry.
// Lists are comma-separated.
func (s *Server) changes(w http.ResponseWriter, r *http.Request) {
	u, q, ok := s.begin(w, r, "after", "limit", "block", "kinds", "segments", "fields")
	if !ok {
		return
	}
	args := []string{"CHANGES"}
	for _, p := range []struct{ param, word string }{{"after", "AFTER"}, {"limit", "LIMIT"}} {
		if v := q.Get(p.param); v != "" {
			args = append(args, p.word, v)
		}
	}
	// A request's work is bounded (RequestTimeout): a block waits at most
	// a little less.
	if v := q.Get("block"); v != "" && v != "0" {
		n, err := strconv.Atoi(v)
		most := max(int((s.opts.RequestTimeout-5*time.Second)/time.Millisecond), 0)
		if err != nil || n < 0 || n > most {
			apiError(w, http.StatusBadRequest, "SYNTAX", fmt.Sprintf("block %q must be a whole number of milliseconds from 0 to %d", v, most))
			return
		}
		args = append(args, "BLOCK", v)
	}
	for _, p := range []struct{ param, word string }{{"kinds", "KINDS"}, {"segments", "SEGMENTS"}, {"fields", "FIELDS"}} {
		if v := q.Get(p.param); v != "" {
			args = append(args, p.word)
			for _, x := range strings.Split(v, ",") {
				args = append(args, strings.TrimSpace(x))
			}
		}
	}
	s.reply(w, r, u, args)
}

// queryStatement is the JSON form of a POST /v1/query body.
type queryStatement struct {
	Statement *string  `json:"statement"`
	Args      []string `json:"args"`
}

// POST /v1/query: one statement, as a line of text, as
// {"statement": "..."} or as {"args": ["WORD", ...]}; its reply as JSON.
func (s *Server) query(w http.ResponseWriter, r *http.Request) {
	u, _, ok := s.begin(w, r)
	if !ok {
		return
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, int64(s.opts.MaxQueryBytes)))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			apiError(w, http.StatusBadRequest, "TOOLARGE", fmt.Sprintf("statement larger than %d bytes", s.opts.MaxQueryBytes))
			return
		}
		apiError(w, http.StatusBadRequest, "SYNTAX", "reading the body: "+err.Error())
		return
	}
	var args []string
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '{' {
		var st queryStatement
		dec := json.NewDecoder(bytes.NewReader(t))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&st); err != nil || dec.More() || (st.Statement == nil) == (st.Args == nil) {
			apiError(w, http.StatusBadRequest, "SYNTAX", `a JSON body must be {"statement": "..."} or {"args": ["WORD", ...]}`)
			return
		}
		if st.Args != nil {
			args = st.Args
		} else {
			b = []byte(*st.Statement)
		}
	}
	if args == nil {
		line := strings.TrimRight(string(b), "\r\n")
		if strings.ContainsAny(line, "\r\n") {
			apiError(w, http.StatusBadRequest, "SYNTAX", "one statement per request: the body holds several lines")
			return
		}
		if args, err = query.SplitLine(line); err != nil {
			s.queryError(w, err)
			return
		}
	}
	if len(args) == 0 {
		apiError(w, http.StatusBadRequest, "SYNTAX", "no statement: send one in the body, e.g. WHO email:ann@example.com")
		return
	}
	if len(args) > s.opts.MaxQueryArgs {
		apiError(w, http.StatusBadRequest, "TOOLARGE", fmt.Sprintf("%d words in one statement; the most is %d", len(args), s.opts.MaxQueryArgs))
		return
	}
	s.reply(w, r, u, args)
}

// queryError sends a statement's error with the status its code calls for.
func (s *Server) queryError(w http.ResponseWriter, err error) {
	var qe *query.Error
	if !errors.As(err, &qe) {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, engine.ErrClosed) {
			w.Header().Set("Retry-After", "1")
			apiError(w, http.StatusServiceUnavailable, "UNAVAILABLE", "the store could not answer in time; retry")
			return
		}
		s.opts.Logger.Error("HTTP API: statement failed", "err", err)
		apiError(w, http.StatusInternalServerError, "ERR", err.Error())
		return
	}
	code := strings.TrimPrefix(qe.Code, "ERR ")
	status := http.StatusBadRequest
	switch qe.Code {
	case query.CodeNotFound:
		status = http.StatusNotFound
	case query.CodeReadOnly:
		status = http.StatusForbidden
	case query.CodeNoAuth:
		status = http.StatusUnauthorized
	case query.CodeGeneric:
		// Storage and other failures the executor did not classify.
		status = http.StatusInternalServerError
	}
	apiError(w, status, code, qe.Error())
}
