package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/idgraph/idgraph/engine"
	"github.com/idgraph/idgraph/httpapi"
	"github.com/idgraph/idgraph/query"
)

// seed writes two customers through the engine: Ann (user:1, an email
// with an @ to URL-encode, a cookie, traits and consent, two purchases)
// and Bo (user:2, one page view), and saves the segment "buyers".
func seed(t *testing.T, e *env) {
	t.Helper()
	ctx := context.Background()
	day := func(d int) time.Time { return time.Date(2026, 10, d, 12, 0, 0, 0, time.UTC) }
	ops := []engine.Op{
		engine.RecordOp(engine.Record{IDs: []string{"user:1", "email:ann@example.com", "cookie:c1"}, Time: day(1), Source: "web",
			Traits: []engine.Trait{{Name: "tier", Value: "gold"}}, Consent: map[string]bool{"email": true}}),
		engine.TrackOp(engine.Event{Name: "purchase", IDs: []string{"cookie:c1"}, Time: day(2), Source: "web", Props: []byte(`{"total":30}`)}),
		engine.TrackOp(engine.Event{Name: "purchase", IDs: []string{"user:1"}, Time: day(3), Source: "pos"}),
		engine.TrackOp(engine.Event{Name: "page", IDs: []string{"user:2", "email:bo@example.com"}, Time: day(4), Source: "web"}),
	}
	_, errs, err := e.db.Apply(ctx, ops)
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := e.db.SaveSegment(ctx, "buyers", "DID purchase", nil); err != nil {
		t.Fatal(err)
	}
}

