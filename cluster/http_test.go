package cluster

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/idgraph/idgraph/httpapi"
	"github.com/idgraph/idgraph/query"
)

// The HTTP API on a cluster node: tracking calls and JSON API writes go
// through the replicated log, reach every node, and a retried messageId
// counts once everywhere.
func TestHTTPAPIOnANodeReplicates(t *testing.T) {
	tc := newTestCluster(t, 3)
	tc.exec(0, "PING") // a leader is elected
	serve := func(i int) *httptest.Server {
		s, err := httpapi.NewOn(tc.nodes[i], httpapi.Options{Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		hs := httptest.NewServer(s)
		t.Cleanup(hs.Close)
		return hs
	}
	h1, h3 := serve(1), serve(2)
	post := func(url, body string) (int, string) {
		t.Helper()
		res, err := http.Post(url, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	call := `{"type":"track","event":"checkout","userId":"42","anonymousId":"a-1","messageId":"m-1","timestamp":"2026-11-01T10:00:00Z","properties":{"total":30}}`
	for range 2 { // the retry of a call whose acknowledgement was lost
		if code, body := post(h1.URL+"/v1/track", call); code != 200 {
			t.Fatalf("POST /v1/track on n2: %d %s", code, body)
		}
	}
	if code, body := post(h3.URL+"/v1/query", `{"statement":"SET user:42 plan=gold"}`); code != 200 {
		t.Fatalf("POST /v1/query SET on n3: %d %s", code, body)
	}
	tc.converge(1)
	want := tc.exec(0, "WHO", "user:42").String()
	for i := range tc.nodes {
		got := tc.exec(i, "WHO", "user:42")
		if got.String() != want {
			t.Errorf("n%d WHO user:42 = %s, want %s", i+1, got, want)
		}
		if ev, _ := got.Get("events"); ev.Int != 1 {
			t.Errorf("n%d: %d events, want 1 (the retried messageId counts once)", i+1, ev.Int)
		}
		if tr, _ := got.Get("traits"); !strings.Contains(tr.String(), "gold") {
			t.Errorf("n%d: traits %s, want plan=gold", i+1, tr)
		}
	}
	res, err := http.Get(h3.URL + "/v1/profiles/cookie:a-1")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var p map[string]any
	if err := json.NewDecoder(res.Body).Decode(&p); err != nil || res.StatusCode != 200 {
		t.Fatalf("GET /v1/profiles/cookie:a-1 on n3: %d %v", res.StatusCode, err)
	}
	if ids, _ := p["ids"].([]any); len(ids) != 2 {
		t.Errorf("GET /v1/profiles/cookie:a-1 on n3: ids %v, want cookie:a-1 and user:42", p["ids"])
	}
}

// Without a majority the tracking API answers 503 with Retry-After, and the
// call is not applied.
func TestHTTPAPIWithoutAMajorityAnswers503(t *testing.T) {
	tc := newTestClusterWith(t, 3, func(c *Config) { c.WriteTimeout = 700 * time.Millisecond })
	tc.exec(0, "PING")
	s, err := httpapi.NewOn(tc.nodes[0], httpapi.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s)
	defer hs.Close()
	tc.stop(1)
	tc.stop(2)
	res, err := http.Post(hs.URL+"/v1/track", "application/json",
		strings.NewReader(`{"type":"track","event":"checkout","userId":"7","timestamp":"2026-11-01T10:00:00Z"}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" {
		t.Fatalf("POST /v1/track without a majority: %d %q %s", res.StatusCode, res.Header.Get("Retry-After"), b)
	}
	if v, err := tc.nodes[0].Exec(context.Background(), nil, []string{"WHO", "user:7"}); err != nil || v.Kind != query.KindNil {
		t.Errorf("WHO user:7 after the refused call: %v %v", v, err)
	}
}
