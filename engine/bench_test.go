package engine_test

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/idgraph/idgraph/engine"
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

// BenchmarkBadgerWriteBatch is the floor for tracking: raw key writes.
func BenchmarkBadgerWriteBatch(b *testing.B) {
	dir := b.TempDir()
	bdb, err := badger.Open(badger.DefaultOptions(dir).WithLogger(nil).WithDetectConflicts(false))
	if err != nil {
		b.Fatal(err)
	}
	defer bdb.Close()
	b.ResetTimer()
	wb := bdb.NewWriteBatch()
	for i := 0; i < b.N; i++ {
		if err := wb.Set([]byte(fmt.Sprintf("k%012d", i)), []byte("value-of-some-thirty-bytes....")); err != nil {
			b.Fatal(err)
		}
	}
	if err := wb.Flush(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "keys/s")
}

// BenchmarkBadgerGet is the floor for WHO: raw point reads from 2 goroutines.
func BenchmarkBadgerGet(b *testing.B) {
	dir := b.TempDir()
	bdb, err := badger.Open(badger.DefaultOptions(dir).WithLogger(nil))
	if err != nil {
		b.Fatal(err)
	}
	defer bdb.Close()
	wb := bdb.NewWriteBatch()
	for i := 0; i < 10000; i++ {
		wb.Set([]byte(fmt.Sprintf("k%012d", i)), []byte("value-of-some-thirty-bytes...."))
	}
	if err := wb.Flush(); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			err := bdb.View(func(txn *badger.Txn) error {
				_, err := txn.Get([]byte(fmt.Sprintf("k%012d", i%10000)))
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
			i += 7
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "gets/s")
}

var _ = os.Getenv

// BenchmarkUnlinkLargeComponent: UNLINK inside one component whose history
// is 16,000 link records over 260 identifiers — re-resolution replays the
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
