package bench

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func scalingReport(people int, ingest float64, disk int64, cartP50 time.Duration) *Report {
	return &Report{
		Title:      "run",
		Started:    time.Date(2026, 11, 30, 14, 0, 0, 0, time.UTC),
		Stats:      &Stats{People: people, Events: people * 20},
		LoadBefore: "0.50", LoadAfter: "1.50",
		Workloads: []Workload{
			{Name: "ingest-embedded", Throughput: ingest, P99: 100 * time.Millisecond, Memory: 1 << 30, Disk: disk},
			{Name: "who-tcp", Throughput: 20_000},
			{Name: "segment-abandoned-cart", P50: cartP50, P99: 2 * cartP50, Memory: 2 << 30},
		},
		Baselines: []Workload{{Name: "redis-get", Throughput: 50_000}},
	}
}

// TestScalingTable lays three runs, given out of order, side by side: the
// columns by people, every figure's values and its last ÷ first growth,
// figures no run measured left out.
func TestScalingTable(t *testing.T) {
	s, err := NewScaling([]*Report{
		scalingReport(1_000_000, 12_000, 2000<<20, 2*time.Millisecond),
		scalingReport(100_000, 15_000, 200<<20, 200*time.Microsecond),
		scalingReport(300_000, 14_000, 600<<20, 600*time.Microsecond),
	})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := s.WriteMarkdown(&b, "results/scaling.svg"); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, want := range []string{
		"| figure | 100\u202f000 people | 300\u202f000 people | 1\u202f000\u202f000 people | last ÷ first |\n|---|---:|---:|---:|---:|\n",
		"| events | 2\u202f000\u202f000 | 6\u202f000\u202f000 | 20\u202f000\u202f000 | 10.00× |\n",
		"| ingest, embedded (events/s) | 15\u202f000 | 14\u202f000 | 12\u202f000 | 0.80× |\n",
		"| disk after the ingest | 200.0 MiB | 600.0 MiB | 2.0 GiB | 10.00× |\n",
		"| disk per event (bytes) | 105 | 105 | 105 | 1.00× |\n",
		"| peak RSS, highest of all workloads | 2.0 GiB | 2.0 GiB | 2.0 GiB | 1.00× |\n",
		"| WHO over TCP ÷ Redis GET, -P 1 | 0.40× | 0.40× | 0.40× | 1.00× |\n",
		"| segment abandoned-cart, p50 | 200µs | 600µs | 2ms | 10.00× |\n",
		"| segment abandoned-cart, p99 | 400µs | 1.2ms | 4ms | 10.00× |\n",
		"![scaling](results/scaling.svg)",
		"\nRuns: 100\u202f000 people at 2026-11-30T14:00:00Z (load average 0.50 → 1.50); 300\u202f000 people at",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the table lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "WHO embedded") || strings.Contains(md, "PostgreSQL") {
		t.Errorf("the table shows figures no run measured:\n%s", md)
	}
	dir := t.TempDir()
	svg, err := s.WriteChart(dir)
	if err != nil {
		t.Fatal(err)
	}
	if svg != filepath.Join(dir, "scaling.svg") {
		t.Errorf("chart at %s", svg)
	}
	for _, f := range []string{"scaling.svg", "scaling.png"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func TestScalingRefusesWhatItCannotCompare(t *testing.T) {
	for name, rs := range map[string][]*Report{
		"one report":      {scalingReport(100, 1, 1, 1)},
		"same population": {scalingReport(100, 1, 1, 1), scalingReport(100, 2, 2, 2)},
		"no population":   {scalingReport(100, 1, 1, 1), {Title: "empty"}},
	} {
		if _, err := NewScaling(rs); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestShortCount(t *testing.T) {
	for n, want := range map[int]string{100_000: "100k", 300_000: "300k", 1_000_000: "1M", 1_500_000: "1.5M", 2_000: "2k", 150: "150", 12_345: "12345"} {
		if got := shortCount(n); got != want {
			t.Errorf("shortCount(%d) = %q; want %q", n, got, want)
		}
	}
}
