package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/idgraph/idgraph/bench"
	"github.com/idgraph/idgraph/engine"
	"github.com/idgraph/idgraph/query"
	"github.com/idgraph/idgraph/webhook"
)

// Activation (issue 13): what watching saved segments for the change feed
// costs ingest, how fast the feed reads, and how soon a webhook delivers
// an entry during an ingest — each next to the plain ingest of the same
// run.
//
// The stores of these workloads run on a clock that starts at the last
// generated record (b.asof) and moves on with the wall clock, so that the
// segments' windows hit the population and an entry's time is comparable
// with the moment a receiver gets it.

// watchedSegments are the three of bench.Segments saved and watched.
var watchedSegments = []string{"abandoned-cart", "repeat-buyers", "browsers-not-buyers"}

// activationStore opens a fresh store in dir on the shifted clock, with
// the watched segments saved.
func (b *benchRun) activationStore(ctx context.Context, dir string) (*engine.DB, *query.Executor, func() time.Time, error) {
	off := b.asof.Sub(time.Now())
	clock := func() time.Time { return time.Now().Add(off) }
	opts := engine.DefaultOptions(dir)
	opts.Now = clock
	db, err := engine.Open(opts)
	if err != nil {
		return nil, nil, nil, err
	}
	x := query.NewExecutor(db)
	x.SetClock(clock)
	for _, s := range bench.Segments {
		if !containsString(watchedSegments, s.Name) {
			continue
		}
		if _, err := x.ExecLine(ctx, nil, "SEGMENT SAVE "+s.Name+" "+s.Expr); err != nil {
			db.Close()
			return nil, nil, nil, fmt.Errorf("SEGMENT SAVE %s: %w", s.Name, err)
		}
	}
	return db, x, clock, nil
}

// activation runs the ingest with three segments watched, reads its feed,
// and measures a webhook's delivery lag during another ingest.
func (b *benchRun) activation(ctx context.Context) error {
	dir := filepath.Join(b.tmp, "data-watch3")
	defer os.RemoveAll(dir)
	db, x, _, err := b.activationStore(ctx, dir)
	if err != nil {
		return err
	}
	defer db.Close()
	segs := strings.Join(watchedSegments, ", ")
	if err := b.measure("ingest embedded, three saved segments watched", func() ([]bench.Workload, error) {
		st, err := ingestFile(ctx, b.popPath, &engineSink{db: db}, b.cfg.ingestMax, nil)
		if err != nil {
			return nil, err
		}
		w := bench.NewWorkload("ingest-embedded-watch3", st.events, st.elapsed, st.chunks)
		w.Unit, w.Baseline = "events", "ingest-embedded"
		b.ingested[w.Name] = st.records
		w.Note = fmt.Sprintf("as ingest-embedded, into a fresh store with three saved segments watched for the change feed (%s): every commit decides the membership of the profiles it touched in each, and writes the entries in the same commit; %s feed entries written for %s records",
			segs, bench.FormatCount(float64(db.ChangesLast())), bench.FormatCount(float64(st.records)))
		return []bench.Workload{w}, nil
	}); err != nil {
		return err
	}
	if err := b.measure("CHANGES read", func() ([]bench.Workload, error) { return b.changesRead(ctx, x) }); err != nil {
		return err
	}
	if err := db.Close(); err != nil {
		return err
	}
	return b.webhookLag(ctx)
}

