package load

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestSummaryCounts(t *testing.T) {
	var s Summary
	s.Add(Record{Event: "view"})
	s.Add(Record{Event: "buy"})
	s.Add(Record{})
	s.Reject()
	s.IDsCreated, s.Refused = 1500, 2
	s.Elapsed = 1250 * time.Millisecond
	if s.Lines != 4 || s.Events != 2 || s.Merges != 1 || s.Rejected != 1 {
		t.Errorf("%+v", s)
	}
	if got := s.EventsPerSecond(); got != 1.6 {
		t.Errorf("EventsPerSecond %v, want 1.6", got)
	}
	want := "4 lines in 1.25s: 2 events, 1 merges, 1 rejected; 1,500 ids created, 2 links refused; 2 events/s"
	if s.String() != want {
		t.Errorf("got  %s\nwant %s", s, want)
	}
	if (Summary{Events: 5}).EventsPerSecond() != 0 {
		t.Error("rate without elapsed time should be 0")
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 2771: "2,771", 1234567: "1,234,567", -1234: "-1,234"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %s, want %s", n, got, want)
		}
	}
}

// fakeClock is a clock the test moves by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func TestProgressLinesEveryInterval(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	var out bytes.Buffer
	p := NewProgress(ProgressOptions{Out: &out, Total: 6_000_000, Style: ProgressLines, Interval: 10 * time.Second, Now: clock.now})
	s := Summary{Lines: 10, Events: 10}
	p.Update(100, s)
	clock.t = clock.t.Add(9 * time.Second)
	p.Update(1_000, s)
	if out.Len() != 0 {
		t.Fatalf("printed before the interval: %q", out.String())
	}
	clock.t = clock.t.Add(1 * time.Second)
	p.Update(1_500_000, Summary{Lines: 10_000, Events: 9_990, Rejected: 10})
	clock.t = clock.t.Add(5 * time.Second)
	p.Update(2_000_000, Summary{Lines: 12_000, Events: 11_990, Rejected: 10})
	clock.t = clock.t.Add(5 * time.Second)
	p.Update(3_000_000, Summary{Lines: 20_000, Events: 20_000})
	p.Finish()
	want := "loading: 1.5 MB of 6.0 MB (25%), 10,000 lines, 9,990 events, 10 rejected, 999 events/s\n" +
		"loading: 3.0 MB of 6.0 MB (50%), 20,000 lines, 20,000 events, 0 rejected, 1,000 events/s\n"
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
}

func TestProgressLinesUnknownTotal(t *testing.T) {
	clock := &fakeClock{t: time.Unix(0, 0)}
	var out bytes.Buffer
	p := NewProgress(ProgressOptions{Out: &out, Interval: time.Second, Now: clock.now})
	clock.t = clock.t.Add(2 * time.Second)
	p.Update(999, Summary{Lines: 1, Events: 1})
	want := "loading: 999 B, 1 lines, 1 events, 0 rejected, 1 events/s\n"
	if out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
}

func TestProgressOffPrintsNothing(t *testing.T) {
	var out bytes.Buffer
	p := NewProgress(ProgressOptions{Out: &out, Style: ProgressOff, Interval: time.Nanosecond})
	p.Update(5, Summary{})
	p.Finish()
	if out.Len() != 0 {
		t.Errorf("printed %q", out.String())
	}
}

// TestProgressBarDraws checks the bar is drawn to the writer and completed.
func TestProgressBarDraws(t *testing.T) {
	var out bytes.Buffer
	p := NewProgress(ProgressOptions{Out: &out, Style: ProgressBar, Total: 2_000_000})
	p.Update(1_000_000, Summary{})
	p.Finish()
	got := out.String()
	if !strings.Contains(got, "loading") || !strings.Contains(got, "100%") || !strings.HasSuffix(got, "\n") {
		t.Errorf("bar output %q", got)
	}
}

// TestAutoStyleIsLinesOffTerminal: a buffer is not a terminal.
func TestAutoStyleIsLinesOffTerminal(t *testing.T) {
	var out bytes.Buffer
	p := NewProgress(ProgressOptions{Out: &out})
	if p.bar != nil {
		t.Error("drew a bar to a buffer")
	}
}

func TestByteSize(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 999: "999 B", 1000: "1.0 kB", 1_500_000: "1.5 MB", 3_200_000_000: "3.2 GB"} {
		if got := byteSize(n); got != want {
			t.Errorf("byteSize(%d) = %s, want %s", n, got, want)
		}
	}
}