// TestJSONAPI checks every GET endpoint's reply and errors.
func TestJSONAPI(t *testing.T) {
	e := start(t, httpapi.Options{})
	seed(t, e)
	ann := "/v1/profiles/" + url.PathEscape("email:ann@example.com")
	cases := []struct {
		name, path string
		code       int
		reply      string
	}{
		{"WHO", ann, 200, `{"consent":{"email":"grant"},"events":2,"first_seen":"2026-10-02T12:00:00.000Z","ids":["cookie:c1","email:ann@example.com","user:1"],"last_seen":"2026-10-03T12:00:00.000Z","profile":1,"segments":["buyers"],"tags":[],"traits":{"tier":"gold"}}`},
		{"WHO with the @ escaped", "/v1/profiles/email:ann%40example.com", 200, ""},
		{"WHO by profile id", "/v1/profiles/profile:1", 200, ""},
		{"WHO unknown", "/v1/profiles/email:nobody@example.com", 404, `{"code":"NOTFOUND","error":"no profile holds email:nobody@example.com"}`},
		{"WHO bad identifier", "/v1/profiles/nocolon", 400, `{"code":"BADID","error":"ERR BADID at word 2: WHO expects an identifier type:value, found \"nocolon\""}`},
		{"WHO unknown type", "/v1/profiles/shoe:42", 400, ""},
		{"WHO unknown parameter", ann + "?fields=x", 400, `{"code":"SYNTAX","error":"unknown parameter \"fields\""}`},
		{"TIMELINE", ann + "/timeline?limit=1", 200, `[{"cursor":"1791028800000-4","event":"purchase","ids":["user:1"],"props":"{}","source":"pos","time":"2026-10-03T12:00:00.000Z"}]`},
		{"TIMELINE before", ann + "/timeline?before=2026-10-03T00:00:00Z", 200, `[{"cursor":"1790942400000-3","event":"purchase","ids":["cookie:c1"],"props":"{\"total\":30}","source":"web","time":"2026-10-02T12:00:00.000Z"}]`},
		{"TIMELINE bad limit", ann + "/timeline?limit=0", 400, `{"code":"SYNTAX","error":"limit \"0\" must be a positive whole number"}`},
		{"WHY", "/v1/profiles/user:1/why/email:ann%40example.com", 200, `{"linked":true,"path":[{"count":1,"first_seen":"2026-10-01T12:00:00.000Z","from":"user:1","last_seen":"2026-10-01T12:00:00.000Z","rule":"","source":"web","status":"linked","to":"email:ann@example.com"}],"reason":"linked through 1 co-occurrence(s)"}`},
		{"WHY unknown", "/v1/profiles/user:1/why/email:nobody%40example.com", 404, `{"code":"NOTFOUND","error":"ERR NOTFOUND at word 3: email:nobody@example.com is not known"}`},
		{"export", "/v1/segments/buyers/export?fields=email,trait:tier,consent:email,consent:sms,phone", 200, `[{"consent:email":"grant","consent:sms":null,"email":["ann@example.com"],"phone":[],"profile":1,"trait:tier":"gold"}]`},
		{"export without fields", "/v1/segments/buyers/export", 200, `[{"profile":1}]`},
		{"export after the last member", "/v1/segments/buyers/export?after=1", 200, `[]`},
		{"export unknown segment", "/v1/segments/nobody/export", 404, `{"code":"NOTFOUND","error":"no saved segment \"nobody\" (SEGMENT SAVE creates one)"}`},
		{"export unknown field", "/v1/segments/buyers/export?fields=shoe_size", 400, `{"code":"SYNTAX","error":"ERR SYNTAX at word 6: unknown field shoe_size: no identifier type of that name (see TYPES); a field is an identifier type, trait:\u003cname\u003e, computed:\u003cname\u003e, consent:\u003cpurpose\u003e or tags"}`},
		{"export tags", "/v1/segments/buyers/export?fields=tags,email", 200, `[{"email":["ann@example.com"],"profile":1,"tags":[]}]`},
		{"export bad after", "/v1/segments/buyers/export?after=x", 400, `{"code":"SYNTAX","error":"ERR SYNTAX at word 6: expected a number after AFTER, found \"x\""}`},
		{"TIMELINE unknown", "/v1/profiles/user:404/timeline", 404, ""},
		{"export bad limit", "/v1/segments/buyers/export?limit=100001", 400, `{"code":"TOOLARGE","error":"ERR TOOLARGE at word 6: LIMIT must be from 1 to 100000, found 100001"}`},
	}
	for _, c := range cases {
		code, reply := e.get(c.path)
		if code != c.code || c.reply != "" && canon(t, reply) != canon(t, c.reply) {
			t.Errorf("%s: GET %s\n got %d %s\nwant %d %s", c.name, c.path, code, reply, c.code, c.reply)
		}
	}
}

// TestRepliesAreTheRESPMaps compares the JSON API with the executor the
// RESP server runs, statement by statement.
func TestRepliesAreTheRESPMaps(t *testing.T) {
	e := start(t, httpapi.Options{})
	seed(t, e)
	x := query.NewExecutor(e.db)
	for path, words := range map[string][]string{
		"/v1/profiles/user:2":                                {"WHO", "user:2"},
		"/v1/profiles/user:1/timeline":                       {"TIMELINE", "user:1"},
		"/v1/profiles/user:1/why/user:2":                     {"WHY", "user:1", "user:2"},
		"/v1/profiles/cookie:c1/why/email:ann%40example.com": {"WHY", "cookie:c1", "email:ann@example.com"},
	} {
		v, err := x.Exec(context.Background(), nil, words)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(v.JSON())
		if code, reply := e.get(path); code != 200 || canon(t, reply) != string(want) {
			t.Errorf("GET %s: %d %s\nwant %s", path, code, reply, want)
		}
	}
}

