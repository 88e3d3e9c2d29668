package webhook

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/idgraph/idgraph/engine"
	"github.com/idgraph/idgraph/query"
)

// Defaults of Options.
const (
	DefaultBatch      = 100
	DefaultBlock      = 10 * time.Second
	DefaultBackoff    = time.Second
	DefaultMaxBackoff = 5 * time.Minute
	DefaultTimeout    = 30 * time.Second
)

// Limits of Options, those of the CHANGES statement.
const (
	maxBatch = 10000
	maxBlock = 5 * time.Minute
)

// Options configures a Webhook. The zero value of every field but URL is
// its documented default.
type Options struct {
	// URL receives the batches: http or https, with a host.
	URL string
	// Name names the webhook: the store keeps its cursor as consumer
	// "webhook:" + Name, and requests carry it in X-Idgraph-Webhook.
	// Default: ID(URL), so that the same URL resumes where it stopped and
	// a new one starts afresh.
	Name string
	// Secret signs every request (HeaderSignature); empty: requests are
	// not signed.
	Secret []byte
	// Kinds, Segments and Fields are CHANGES's clauses: only entries of
	// those kinds, only segment entries of those segments, and the fields
	// of each entry's profile (as it is when the entry is read).
	Kinds, Segments, Fields []string
	// Batch is the most entries in one request (default 100, at most
	// 10,000).
	Batch int
	// Block is how long one read of the feed waits for a first entry
	// (default 10 s, at most 5 min); a commit with entries wakes it at
	// once, so this bounds only how often an idle webhook reads.
	Block time.Duration
	// Backoff is the wait after a first failure, doubling after each
	// further one up to MaxBackoff (defaults 1 s and 5 min). Each wait is
	// drawn between half and all of its step, so that receivers coming
	// back are not hit by every sender at once.
	Backoff, MaxBackoff time.Duration
	// Timeout bounds one request, the receiver's answer included (default
	// 30 s).
	Timeout time.Duration
	// Client sends the requests. Default: one that does not follow
	// redirects (a 3xx is a failure: POSTs are not replayed elsewhere).
	Client *http.Client
	// Logger reports failures (warn), an expired cursor (error) and
	// starts and stops (info). Default: nothing is logged.
	Logger *slog.Logger
	// Now is the clock of timestamps and lag (default time.Now).
	Now func() time.Time
}

// ID is the default name of the webhook of url: the first 16 hex digits of
// its SHA-256, stable across restarts and free of any credential the URL
// may carry.
func ID(url string) string {
	sum := sha256.Sum256([]byte(url))
	return hex.EncodeToString(sum[:8])
}

// Stats are a webhook's figures since Open.
type Stats struct {
	Name      string
	Cursor    uint64        // the last cursor the receiver acknowledged
	Delivered uint64        // entries acknowledged with a 2xx
	Batches   uint64        // requests acknowledged with a 2xx
	Failures  uint64        // requests that failed (each retry counts)
	Lag       time.Duration // now − the time of the oldest entry read and not yet acknowledged; 0 when none
}

// Webhook delivers the change feed to one receiver. Run delivers; Stats
// may be called from any goroutine.
type Webhook struct {
	db       *engine.DB
	x        *query.Executor
	opts     Options
	consumer string // "webhook:" + opts.Name
	host     string // the URL's host, for logs
	log      *slog.Logger

	// Owned by Run's goroutine.
	cursor     uint64 // read after this
	fromOldest bool   // the cursor expired: read from the oldest entry kept

	acked     atomic.Uint64
	delivered atomic.Uint64
	batches   atomic.Uint64
	failures  atomic.Uint64
	pending   atomic.Int64 // Unix ms of the oldest entry read and not acknowledged; 0: none
	running   atomic.Bool
}

// Open checks opts and returns a webhook that resumes after the cursor the
// store recorded for it. A webhook the store has no cursor for starts after
// the latest entry, and that cursor is recorded now.
func Open(ctx context.Context, db *engine.DB, x *query.Executor, opts Options) (*Webhook, error) {
	if err := opts.Check(); err != nil {
		return nil, err
	}
	u, _ := url.Parse(opts.URL)
	w := &Webhook{db: db, x: x, opts: opts.withDefaults(), host: u.Host}
	w.consumer = "webhook:" + w.opts.Name
	w.log = w.opts.Logger.With("webhook", w.opts.Name, "host", w.host)
	cur, ok, err := db.Cursor(w.consumer)
	if err != nil {
		return nil, fmt.Errorf("webhook %s: read its cursor: %w", w.opts.Name, err)
	}
	if !ok {
		cur = db.ChangesLast()
		if err := db.SetCursor(ctx, w.consumer, cur); err != nil {
			return nil, fmt.Errorf("webhook %s: record its first cursor: %w", w.opts.Name, err)
		}
		w.log.Info("webhook: new; delivering entries after the latest", "cursor", cur)
	}
	w.cursor = cur
	w.acked.Store(cur)
	return w, nil
}

