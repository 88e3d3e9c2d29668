package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/idgraph/idgraph/webhook"
)

// hookReceiver is a webhook receiver in the test process. The request
// numbered stallAt (1-based; 0: none) is held without an answer until
// release is closed; every other one is answered 200.
type hookReceiver struct {
	srv     *httptest.Server
	secret  []byte
	stallAt int
	stalled chan struct{} // closed when the request stallAt arrives
	release chan struct{}
	acked   chan uint64 // the last cursor of each batch answered 200

	mu   sync.Mutex
	reqs []hookRequest
}

type hookRequest struct {
	entries  []map[string]any
	answered bool // 200; false: the stalled one, never answered
	err      error
}

func newHookReceiver(t *testing.T, secret []byte, stallAt int) *hookReceiver {
	r := &hookReceiver{secret: secret, stallAt: stallAt, stalled: make(chan struct{}), release: make(chan struct{}), acked: make(chan uint64, 10000)}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		var b struct {
			Entries []map[string]any `json:"entries"`
		}
		err := json.Unmarshal(body, &b)
		if err == nil && len(r.secret) > 0 {
			err = webhook.Verify(r.secret, req.Header, body, time.Now(), 0)
		}
		if err == nil && len(b.Entries) == 0 {
			err = fmt.Errorf("empty batch %s", body)
		}
		r.mu.Lock()
		r.reqs = append(r.reqs, hookRequest{entries: b.Entries, err: err})
		n := len(r.reqs)
		r.mu.Unlock()
		if n == r.stallAt {
			close(r.stalled)
			select {
			case <-r.release:
			case <-req.Context().Done():
			}
			return
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		r.reqs[n-1].answered = true
		r.mu.Unlock()
		r.acked <- cursorOf(b.Entries[len(b.Entries)-1])
	}))
	t.Cleanup(func() {
		select {
		case <-r.release:
		default:
			close(r.release)
		}
		r.srv.Close()
	})
	return r
}

func cursorOf(e map[string]any) uint64 {
	f, _ := e["cursor"].(float64)
	return uint64(f)
}

func (r *hookReceiver) waitFor(t *testing.T, cursor uint64) {
	t.Helper()
	timeout := time.After(2 * time.Minute)
	for {
		select {
		case c := <-r.acked:
			if c >= cursor {
				return
			}
		case <-timeout:
			t.Fatalf("the receiver got no batch up to cursor %d in 2 minutes", cursor)
		}
	}
}

func (r *hookReceiver) requests() []hookRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]hookRequest(nil), r.reqs...)
}