// changesRead reads the whole feed of the ingest in pages of 1000 through
// the executor, as a consumer would.
func (b *benchRun) changesRead(ctx context.Context, x *query.Executor) ([]bench.Workload, error) {
	rec := bench.NewRecorder(0)
	var n, cursor int64
	deadline := time.Now().Add(b.cfg.limit)
	start := time.Now()
	for time.Now().Before(deadline) {
		t := time.Now()
		v, err := x.Exec(ctx, nil, []string{"CHANGES", "AFTER", strconv.FormatInt(cursor, 10), "LIMIT", "1000"})
		if err != nil {
			return nil, err
		}
		if len(v.Arr) == 0 {
			break
		}
		rec.Time(t)
		n += int64(len(v.Arr))
		c, _ := v.Arr[len(v.Arr)-1].Get("cursor")
		cursor = c.Int
	}
	elapsed := time.Since(start)
	if n == 0 {
		b.rep.Notes = append(b.rep.Notes, "CHANGES read skipped: the ingest wrote no feed entries.")
		return nil, nil
	}
	w := bench.NewWorkload("changes-read", n, elapsed, rec)
	w.Unit = "entries"
	w.Note = fmt.Sprintf("CHANGES AFTER <cursor> LIMIT 1000 through query.Executor over the feed of ingest-embedded-watch3, from the first entry; latencies are per page of 1000 (%s pages)",
		bench.FormatCount(float64(rec.Count())))
	return []bench.Workload{w}, nil
}

// webhookLag ingests into another fresh store with the same segments
// watched and a webhook delivering to a receiver in this process, and
// records for every entry the time from its commit's stamp to its
// arrival.
func (b *benchRun) webhookLag(ctx context.Context) error {
	dir := filepath.Join(b.tmp, "data-webhook")
	defer os.RemoveAll(dir)
	db, x, clock, err := b.activationStore(ctx, dir)
	if err != nil {
		return err
	}
	defer db.Close()
	var mu sync.Mutex // guards lags and last: the receiver's handler runs on the HTTP server's goroutines
	lags := bench.NewRecorder(0)
	var last int64
	got := make(chan struct{}, 1)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		now := clock()
		var batch struct {
			Entries []struct {
				Cursor int64  `json:"cursor"`
				Time   string `json:"time"`
			} `json:"entries"`
		}
		if err == nil {
			err = json.Unmarshal(body, &batch)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		for _, e := range batch.Entries {
			if t, err := time.Parse(time.RFC3339Nano, e.Time); err == nil {
				lags.Record(max(now.Sub(t), 0))
			}
			last = max(last, e.Cursor)
		}
		mu.Unlock()
		select {
		case got <- struct{}{}:
		default:
		}
	}))
	defer rcv.Close()
	hook, err := webhook.Open(ctx, db, x, webhook.Options{URL: rcv.URL, Secret: []byte("bench"), Now: clock})
	if err != nil {
		return err
	}
	hctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- hook.Run(hctx) }()
	defer func() {
		stop()
		<-done
	}()
	return b.measure("webhook delivery during an ingest", func() ([]bench.Workload, error) {
		start := time.Now()
		st, err := ingestFile(ctx, b.popPath, &engineSink{db: db}, b.cfg.tcpIngestMax, nil)
		if err != nil {
			return nil, err
		}
		// The entries of the last commits are still on their way.
		want := int64(db.ChangesLast())
		limit := time.After(2 * time.Minute)
		for {
			mu.Lock()
			caught := last >= want
			mu.Unlock()
			if caught {
				break
			}
			select {
			case <-got:
			case <-limit:
				return nil, fmt.Errorf("the webhook's receiver has cursor %d of %d two minutes after the ingest", last, want)
			}
		}
		elapsed := time.Since(start)
		mu.Lock()
		defer mu.Unlock()
		if lags.Count() == 0 {
			b.rep.Notes = append(b.rep.Notes, "Webhook delivery lag not measured: the ingest wrote no feed entries.")
			return nil, nil
		}
		hs := hook.Stats()
		w := bench.NewWorkload("webhook-lag", lags.Count(), elapsed, lags)
		w.Unit = "entries"
		w.Note = fmt.Sprintf("a webhook (package webhook, default batch of %d, signed) delivering the feed to an HTTP receiver in this process while %s records are ingested as in ingest-embedded-watch3 (%.0f events/s meanwhile); latencies are each entry's lag, from its commit's time (millisecond precision) to its arrival; %s requests, %d failed; throughput is entries delivered over the ingest and the catch-up after it",
			webhook.DefaultBatch, bench.FormatCount(float64(st.records)), float64(st.events)/st.elapsed.Seconds(),
			bench.FormatCount(float64(hs.Batches)), hs.Failures)
		return []bench.Workload{w}, nil
	})
}
