package webhook_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idgraph/idgraph/engine"
	"github.com/idgraph/idgraph/query"
	"github.com/idgraph/idgraph/webhook"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// wait bounds every wait for a delivery: generous, for a busy machine.
const wait = 2 * time.Minute

// openStore opens a store in dir ("" in memory) watched by query.Watcher,
// whose clock is clock when given.
func openStore(t *testing.T, dir string, clock func() time.Time) (*engine.DB, *query.Executor) {
	t.Helper()
	opts := engine.DefaultOptions(dir)
	opts.InMemory = dir == ""
	opts.Watch = query.Watcher{}
	opts.ChangesTick = time.Hour // ticks only when the test asks
	opts.ChangesRetention = time.Hour
	if clock != nil {
		opts.Now = clock
	}
	db, err := engine.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	x := query.NewExecutor(db)
	if clock != nil {
		x.SetClock(clock)
	}
	return db, x
}

func exec(t *testing.T, x *query.Executor, line string) query.Value {
	t.Helper()
	v, err := x.ExecLine(context.Background(), nil, line)
	if err != nil {
		t.Fatalf("%s: %v", line, err)
	}
	return v
}

// writeEntries makes the feed grow: profiles entering the saved segment
// buyers, merges that make them leave and enter again.
func writeEntries(t *testing.T, x *query.Executor, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		exec(t, x, fmt.Sprintf("TRACK buy cookie:c%d email:u%d@x.io", i, i))
		if i%5 == 4 {
			exec(t, x, fmt.Sprintf("MERGE cookie:c%d cookie:c%d", i, i-1))
		}
	}
}

// feed reads the whole feed after cursor through the executor, as JSON
// objects.
func feed(t *testing.T, x *query.Executor, after uint64, fields string) []any {
	t.Helper()
	v := exec(t, x, fmt.Sprintf("CHANGES AFTER %d LIMIT 10000%s", after, fields))
	return v.JSON().([]any)
}

// receiver is an HTTP receiver that answers 500 to its first fail
// requests and 200 to the rest, and keeps every request.
type receiver struct {
	srv  *httptest.Server
	mu   sync.Mutex
	fail int
	reqs []request
	// acked gets the last cursor of each batch answered 200.
	acked chan uint64
}

type request struct {
	header http.Header
	body   []byte
	status int
}

type batch struct {
	Entries []map[string]any `json:"entries"`
}

func newReceiver(t *testing.T, fail int) *receiver {
	r := &receiver{fail: fail, acked: make(chan uint64, 1000)}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		status := http.StatusOK
		if r.fail > 0 {
			r.fail--
			status = http.StatusInternalServerError
		}
		r.reqs = append(r.reqs, request{req.Header.Clone(), body, status})
		r.mu.Unlock()
		w.WriteHeader(status)
		if status == http.StatusOK {
			var b batch
			if err := json.Unmarshal(body, &b); err != nil || len(b.Entries) == 0 {
				t.Errorf("bad batch %s: %v", body, err)
				return
			}
			r.acked <- uint64(b.Entries[len(b.Entries)-1]["cursor"].(float64))
		}
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// waitFor waits until a batch up to cursor has been acknowledged.
func (r *receiver) waitFor(t *testing.T, cursor uint64) {
	t.Helper()
	timeout := time.After(wait)
	for {
		select {
		case c := <-r.acked:
			if c >= cursor {
				return
			}
		case <-timeout:
			t.Fatalf("no batch up to cursor %d acknowledged in %v", cursor, wait)
		}
	}
}

// waitAcked waits until w has recorded the receiver's acknowledgement of
// cursor (the receiver answers before the webhook records it).
func waitAcked(t *testing.T, w *webhook.Webhook, cursor uint64) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for w.Stats().Cursor < cursor {
		if time.Now().After(deadline) {
			t.Fatalf("cursor %d not acknowledged in %v: %+v", cursor, wait, w.Stats())
		}
		time.Sleep(time.Millisecond)
	}
}

// delivered returns the entries of the batches answered 200, in order.
func (r *receiver) delivered(t *testing.T) []any {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []any
	for _, q := range r.reqs {
		if q.status != http.StatusOK {
			continue
		}
		var b struct {
			Entries []any `json:"entries"`
		}
		if err := json.Unmarshal(q.body, &b); err != nil {
			t.Fatal(err)
		}
		out = append(out, b.Entries...)
	}
	return out
}

func (r *receiver) requests() []request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]request(nil), r.reqs...)
}

