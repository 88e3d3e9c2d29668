package bench

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func sampleReport() *Report {
	r := NewReport("test run")
	r.Workloads = []Workload{
		{Name: "who-tcp", Unit: "requests", Ops: 200000, Seconds: 2, Throughput: 100000, P50: 40 * time.Microsecond, P99: 300 * time.Microsecond, P999: 2 * time.Millisecond, Baseline: "redis-get"},
		{Name: "ingest", Unit: "events", Ops: 1000, Seconds: 0.5, Throughput: 2000, Baseline: "badger-writes", Note: "batches of 1000"},
	}
	r.Baselines = []Workload{
		{Name: "redis-get", Unit: "requests", Ops: 200000, Seconds: 1, Throughput: 200000, P50: 20 * time.Microsecond, P99: 100 * time.Microsecond, P999: 500 * time.Microsecond},
		{Name: "badger-writes", Unit: "keys", Ops: 1000, Seconds: 0.004, Throughput: 250000},
	}
	r.Accuracy = []Accuracy{{Name: "naive | components", Precision: 0.005, Recall: 0.54, F1: 0.0099}}
	r.Notes = []string{"a note"}
	return r
}

func TestReportCompareAndJSON(t *testing.T) {
	r := sampleReport()
	r.Compare()
	if r.Workloads[0].Ratio != 0.5 || r.Workloads[1].Ratio != 0.008 {
		t.Fatalf("ratios %v, %v; want 0.5, 0.008", r.Workloads[0].Ratio, r.Workloads[1].Ratio)
	}
	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"machine"`, `"cores"`, `"go_version"`, `"workloads"`, `"baselines"`, `"p50_ns": 40000`, `"ratio": 0.5`, `"accuracy"`} {
		if !strings.Contains(buf.String(), key) {
			t.Errorf("JSON lacks %s:\n%s", key, buf.String())
		}
	}
	back, err := ReadReport(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if back.Workloads[0] != r.Workloads[0] || back.Machine != r.Machine {
		t.Errorf("round trip changed the report: %+v", back.Workloads[0])
	}
}

func TestReportMarkdown(t *testing.T) {
	r := sampleReport()
	r.Compare()
	cfg := DefaultConfig()
	r.Population, r.Stats = &cfg, &Stats{People: 100000, Events: 2000000}
	var buf bytes.Buffer
	if err := r.WriteMarkdown(&buf, "latency.svg"); err != nil {
		t.Fatal(err)
	}
	md := buf.String()
	for _, want := range []string{
		"# test run", "## Machine", "| CPU | cores | memory | Go | OS |", "## Population", "100\u202f000",
		"## Workloads", "| who-tcp | 200\u202f000 requests | 2.00 | 100\u202f000/s | 40µs | 300µs | 2ms | redis-get | 0.50× |",
		"## Baselines", "| redis-get |", "## Accuracy", `| naive \| components | 0.0050 | 0.5400 |`,
		"![latency](latency.svg)", "- a note", "batches of 1000",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("Markdown lacks %q:\n%s", want, md)
		}
	}
}

func TestReportCharts(t *testing.T) {
	dir := t.TempDir()
	paths, err := sampleReport().WriteCharts(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) != 2 {
		t.Fatalf("charts %v, want latency and throughput", paths)
	}
	for _, name := range []string{"latency.svg", "latency.png", "throughput.svg", "throughput.png"} {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestRecorderPercentiles(t *testing.T) {
	r := NewRecorder(0)
	for i := 1000; i >= 1; i-- {
		r.Record(time.Duration(i) * time.Microsecond)
	}
	for _, tc := range []struct {
		q    float64
		want time.Duration
	}{{50, 500 * time.Microsecond}, {99, 990 * time.Microsecond}, {99.9, 999 * time.Microsecond}, {100, 1000 * time.Microsecond}, {0.1, time.Microsecond}} {
		if got := r.Percentile(tc.q); got != tc.want {
			t.Errorf("p%v = %v, want %v", tc.q, got, tc.want)
		}
	}
	if r.Mean() != 500500*time.Nanosecond || r.Count() != 1000 {
		t.Errorf("mean %v count %d", r.Mean(), r.Count())
	}

	// A bounded reservoir still estimates well, and merging keeps exact counts.
	small, other := NewRecorder(1000), NewRecorder(1000)
	for i := 0; i < 100000; i++ {
		small.Record(time.Duration(i))
		other.Record(time.Duration(100000 + i))
	}
	small.Merge(other)
	if small.Count() != 200000 || small.Max() != 199999 {
		t.Errorf("merged count %d max %v", small.Count(), small.Max())
	}
	if p := small.Percentile(50); p < 90000 || p > 110000 {
		t.Errorf("merged p50 %v, want about 100000", int64(p))
	}
}