// Check refuses options that cannot work, with a message naming the
// value: the URL, the limits, and the CHANGES clauses (parsed by the
// language, so that every kind, segment name and field it accepts is
// accepted here, and nothing else). Open calls it; a command line calls it
// first to refuse its flags before opening the store.
func (o Options) Check() error {
	u, err := url.Parse(o.URL)
	switch {
	case o.URL == "":
		return errors.New("webhook: no URL")
	case err != nil:
		return fmt.Errorf("webhook URL %q: %w", o.URL, err)
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("webhook URL %q: the scheme must be http or https", o.URL)
	case u.Host == "":
		return fmt.Errorf("webhook URL %q has no host", o.URL)
	case o.Batch < 0 || o.Batch > maxBatch:
		return fmt.Errorf("webhook batch %d: give 1 to %d", o.Batch, maxBatch)
	case o.Block < 0 || o.Block > maxBlock:
		return fmt.Errorf("webhook block %v: give at most %v", o.Block, maxBlock)
	case o.Name != "" && (len(o.Name) > 120 || strings.ContainsFunc(o.Name, func(r rune) bool { return r < ' ' || r == 0x7f })):
		return fmt.Errorf("webhook name %q: 1 to 120 bytes without control characters", o.Name)
	}
	w := &Webhook{opts: o.withDefaults()}
	if _, err := query.Parse(w.statement()); err != nil {
		var qe *query.Error
		if errors.As(err, &qe) { // the position is in a statement the user did not write
			return fmt.Errorf("webhook: %s", qe.Msg)
		}
		return fmt.Errorf("webhook: %w", err)
	}
	return nil
}