// feedJSON reads the whole change feed from a server, as the JSON a
// webhook sends.
func feedJSON(t *testing.T, addr string) []map[string]any {
	t.Helper()
	c, err := dialServer(context.Background(), addr, "")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rep, err := c.DoReply(context.Background(), "CHANGES", "AFTER", "0", "LIMIT", "10000")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(fromReply(rep).JSON())
	var out []map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestWebhookSurvivesKillNine runs `idgraph serve --webhook` as a child
// process, holds the third delivery without an answer and kills the server
// with SIGKILL meanwhile. After a restart, the receiver has every entry of
// the feed, signed, in order; the only entries it was sent twice are those
// of the batch it never answered; and SIGTERM then stops the server
// cleanly.
func TestWebhookSurvivesKillNine(t *testing.T) {
	dir := t.TempDir()
	secretFile := filepath.Join(t.TempDir(), "secret")
	secret := []byte("receiver-secret")
	if err := os.WriteFile(secretFile, secret, 0o600); err != nil {
		t.Fatal(err)
	}
	rcv := newHookReceiver(t, secret, 3)
	start := func() (*hookServer, string) {
		addr := freeAddr(t)
		cmd := idgraphCmd(t, "serve", "--data", dir, "--listen", addr, "--http", "", "--log-level", "error",
			"--webhook", rcv.srv.URL, "--webhook-secret-file", secretFile, "--webhook-batch", "4")
		s := &hookServer{}
		cmd.Stdout, cmd.Stderr = &s.out, &s.out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		s.cmd = cmd
		if err := waitListening(addr, time.Minute); err != nil {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("%v: %s", err, s.out.String())
		}
		return s, addr
	}

	srv, addr := start()
	c, err := dialRESP(addr)
	if err != nil {
		t.Fatal(err)
	}
	c.nc.SetDeadline(time.Now().Add(2 * time.Minute))
	for _, args := range [][]string{{"SEGMENT", "SAVE", "buyers", "DID", "buy"}} {
		if v, err := c.do(args...); err != nil || v != "OK" {
			t.Fatalf("%q: %v %v", args, v, err)
		}
	}
	for i := range 30 {
		if v, err := c.do("TRACK", "buy", fmt.Sprintf("cookie:c%d", i)); err != nil {
			t.Fatalf("TRACK: %v %v", v, err)
		} else if _, ok := replyMap(v); !ok {
			t.Fatalf("TRACK: %v", v)
		}
	}
	c.Close()
	select {
	case <-rcv.stalled:
	case <-time.After(2 * time.Minute):
		t.Fatalf("no third delivery in 2 minutes (%d requests): %s", len(rcv.requests()), srv.out.String())
	}
	if err := srv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := srv.cmd.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("the server ended before the kill: %v\n%s", err, srv.out.String())
	}
	close(rcv.release)
	before := len(rcv.requests())

	srv, addr = start()
	want := feedJSON(t, addr)
	if len(want) != 30 {
		t.Fatalf("the feed has %d entries after the restart, want the 30 acknowledged", len(want))
	}
	rcv.waitFor(t, cursorOf(want[len(want)-1]))
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := srv.cmd.Wait(); err != nil {
		t.Fatalf("SIGTERM: %v\n%s", err, srv.out.String())
	}

	reqs := rcv.requests()
	stalled := reqs[2]
	if stalled.answered || len(stalled.entries) == 0 {
		t.Fatalf("the third request: %+v", stalled)
	}
	inStalled := map[uint64]bool{}
	for _, e := range stalled.entries {
		inStalled[cursorOf(e)] = true
	}
	// Delivered in order: the answered batches, concatenated, are the
	// feed with at most the stalled batch's entries again.
	sent := map[uint64]int{}
	var got []map[string]any
	for i, q := range reqs {
		if q.err != nil {
			t.Errorf("request %d: %v", i+1, q.err)
		}
		for _, e := range q.entries {
			sent[cursorOf(e)]++
		}
		if !q.answered {
			continue
		}
		if len(got) > 0 && cursorOf(q.entries[0]) != cursorOf(got[len(got)-1])+1 {
			t.Errorf("request %d starts at cursor %d after %d", i+1, cursorOf(q.entries[0]), cursorOf(got[len(got)-1]))
		}
		got = append(got, q.entries...)
	}
	if i := before; cursorOf(reqs[i].entries[0]) != cursorOf(stalled.entries[0]) {
		t.Errorf("after the restart, delivery resumed at cursor %d; the unanswered batch began at %d", cursorOf(reqs[i].entries[0]), cursorOf(stalled.entries[0]))
	}
	for c, n := range sent {
		if n > 1 && !(n == 2 && inStalled[c]) {
			t.Errorf("entry %d was sent %d times; only the unanswered batch (%v) may be sent twice", c, n, stalled.entries)
		}
	}
	t.Logf("%d requests, %d before the kill; the unanswered one held cursors %d-%d", len(reqs), before,
		cursorOf(stalled.entries[0]), cursorOf(stalled.entries[len(stalled.entries)-1]))
	gb, _ := json.Marshal(got)
	wb, _ := json.Marshal(want)
	if !bytes.Equal(gb, wb) {
		t.Errorf("the receiver acknowledged\n%s\nthe feed has\n%s", gb, wb)
	}
}

type hookServer struct {
	cmd *exec.Cmd
	out bytes.Buffer
}

