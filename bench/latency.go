package bench

import (
	"math"
	"slices"
	"time"
)

// Recorder collects latencies and reports percentiles. It keeps a uniform
// random sample of at most its capacity (reservoir sampling), so
// percentiles are exact up to that many observations and a close estimate
// beyond; count, mean, min and max are always exact.
//
// A Recorder is not safe for concurrent use: give each goroutine its own and
// [Recorder.Merge] them at the end.
type Recorder struct {
	samples  []time.Duration
	capacity int
	count    int64
	sum      time.Duration
	min, max time.Duration
	rng      rng
	sorted   bool
}

// DefaultRecorderCapacity is the sample size of NewRecorder(0).
const DefaultRecorderCapacity = 1 << 17

// NewRecorder returns a recorder keeping at most capacity samples
// (DefaultRecorderCapacity when capacity ≤ 0).
func NewRecorder(capacity int) *Recorder {
	if capacity <= 0 {
		capacity = DefaultRecorderCapacity
	}
	return &Recorder{capacity: capacity, rng: rng{s: 0x5eed}}
}

// Record adds one observation.
func (r *Recorder) Record(d time.Duration) {
	r.count++
	r.sum += d
	if r.count == 1 || d < r.min {
		r.min = d
	}
	if d > r.max {
		r.max = d
	}
	r.sorted = false
	if len(r.samples) < r.capacity {
		r.samples = append(r.samples, d)
		return
	}
	if i := r.rng.intn(int(min(r.count, math.MaxInt))); i < r.capacity {
		r.samples[i] = d
	}
}

// Time records the time since start and returns now, for loops that time
// consecutive operations.
func (r *Recorder) Time(start time.Time) time.Time {
	now := time.Now()
	r.Record(now.Sub(start))
	return now
}

// Merge adds o's observations to r. When the two samples together exceed
// r's capacity, each side contributes in proportion to its count.
func (r *Recorder) Merge(o *Recorder) {
	if o.count == 0 {
		return
	}
	total := r.count + o.count
	if len(r.samples)+len(o.samples) > r.capacity {
		keepR := int(float64(r.capacity) * float64(r.count) / float64(total))
		keepO := min(r.capacity-keepR, len(o.samples))
		keepR = min(r.capacity-keepO, len(r.samples))
		r.samples = append(r.subsample(r.samples, keepR), r.subsample(o.samples, keepO)...)
	} else {
		r.samples = append(r.samples, o.samples...)
	}
	if r.count == 0 || o.min < r.min {
		r.min = o.min
	}
	r.max = max(r.max, o.max)
	r.count, r.sum = total, r.sum+o.sum
	r.sorted = false
}

// subsample returns k elements of s chosen uniformly (in a new slice).
func (r *Recorder) subsample(s []time.Duration, k int) []time.Duration {
	c := slices.Clone(s)
	for i := 0; i < k; i++ {
		j := i + r.rng.intn(len(c)-i)
		c[i], c[j] = c[j], c[i]
	}
	return c[:k]
}

// Count returns the number of observations.
func (r *Recorder) Count() int64 { return r.count }

// Mean returns the mean observation.
func (r *Recorder) Mean() time.Duration {
	if r.count == 0 {
		return 0
	}
	return r.sum / time.Duration(r.count)
}

// Max returns the largest observation.
func (r *Recorder) Max() time.Duration { return r.max }

// Percentile returns the q-th percentile (0 < q ≤ 100) by nearest rank: the
// smallest sample not exceeded by q% of the samples. Zero when empty.
func (r *Recorder) Percentile(q float64) time.Duration {
	n := len(r.samples)
	if n == 0 {
		return 0
	}
	if q >= 100 {
		return r.max
	}
	if !r.sorted {
		slices.Sort(r.samples)
		r.sorted = true
	}
	i := int(math.Ceil(q/100*float64(n)-1e-9)) - 1 // 1e-9: 99.9/100*1000 is 999.0000000000001
	return r.samples[max(0, min(i, n-1))]
}

// Latency summarises a recorder.
type Latency struct {
	Count int64         `json:"count"`
	Mean  time.Duration `json:"mean_ns"`
	P50   time.Duration `json:"p50_ns"`
	P90   time.Duration `json:"p90_ns"`
	P99   time.Duration `json:"p99_ns"`
	P999  time.Duration `json:"p999_ns"`
	Max   time.Duration `json:"max_ns"`
}

// Summary returns the count, mean and usual percentiles.
func (r *Recorder) Summary() Latency {
	return Latency{
		Count: r.count, Mean: r.Mean(),
		P50: r.Percentile(50), P90: r.Percentile(90), P99: r.Percentile(99),
		P999: r.Percentile(99.9), Max: r.max,
	}
}
