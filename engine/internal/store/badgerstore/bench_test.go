package badgerstore_test

import (
	"fmt"
	"testing"

	"github.com/dgraph-io/badger/v4"
)

// The raw Badger baselines that the engine's benchmarks are compared with
// (go test -bench . ./engine/... runs both).

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

// BenchmarkUnlinkLargeComponent: UNLINK inside one component whose history
// is 16,000 link records over 260 identifiers — re-resolution replays the