// TestQueryEndpoint runs statements through POST /v1/query in its three
// body forms, and its errors.
func TestQueryEndpoint(t *testing.T) {
	e := start(t, httpapi.Options{MaxQueryBytes: 200, MaxQueryArgs: 8})
	seed(t, e)
	cases := []struct {
		name, body string
		code       int
		reply      string
	}{
		{"a line", "SEGMENT COUNT DID purchase\n", 200, `1`},
		{"a statement in JSON", `{"statement":"SEGMENT IDS DID page OR DID purchase"}`, 200, `[1,2]`},
		{"words in JSON", `{"args":["TRACK","signup","email:new@example.com","AT","2026-10-09T00:00:00Z"]}`, 200, `{"dropped":[],"moved":[],"profile":3,"refused":[],"suppressed":[]}`},
		{"a nil reply", `WHO email:nobody@example.com`, 200, `null`},
		{"a quoted name", `TRACK "first visit" cookie:z AT 1759276800000`, 200, `{"dropped":[],"moved":[],"profile":4,"refused":[],"suppressed":[]}`},
		{"syntax error", "SEGMENT COUNT DID", 400, `{"code":"SYNTAX","error":"ERR SYNTAX at word 4: expected an event name after DID, found the end of the statement"}`},
		{"unknown segment", "SEGMENT COUNT IN nobody", 404, `{"code":"NOTFOUND","error":"ERR NOTFOUND at word 4: no segment named \"nobody\" (see SEGMENT LIST)"}`},
		{"two lines", "WHO user:1\nWHO user:2", 400, `{"code":"SYNTAX","error":"one statement per request: the body holds several lines"}`},
		{"empty", "  ", 400, `{"code":"SYNTAX","error":"no statement: send one in the body, e.g. WHO email:ann@example.com"}`},
		{"bad JSON shape", `{"statement":"WHO user:1","args":["WHO"]}`, 400, `{"code":"SYNTAX","error":"a JSON body must be {\"statement\": \"...\"} or {\"args\": [\"WORD\", ...]}"}`},
		{"too many words", "SEGMENT IDS DID a OR DID b OR DID c", 400, `{"code":"TOOLARGE","error":"10 words in one statement; the most is 8"}`},
		{"too large", "WHO email:" + strings.Repeat("x", 200), 400, `{"code":"TOOLARGE","error":"statement larger than 200 bytes"}`},
	}
	for _, c := range cases {
		code, reply := e.post("/v1/query", c.body)
		if code != c.code || canon(t, reply) != canon(t, c.reply) {
			t.Errorf("%s: %q\n got %d %s\nwant %d %s", c.name, c.body, code, reply, c.code, c.reply)
		}
	}
}

// TestBearerUsers: with a password, the JSON API needs it; the read-only
// password reads but cannot write, and its refused write changes nothing.
func TestBearerUsers(t *testing.T) {
	e := start(t, httpapi.Options{Password: "rw-secret", ReadOnlyPassword: "ro-secret"})
	seed(t, e)
	rw := []string{"Authorization", "Bearer rw-secret"}
	ro := []string{"Authorization", "Bearer ro-secret"}
	noauth := `{"code":"NOAUTH","error":"authentication required: send Authorization: Bearer <password>"}`
	for _, h := range [][]string{nil, {"Authorization", "Bearer wrong"}, {"Authorization", "Basic cnctc2VjcmV0Og=="}} {
		if code, reply := e.get("/v1/profiles/user:1", h...); code != 401 || canon(t, reply) != canon(t, noauth) {
			t.Errorf("%v: %d %s", h, code, reply)
		}
		if code, _ := e.post("/v1/query", "WHO user:1", h...); code != 401 {
			t.Errorf("query with %v: %d", h, code)
		}
	}
	for _, h := range [][]string{rw, ro} {
		if code, _ := e.get("/v1/profiles/user:1", h...); code != 200 {
			t.Errorf("GET as %v: %d", h, code)
		}
		if code, reply := e.post("/v1/query", "SEGMENT COUNT DID purchase", h...); code != 200 || reply != "1" {
			t.Errorf("read query as %v: %d %s", h, code, reply)
		}
	}
	before := e.state()
	for _, st := range []string{"TRACK signup user:9", "FORGET user:1", "SEGMENT SAVE x DID page"} {
		code, reply := e.post("/v1/query", st, ro...)
		if code != 403 || canon(t, reply) != `{"code":"READONLY","error":"ERR READONLY this user may only read"}` {
			t.Errorf("%s as the read-only user: %d %s", st, code, reply)
		}
	}
	if after := e.state(); after != before || e.who("user:1") == nil {
		t.Errorf("a refused write changed the store: %+v → %+v", before, after)
	}
	if code, _ := e.post("/v1/query", "TRACK signup user:9", rw...); code != 200 || e.who("user:9") == nil {
		t.Errorf("write as the read-write user: %d", code)
	}
	// The OpenAPI document needs no password.
	if code, reply := e.get("/v1/openapi.json"); code != 200 || !strings.Contains(reply, `"openapi": "3.0.3"`) {
		t.Errorf("openapi.json: %d", code)
	}
}