func (o Options) withDefaults() Options {
	if o.Name == "" {
		o.Name = ID(o.URL)
	}
	if o.Batch == 0 {
		o.Batch = DefaultBatch
	}
	if o.Block == 0 {
		o.Block = DefaultBlock
	}
	if o.Block < time.Millisecond {
		o.Block = time.Millisecond
	}
	if o.Backoff <= 0 {
		o.Backoff = DefaultBackoff
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = DefaultMaxBackoff
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Client == nil {
		o.Client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Name returns the webhook's name (Options.Name or its default).
func (w *Webhook) Name() string { return w.opts.Name }

// Stats returns the webhook's figures now.
func (w *Webhook) Stats() Stats {
	s := Stats{Name: w.opts.Name, Cursor: w.acked.Load(), Delivered: w.delivered.Load(), Batches: w.batches.Load(),
		Failures: w.failures.Load()}
	if p := w.pending.Load(); p != 0 {
		s.Lag = max(0, w.opts.Now().Sub(time.UnixMilli(p)))
	}
	return s
}

// statement is the CHANGES statement that reads the next batch.
func (w *Webhook) statement() []string {
	args := []string{"CHANGES"}
	if !w.fromOldest {
		args = append(args, "AFTER", strconv.FormatUint(w.cursor, 10))
	}
	args = append(args, "LIMIT", strconv.Itoa(w.opts.Batch), "BLOCK", strconv.FormatInt(max(w.opts.Block.Milliseconds(), 1), 10))
	for _, c := range []struct {
		kw    string
		words []string
	}{{"KINDS", w.opts.Kinds}, {"SEGMENTS", w.opts.Segments}, {"FIELDS", w.opts.Fields}} {
		if len(c.words) > 0 {
			args = append(append(args, c.kw), c.words...)
		}
	}
	return args
}

// Run delivers until ctx is done, and returns nil then; the request in
// flight at that moment is abandoned, and delivered again by the next Run.
// Only one Run at a time per Webhook.
func (w *Webhook) Run(ctx context.Context) error {
	if !w.running.CompareAndSwap(false, true) {
		return errors.New("webhook: Run is already running")
	}
	defer w.running.Store(false)
	w.log.Info("webhook: delivering", "after", w.cursor)
	defer func() { w.log.Info("webhook: stopped", "acknowledged", w.acked.Load()) }()
	session := &query.Session{Name: "webhook", ReadOnly: true}
	failures := 0
	for ctx.Err() == nil {
		v, err := w.x.Exec(ctx, session, w.statement())
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			if expired(err) {
				w.log.Error("webhook: ENTRIES WERE LOST: the receiver fell behind the change feed's retention; "+
					"delivery resumes from the oldest entry kept (raise --changes-retention to keep more)", "acknowledged", w.cursor, "err", err)
				w.fromOldest = true
				continue
			}
			failures++
			d := w.backoff(failures)
			w.log.Warn("webhook: reading the change feed failed; retrying", "retry_in", d, "err", err)
			if !sleep(ctx, d) {
				return nil
			}
			continue
		}
		failures = 0
		if len(v.Arr) == 0 {
			w.pending.Store(0)
			w.skipFiltered(ctx)
			continue
		}
		first, last, t0, err := bounds(v.Arr)
		if err != nil {
			return fmt.Errorf("webhook %s: %w", w.opts.Name, err) // the executor's reply is not an entry: a bug
		}
		if w.pending.Load() == 0 {
			w.pending.Store(t0)
		}
		entries := make([]any, len(v.Arr))
		for i, e := range v.Arr {
			entries[i] = e.JSON()
		}
		body, err := json.Marshal(map[string]any{"entries": entries})
		if err != nil {
			return fmt.Errorf("webhook %s: %w", w.opts.Name, err)
		}
		if !w.deliver(ctx, body, first, last) {
			return nil
		}
		w.ack(ctx, last, uint64(len(v.Arr)))
	}
	return nil
}

// deliver POSTs body until a 2xx, and reports false if ctx ended first.
func (w *Webhook) deliver(ctx context.Context, body []byte, first, last uint64) bool {
	for attempt := 1; ; attempt++ {
		err := w.post(ctx, body, first, last)
		if err == nil {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		w.failures.Add(1)
		d := w.backoff(attempt)
		w.log.Warn("webhook: delivery failed; retrying the same entries", "cursors", fmt.Sprintf("%d-%d", first, last),
			"attempt", attempt, "retry_in", d.Round(time.Millisecond), "err", err)
		if !sleep(ctx, d) {
			return false
		}
	}
}

// post sends one signed request.
func (w *Webhook) post(ctx context.Context, body []byte, first, last uint64) error {
	ctx, cancel := context.WithTimeout(ctx, w.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.opts.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	ts := strconv.FormatInt(w.opts.Now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "idgraph-webhook")
	req.Header.Set(HeaderWebhook, w.opts.Name)
	req.Header.Set(HeaderTimestamp, ts)
	if len(w.opts.Secret) > 0 {
		req.Header.Set(HeaderSignature, Sign(w.opts.Secret, ts, body))
	}
	resp, err := w.opts.Client.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("the receiver answered %s", resp.Status)
	}
	return nil
}

// ack records that the receiver has every entry up to last. It completes
// even when ctx ends meanwhile: the receiver has the batch, so recording
// it spares a redelivery.
func (w *Webhook) ack(ctx context.Context, last, n uint64) {
	w.cursor, w.fromOldest = last, false
	w.acked.Store(last)
	w.delivered.Add(n)
	w.batches.Add(1)
	w.pending.Store(0)
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := w.db.SetCursor(actx, w.consumer, last); err != nil {
		w.log.Error("webhook: recording the acknowledged cursor failed; after a restart these entries are delivered again", "cursor", last, "err", err)
	}
}

// skipFiltered moves the cursor past entries the webhook's KINDS and
// SEGMENTS leave out, when a read found none to deliver: CHANGES scans a
// bounded number of entries per read and its reply does not say how far
// it got, so without this a long run of entries filtered out would be
// scanned again on every read.
func (w *Webhook) skipFiltered(ctx context.Context) {
	if w.fromOldest || len(w.opts.Kinds) == 0 && len(w.opts.Segments) == 0 {
		return
	}
	ents, last, err := w.db.Changes(engine.ChangePage{After: w.cursor, Limit: 1, Kinds: w.opts.Kinds, Segments: w.opts.Segments})
	if err != nil || len(ents) > 0 || last <= w.cursor {
		return // an error shows on the next read
	}
	w.cursor = last
	w.acked.Store(last)
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := w.db.SetCursor(actx, w.consumer, last); err != nil {
		w.log.Warn("webhook: recording the cursor past filtered entries failed", "cursor", last, "err", err)
	}
}

// backoff is the wait after the n-th failure in a row (n ≥ 1): Backoff
// doubled n−1 times, at most MaxBackoff, drawn between half and all of it.
func (w *Webhook) backoff(n int) time.Duration {
	d := w.opts.Backoff
	for i := 1; i < n && d < w.opts.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, w.opts.MaxBackoff)
	return d/2 + rand.N(d/2+1)
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// bounds returns the first and last cursors of entries and the time of
// the first, in Unix ms.
func bounds(entries []query.Value) (first, last uint64, t0 int64, err error) {
	cursor := func(e query.Value) (uint64, error) {
		c, ok := e.Get("cursor")
		if !ok || c.Kind != query.KindInt || c.Int <= 0 {
			return 0, fmt.Errorf("entry without a cursor: %s", e)
		}
		return uint64(c.Int), nil
	}
	if first, err = cursor(entries[0]); err != nil {
		return
	}
	if last, err = cursor(entries[len(entries)-1]); err != nil {
		return
	}
	ts, _ := entries[0].Get("time")
	t, perr := time.Parse(time.RFC3339Nano, ts.Str)
	if perr != nil {
		return 0, 0, 0, fmt.Errorf("entry %d: time %q: %w", first, ts.Str, perr)
	}
	return first, last, max(t.UnixMilli(), 1), nil
}

// expired reports whether err is CHANGES refusing a cursor older than the
// oldest entry kept.
func expired(err error) bool {
	if errors.Is(err, engine.ErrExpiredCursor) {
		return true
	}
	var qe *query.Error
	return errors.As(err, &qe) && qe.Code == query.CodeNotFound && strings.Contains(qe.Msg, engine.ErrExpiredCursor.Error())
}
