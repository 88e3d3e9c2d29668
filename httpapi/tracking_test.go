package httpapi_test

import (
	"fmt"
	"github.com/idgraph/idgraph/engine"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/idgraph/idgraph/httpapi"
)

const ok = `{"success":true}`

// TestTrackingEndpoints posts one call to each endpoint and checks what
// WHO and TIMELINE then say.
func TestTrackingEndpoints(t *testing.T) {
	e := start(t, httpapi.Options{})
	steps := []struct {
		path, body string
	}{
		{"/v1/identify", `{"userId":"u1","anonymousId":"a1","traits":{"email":"Ann@Example.com","plan":"pro","age":41},"timestamp":"2026-10-01T08:00:00Z","messageId":"m1"}`},
		{"/v1/track", `{"userId":"u1","event":"Order Completed","properties":{"total":30},"timestamp":"2026-10-02T08:00:00Z","messageId":"m2"}`},
		{"/v1/page", `{"anonymousId":"a1","name":"Pricing","properties":{"url":"/pricing"},"timestamp":"2026-10-03T08:00:00Z","messageId":"m3"}`},
		{"/v1/screen", `{"userId":"u1","name":"Home","context":{"device":{"id":"D-1"}},"timestamp":"2026-10-04T08:00:00Z"}`},
		{"/v1/alias", `{"userId":"u1","previousId":"old-cookie","timestamp":"2026-10-05T08:00:00Z"}`},
		{"/v1/group", `{"userId":"u1","groupId":"g7","traits":{"name":"Acme"},"timestamp":"2026-10-06T08:00:00Z"}`},
		{"/v1/batch", `{"batch":[{"type":"track","anonymousId":"a2","event":"Signed Up","timestamp":"2026-10-07T08:00:00Z"},{"type":"identify","anonymousId":"a2","traits":{"email":"bo@example.com"}}]}`},
	}
	for _, s := range steps {
		if code, reply := e.post(s.path, s.body); code != http.StatusOK || reply != ok {
			t.Fatalf("POST %s: %d %s", s.path, code, reply)
		}
	}
	p := e.who("cookie:old-cookie")
	if p == nil {
		t.Fatal("alias did not link old-cookie")
	}
	wantIDs := []string{"cookie:a1", "cookie:old-cookie", "device:d-1", "email:ann@example.com", "user:u1"}
	if !reflect.DeepEqual(p.IDs, wantIDs) || p.Events != 4 {
		t.Errorf("profile ids %v events %d, want %v and 4", p.IDs, p.Events, wantIDs)
	}
	wantTraits := map[string]string{"email": "Ann@Example.com", "plan": "pro", "age": "41"}
	if !reflect.DeepEqual(p.Traits, wantTraits) {
		t.Errorf("traits %v, want %v", p.Traits, wantTraits)
	}
	evs, err := e.db.Timeline("user:u1", engine.TimelinePage{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ev := range evs {
		got = append(got, fmt.Sprintf("%s %s %s %s", ev.Time.Format("01-02"), ev.Name, ev.Source, ev.Props))
	}
	want := []string{
		`10-06 group segment {"groupId":"g7","traits":{"name":"Acme"}}`,
		`10-04 screen segment {"name":"Home"}`,
		`10-03 page segment {"name":"Pricing","url":"/pricing"}`,
		`10-02 Order Completed segment {"total":30}`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("timeline:\n got %q\nwant %q", got, want)
	}
	if p := e.who("email:bo@example.com"); p == nil || p.Events != 1 || !reflect.DeepEqual(p.IDs, []string{"cookie:a2", "email:bo@example.com"}) {
		t.Errorf("batch profile: %+v", p)
	}
}

// TestWriteKeys checks the key file's rules: Basic-auth user or writeKey in
// the body, the key's source on what it sends, 401 for a missing or
// unknown key, which changes nothing.
func TestWriteKeys(t *testing.T) {
	keys, err := httpapi.ParseWriteKeys(strings.NewReader("# shop\nweb = k-web\napp=k-app==\n"))
	if err != nil {
		t.Fatal(err)
	}
	e := start(t, httpapi.Options{WriteKeys: keys})
	call := func(id string) string {
		return `{"anonymousId":"` + id + `","event":"view","timestamp":"2026-10-01T00:00:00Z"}`
	}
	if code, reply := e.post("/v1/track", call("c1"), "Authorization", basic("k-web")); code != 200 || reply != ok {
		t.Fatalf("Basic key: %d %s", code, reply)
	}
	if code, reply := e.post("/v1/batch", `{"batch":[`+strings.Replace(call("c2"), "{", `{"type":"track",`, 1)+`],"writeKey":"k-app=="}`); code != 200 || reply != ok {
		t.Fatalf("writeKey in the body: %d %s", code, reply)
	}
	for id, src := range map[string]string{"cookie:c1": "web", "cookie:c2": "app"} {
		evs, err := e.db.Timeline(id, engine.TimelinePage{})
		if err != nil || len(evs) != 1 || evs[0].Source != src {
			t.Errorf("%s: %+v %v, want one event from %s", id, evs, err, src)
		}
	}

	before := e.state()
	cases := []struct {
		name, body, reply string
		header            []string
	}{
		{"missing", call("x1"), `{"error":"missing write key: send it as the Basic-auth user name or as \"writeKey\" in the body","success":false}`, nil},
		{"unknown in the header", call("x2"), `{"error":"unknown write key","success":false}`, []string{"Authorization", basic("k-nope")}},
		{"unknown in the body", `{"anonymousId":"x3","event":"view","writeKey":"k-nope"}`, `{"error":"unknown write key","success":false}`, nil},
		{"the header wins over the body", `{"anonymousId":"x4","event":"view","writeKey":"k-web"}`, `{"error":"unknown write key","success":false}`, []string{"Authorization", basic("k-nope")}},
		{"a source name is not a key", call("x5"), `{"error":"unknown write key","success":false}`, []string{"Authorization", basic("web")}},
	}
	for _, c := range cases {
		code, reply := e.post("/v1/track", c.body, c.header...)
		if code != http.StatusUnauthorized || canon(t, reply) != c.reply {
			t.Errorf("%s: %d %s, want 401 %s", c.name, code, reply, c.reply)
		}
	}
	if after := e.state(); after != before {
		t.Errorf("rejected calls changed the store: %+v → %+v", before, after)
	}
}

// TestRejectedRequestsChangeNothing sends requests that must be refused as
// a whole and checks the code, the error naming the call, and that nothing
// of the request reached the store.
func TestRejectedRequestsChangeNothing(t *testing.T) {
	e := start(t, httpapi.Options{})
	good := `{"type":"track","anonymousId":"good","event":"view"}`
	big := strings.Repeat("x", 33<<10)
	var many []string
	for i := 0; i < 40; i++ {
		many = append(many, strings.Replace(good, "good", fmt.Sprintf("g%d-%s", i, strings.Repeat("y", 14<<10)), 1))
	}
	cases := []struct {
		name, path, body, err string
	}{
		{"bad JSON", "/v1/track", `{"anonymousId":"a","event":`, `not valid JSON: unexpected end of the body`},
		{"bad JSON inside a call", "/v1/batch", `{"batch":[` + good + `,{"type":"track","event":"x",}]}`, `batch[1]: not valid JSON: invalid character '}' looking for beginning of object key string; nothing was applied`},
		{"not an object", "/v1/track", `["anonymousId"]`, `a call must be a JSON object`},
		{"garbage after the body", "/v1/track", `{"anonymousId":"a","event":"x"} {}`, `not valid JSON: unexpected '{' after the JSON value`},
		{"oversized call", "/v1/track", `{"anonymousId":"a","event":"x","properties":{"p":"` + big + `"}}`, `call larger than 32 KB`},
		{"oversized call in a batch", "/v1/batch", `{"batch":[` + good + `,{"type":"track","anonymousId":"a","event":"x","properties":{"p":"` + big + `"}}]}`, `batch[1]: call larger than 32 KB`},
		{"oversized request", "/v1/batch", `{"batch":[` + strings.Join(many, ",") + `]}`, `request larger than 500 KB`},
		{"call without identifier", "/v1/batch", `{"batch":[` + good + `,{"type":"track","event":"x","userId":null,"anonymousId":""}]}`, `batch[1]: no identifiers: the call has no userId, anonymousId, previousId, email, phone or device id; nothing was applied`},
		{"track without event", "/v1/track", `{"userId":"u"}`, `track call without "event"; nothing was applied`},
		{"call without type in a batch", "/v1/batch", `{"batch":[` + good + `,{"userId":"u","event":"x"}]}`, `batch[1]: not a Segment call: "type" must be identify, track, page, screen, alias or group; nothing was applied`},
		{"several bad calls", "/v1/batch", `{"batch":[{"type":"track","userId":"u"},` + good + `,{"type":"page"}]}`, `batch[0]: track call without "event"; batch[2]: no identifiers: the call has no userId, anonymousId, previousId, email, phone or device id; nothing was applied`},
		{"batch is not an array", "/v1/batch", `{"batch":{}}`, `"batch" must be an array of calls`},
		{"empty batch", "/v1/batch", `{"batch":[]}`, `"batch" holds no calls`},
		{"no batch", "/v1/batch", `{"writeKey":"k"}`, `no "batch": /v1/batch takes {"batch":[call, ...]}`},
		{"bad time", "/v1/track", `{"userId":"u","event":"x","timestamp":"yesterday"}`, `bad time "yesterday" in "timestamp": use RFC 3339; nothing was applied`},
		{"bad sentAt", "/v1/track", `{"userId":"u","event":"x","originalTimestamp":"2026-10-01T00:00:00Z","sentAt":"soon"}`, `bad time "soon" in "sentAt": use RFC 3339; nothing was applied`},
		{"long messageId", "/v1/track", `{"userId":"u","event":"x","messageId":"` + strings.Repeat("m", 257) + `"}`, `"messageId" of 257 bytes is longer than 256; nothing was applied`},
		{"empty body", "/v1/identify", ``, `not valid JSON: unexpected end of the body`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := e.state()
			code, reply := e.post(c.path, c.body)
			want := map[string]any{"success": false, "error": c.err}
			if code != http.StatusBadRequest || !reflect.DeepEqual(decode(t, reply), want) {
				t.Errorf("got %d %s\nwant 400 %q", code, reply, c.err)
			}
			if after := e.state(); after != before {
				t.Errorf("the store changed: %+v → %+v", before, after)
			}
		})
	}
	if p := e.who("cookie:good"); p != nil {
		t.Errorf("a call of a rejected batch was applied: %+v", p)
	}
}

// TestDuplicateMessageIDCountsOnce sends the same call twice, in one batch
// and again after a restart: one event.
func TestDuplicateMessageIDCountsOnce(t *testing.T) {
	e := start(t, httpapi.Options{})
	call := `{"type":"track","userId":"u1","event":"purchase","messageId":"m-1","timestamp":"2026-10-01T00:00:00Z"}`
	for _, body := range []string{call, `{"batch":[` + call + `,` + call + `]}`} {
		path := "/v1/batch"
		if !strings.HasPrefix(body, `{"batch"`) {
			path = "/v1/track"
		}
		if code, reply := e.post(path, body); code != 200 || reply != ok {
			t.Fatalf("%s: %d %s", path, code, reply)
		}
	}
	if p := e.who("user:u1"); p == nil || p.Events != 1 {
		t.Fatalf("after three copies: %+v, want 1 event", p)
	}
	before := e.state()
	e.restart(httpapi.Options{})
	if code, reply := e.post("/v1/track", call); code != 200 || reply != ok {
		t.Fatalf("after restart: %d %s", code, reply)
	}
	if p := e.who("user:u1"); p == nil || p.Events != 1 {
		t.Fatalf("after a restart and a fourth copy: %+v, want 1 event", p)
	}
	if after := e.state(); after != before {
		t.Errorf("a duplicate changed the store: %+v → %+v", before, after)
	}
	// Another messageId is another event.
	if code, _ := e.post("/v1/track", strings.Replace(call, "m-1", "m-2", 1)); code != 200 {
		t.Fatal(code)
	}
	if p := e.who("user:u1"); p.Events != 2 {
		t.Errorf("events %d, want 2", p.Events)
	}
}

// TestTimes checks the choice of an event's time and Segment's clock-skew
// correction, receivedAt − (sentAt − originalTimestamp), with the server's
// clock at 10:00.
func TestTimes(t *testing.T) {
	e := start(t, httpapi.Options{})
	cases := []struct {
		name, path, body, want string
	}{
		{"timestamp wins", "/v1/track", `{"userId":"t1","event":"x","timestamp":"2026-10-01T00:00:00Z","originalTimestamp":"2026-09-01T00:00:00Z","sentAt":"2026-09-01T00:00:05Z"}`, "2026-10-01T00:00:00Z"},
		// The device clock is a year behind; the event happened 5 s
		// before the send, so 5 s before the server received it.
		{"corrected by the call's sentAt", "/v1/track", `{"userId":"t2","event":"x","originalTimestamp":"2025-11-01T09:59:50Z","sentAt":"2025-11-01T09:59:55Z"}`, "2026-11-01T09:59:55Z"},
		{"corrected by the batch's sentAt", "/v1/batch", `{"batch":[{"type":"track","userId":"t3","event":"x","originalTimestamp":"2026-11-01T12:00:00+0200"}],"sentAt":"2026-11-01T12:01:00+0200"}`, "2026-11-01T09:59:00Z"},
		{"originalTimestamp without sentAt", "/v1/track", `{"userId":"t4","event":"x","originalTimestamp":"2026-10-01T00:00:00Z"}`, "2026-10-01T00:00:00Z"},
		{"a client's receivedAt is ignored", "/v1/track", `{"userId":"t5","event":"x","receivedAt":"2020-01-01T00:00:00Z"}`, "2026-11-01T10:00:00Z"},
		{"no time: when received", "/v1/track", `{"userId":"t6","event":"x"}`, "2026-11-01T10:00:00Z"},
	}
	for i, c := range cases {
		if code, reply := e.post(c.path, c.body); code != 200 {
			t.Fatalf("%s: %d %s", c.name, code, reply)
		}
		evs, err := e.db.Timeline(fmt.Sprintf("user:t%d", i+1), engine.TimelinePage{})
		if err != nil || len(evs) != 1 {
			t.Fatalf("%s: %v %v", c.name, evs, err)
		}
		if got := evs[0].Time.UTC().Format(time.RFC3339); got != c.want {
			t.Errorf("%s: time %s, want %s", c.name, got, c.want)
		}
	}
}

// TestBatchContextIsMergedUnderEachCall checks that batch-level context
// (here a device) reaches every call, the call's own context winning.
func TestBatchContextIsMergedUnderEachCall(t *testing.T) {
	e := start(t, httpapi.Options{})
	body := `{"context":{"device":{"id":"DEV-1"},"os":{"name":"iOS"}},"batch":[
		{"type":"track","userId":"u1","event":"open"},
		{"type":"track","userId":"u2","event":"open","context":{"device":{"id":"DEV-2","advertisingId":"AD-2"}}}]}`
	if code, reply := e.post("/v1/batch", body); code != 200 {
		t.Fatalf("%d %s", code, reply)
	}
	for id, want := range map[string][]string{
		"user:u1": {"device:dev-1", "user:u1"},
		"user:u2": {"device:dev-2", "idfa:ad-2", "user:u2"},
	} {
		if p := e.who(id); p == nil || !reflect.DeepEqual(p.IDs, want) {
			t.Errorf("%s: %+v, want ids %v", id, p, want)
		}
	}
}

// TestEngineRefusalNamesTheCall: a call the engine refuses (an event name
// longer than it allows) is named, and nothing of the request is applied.
func TestEngineRefusalNamesTheCall(t *testing.T) {
	e := start(t, httpapi.Options{})
	long := strings.Repeat("e", 129)
	body := `{"batch":[{"type":"track","userId":"ok","event":"fine"},{"type":"track","userId":"bad","event":"` + long + `"}]}`
	before := e.state()
	code, reply := e.post("/v1/batch", body)
	want := `batch[1]: event name "` + long[:64] + `…" is longer than 128 bytes; nothing was applied`
	if code != 400 || decode(t, reply).(map[string]any)["error"] != want {
		t.Errorf("got %d %s\nwant 400 %s", code, reply, want)
	}
	if e.who("user:bad") != nil || e.who("user:ok") != nil || e.state() != before {
		t.Error("a request with a refused call changed the store")
	}
}

// TestMethodsAndUnknownPaths checks the JSON 405 and 404 and the CORS
// preflight of the tracking API.
func TestMethodsAndUnknownPaths(t *testing.T) {
	e := start(t, httpapi.Options{})
	req, _ := http.NewRequest(http.MethodGet, e.url+"/v1/track", nil)
	resp, err := e.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 || resp.Header.Get("Allow") != "POST" || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("GET /v1/track: %d Allow=%q %q", resp.StatusCode, resp.Header.Get("Allow"), resp.Header.Get("Content-Type"))
	}
	if code, reply := e.get("/v1/nowhere"); code != 404 || canon(t, reply) != `{"code":"NOTFOUND","error":"no endpoint /v1/nowhere; see /v1/openapi.json"}` {
		t.Errorf("unknown path: %d %s", code, reply)
	}
	req, _ = http.NewRequest(http.MethodOptions, e.url+"/v1/batch", nil)
	req.Header.Set("Origin", "https://shop.example")
	req.Header.Set("Access-Control-Request-Method", "POST")
	resp, err = e.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Errorf("preflight: %d %v", resp.StatusCode, resp.Header)
	}
}

