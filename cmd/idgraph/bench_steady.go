package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/idgraph/idgraph/bench"
	"github.com/idgraph/idgraph/engine"
)

// The steady workload: WHO at a fixed rate while TRACKs arrive at another.
const (
	steadyEvents = 10_000 // TRACKs a second: the "steady 10k events/s"
	steadyWHOs   = 2_000  // WHO calls a second
	steadyBatch  = 1_000  // the most TRACKs one Apply takes
)

// whoDuringIngest asks WHO, paced at steadyWHOs a second from one
// goroutine, while another applies TRACKs (page_view on known identifiers)
// at steadyEvents a second. The WHO client is open-loop: each call has a
// scheduled time, and a call that the one before it delayed past that time
// counts from it, so a stall counts for every call it delays, as it would
// for clients that do not wait for each other.
func (b *benchRun) whoDuringIngest(ctx context.Context) error {
	return b.measure("WHO during a steady ingest", func() ([]bench.Workload, error) {
		span := b.cfg.limit / 3
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		var (
			wg              sync.WaitGroup
			trackErr        error
			tracked, writes int64
			behind          time.Duration // the ingest's largest lag behind its schedule
		)
		start := time.Now()
		end := start.Add(span)
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(b.cfg.seed, 0x57ead))
			ops := make([]engine.Op, 0, steadyBatch)
			for ctx.Err() == nil {
				now := time.Now()
				if !now.Before(end) {
					return
				}
				due := int64(now.Sub(start).Seconds() * steadyEvents)
				if n := due - tracked; n > 0 {
					if lag := time.Duration(float64(n) / steadyEvents * float64(time.Second)); lag > behind {
						behind = lag
					}
					ops = ops[:0]
					for range min(n, steadyBatch) {
						id := b.sample[rng.IntN(len(b.sample))]
						ops = append(ops, engine.TrackOp(engine.Event{Name: "page_view", IDs: []string{id},
							Time: b.asof.Add(time.Duration(tracked+int64(len(ops))) * time.Millisecond), Source: "web"}))
					}
					_, errs, err := b.db.Apply(ctx, ops)
					if err = errors.Join(append(errs, err)...); err != nil {
						trackErr = err
						cancel()
						return
					}
					tracked += int64(len(ops))
					writes++
					continue
				}
				time.Sleep(time.Millisecond)
			}
		})
		rec := bench.NewRecorder(0)
		var whoErr error
		rng := rand.New(rand.NewPCG(b.cfg.seed, 0x5ead))
		interval := time.Second / steadyWHOs
		var done time.Time // when the last call returned
		for i := 0; ctx.Err() == nil; i++ {
			at := start.Add(time.Duration(i) * interval)
			if !at.Before(end) {
				break
			}
			if d := time.Until(at); d > 0 {
				time.Sleep(d)
			}
			// A call the previous one delayed counts from its schedule; one
			// on time counts from its start, not from when this goroutine
			// woke up.
			from := time.Now()
			if done.After(at) {
				from = at
			}
			id := b.sample[rng.IntN(len(b.sample))]
			if _, err := b.db.Who(id); err != nil {
				whoErr = fmt.Errorf("WHO %s: %w", id, err)
				cancel()
				break
			}
			done = time.Now()
			rec.Record(done.Sub(from))
		}
		wg.Wait()
		elapsed := time.Since(start)
		if err := errors.Join(whoErr, trackErr); err != nil {
			return nil, err
		}
		w := bench.NewWorkload("who-during-ingest", rec.Count(), elapsed, rec)
		w.Unit = "calls"
		rate := float64(tracked) / elapsed.Seconds()
		w.Note = fmt.Sprintf("engine.DB.Who paced at %s calls/s from one goroutine while another applies TRACKs (page_view on known identifiers) at %s events/s, as many as are due at each Apply (at most %s); %s events/s achieved in %s commits, at most %s behind schedule; a call's latency counts from its scheduled time when the call before it ran past that time (open loop: a stall counts for every call it delays), else from its start",
			bench.FormatCount(steadyWHOs), bench.FormatCount(steadyEvents), bench.FormatCount(steadyBatch),
			bench.FormatCount(rate), bench.FormatCount(float64(writes)), bench.FormatDuration(behind))
		b.steadyRate = rate
		return []bench.Workload{w}, nil
	})
}
