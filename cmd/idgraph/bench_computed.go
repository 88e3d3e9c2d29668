package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/idgraph/idgraph/bench"
	"github.com/idgraph/idgraph/engine"
	"github.com/idgraph/idgraph/query"
)

// Computed traits (issue 14): what defining one costs over the existing
// history (the backfill), and what five of them cost WHO and ingest, each
// next to the same thing without them in the same run.

// whoStatements asks the WHO statement (the executor's, which adds saved
// segments and computed traits to the profile) of random known
// identifiers from whoGoroutines goroutines.
func (b *benchRun) whoStatements(ctx context.Context, x *query.Executor, name, baseline, note string) (bench.Workload, error) {
	rngs := make([]*rand.Rand, whoGoroutines)
	for g := range rngs {
		rngs[g] = rand.New(rand.NewPCG(b.cfg.seed, uint64(g)+101))
	}
	rec, elapsed, err := concurrently(ctx, whoGoroutines, b.cfg.whoCalls, time.Now().Add(b.cfg.limit), func(g, _ int) error {
		id := b.sample[rngs[g].IntN(len(b.sample))]
		if _, err := x.Exec(ctx, nil, []string{"WHO", id}); err != nil {
			return fmt.Errorf("WHO %s: %w", id, err)
		}
		return nil
	})
	if err != nil {
		return bench.Workload{}, err
	}
	w := bench.NewWorkload(name, rec.Count(), elapsed, rec)
	w.Unit, w.Baseline, w.Note = "calls", baseline, note
	return w, nil
}

// concurrently calls call(g, i) from n goroutines g, calls times each i,
// until the deadline or the end of ctx, timing every call; it returns the
// calls' latencies, the wall time, and the first errors (a goroutine stops
// at its first).
func concurrently(ctx context.Context, n, calls int, deadline time.Time, call func(g, i int) error) (*bench.Recorder, time.Duration, error) {
	recs := make([]*bench.Recorder, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := time.Now()
	for g := range n {
		recs[g] = bench.NewRecorder(0)
		wg.Go(func() {
			for i := 0; i < calls; i++ {
				if i%1024 == 0 && (ctx.Err() != nil || time.Now().After(deadline)) {
					return
				}
				t := time.Now()
				err := call(g, i)
				recs[g].Time(t)
				if err != nil {
					errs[g] = err
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err := errors.Join(errs...); err != nil {
		return nil, 0, err
	}
	for _, r := range recs[1:] {
		recs[0].Merge(r)
	}
	return recs[0], elapsed, nil
}

// computedTraits measures the WHO statement, defines bench.Computed
// (timing the backfill of each definition), and measures WHO again. The
// definitions stay for the segments that use them.
func (b *benchRun) computedTraits(ctx context.Context) error {
	x := query.NewExecutor(b.db)
	x.SetClock(func() time.Time { return b.asof })
	if err := b.measure("WHO statement", func() ([]bench.Workload, error) {
		w, err := b.whoStatements(ctx, x, "who-statement", "who-embedded",
			fmt.Sprintf("the WHO statement through query.Executor from %d goroutines, no computed traits defined (the profile with its saved segments)", whoGoroutines))
		return []bench.Workload{w}, err
	}); err != nil {
		return err
	}
	if err := b.measure("COMPUTE (backfill)", func() ([]bench.Workload, error) {
		var parts []string
		rec := bench.NewRecorder(0)
		start := time.Now()
		for _, line := range bench.Computed {
			t := time.Now()
			if _, err := x.ExecLine(ctx, nil, line); err != nil {
				return nil, fmt.Errorf("%s: %w", line, err)
			}
			rec.Time(t)
			name, _, _ := strings.Cut(strings.TrimPrefix(line, "COMPUTE "), " ")
			parts = append(parts, fmt.Sprintf("%s %.2f s", name, time.Since(t).Seconds()))
		}
		w := bench.NewWorkload("compute-backfill", b.events, time.Since(start), rec)
		w.Unit = "events"
		w.Note = fmt.Sprintf("defining the five computed traits over the existing %s events (%s): the only backfill is indexing the property paths a definition reads, once per event name and path — a scan of every stored record — and computing the live profiles' values, which WHO then keeps in memory (nothing else is written)",
			bench.FormatCount(float64(b.events)), strings.Join(parts, ", ")) + "; latencies are per definition"
		return []bench.Workload{w}, nil
	}); err != nil {
		return err
	}
	return b.measure("WHO statement, five computed traits", func() ([]bench.Workload, error) {
		w, err := b.whoStatements(ctx, x, "who-statement-computed5", "who-statement",
			"the WHO statement as above with the five computed traits of bench.Computed defined: the values COMPUTE computed, kept per profile while they hold (computed from the profile's index entries when not)")
		return []bench.Workload{w}, err
	})
}

// ingestComputed loads the population into a fresh store that has the
// five computed traits defined from the start.
func (b *benchRun) ingestComputed(ctx context.Context) error {
	dir := filepath.Join(b.tmp, "data-computed")
	defer os.RemoveAll(dir)
	db, err := engine.Open(engine.DefaultOptions(dir))
	if err != nil {
		return err
	}
	defer db.Close()
	x := query.NewExecutor(db)
	for _, line := range bench.Computed {
		if _, err := x.ExecLine(ctx, nil, line); err != nil {
			return fmt.Errorf("%s: %w", line, err)
		}
	}
	return b.measure("ingest embedded, five computed traits", func() ([]bench.Workload, error) {
		st, err := ingestFile(ctx, b.popPath, &engineSink{db: db}, b.cfg.ingestMax, nil)
		if err != nil {
			return nil, err
		}
		w := bench.NewWorkload("ingest-embedded-computed5", st.events, st.elapsed, st.chunks)
		w.Unit, w.Baseline = "events", "ingest-embedded"
		b.ingested[w.Name] = st.records
		w.Note = fmt.Sprintf("as ingest-embedded, into a fresh store with the five computed traits defined first (their property paths indexed as purchases arrive); %s records", bench.FormatCount(float64(st.records)))
		return []bench.Workload{w}, nil
	})
}