func TestParseWriteKeys(t *testing.T) {
	good, err := httpapi.ParseWriteKeys(strings.NewReader("\n# comment\n web = abc \nweb=def\npos store=k=with=equals\n"))
	want := map[string]string{"abc": "web", "def": "web", "k=with=equals": "pos store"}
	if err != nil || !reflect.DeepEqual(good, want) {
		t.Errorf("got %v %v, want %v", good, err, want)
	}
	bad := []struct{ in, err string }{
		{"web\n", "write keys, line 1: want source=key, as in web=3f9a…"},
		{"=abc\n", "write keys, line 1: the source is empty"},
		{"web=\n", `write keys, line 1: the key of source "web" is empty`},
		{"web=a b\n", `write keys, line 1: the key of source "web" contains white space or a control character`},
		{"web=a\napp=a\n", `write keys, line 2: this key is already the key of source "web"`},
		{"w\x01b=a\n", `write keys, line 1: source "w\x01b" contains a control character`},
		{"# nothing\n", "write keys: no source=key line"},
	}
	for _, c := range bad {
		if _, err := httpapi.ParseWriteKeys(strings.NewReader(c.in)); err == nil || err.Error() != c.err {
			t.Errorf("%q: got %v, want %s", c.in, err, c.err)
		}
	}
}

