package bench

import (
	"context"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func skipUnavailable(t *testing.T, err error) {
	t.Helper()
	if errors.Is(err, ErrUnavailable) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
}

func TestBadgerBaseline(t *testing.T) {
	res, err := RunBadger(context.Background(), BadgerConfig{Dir: t.TempDir(), Keys: 20000, Reads: 5000})
	if err != nil {
		t.Fatal(err)
	}
	if res.WritesPerSec <= 0 || res.ReadsPerSec <= 0 || res.ReadsPerSec2 <= 0 || res.ReadP50 <= 0 || res.DiskBytes <= 0 {
		t.Errorf("incomplete result %+v", res)
	}
	if ws := res.Workloads(); len(ws) != 3 || ws[0].Throughput != res.WritesPerSec {
		t.Errorf("workloads %+v", ws)
	}
}

func TestParseRedisBenchmarkCSV(t *testing.T) {
	out := `WARNING: something
"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
"GET key:__rand_int__","10752.69","0.361","0.048","0.103","2.159","4.959","10.255"
`
	rows, err := ParseRedisBenchmarkCSV([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	want := RedisBenchRow{Test: "GET key:__rand_int__", RPS: 10752.69, Avg: 361 * time.Microsecond, Min: 48 * time.Microsecond,
		P50: 103 * time.Microsecond, P95: 2159 * time.Microsecond, P99: 4959 * time.Microsecond, Max: 10255 * time.Microsecond}
	if len(rows) != 1 || rows[0] != want {
		t.Errorf("rows %+v, want %+v", rows, want)
	}
	if _, err := ParseRedisBenchmarkCSV([]byte("nothing\n")); err == nil {
		t.Error("no rows, no error")
	}
}

func TestRedisBaseline(t *testing.T) {
	res, err := RunRedis(context.Background(), RedisConfig{Keys: 1000, Requests: 5000, Clients: 4, Pipeline: 4})
	skipUnavailable(t, err)
	if res.Get.RPS <= 0 || res.Pipelined.RPS <= 0 || res.Get.P50 <= 0 {
		t.Errorf("incomplete result %+v", res)
	}
	if ws := res.Workloads(); len(ws) != 2 || ws[1].Name != "redis-get-P4" {
		t.Errorf("workloads %+v", ws)
	}
}

func TestPostgresBaseline(t *testing.T) {
	if _, err := PostgresBinDir(); err != nil {
		t.Skip(err)
	}
	if testing.Short() {
		t.Skip("starts a PostgreSQL cluster")
	}
	path := filepath.Join(t.TempDir(), "pop.ndjson")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	truth, _, err := Generate(Config{People: 300, Seed: 11, Days: 60}, f)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	res, err := RunPostgres(context.Background(), PostgresConfig{Path: path, Truth: truth, QueryRuns: 3})
	skipUnavailable(t, err)
	if res.Events == 0 || res.StitchIterations < 2 || res.Profiles == 0 || res.QueryP50 <= 0 || res.PropQueryP50 <= 0 || res.Accuracy == nil {
		t.Fatalf("incomplete result %+v", res)
	}

	// Label propagation finds the connected components without blocked
	// values: the same partition as Components with DropBlocked.
	in, _ := os.Open(path)
	defer in.Close()
	c := NewComponents()
	c.DropBlocked = true
	if err := ReadRecords(in, func(r *Record) error { c.Add(r.IDs...); return nil }); err != nil {
		t.Fatal(err)
	}
	want := ScoreMap(truth, c.Partition())
	want.Name = res.Accuracy.Name
	if *res.Accuracy != want || res.Profiles != c.Count() {
		t.Errorf("postgres accuracy %+v, %d profiles;\nunion-find gives %+v, %d", *res.Accuracy, res.Profiles, want, c.Count())
	}
	if n := len(maps.Collect(truth.All())); n == 0 {
		t.Error("empty truth")
	}
}
