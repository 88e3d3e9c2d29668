package bench

import (
	"bytes"
	"math"
	"os"
	"strings"
	"testing"
)

func TestGoalOutcomes(t *testing.T) {
	tests := []struct {
		g      Goal
		status GoalStatus
		margin string
	}{
		{GoalAtLeast("ingest", 150_000, 100_000, FormatCount), GoalMet, "1.50× the target (+50.0%)"},
		{GoalAtLeast("ingest", 25_000, 100_000, FormatCount), GoalMissed, "75% short (0.25× the target)"},
		{GoalAtMost("p50", 2, 5, FormatMillis), GoalMet, "60% under (0.40× the target)"},
		{GoalAtMost("p50", 10, 5, FormatMillis), GoalMissed, "100% over (2.00× the target)"},
		{GoalAtLeast("ratio", math.NaN(), 0.8, FormatRatio), GoalNotMeasured, ""},
		{GoalAtMost("rss", 0, 1<<30, FormatBytes), GoalNotMeasured, ""},
		{GoalSkipped("pg", "≥ 100×", "not installed"), GoalNotMeasured, ""},
	}
	for _, tc := range tests {
		if tc.g.Status != tc.status || tc.g.Margin != tc.margin {
			t.Errorf("%s: %s %q, want %s %q", tc.g.Name, tc.g.Status, tc.g.Margin, tc.status, tc.margin)
		}
	}
	g := GoalAtLeast("ingest", 150_000, 100_000, FormatCount)
	if g.Target != "≥ 100\u202f000" || g.Value != "150\u202f000" {
		t.Errorf("target %q value %q", g.Target, g.Value)
	}
	g.Indicative = true
	if g.statusText() != "met (at this scale)" {
		t.Errorf("indicative status %q", g.statusText())
	}
}

func TestReportGoalsAndSummary(t *testing.T) {
	r := sampleReport()
	r.LoadBefore, r.LoadAfter = "1.50 1.20 0.90", "2.00 1.60 1.00"
	r.Goals = []Goal{
		GoalAtLeast("ingest, embedded (events/s)", 25_000, 100_000, FormatCount),
		func() Goal {
			g := GoalAtMost("p50 at 1M", 0.5, 5, FormatMillis)
			g.Indicative, g.Note = true, "measured at 100k"
			return g
		}(),
	}
	r.Compare()
	var md bytes.Buffer
	if err := r.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Load average (1, 5, 15 min): 1.50 1.20 0.90 at the start, 2.00 1.60 1.00 at the end.",
		"## Goals", "| ingest, embedded (events/s) | ≥ 100\u202f000 | 25\u202f000 | MISSED | 75% short (0.25× the target) |",
		"| p50 at 1M | ≤ 5 ms | 0.5 ms | met (at this scale) |", "- **p50 at 1M**: measured at 100k",
	} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("Markdown lacks %q:\n%s", want, md.String())
		}
	}
	var sum bytes.Buffer
	if err := r.WriteSummary(&sum); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"GOAL", "MISSED", "who-tcp", "0.50× redis-get", "redis-get", "naive | components", "- a note"} {
		if !strings.Contains(sum.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, sum.String())
		}
	}
}

func TestProcessFigures(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc")
	}
	if PeakRSS() <= 0 {
		t.Error("no peak RSS")
	}
	if LoadAverage() == "" {
		t.Error("no load average")
	}
	if n := DiskUsage(t.TempDir()); n != 0 {
		t.Errorf("empty directory uses %d bytes", n)
	}
}
