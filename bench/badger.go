package bench

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// ErrUnavailable is returned by a baseline whose server or binary is not
// installed here; callers (and tests) skip it.
var ErrUnavailable = errors.New("bench: baseline unavailable")

// BadgerConfig sets up the raw Badger baseline.
type BadgerConfig struct {
	Dir       string // a fresh directory; a temporary one when empty
	Keys      int    // keys written, then read at random (default 1,000,000)
	Reads     int    // point reads per goroutine (default Keys/2)
	ValueSize int    // bytes per value (default 16: a node id and a profile id)
}

// BadgerResult is what raw Badger does on this machine with the options
// idgraph uses (SyncWrites off, one version kept, no conflict detection):
// the floor of our own cost.
type BadgerResult struct {
	Keys         int           `json:"keys"`
	WriteSeconds float64       `json:"write_seconds"`
	WritesPerSec float64       `json:"writes_per_sec"`  // keys/s through one WriteBatch
	Reads        int           `json:"reads"`           // point Gets per goroutine
	ReadSeconds  float64       `json:"read_seconds"`    // one goroutine
	ReadSeconds2 float64       `json:"read_seconds_2"`  // two goroutines, each doing Reads
	ReadsPerSec  float64       `json:"reads_per_sec"`   // point Gets/s, one goroutine
	ReadsPerSec2 float64       `json:"reads_per_sec_2"` // point Gets/s, two goroutines together
	ReadP50      time.Duration `json:"read_p50_ns"`     // one goroutine
	ReadP99      time.Duration `json:"read_p99_ns"`     // one goroutine
	ReadP999     time.Duration `json:"read_p999_ns"`    // one goroutine
	DiskBytes    int64         `json:"disk_bytes"`      // LSM + value log after the writes
}

// Workloads returns the result as report baselines: "badger-writes",
// "badger-gets" and "badger-gets-2g".
func (b BadgerResult) Workloads() []Workload {
	return []Workload{
		{Name: "badger-writes", Unit: "keys", Ops: int64(b.Keys), Seconds: b.WriteSeconds, Throughput: b.WritesPerSec, Disk: b.DiskBytes, Note: "WriteBatch, SyncWrites off"},
		{Name: "badger-gets", Unit: "gets", Ops: int64(b.Reads), Seconds: b.ReadSeconds, Throughput: b.ReadsPerSec, P50: b.ReadP50, P99: b.ReadP99, P999: b.ReadP999, Note: "one View per Get, 1 goroutine"},
		{Name: "badger-gets-2g", Unit: "gets", Ops: 2 * int64(b.Reads), Seconds: b.ReadSeconds2, Throughput: b.ReadsPerSec2, Note: "2 goroutines, total"},
	}
}

// BadgerOptions are the Badger options idgraph uses, for dir.
func BadgerOptions(dir string) badger.Options {
	return badger.DefaultOptions(dir).
		WithSyncWrites(false).
		WithNumVersionsToKeep(1).
		WithDetectConflicts(false).
		WithLogger(nil)
}

// RunBadger writes cfg.Keys keys of the shape of idgraph's identifier index
// ("i" + type + value → id) through a WriteBatch, then reads random keys
// one View at a time from one goroutine and then from two.
func RunBadger(ctx context.Context, cfg BadgerConfig) (BadgerResult, error) {
	if cfg.Keys <= 0 {
		cfg.Keys = 1_000_000
	}
	if cfg.Reads <= 0 {
		cfg.Reads = max(cfg.Keys/2, 1)
	}
	if cfg.ValueSize <= 0 {
		cfg.ValueSize = 16
	}
	dir := cfg.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "idgraph-bench-badger-")
		if err != nil {
			return BadgerResult{}, err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	db, err := badger.Open(BadgerOptions(dir))
	if err != nil {
		return BadgerResult{}, fmt.Errorf("open badger: %w", err)
	}
	closed := false
	defer func() {
		if !closed {
			db.Close()
		}
	}()

	res := BadgerResult{Keys: cfg.Keys}
	value := make([]byte, cfg.ValueSize)
	start := time.Now()
	wb := db.NewWriteBatch()
	for i := 0; i < cfg.Keys; i++ {
		if i%65536 == 0 && ctx.Err() != nil {
			wb.Cancel()
			return res, ctx.Err()
		}
		binary.BigEndian.PutUint64(value, uint64(i))
		if err := wb.Set(badgerKey(i), value); err != nil {
			wb.Cancel()
			return res, fmt.Errorf("badger write: %w", err)
		}
	}
	if err := wb.Flush(); err != nil {
		return res, fmt.Errorf("badger flush: %w", err)
	}
	elapsed := time.Since(start)
	res.WriteSeconds = elapsed.Seconds()
	res.WritesPerSec = float64(cfg.Keys) / elapsed.Seconds()

	rec := NewRecorder(0)
	n, d, err := badgerReads(ctx, db, cfg, 1, rec)
	if err != nil {
		return res, err
	}
	res.Reads, res.ReadSeconds = cfg.Reads, d.Seconds()
	res.ReadsPerSec = float64(n) / d.Seconds()
	res.ReadP50, res.ReadP99, res.ReadP999 = rec.Percentile(50), rec.Percentile(99), rec.Percentile(99.9)
	n, d, err = badgerReads(ctx, db, cfg, 2, nil)
	if err != nil {
		return res, err
	}
	res.ReadsPerSec2, res.ReadSeconds2 = float64(n)/d.Seconds(), d.Seconds()
	closed = true
	if err := db.Close(); err != nil {
		return res, fmt.Errorf("close badger: %w", err)
	}
	res.DiskBytes = diskUsage(dir)
	return res, nil
}

// badgerKey is "i" "email" "user<i>@example.com": the identifier index key.
func badgerKey(i int) []byte {
	return fmt.Appendf(nil, "iemail\x00user%09d@example.com", i)
}

// badgerReads runs cfg.Reads random point reads in each of g goroutines.
func badgerReads(ctx context.Context, db *badger.DB, cfg BadgerConfig, g int, rec *Recorder) (int, time.Duration, error) {
	var wg sync.WaitGroup
	errs := make([]error, g)
	start := time.Now()
	for w := 0; w < g; w++ {
		wg.Go(func() {
			r := newRNG(uint64(w) + 1)
			keys := make([][]byte, 1024) // made ahead, so formatting is not timed
			for done := 0; done < cfg.Reads; {
				batch := min(len(keys), cfg.Reads-done)
				for i := range batch {
					keys[i] = badgerKey(r.intn(cfg.Keys))
				}
				if ctx.Err() != nil {
					errs[w] = ctx.Err()
					return
				}
				t := time.Now()
				for _, k := range keys[:batch] {
					err := db.View(func(txn *badger.Txn) error {
						item, err := txn.Get(k)
						if err != nil {
							return err
						}
						return item.Value(func([]byte) error { return nil })
					})
					if err != nil {
						errs[w] = fmt.Errorf("badger get: %w", err)
						return
					}
					if rec != nil {
						t = rec.Time(t)
					}
				}
				done += batch
			}
		})
	}
	wg.Wait()
	return g * cfg.Reads, time.Since(start), errors.Join(errs...)
}

// diskUsage returns the bytes allocated to the files under dir, as du
// counts them (value logs are sparse, so their size overstates).
func diskUsage(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if info, err := d.Info(); err == nil {
			n += allocated(info)
		}
		return nil
	})
	return n
}
