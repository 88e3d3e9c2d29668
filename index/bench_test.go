package index

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
)

// The synthetic population of the benchmarks: IDGRAPH_BENCH_PROFILES
// profiles (default 100000) with IDGRAPH_BENCH_EVENTS events in total
// (default 20 per profile) over 365 days and 20 event names of Zipf-like
// popularity; 60% hold an email, 40% granted email consent.
var bench struct {
	once     sync.Once
	x        *Index
	now      int64
	profiles int
	events   int
	names    []string
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// benchEvents returns the events of profile p; deterministic, so benchmarks
// can name a profile's events without storing them.
func benchEvents(p uint32) []Event {
	r := rand.New(rand.NewPCG(uint64(p), 42))
	avg := bench.events / bench.profiles
	n := r.IntN(2*avg + 1)
	evs := make([]Event, n)
	for i := range evs {
		// Name i with weight 1/(i+1).
		u := r.Float64() * harmonic20
		k := 0
		for acc := 1.0; acc < u && k < 19; acc += 1 / float64(k+2) {
			k++
		}
		evs[i] = Event{
			Name:   bench.names[k],
			Source: testSources[r.IntN(len(testSources))],
			Time:   bench.now - r.Int64N(365*dayMS),
		}
	}
	return evs
}

var harmonic20 = func() float64 {
	h := 0.0
	for i := 1; i <= 20; i++ {
		h += 1 / float64(i)
	}
	return h
}()

func benchIndex(b *testing.B) *Index {
	bench.once.Do(func() {
		bench.profiles = envInt("IDGRAPH_BENCH_PROFILES", 100_000)
		bench.events = envInt("IDGRAPH_BENCH_EVENTS", 20*bench.profiles)
		bench.names = []string{"page_view", "product_view", "add_to_cart", "search", "purchase"}
		for i := len(bench.names); i < 20; i++ {
			bench.names = append(bench.names, fmt.Sprintf("event_%02d", i))
		}
		bench.now = day0 + 365*dayMS + 15*3600_000 + 30*60_000 // 15:30 UTC
		var before runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		start := time.Now()
		x := New()
		r := rand.New(rand.NewPCG(7, 7))
		for p := uint32(0); p < uint32(bench.profiles); p++ {
			x.Add(p, benchEvents(p)...)
			a := Attrs{Consent: map[string]bool{}}
			if r.IntN(10) < 6 {
				a.Types = []string{"email"}
			}
			if r.IntN(10) < 4 {
				a.Consent["email"] = true
			}
			x.SetAttrs(p, a)
		}
		built := time.Since(start)
		var after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&after)
		st := x.Stats()
		fmt.Fprintf(os.Stderr, "bench index: %d profiles, %d events, %d day buckets, built in %v; "+
			"Stats.Bytes %.1f MiB (%.1f B/event); heap growth %.1f MiB (%.1f B/event)\n",
			st.Profiles, st.Events, st.DayBuckets, built.Round(time.Millisecond),
			float64(st.Bytes)/(1<<20), float64(st.Bytes)/float64(st.Events),
			float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), float64(after.HeapAlloc-before.HeapAlloc)/float64(st.Events))
		bench.x = x
	})
	return bench.x
}

// within returns the [From, To] of WITHIN n d at bench.now.
func within(n int) (int64, int64) {
	d, _ := splitTime(bench.now)
	return (d - int64(n-1)) * dayMS, bench.now
}

// timed runs f b.N times and reports the median duration as p50-ns.
func timed(b *testing.B, f func()) {
	durs := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t := time.Now()
		f()
		durs = append(durs, time.Since(t))
	}
	b.StopTimer()
	slices.Sort(durs)
	b.ReportMetric(float64(durs[len(durs)/2].Nanoseconds()), "p50-ns")
}

func (x *Index) dropCache() {
	x.mu.Lock()
	x.cache.m, x.cache.n = nil, 0
	x.mu.Unlock()
}

func BenchmarkDidWithin7d(b *testing.B) {
	x := benchIndex(b)
	for _, days := range []int{7, 30, 365} {
		from, to := within(days)
		q := DidQuery{Name: "add_to_cart", From: from, To: to}
		b.Run(fmt.Sprintf("%dd/cached", days), func(b *testing.B) {
			timed(b, func() { x.Did(q) })
		})
		b.Run(fmt.Sprintf("%dd/uncached", days), func(b *testing.B) {
			timed(b, func() { b.StopTimer(); x.dropCache(); b.StartTimer(); x.Did(q) })
		})
		b.Run(fmt.Sprintf("%dd/from-source", days), func(b *testing.B) {
			q := q
			q.Source = "app"
			timed(b, func() { x.Did(q) })
		})
		b.Run(fmt.Sprintf("%dd/>=3-times", days), func(b *testing.B) {
			q := q
			q.Cmp, q.N = ">=", 3
			timed(b, func() { x.Did(q) })
		})
	}
}

// BenchmarkAbandonedCart evaluates DID add_to_cart WITHIN 7d AND NOT DID
// purchase WITHIN 7d AND HAS email AND CONSENT email with the index's
// primitives, and the same roaring operations over precomputed bitmaps (the
// floor).
func BenchmarkAbandonedCart(b *testing.B) {
	x := benchIndex(b)
	from, to := within(7)
	cartQ := DidQuery{Name: "add_to_cart", From: from, To: to}
	buyQ := DidQuery{Name: "purchase", From: from, To: to}
	eval := func() uint64 {
		r := x.Did(cartQ)
		r.AndNot(x.Did(buyQ))
		r.And(x.Has("email"))
		return r.AndCardinality(x.Consent("email"))
	}
	cart, buy, email, consent := x.Did(cartQ), x.Did(buyQ), x.Has("email"), x.Consent("email")
	floor := func() uint64 {
		r := roaring.AndNot(cart, buy)
		r.And(email)
		return r.AndCardinality(consent)
	}
	if a, f := eval(), floor(); a != f {
		b.Fatalf("index says %d, floor %d", a, f)
	}
	b.Run("index", func(b *testing.B) { timed(b, func() { eval() }) })
	b.Run("index-uncached", func(b *testing.B) {
		timed(b, func() { b.StopTimer(); x.dropCache(); b.StartTimer(); eval() })
	})
	b.Run("floor", func(b *testing.B) { timed(b, func() { floor() }) })
}

// BenchmarkMove10Events moves ten events of one profile to another (a
// merge) and back, alternating, so the index stays the same size.
func BenchmarkMove10Events(b *testing.B) {
	x := benchIndex(b)
	var from uint32
	var evs []Event
	for p := uint32(0); ; p++ {
		if evs = benchEvents(p); len(evs) >= 10 {
			from, evs = p, evs[:10]
			break
		}
	}
	to := from + 1
	i := 0
	timed(b, func() {
		if i%2 == 0 {
			x.Move(from, to, evs)
		} else {
			x.Move(to, from, evs)
		}
		i++
	})
	if i%2 == 1 {
		x.Move(to, from, evs)
	}
}
