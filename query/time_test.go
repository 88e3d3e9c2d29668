package query

import (
	"math/rand/v2"
	"testing"
	"time"
)

// fmtTime puts the digits in place itself; it must agree with time.Format
// everywhere, including the years it hands back to time.Format.
func TestFmtTimeIsTheLayout(t *testing.T) {
	const layout = "2006-01-02T15:04:05.000Z"
	times := []time.Time{
		time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999_999_999, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-1, 6, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 11, 30, 19, 4, 5, 7_000_000, time.FixedZone("MSK", 3*3600)),
		time.UnixMilli(-1).UTC(),
		time.Date(1969, 12, 31, 23, 59, 59, 999_500_000, time.UTC),
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 10000 {
		times = append(times, time.Unix(rng.Int64N(400e9)-200e9, rng.Int64N(1e9)))
	}
	for _, tm := range times {
		if got, want := fmtTime(tm), tm.UTC().Format(layout); got != want {
			t.Fatalf("fmtTime(%v) = %q, want %q", tm, got, want)
		}
	}
	if got := fmtTime(time.Time{}); got != "" {
		t.Fatalf("fmtTime(zero) = %q, want empty", got)
	}
}
