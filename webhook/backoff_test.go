package webhook

import (
	"testing"
	"time"
)

// TestBackoffDoublesUpToTheCap: the wait after the n-th failure in a row
// is drawn between half and all of 1 s doubled n−1 times, at most 5 min.
func TestBackoffDoublesUpToTheCap(t *testing.T) {
	w := &Webhook{opts: Options{URL: "http://example.com"}.withDefaults()}
	for _, c := range []struct {
		n    int
		step time.Duration
	}{
		{1, time.Second}, {2, 2 * time.Second}, {3, 4 * time.Second}, {9, 256 * time.Second},
		{10, 5 * time.Minute}, {11, 5 * time.Minute}, {1000, 5 * time.Minute},
	} {
		for range 200 {
			if d := w.backoff(c.n); d < c.step/2 || d > c.step {
				t.Fatalf("backoff(%d) = %v, want within [%v, %v]", c.n, d, c.step/2, c.step)
			}
		}
	}
}
