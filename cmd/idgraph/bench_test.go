package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idgraph/idgraph/bench"
)

// TestBenchQuickReport runs the whole suite on a tiny population and checks
// the report's shape: it parses, every workload has a throughput and
// latencies, accuracy and goals are there, and the Markdown and charts are
// written. PostgreSQL is skipped (a cluster takes seconds to create); Redis
// and redis-benchmark are used when installed and skipped otherwise.
func TestBenchQuickReport(t *testing.T) {
	out := t.TempDir()
	stdout, stderr, code := runCmd(t, "bench", "--quick", "--people", "150", "--requests", "2000", "--skip-postgres", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "GOAL") || !strings.Contains(stdout, "ingest-embedded") {
		t.Errorf("summary lacks the goals or workloads:\n%s", stdout)
	}

	f, err := os.Open(filepath.Join(out, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rep, err := bench.ReadReport(f)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Stats == nil || rep.Stats.People != 150 || rep.Machine.Cores == 0 {
		t.Errorf("population or machine missing: %+v %+v", rep.Stats, rep.Machine)
	}

	have := map[string]bool{}
	for _, w := range rep.Workloads {
		have[w.Name] = true
		if w.Ops <= 0 || w.Throughput <= 0 || w.P50 <= 0 || w.P99 < w.P50 {
			t.Errorf("workload %s incomplete: %+v", w.Name, w)
		}
		if w.Name != "who-tcp" && !strings.HasPrefix(w.Name, "who-tcp-") && w.P999 < w.P99 {
			t.Errorf("workload %s: p99.9 %v below p99 %v", w.Name, w.P999, w.P99)
		}
	}
	for _, name := range []string{"ingest-embedded", "ingest-tcp", "who-embedded", "merge-embedded", "merge-batched", "segment-abandoned-cart", "mixed-who90-track10", "who-during-ingest", "ingest-http", "who-http", "who-statement", "who-statement-computed5", "compute-backfill", "ingest-embedded-computed5", "ingest-embedded-watch3", "changes-read", "webhook-lag"} {
		if !have[name] {
			t.Errorf("no workload %s", name)
		}
	}
	for _, s := range bench.Segments {
		if !have["segment-"+s.Name] {
			t.Errorf("no workload for segment %s", s.Name)
		}
	}
	if _, err := exec.LookPath("redis-benchmark"); err == nil {
		if !have["who-tcp"] || !have["who-tcp-P16"] {
			t.Errorf("redis-benchmark is installed but WHO over TCP did not run")
		}
	}

	base := map[string]bool{}
	for _, w := range rep.Baselines {
		base[w.Name] = true
		if w.Throughput <= 0 {
			t.Errorf("baseline %s has no throughput: %+v", w.Name, w)
		}
	}
	if !base["badger-writes"] || !base["badger-gets"] {
		t.Errorf("no Badger baseline: %v", base)
	}
	if base["postgres-abandoned-cart"] {
		t.Error("PostgreSQL ran despite --skip-postgres")
	}

	if len(rep.Accuracy) < 2 {
		t.Fatalf("accuracy %+v", rep.Accuracy)
	}
	for _, a := range rep.Accuracy {
		if a.Scored == 0 || a.F1 <= 0 || a.F1 > 1 {
			t.Errorf("accuracy %s: %+v", a.Name, a)
		}
	}
	if len(rep.Goals) < 6 {
		t.Errorf("goals %+v", rep.Goals)
	}
	for _, g := range rep.Goals {
		if g.Target == "" || g.Status == "" {
			t.Errorf("goal %+v", g)
		}
	}

	md, err := os.ReadFile(filepath.Join(out, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## Goals", "## Workloads", "## Baselines", "## Accuracy", "![throughput](throughput.svg)"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	for _, name := range []string{"latency.svg", "latency.png", "throughput.svg", "throughput.png"} {
		if st, err := os.Stat(filepath.Join(out, name)); err != nil || st.Size() == 0 {
			t.Errorf("chart %s: %v", name, err)
		}
	}
}

func TestParseScale(t *testing.T) {
	for in, want := range map[string]int{"2000": 2000, "100k": 100_000, "1m": 1_000_000, "1.5M": 1_500_000} {
		if got, err := parseScale(in); err != nil || got != want {
			t.Errorf("parseScale(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "x", "-3", "k"} {
		if _, err := parseScale(bad); err == nil {
			t.Errorf("parseScale(%q) succeeded", bad)
		}
	}
}

// TestIngestRateOverAPrefix checks the embedded rate a capped ingest is
// compared with: events over the elapsed time of the first chunk that
// reaches the cap, or the whole ingest when the cap covers it.
func TestIngestRateOverAPrefix(t *testing.T) {
	st := ingestStats{records: 3000, events: 2400, elapsed: 6 * time.Second, marks: []ingestMark{
		{records: 1000, events: 900, elapsed: time.Second},
		{records: 2000, events: 1700, elapsed: 4 * time.Second},
		{records: 3000, events: 2400, elapsed: 6 * time.Second},
	}}
	for _, c := range []struct {
		n       int64
		rate    float64
		covered int64
	}{
		{0, 400, 3000},
		{500, 900, 1000},
		{1000, 900, 1000},
		{1001, 425, 2000},
		{2999, 400, 3000},
		{3000, 400, 3000},
		{1 << 40, 400, 3000},
	} {
		if rate, covered := st.rateOver(c.n); rate != c.rate || covered != c.covered {
			t.Errorf("rateOver(%d) = %v over %d records; want %v over %d", c.n, rate, covered, c.rate, c.covered)
		}
	}
	if rate, covered := (ingestStats{}).rateOver(10); rate != 0 || covered != 0 {
		t.Errorf("an empty ingest's rate = %v over %d; want 0 over 0", rate, covered)
	}
}

// TestBenchScaling lays two saved reports side by side through the command
// line, and refuses a directory without a report.
func TestBenchScaling(t *testing.T) {
	dirs := []string{t.TempDir(), t.TempDir()}
	for i, people := range []int{1000, 4000} {
		r := &bench.Report{Stats: &bench.Stats{People: people, Events: people * 20}, Workloads: []bench.Workload{
			{Name: "ingest-embedded", Throughput: float64(20_000 - 5_000*i)},
		}}
		f, err := os.Create(filepath.Join(dirs[i], "report.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := r.WriteJSON(f); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	out := t.TempDir()
	stdout, stderr, code := runCmd(t, "bench", "--scaling", dirs[1]+","+dirs[0], "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	want := "| ingest, embedded (events/s) | 20\u202f000 | 15\u202f000 | 0.75× |\n"
	if !strings.Contains(stdout, want) {
		t.Errorf("stdout lacks %q:\n%s", want, stdout)
	}
	for _, f := range []string{"scaling.md", "scaling.json", "scaling.svg", "scaling.png"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	if _, stderr, code := runCmd(t, "bench", "--scaling", dirs[0]+","+t.TempDir(), "--out", out); code != 1 || !strings.Contains(stderr, "report.json") {
		t.Errorf("a directory without a report: exit %d, %q", code, stderr)
	}
}