// TestProtectedMode: a non-loopback address needs write keys and a
// password.
func TestProtectedMode(t *testing.T) {
	e := start(t, httpapi.Options{})
	keys := map[string]string{"k": "web"}
	for _, c := range []struct {
		opts httpapi.Options
		ok   bool
	}{
		{httpapi.Options{Addr: "0.0.0.0:7381"}, false},
		{httpapi.Options{Addr: "0.0.0.0:7381", WriteKeys: keys}, false},
		{httpapi.Options{Addr: "0.0.0.0:7381", Password: "p"}, false},
		{httpapi.Options{Addr: "0.0.0.0:7381", WriteKeys: keys, Password: "p"}, true},
		{httpapi.Options{Addr: "localhost:7381"}, true},
		{httpapi.Options{Addr: "[::1]:7381"}, true},
		{httpapi.Options{ReadOnlyPassword: "r"}, false},
		{httpapi.Options{Password: "p", ReadOnlyPassword: "p"}, false},
	} {
		_, err := httpapi.New(e.db, nil, c.opts)
		if (err == nil) != c.ok {
			t.Errorf("%+v: err %v, want ok=%v", c.opts, err, c.ok)
		}
	}
}

// TestAnalyticsJSShortPaths posts what the browser's analytics.js sends:
// one-letter paths, text/plain, the write key in the body, sentAt for the
// clock-skew correction, and its batching mode's /v1/b.
func TestAnalyticsJSShortPaths(t *testing.T) {
	e := start(t, httpapi.Options{WriteKeys: map[string]string{"browser-key": "web"}})
	track := `{"timestamp":"2026-11-01T09:58:00.000Z","integrations":{},"type":"track","event":"Added to Cart","properties":{"sku":"A1"},
		"context":{"page":{"path":"/p/a1","url":"https://shop.example/p/a1"},"userAgent":"Mozilla/5.0","library":{"name":"analytics.js","version":"next-1.70.0"}},
		"messageId":"ajs-next-1","anonymousId":"9d1a1f4e-aaaa","writeKey":"browser-key","userId":null,"sentAt":"2026-11-01T09:58:01.000Z","_metadata":{"bundled":["Segment.io"]}}`
	if code, reply := e.post("/v1/t", track, "Content-Type", "text/plain"); code != 200 || reply != ok {
		t.Fatalf("/v1/t: %d %s", code, reply)
	}
	batch := `{"writeKey":"browser-key","batch":[
		{"type":"identify","userId":"42","anonymousId":"9d1a1f4e-aaaa","traits":{"email":"ann@example.com"},"messageId":"ajs-next-2","writeKey":"browser-key"},
		{"type":"page","anonymousId":"9d1a1f4e-aaaa","name":"Checkout","properties":{"path":"/checkout"},"messageId":"ajs-next-3","writeKey":"browser-key","timestamp":"2026-11-01T09:59:00.000Z"}],
		"sentAt":"2026-11-01T09:59:30.000Z"}`
	if code, reply := e.post("/v1/b", batch, "Content-Type", "text/plain"); code != 200 || reply != ok {
		t.Fatalf("/v1/b: %d %s", code, reply)
	}
	p := e.who("email:ann@example.com")
	if p == nil || p.Events != 2 || !reflect.DeepEqual(p.IDs, []string{"cookie:9d1a1f4e-aaaa", "email:ann@example.com", "user:42"}) {
		t.Fatalf("profile %+v", p)
	}
	evs, _ := e.db.Timeline("user:42", engine.TimelinePage{})
	if len(evs) != 2 || evs[1].Name != "Added to Cart" || evs[1].Source != "web" || !evs[1].Time.Equal(time.Date(2026, 11, 1, 9, 58, 0, 0, time.UTC)) {
		t.Errorf("timeline %+v", evs)
	}
	if code, _ := e.post("/v1/t", strings.Replace(track, "browser-key", "stolen", 1)); code != http.StatusUnauthorized {
		t.Errorf("wrong key on /v1/t: %d", code)
	}
}