// run runs w until the returned stop is called (also at cleanup).
func run(t *testing.T, w *webhook.Webhook) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func sameJSON(t *testing.T, what string, got, want any) {
	t.Helper()
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if !bytes.Equal(g, w) {
		t.Errorf("%s:\n got %s\nwant %s", what, g, w)
	}
}

// TestFailuresAreRetriedInOrder: a receiver that answers 500 ten times,
// then 200, gets every entry of the feed in order, exactly as CHANGES has
// them; the ten failures all carried the first batch, and the cursor the
// store keeps is the last one delivered.
func TestFailuresAreRetriedInOrder(t *testing.T) {
	db, x := openStore(t, "", nil)
	defer db.Close()
	exec(t, x, "SEGMENT SAVE buyers DID buy")
	rcv := newReceiver(t, 10)
	w, err := webhook.Open(context.Background(), db, x, webhook.Options{URL: rcv.srv.URL, Batch: 7, Fields: []string{"email", "cookie"},
		Backoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond, Block: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	writeEntries(t, x, 0, 30)
	last := db.ChangesLast()
	stop := run(t, w)
	rcv.waitFor(t, last)
	waitAcked(t, w, last)
	stop()

	sameJSON(t, "entries delivered", rcv.delivered(t), feed(t, x, 0, " FIELDS email cookie"))
	reqs := rcv.requests()
	for i := 1; i <= 10; i++ {
		if !bytes.Equal(reqs[i].body, reqs[0].body) {
			t.Errorf("request %d carried other entries than the first:\n%s\n%s", i, reqs[i].body, reqs[0].body)
		}
	}
	if reqs[10].status != 200 || reqs[9].status != 500 {
		t.Errorf("statuses %d, %d: want the tenth 500 and the eleventh 200", reqs[9].status, reqs[10].status)
	}
	st := w.Stats()
	if st.Failures != 10 || st.Cursor != last || st.Delivered != last || st.Lag != 0 {
		t.Errorf("stats %+v: want 10 failures, cursor and delivered %d, no lag", st, last)
	}
	if c, ok, err := db.Cursor("webhook:" + w.Name()); err != nil || !ok || c != last {
		t.Errorf("stored cursor %d %v %v, want %d", c, ok, err, last)
	}
	for _, q := range reqs {
		if q.header.Get("Content-Type") != "application/json" || q.header.Get(webhook.HeaderWebhook) != webhook.ID(rcv.srv.URL) ||
			q.header.Get(webhook.HeaderSignature) != "" {
			t.Fatalf("headers %v: want JSON, the webhook's name, and no signature without a secret", q.header)
		}
	}
}

// TestSignatureVerifies checks the signature as a receiver written from
// the README would (HMAC-SHA256 of timestamp "." body) and with Verify,
// which also refuses a tampered body, a stale timestamp and no signature.
func TestSignatureVerifies(t *testing.T) {
	db, x := openStore(t, "", nil)
	defer db.Close()
	exec(t, x, "SEGMENT SAVE buyers DID buy")
	secret := []byte("s3cret-of-the-receiver")
	rcv := newReceiver(t, 0)
	w, err := webhook.Open(context.Background(), db, x, webhook.Options{URL: rcv.srv.URL, Secret: secret, Batch: 4, Block: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	writeEntries(t, x, 0, 10)
	stop := run(t, w)
	rcv.waitFor(t, db.ChangesLast())
	waitAcked(t, w, db.ChangesLast())
	stop()
	reqs := rcv.requests()
	if len(reqs) < 2 {
		t.Fatalf("%d requests", len(reqs))
	}
	for _, q := range reqs {
		ts := q.header.Get("X-Idgraph-Timestamp")
		m := hmac.New(sha256.New, secret)
		m.Write([]byte(ts + "." + string(q.body)))
		if want := "sha256=" + hex.EncodeToString(m.Sum(nil)); q.header.Get("X-Idgraph-Signature") != want {
			t.Errorf("signature %q, want %q", q.header.Get("X-Idgraph-Signature"), want)
		}
		if err := webhook.Verify(secret, q.header, q.body, time.Now(), 0); err != nil {
			t.Errorf("Verify: %v", err)
		}
	}
	q := reqs[0]
	tampered := bytes.Replace(q.body, []byte(`"buyers"`), []byte(`"sellers"`), 1)
	for _, c := range []struct {
		name   string
		secret []byte
		header http.Header
		body   []byte
		now    time.Time
		want   error
	}{
		{"tampered body", secret, q.header, tampered, time.Now(), webhook.ErrBadSignature},
		{"another secret", []byte("other"), q.header, q.body, time.Now(), webhook.ErrBadSignature},
		{"replayed ten minutes later", secret, q.header, q.body, time.Now().Add(10 * time.Minute), webhook.ErrStale},
		{"unsigned", secret, http.Header{}, q.body, time.Now(), webhook.ErrNoSignature},
	} {
		if err := webhook.Verify(c.secret, c.header, c.body, c.now, 0); !errors.Is(err, c.want) {
			t.Errorf("%s: Verify = %v, want %v", c.name, err, c.want)
		}
	}
}

// TestRestartResumesFromAcknowledgedCursor: a webhook stopped and opened
// again on the reopened store delivers exactly the entries written after
// what its receiver acknowledged; a webhook of another URL starts after
// the latest entry.
func TestRestartResumesFromAcknowledgedCursor(t *testing.T) {
	dir := t.TempDir()
	db, x := openStore(t, dir, nil)
	exec(t, x, "SEGMENT SAVE buyers DID buy")
	rcv := newReceiver(t, 0)
	opts := webhook.Options{URL: rcv.srv.URL, Batch: 5, Block: 50 * time.Millisecond}
	w, err := webhook.Open(context.Background(), db, x, opts)
	if err != nil {
		t.Fatal(err)
	}
	writeEntries(t, x, 0, 12)
	first := db.ChangesLast()
	stop := run(t, w)
	rcv.waitFor(t, first)
	waitAcked(t, w, first)
	stop()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db, x = openStore(t, dir, nil)
	defer db.Close()
	writeEntries(t, x, 100, 8)
	other := newReceiver(t, 0)
	w2, err := webhook.Open(context.Background(), db, x, opts)
	if err != nil {
		t.Fatal(err)
	}
	wo, err := webhook.Open(context.Background(), db, x, webhook.Options{URL: other.srv.URL, Block: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if st := wo.Stats(); st.Cursor != db.ChangesLast() {
		t.Errorf("a new webhook starts at %d, want after the latest entry %d", st.Cursor, db.ChangesLast())
	}
	before := len(rcv.delivered(t))
	stop = run(t, w2)
	rcv.waitFor(t, db.ChangesLast())
	waitAcked(t, w2, db.ChangesLast())
	stop()
	sameJSON(t, "entries after the restart", rcv.delivered(t)[before:], feed(t, x, first, ""))
	if n := len(other.requests()); n != 0 {
		t.Errorf("the new webhook was sent %d requests before running", n)
	}
}

// TestExpiredCursorResumesFromOldestKept: a receiver that fell behind the
// retention loses the entries trimmed, the webhook says so at error level,
// and delivers from the oldest entry kept.
func TestExpiredCursorResumesFromOldestKept(t *testing.T) {
	var clock atomic.Int64
	clock.Store(time.Date(2026, 11, 10, 12, 0, 0, 0, time.UTC).UnixMilli())
	now := func() time.Time { return time.UnixMilli(clock.Load()).UTC() }
	db, x := openStore(t, "", now)
	defer db.Close()
	exec(t, x, "SEGMENT SAVE buyers DID buy")
	rcv := newReceiver(t, 0)
	var logs bytes.Buffer
	var logMu sync.Mutex
	logger := slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &logMu}, nil))
	w, err := webhook.Open(context.Background(), db, x, webhook.Options{URL: rcv.srv.URL, Block: 50 * time.Millisecond, Logger: logger, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	writeEntries(t, x, 0, 6)
	lost := db.ChangesLast()
	clock.Add((2 * time.Hour).Milliseconds()) // past the hour of retention
	db.TickChanges()
	writeEntries(t, x, 50, 4)
	stop := run(t, w)
	rcv.waitFor(t, db.ChangesLast())
	waitAcked(t, w, db.ChangesLast())
	stop()
	sameJSON(t, "entries delivered", rcv.delivered(t), feed(t, x, lost, ""))
	logMu.Lock()
	defer logMu.Unlock()
	if !strings.Contains(logs.String(), "level=ERROR msg=\"webhook: ENTRIES WERE LOST") || !strings.Contains(logs.String(), "expired cursor") {
		t.Errorf("no error logged for the expired cursor:\n%s", logs.String())
	}
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// TestFilteredWebhookDeliversOnlyItsEntries: KINDS and SEGMENTS keep only
// those entries, and the cursor moves past the others once the webhook
// is idle.
func TestFilteredWebhookDeliversOnlyItsEntries(t *testing.T) {
	db, x := openStore(t, "", nil)
	defer db.Close()
	exec(t, x, "SEGMENT SAVE buyers DID buy")
	exec(t, x, "SEGMENT SAVE mailable HAS email")
	rcv := newReceiver(t, 0)
	w, err := webhook.Open(context.Background(), db, x, webhook.Options{URL: rcv.srv.URL, Kinds: []string{"segment.entered"},
		Segments: []string{"mailable"}, Block: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	writeEntries(t, x, 0, 10)
	want := feed(t, x, 0, " KINDS segment.entered SEGMENTS mailable")
	if len(want) == 0 {
		t.Fatal("no entry passes the filters")
	}
	stop := run(t, w)
	rcv.waitFor(t, uint64(want[len(want)-1].(map[string]any)["cursor"].(int64)))
	deadline := time.Now().Add(wait)
	for w.Stats().Cursor != db.ChangesLast() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	stop()
	sameJSON(t, "entries delivered", rcv.delivered(t), want)
	if got := w.Stats().Cursor; got != db.ChangesLast() {
		t.Errorf("cursor %d: want it past the entries filtered out, at %d", got, db.ChangesLast())
	}
}

// TestMetrics: the figures are exported on a Prometheus registry.
func TestMetrics(t *testing.T) {
	db, x := openStore(t, "", nil)
	defer db.Close()
	exec(t, x, "SEGMENT SAVE buyers DID buy")
	rcv := newReceiver(t, 2)
	w, err := webhook.Open(context.Background(), db, x, webhook.Options{URL: rcv.srv.URL, Name: "crm", Backoff: time.Millisecond, Block: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	if err := w.Register(reg); err != nil {
		t.Fatal(err)
	}
	writeEntries(t, x, 0, 3)
	stop := run(t, w)
	rcv.waitFor(t, db.ChangesLast())
	waitAcked(t, w, db.ChangesLast())
	stop()
	want := fmt.Sprintf(`
# HELP idgraph_webhook_delivery_failures_total Requests that failed (an error, a timeout or a status other than 2xx); each retry counts.
# TYPE idgraph_webhook_delivery_failures_total counter
idgraph_webhook_delivery_failures_total{webhook="crm"} 2
# HELP idgraph_webhook_entries_delivered_total Change feed entries the receiver acknowledged with a 2xx.
# TYPE idgraph_webhook_entries_delivered_total counter
idgraph_webhook_entries_delivered_total{webhook="crm"} %d
# HELP idgraph_webhook_delivery_lag_seconds Now minus the time of the oldest change feed entry read and not yet acknowledged by the receiver; 0 when none is waiting.
# TYPE idgraph_webhook_delivery_lag_seconds gauge
idgraph_webhook_delivery_lag_seconds{webhook="crm"} 0
`, db.ChangesLast())
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "idgraph_webhook_delivery_failures_total",
		"idgraph_webhook_entries_delivered_total", "idgraph_webhook_delivery_lag_seconds"); err != nil {
		t.Error(err)
	}
}

// TestOpenRefusesBadOptions: what cannot work is refused before anything
// is recorded, naming the value.
func TestOpenRefusesBadOptions(t *testing.T) {
	db, x := openStore(t, "", nil)
	defer db.Close()
	for _, c := range []struct {
		opts webhook.Options
		want string
	}{
		{webhook.Options{}, "webhook: no URL"},
		{webhook.Options{URL: "ftp://example.com/hook"}, `webhook URL "ftp://example.com/hook": the scheme must be http or https`},
		{webhook.Options{URL: "http:///hook"}, `webhook URL "http:///hook" has no host`},
		{webhook.Options{URL: "http://example.com", Batch: 20000}, "webhook batch 20000: give 1 to 10000"},
		{webhook.Options{URL: "http://example.com", Kinds: []string{"profile.exploded"}},
			"webhook: unknown kind \"profile.exploded\": the kinds are segment.entered, segment.left, profile.merged, profile.split, identifier.moved, profile.forgotten"},
		{webhook.Options{URL: "http://example.com", Fields: []string{"email:x"}},
			"webhook: unknown field \"email:x\": a field is an identifier type (email), trait:<name>, computed:<name>, consent:<purpose> or tags"},
	} {
		_, err := webhook.Open(context.Background(), db, x, c.opts)
		if err == nil || err.Error() != c.want {
			t.Errorf("%+v: %v, want %s", c.opts, err, c.want)
		}
	}
	if _, ok, _ := db.Cursor("webhook:" + webhook.ID("http://example.com")); ok {
		t.Error("a refused webhook recorded a cursor")
	}
}
