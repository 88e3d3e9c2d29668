package engine_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/idgraph/idgraph/bench"
	"github.com/idgraph/idgraph/engine"
	"github.com/idgraph/idgraph/load"
)

func openBench(b *testing.B) *engine.DB {
	b.Helper()
	opts := engine.DefaultOptions(b.TempDir())
	db, err := engine.Open(opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

const benchChunk = 1000

// applyAll tracks events in chunks through Apply, the bulk path.
func applyAll(b *testing.B, db *engine.DB, n int, mk func(i int) engine.Event) {
	ctx := context.Background()
	ops := make([]engine.Op, 0, benchChunk)
	flush := func() {
		_, errs, err := db.Apply(ctx, ops)
		if err != nil {
			b.Fatal(err)
		}
		for _, e := range errs {
			if e != nil {
				b.Fatal(e)
			}
		}
		ops = ops[:0]
	}
	for i := 0; i < n; i++ {
		ops = append(ops, engine.TrackOp(mk(i)))
		if len(ops) == benchChunk {
			flush()
		}
	}
	if len(ops) > 0 {
		flush()
	}
}

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// BenchmarkTrackNew: every event brings a new anonymous cookie.
func BenchmarkTrackNew(b *testing.B) {
	db := openBench(b)
	b.ResetTimer()
	applyAll(b, db, b.N, func(i int) engine.Event {
		return engine.Event{Name: "view", IDs: []string{fmt.Sprintf("cookie:c%d", i)}, Time: t0.Add(time.Duration(i) * time.Second)}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkTrackKnown: events on 10,000 known cookies.
func BenchmarkTrackKnown(b *testing.B) {
	db := openBench(b)
	applyAll(b, db, 10000, func(i int) engine.Event {
		return engine.Event{Name: "view", IDs: []string{fmt.Sprintf("cookie:c%d", i)}, Time: t0}
	})
	b.ResetTimer()
	applyAll(b, db, b.N, func(i int) engine.Event {
		return engine.Event{Name: "view", IDs: []string{fmt.Sprintf("cookie:c%d", i%10000)}, Time: t0.Add(time.Duration(i) * time.Second)}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkTrackMerging: each event is a login that merges an anonymous
// cookie profile into a new user's profile.
func BenchmarkTrackMerging(b *testing.B) {
	db := openBench(b)
	applyAll(b, db, b.N, func(i int) engine.Event {
		return engine.Event{Name: "view", IDs: []string{fmt.Sprintf("cookie:c%d", i)}, Time: t0}
	})
	b.ResetTimer()
	applyAll(b, db, b.N, func(i int) engine.Event {
		return engine.Event{Name: "login", IDs: []string{fmt.Sprintf("user:u%d", i), fmt.Sprintf("cookie:c%d", i)}, Time: t0.Add(time.Hour)}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkTrackSequential: one Track call at a time (no batching by the caller).
func BenchmarkTrackSequential(b *testing.B) {
	db := openBench(b)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := db.Track(ctx, engine.Event{Name: "view", IDs: []string{fmt.Sprintf("cookie:c%d", i%1000)}}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWho: point lookups of 10,000 known profiles from 2 goroutines.
func BenchmarkWho(b *testing.B) {
	db := openBench(b)
	applyAll(b, db, 10000, func(i int) engine.Event {
		return engine.Event{Name: "login", IDs: []string{fmt.Sprintf("user:u%d", i), fmt.Sprintf("email:u%d@example.com", i), fmt.Sprintf("cookie:c%d", i)}, Time: t0}
	})
	b.ResetTimer()
	b.SetParallelism(1)
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := db.Who(fmt.Sprintf("email:u%d@example.com", i%10000)); err != nil {
				b.Fatal(err)
			}
			i += 7
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
}

// BenchmarkGraphHub: GRAPH of a 50-identifier hub (every identifier seen
// with one user id), the console's test profile. The hub's records hold
// each of its partners: a walk reads each of them once.
func BenchmarkGraphHub(b *testing.B) {
	db := openBench(b)
	applyAll(b, db, 49, func(i int) engine.Event {
		return engine.Event{Name: "page_view", IDs: []string{"user:big", fmt.Sprintf("cookie:c%d", i)}, Time: t0.Add(time.Duration(i) * time.Minute)}
	})
	b.ResetTimer()
	for range b.N {
		g, err := db.Graph("user:big")
		if err != nil {
			b.Fatal(err)
		}
		if len(g.Nodes) != 50 {
			b.Fatalf("%d nodes", len(g.Nodes))
		}
	}
}

// whole component, so this is the worst case short of a hub.
func BenchmarkUnlinkLargeComponent(b *testing.B) {
	db := openBench(b)
	r := rand.New(rand.NewSource(1))
	types := []string{"user", "email", "cookie", "device", "push"}
	pool := make([]string, 260)
	for i := range pool {
		pool[i] = fmt.Sprintf("%s:x%d", types[i%len(types)], i)
	}
	applyAll(b, db, 16000, func(i int) engine.Event {
		n := 1 + r.Intn(4)
		ids := make([]string, n)
		for j := range ids {
			ids[j] = pool[r.Intn(len(pool))]
		}
		return engine.Event{Name: "e", IDs: ids, Time: t0.Add(time.Duration(i) * time.Second)}
	})
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		a, c := pool[r.Intn(len(pool))], pool[r.Intn(len(pool))]
		if a == c {
			continue
		}
		if _, err := db.Unlink(ctx, a, c); err != nil {
			b.Fatal(err)
		}
	}
}

// populationOps is a generated bench population (bench.Generate) as engine
// operations, parsed once: what idgraph load applies.
var populationOps = sync.OnceValues(func() ([]engine.Op, error) {
	people := 5000
	if n, _ := strconv.Atoi(os.Getenv("IDGRAPH_BENCH_PEOPLE")); n > 0 {
		people = n
	}
	cfg := bench.DefaultConfig()
	cfg.People = people
	var buf bytes.Buffer
	if _, _, err := bench.Generate(cfg, &buf); err != nil {
		return nil, err
	}
	r, err := load.NewReader("population", &buf, load.Options{})
	if err != nil {
		return nil, err
	}
	var ops []engine.Op
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return ops, nil
		}
		if err != nil {
			continue
		}
		ops = append(ops, engine.RecordOp(rec.EngineRecord()))
	}
})

// BenchmarkIngestPopulation loads the bench population (5,000 people by
// default; IDGRAPH_BENCH_PEOPLE) into a new store on disk in chunks of 1,000
// records, as idgraph load does, and reports records per second. Profile it
// with -cpuprofile to see where ingest goes.
func BenchmarkIngestPopulation(b *testing.B) {
	ops, err := populationOps()
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		db, err := engine.Open(engine.DefaultOptions(b.TempDir()))
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		for j := 0; j < len(ops); j += benchChunk {
			if _, _, err := db.Apply(ctx, ops[j:min(j+benchChunk, len(ops))]); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		st := db.Stats()
		if i == 0 {
			b.ReportMetric(float64(st.KeysWritten)/float64(len(ops)), "keys/record")
			if testing.Verbose() {
				b.Logf("keys written by kind: %v", st.KeysWrittenBy)
			}
		}
		db.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(len(ops)*b.N)/b.Elapsed().Seconds(), "records/s")
}
