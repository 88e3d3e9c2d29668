package httpapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"

	"github.com/idgraph/idgraph/engine"
)

// TestOpenAPIMatchesRoutes keeps the hand-written document honest: every
// route and method is in it, everything in it is a route, and every route
// is reached through the mux (not answered by a fallback).
func TestOpenAPIMatchesRoutes(t *testing.T) {
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi %q, want 3.x", doc.OpenAPI)
	}
	db, err := engine.Open(engine.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s, err := New(db, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}

	inCode := map[string]bool{}
	for _, rt := range s.routes() {
		key := strings.ToLower(rt.method) + " " + rt.pattern
		inCode[key] = true
		if _, ok := doc.Paths[rt.pattern][strings.ToLower(rt.method)]; !ok {
			t.Errorf("route %s %s is not in openapi.json", rt.method, rt.pattern)
		}
		// The mux sends a request for this route to a handler of its
		// own: the pattern it matched is the route's.
		path := strings.NewReplacer("{id}", "user:1", "{other}", "user:2", "{name}", "s").Replace(rt.pattern)
		req := httptest.NewRequest(rt.method, path, nil)
		if _, pattern := s.mux.Handler(req); pattern != rt.method+" "+rt.pattern {
			t.Errorf("%s %s is served by %q", rt.method, path, pattern)
		}
	}
	var inDoc []string
	for path, ops := range doc.Paths {
		for method := range ops {
			switch method {
			case "get", "put", "post", "delete", "options", "head", "patch", "trace":
				inDoc = append(inDoc, method+" "+path)
			}
		}
	}
	sort.Strings(inDoc)
	for _, k := range inDoc {
		if !inCode[k] {
			t.Errorf("openapi.json documents %s, which is not a route", k)
		}
	}
	if len(inDoc) != len(inCode) {
		t.Errorf("%d operations documented, %d routes", len(inDoc), len(inCode))
	}

	// Every $ref points at something in the document.
	var all map[string]any
	json.Unmarshal(openAPI, &all)
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if ref, ok := x.(string); ok && k == "$ref" {
					var at any = all
					for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
						m, _ := at.(map[string]any)
						at = m[part]
					}
					if at == nil {
						t.Errorf("dangling $ref %s", ref)
					}
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(all)

	// And the document is what GET /v1/openapi.json serves.
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/openapi.json", nil))
	if rec.Code != 200 || rec.Body.String() != string(openAPI) {
		t.Errorf("GET /v1/openapi.json: %d", rec.Code)
	}
}
