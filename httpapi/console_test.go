package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/idgraph/idgraph/console"
	"github.com/idgraph/idgraph/httpapi"
	"github.com/idgraph/idgraph/query"
)

// TestGraphEndpoint: GET /v1/profiles/{id}/graph is GRAPH's reply.
func TestGraphEndpoint(t *testing.T) {
	e := start(t, httpapi.Options{})
	seed(t, e)
	v, err := query.NewExecutor(e.db).Exec(context.Background(), nil, []string{"GRAPH", "email:ann@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(v.JSON())
	if code, reply := e.get("/v1/profiles/email:ann%40example.com/graph"); code != 200 || canon(t, reply) != string(want) {
		t.Errorf("GRAPH: %d %s\nwant %s", code, reply, want)
	}
	cases := []struct {
		path  string
		code  int
		reply string
	}{
		{"/v1/profiles/user:404/graph", 404, `{"code":"NOTFOUND","error":"ERR NOTFOUND at word 2: user:404 is not known"}`},
		{"/v1/profiles/nocolon/graph", 400, `{"code":"BADID","error":"ERR BADID at word 2: GRAPH expects an identifier type:value, found \"nocolon\""}`},
		{"/v1/profiles/user:1/graph?depth=2", 400, `{"code":"SYNTAX","error":"unknown parameter \"depth\""}`},
	}
	for _, c := range cases {
		if code, reply := e.get(c.path); code != c.code || canon(t, reply) != canon(t, c.reply) {
			t.Errorf("GET %s: %d %s, want %d %s", c.path, code, reply, c.code, c.reply)
		}
	}
	if code, _ := e.request(http.MethodPost, "/v1/profiles/user:1/graph", ""); code != http.StatusMethodNotAllowed {
		t.Errorf("POST graph: %d, want 405", code)
	}
}

// TestConsoleServed: the server serves the console at / with its CSP,
// and the JSON API's replies are not cached.
func TestConsoleServed(t *testing.T) {
	e := start(t, httpapi.Options{})
	resp, err := e.c.Get(e.url + "/profile/serial:SN-1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "<title>idgraph console</title>") {
		t.Errorf("GET /profile/serial:SN-1: %d", resp.StatusCode)
	}
	if got := resp.Header.Get("Content-Security-Policy"); got != console.CSP {
		t.Errorf("CSP %q", got)
	}
	if code, reply := e.get("/console/session"); code != 200 || canon(t, reply) != `{"password":false,"user":"read-write"}` {
		t.Errorf("session: %d %s", code, reply)
	}
	resp, err = e.c.Get(e.url + "/v1/profiles/user:1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("JSON API Cache-Control %q, want no-store", got)
	}
	if code, _ := e.get("/nope"); code != 404 {
		t.Errorf("GET /nope: %d", code)
	}
}

// TestBrowserWritesGuarded: a write another site's page makes the
// browser send is refused and changes nothing, with or without a
// password; the tracking API still takes calls from any origin; a server
// without a password answers only to loopback host names.
func TestBrowserWritesGuarded(t *testing.T) {
	e := start(t, httpapi.Options{})
	seed(t, e)
	before := e.state()
	for _, h := range [][]string{
		{"Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"},
		{"Origin", "https://evil.example"},
		{"Cookie", "sso=1"},
	} {
		code, reply := e.post("/v1/query", "FORGET user:1", h...)
		if code != 403 || !strings.Contains(reply, `"code":"CSRF"`) {
			t.Errorf("%v: %d %s", h, code, reply)
		}
	}
	if after := e.state(); after != before || e.who("user:1") == nil {
		t.Errorf("a refused write changed the store: %+v → %+v", before, after)
	}
	if code, _ := e.post("/v1/query", "SEGMENT COUNT DID purchase", "Sec-Fetch-Site", "same-origin"); code != 200 {
		t.Errorf("same-origin query: %d", code)
	}
	if code, reply := e.post("/v1/track", `{"userId":"9","event":"x"}`, "Sec-Fetch-Site", "cross-site", "Origin", "https://shop.example"); code != 200 {
		t.Errorf("cross-site tracking call: %d %s", code, reply)
	}

	req, _ := http.NewRequest(http.MethodGet, e.url+"/v1/profiles/user:1", nil)
	req.Host = "rebound.example:7381"
	resp, err := e.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("a rebound host name without a password: %d, want 403", resp.StatusCode)
	}

	p := start(t, httpapi.Options{Password: "pw"})
	if code, _ := p.post("/v1/query", "TRACK x user:5", "Authorization", "Bearer pw", "Sec-Fetch-Site", "cross-site"); code != 403 {
		t.Errorf("cross-site write with the password: %d, want 403", code)
	}
	req, _ = http.NewRequest(http.MethodGet, p.url+"/v1/profiles/user:5", nil)
	req.Host = "idgraph.shop.example"
	req.Header.Set("Authorization", "Bearer pw")
	resp, err = p.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("a named host with a password: %d, want 404 (unknown profile)", resp.StatusCode)
	}
}