// TestTrackingIgnoresBearer: write keys and passwords are separate; with
// both set, a tracking call needs its write key.
func TestTrackingIgnoresBearer(t *testing.T) {
	e := start(t, httpapi.Options{Password: "pw", WriteKeys: map[string]string{"wk": "web"}})
	if code, _ := e.post("/v1/track", `{"userId":"u","event":"x"}`, "Authorization", "Bearer pw"); code != http.StatusUnauthorized {
		t.Errorf("Bearer on the tracking API: %d, want 401", code)
	}
	if code, _ := e.get("/v1/profiles/user:u", "Authorization", basic("wk")); code != http.StatusUnauthorized {
		t.Errorf("write key on the JSON API: %d, want 401", code)
	}
}

// TestChangesEndpoint: GET /v1/changes is CHANGES — entries after a cursor,
// with fields; a block waits for the next commit; a block longer than a
// request may take is refused.
func TestChangesEndpoint(t *testing.T) {
	e := start(t, httpapi.Options{})
	if code, reply := e.post("/v1/query", "SEGMENT SAVE buyers DID purchase"); code != 200 {
		t.Fatalf("save: %d %s", code, reply)
	}
	if code, reply := e.post("/v1/track", `{"userId":"42","event":"purchase","traits":{"email":"ann@example.com"}}`); code != 200 {
		t.Fatalf("track: %d %s", code, reply)
	}
	code, reply := e.get("/v1/changes?fields=user&kinds=segment.entered")
	entries, ok := decode(t, reply).([]any)
	if code != 200 || !ok || len(entries) != 1 {
		t.Fatalf("changes: %d %s", code, reply)
	}
	got := entries[0].(map[string]any)
	if got["kind"] != "segment.entered" || got["segment"] != "buyers" || got["reason"] != "data" || fmt.Sprint(got["user"]) != "[42]" {
		t.Fatalf("entry %v", got)
	}
	cursor := fmt.Sprint(got["cursor"])
	done := make(chan string, 1)
	go func() {
		_, reply := e.get("/v1/changes?after=" + cursor + "&block=20000")
		done <- reply
	}()
	for i := 0; ; i++ {
		if code, reply := e.post("/v1/track", fmt.Sprintf(`{"userId":"u%d","event":"purchase"}`, i)); code != 200 {
			t.Fatalf("track: %d %s", code, reply)
		}
		select {
		case reply := <-done:
			if !strings.Contains(reply, `"segment.entered"`) {
				t.Fatalf("blocked changes answered %s", reply)
			}
			return
		case <-time.After(100 * time.Millisecond):
		}
		if i > 150 {
			t.Fatal("the blocked GET /v1/changes never answered")
		}
	}
}

func TestChangesEndpointRefusesLongBlocks(t *testing.T) {
	e := start(t, httpapi.Options{})
	code, reply := e.get("/v1/changes?block=300000")
	if code != 400 || !strings.Contains(reply, `block \"300000\" must be a whole number of milliseconds from 0 to 25000`) {
		t.Fatalf("%d %s", code, reply)
	}
}