// TestServeRefusesBadWebhookFlags: flags that cannot work stop serve
// before it opens the store, with a message naming the value.
func TestServeRefusesBadWebhookFlags(t *testing.T) {
	readable := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(readable, []byte("s"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "nosuch")
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--webhook", "ftp://example.com/hook"}, 2, `webhook URL "ftp://example.com/hook": the scheme must be http or https`},
		{[]string{"--webhook", "example.com/hook"}, 2, `webhook URL "example.com/hook": the scheme must be http or https`},
		{[]string{"--webhook", "http://example.com", "--webhook-secret-file", missing}, 1,
			"--webhook-secret-file: open " + missing + ": no such file or directory"},
		{[]string{"--webhook", "http://example.com", "--webhook-kinds", "segment.entered,profile.exploded"}, 2,
			`webhook: unknown kind "profile.exploded": the kinds are segment.entered, segment.left, profile.merged, profile.split, identifier.moved, profile.forgotten`},
		{[]string{"--webhook", "http://example.com", "--webhook-fields", "email,email:x"}, 2,
			`webhook: unknown field "email:x": a field is an identifier type (email), trait:<name>, computed:<name>, consent:<purpose> or tags`},
		{[]string{"--webhook", "http://example.com", "--webhook-batch", "0"}, 2, "--webhook-batch 0: give 1 to 10000"},
		{[]string{"--webhook", "http://example.com", "--webhook", "http://example.com"}, 2, "--webhook http://example.com is given twice"},
		{[]string{"--webhook-secret-file", readable}, 2, "--webhook-secret-file without --webhook: give the receiver's URL with --webhook"},
		{[]string{"--changes-retention", "0s"}, 2, "--changes-retention 0s: give a positive duration such as 168h"},
	} {
		dir := filepath.Join(t.TempDir(), "data")
		args := append([]string{"serve", "--data", dir, "--listen", freeAddr(t), "--http", ""}, c.args...)
		out, errb, code := runCmd(t, args...)
		if code != c.code || errb != "idgraph serve: "+c.msg+"\n" {
			t.Errorf("%q: exit %d, stderr %q; want %d and %q (stdout %s)", c.args, code, errb, c.code, c.msg, out)
		}
		if _, err := os.Stat(dir); err == nil {
			t.Errorf("%q: the store was created", c.args)
		}
	}
}

// TestServeWebhookInfoAndMetrics: INFO and the Prometheus endpoint report
// each webhook's figures.
func TestServeWebhookInfoAndMetrics(t *testing.T) {
	rcv := newHookReceiver(t, nil, 0)
	metrics := freeAddr(t)
	addr, _ := serveInProcess(t, t.TempDir(), "--http", "", "--metrics", metrics, "--webhook", rcv.srv.URL, "--changes-retention", "1h")
	c, err := dialRESP(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.nc.SetDeadline(time.Now().Add(2 * time.Minute))
	c.do("SEGMENT", "SAVE", "buyers", "DID", "buy")
	for i := range 3 {
		c.do("TRACK", "buy", fmt.Sprintf("cookie:c%d", i))
	}
	rcv.waitFor(t, 3)
	name := webhook.ID(rcv.srv.URL)
	var info string
	deadline := time.Now().Add(2 * time.Minute)
	for !strings.Contains(info, "webhook_0_cursor:3\r\n") && time.Now().Before(deadline) {
		v, err := c.do("INFO", "store")
		if err != nil {
			t.Fatal(err)
		}
		if info, _ = v.(string); !strings.Contains(info, "webhook_0_cursor:3\r\n") {
			time.Sleep(5 * time.Millisecond)
		}
	}
	for _, want := range []string{"webhook_0_name:" + name + "\r\n", "webhook_0_cursor:3\r\n", "webhook_0_entries_delivered:3\r\n",
		"webhook_0_failures:0\r\n", "webhook_0_lag_seconds:0.000\r\n"} {
		if !strings.Contains(info, want) {
			t.Errorf("INFO lacks %q:\n%s", want, info)
		}
	}
	resp, err := http.Get("http://" + metrics + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := `idgraph_webhook_entries_delivered_total{webhook="` + name + `"} 3`; !strings.Contains(string(body), want) {
		t.Errorf("metrics lack %s:\n%s", want, body)
	}
}
