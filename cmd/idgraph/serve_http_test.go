package main

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestServeHTTP runs `idgraph serve --http` with a write-key file and a
// password: a tracking call with the key lands (WHO over RESP sees it, with
// the key's source), a retried messageId counts once, and the JSON API
// answers the Bearer password.
func TestServeHTTP(t *testing.T) {
	dir := t.TempDir()
	keys := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(keys, []byte("web=wk-123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	httpAddr := freeAddr(t)
	addr, _ := serveInProcess(t, dir, "--http", httpAddr, "--write-key-file", keys, "--requirepass", "pw", "--dedup-window", "1h")
	if err := waitListening(httpAddr, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Timeout: time.Minute}
	do := func(method, path, body, auth string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, "http://"+httpAddr+path, strings.NewReader(body))
		req.Header.Set("Authorization", auth)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, strings.TrimSpace(string(b))
	}
	key := "Basic " + base64.StdEncoding.EncodeToString([]byte("wk-123:"))
	call := `{"userId":"42","event":"signup","messageId":"m-1","timestamp":"2026-10-01T00:00:00Z"}`
	for i := 0; i < 2; i++ {
		if code, reply := do("POST", "/v1/track", call, key); code != 200 || reply != `{"success":true}` {
			t.Fatalf("track: %d %s", code, reply)
		}
	}
	if code, _ := do("POST", "/v1/track", call, "Basic "+base64.StdEncoding.EncodeToString([]byte("nope:"))); code != 401 {
		t.Errorf("unknown key: %d", code)
	}

	rc := redis.NewClient(&redis.Options{Addr: addr, Password: "pw", Protocol: 3})
	defer rc.Close()
	v, err := rc.Do(context.Background(), "TIMELINE", "user:42").Result()
	if err != nil {
		t.Fatal(err)
	}
	if evs, ok := v.([]any); !ok || len(evs) != 1 || evs[0].(map[any]any)["source"] != "web" {
		t.Errorf("TIMELINE over RESP: %v, want one event from web", v)
	}
	if code, reply := do("GET", "/v1/profiles/user:42", "", "Bearer pw"); code != 200 || !strings.Contains(reply, `"events":1`) {
		t.Errorf("GET profile: %d %s", code, reply)
	}
	if code, _ := do("GET", "/v1/profiles/user:42", "", ""); code != 401 {
		t.Errorf("GET profile without the password: %d", code)
	}
}

// TestServeHTTPFlags checks the refusals: a non-loopback --http without a
// write-key file and a password, a bad key file, a bad --dedup-window.
func TestServeHTTPFlags(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "keys")
	os.WriteFile(bad, []byte("web\n"), 0o600)
	for _, c := range []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"--http", "0.0.0.0:0", "--requirepass", "pw"}, 1, "refusing to serve HTTP on 0.0.0.0:0 without a write-key file and a password"},
		{[]string{"--http", "127.0.0.1:0", "--write-key-file", bad}, 1, "line 1: want source=key"},
		{[]string{"--dedup-window", "0s"}, 2, "--dedup-window 0s: give a positive duration"},
	} {
		args := append([]string{"serve", "--listen", freeAddr(t), "--data", t.TempDir()}, c.args...)
		_, stderr, code := runCmd(t, args...)
		if code != c.code || !strings.Contains(stderr, c.err) {
			t.Errorf("%v: exit %d %q, want %d and %q", c.args, code, stderr, c.code, c.err)
		}
	}
}
