package index

import (
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
)

func ms(s string) int64 {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UnixMilli()
}

func did(x *Index, q DidQuery) []uint32 { return ids(x.Did(q)) }

func want(t *testing.T, what string, got []uint32, want ...uint32) {
	t.Helper()
	if len(want) == 0 {
		want = nil
	}
	if !slices.Equal(got, want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

// TestDayBoundary checks that 23:59:59.999 and 00:00:00.000 land on their
// own days, for whole-day and partial-day windows, with and without a
// source filter and a count.
func TestDayBoundary(t *testing.T) {
	x := New()
	x.Add(1, Event{Name: "purchase", Source: "web", Time: ms("2026-03-09T23:59:59.999Z")})
	x.Add(2, Event{Name: "purchase", Source: "web", Time: ms("2026-03-10T00:00:00Z")})
	x.Add(3, Event{Name: "purchase", Source: "app", Time: ms("2026-03-10T23:59:59.999Z")})
	x.Add(4, Event{Name: "purchase", Source: "app", Time: ms("2026-03-11T00:00:00Z")})
	mar10 := ms("2026-03-10T00:00:00Z")
	for _, tc := range []struct {
		name     string
		from, to int64
		src      string
		want     []uint32
	}{
		{"whole day 10", mar10, mar10 + dayMS - 1, "", []uint32{2, 3}},
		{"whole day 10 by source", mar10, mar10 + dayMS - 1, "web", []uint32{2}},
		{"day 10 minus its first ms", mar10 + 1, mar10 + dayMS - 1, "", []uint32{3}},
		{"day 10 minus its last ms", mar10, mar10 + dayMS - 2, "", []uint32{2}},
		{"last ms of day 9 only", mar10 - 1, mar10 - 1, "", []uint32{1}},
		{"first ms of day 10 only", mar10, mar10, "", []uint32{2}},
		{"across midnight 9/10", mar10 - 1, mar10, "", []uint32{1, 2}},
		{"WITHIN 1d at 10T12:00", mar10, ms("2026-03-10T12:00:00Z"), "", []uint32{2}},
		{"WITHIN 2d at 11T00:00", mar10 - dayMS, ms("2026-03-11T00:00:00Z"), "", []uint32{1, 2, 3, 4}},
		{"WITHIN 2d at 10T23:59:59.998", mar10 - dayMS, mar10 + dayMS - 2, "", []uint32{1, 2}},
		{"ever up to 10T00:00", math.MinInt64, mar10, "", []uint32{1, 2}},
		{"since 10T23:59:59.999", mar10 + dayMS - 1, math.MaxInt64, "", []uint32{3, 4}},
		{"empty range", mar10, mar10 - 1, "", nil},
		{"many days, whole", mar10 - 10*dayMS, mar10 + 10*dayMS - 1, "", []uint32{1, 2, 3, 4}},
	} {
		got := did(x, DidQuery{Name: "purchase", Source: tc.src, From: tc.from, To: tc.to})
		want(t, tc.name, got, tc.want...)
		// The counting path must agree with the bitmap path.
		got = did(x, DidQuery{Name: "purchase", Source: tc.src, From: tc.from, To: tc.to, Cmp: ">", N: 0})
		want(t, tc.name+" (> 0 TIMES)", got, tc.want...)
	}
}

func TestSplitTimeNegative(t *testing.T) {
	for _, tc := range []struct {
		t   int64
		day int64
		ms  uint32
	}{
		{0, 0, 0}, {-1, -1, dayMS - 1}, {-dayMS, -1, 0}, {dayMS - 1, 0, dayMS - 1},
		{math.MinInt64, -106751991168, 60_424_192}, {math.MaxInt64, 106751991167, 25_975_807},
	} {
		d, m := splitTime(tc.t)
		if d != tc.day || m != tc.ms {
			t.Errorf("splitTime(%d) = %d, %d; want %d, %d", tc.t, d, m, tc.day, tc.ms)
		}
	}
	x := New()
	x.Add(7, Event{Name: "old", Source: "", Time: -1}, Event{Name: "old", Source: "", Time: math.MinInt64}, Event{Name: "old", Source: "", Time: math.MaxInt64})
	want(t, "DID old before 1970", did(x, DidQuery{Name: "old", From: math.MinInt64, To: -1, Cmp: "=", N: 2}), 7)
	want(t, "DID old at MaxInt64", did(x, DidQuery{Name: "old", From: math.MaxInt64, To: math.MaxInt64}), 7)
}

// TestFewerThanIncludesNeverDid: `< n TIMES`, `<= n`, `= 0` include live
// profiles without matching events, and never dropped profiles.
func TestFewerThanIncludesNeverDid(t *testing.T) {
	x := New()
	d := ms("2026-01-05T10:00:00Z")
	x.Add(1, Event{Name: "purchase", Source: "web", Time: d}, Event{Name: "purchase", Source: "web", Time: d + 1})
	x.Add(2, Event{Name: "purchase", Source: "web", Time: d})
	x.Add(3, Event{Name: "view", Source: "web", Time: d}) // never purchased
	x.SetAttrs(4, Attrs{Types: []string{"email"}})        // no events at all
	x.SetAttrs(5, Attrs{})
	x.Drop(5) // gone: in no result
	q := func(cmp string, n int) []uint32 {
		return did(x, DidQuery{Name: "purchase", From: math.MinInt64, To: math.MaxInt64, Cmp: cmp, N: n})
	}
	want(t, "< 2", q("<", 2), 2, 3, 4)
	want(t, "< 1", q("<", 1), 3, 4)
	want(t, "<= 1", q("<=", 1), 2, 3, 4)
	want(t, "= 0", q("=", 0), 3, 4)
	want(t, "= 1", q("=", 1), 2)
	want(t, "= 2", q("=", 2), 1)
	want(t, ">= 2", q(">=", 2), 1)
	want(t, "> 0", q(">", 0), 1, 2)
	want(t, ">= 0", q(">=", 0), 1, 2, 3, 4)
	want(t, "< 0", q("<", 0))
	want(t, "= -1", q("=", -1))
	want(t, "bad cmp", q("!=", 1))
	want(t, "unknown event < 1", did(x, DidQuery{Name: "refund", From: math.MinInt64, To: math.MaxInt64, Cmp: "<", N: 1}), 1, 2, 3, 4)
	want(t, "unknown source < 1", did(x, DidQuery{Name: "purchase", Source: "pos", From: math.MinInt64, To: math.MaxInt64, Cmp: "<", N: 1}), 1, 2, 3, 4)
}

// TestTimesManyEventsInOneDay counts beyond chunk size within one day and
// at its edges.
func TestTimesManyEventsInOneDay(t *testing.T) {
	x := New()
	day := ms("2026-02-01T00:00:00Z")
	for i := 0; i < 1500; i++ { // profile 1: 1500 views, one every 30 s
		x.Add(1, Event{Name: "view", Source: "app", Time: day + int64(i)*30_000})
	}
	for i := 0; i < 700; i++ { // profile 2: 700 views in the last 700 ms
		x.Add(2, Event{Name: "view", Source: "web", Time: day + dayMS - 700 + int64(i)})
	}
	x.Add(3, Event{Name: "view", Source: "web", Time: day + dayMS}) // next day
	whole := DidQuery{Name: "view", From: day, To: day + dayMS - 1}
	for _, tc := range []struct {
		cmp  string
		n    int
		want []uint32
	}{
		{">=", 1500, []uint32{1}}, {">", 1500, nil}, {"=", 700, []uint32{2}},
		{">=", 700, []uint32{1, 2}}, {"<", 700, []uint32{3}}, {"<=", 700, []uint32{2, 3}},
	} {
		q := whole
		q.Cmp, q.N = tc.cmp, tc.n
		want(t, "whole day "+tc.cmp, did(x, q), tc.want...)
	}
	// Last 350 ms of the day: 350 of profile 2's.
	q := DidQuery{Name: "view", From: day + dayMS - 350, To: day + dayMS - 1, Cmp: "=", N: 350}
	want(t, "last 350 ms", did(x, q), 2)
	// First 10 minutes inclusive: profile 1 at 0 s, 30 s, ..., 600 s.
	q = DidQuery{Name: "view", From: day, To: day + 600_000, Cmp: "=", N: 21}
	want(t, "first 10 minutes", did(x, q), 1)
	q = DidQuery{Name: "view", Source: "web", From: day, To: day + 2*dayMS, Cmp: ">=", N: 700}
	want(t, "by source", did(x, q), 2)
	// Remove half of profile 1's: counts follow exactly.
	for i := 0; i < 1500; i += 2 {
		x.Remove(1, Event{Name: "view", Source: "app", Time: day + int64(i)*30_000})
	}
	q = whole
	q.Cmp, q.N = "=", 750
	want(t, "after removing half", did(x, q), 1)
}

// TestMoveThenRemove relabels events on merge and removes them from the new
// owner afterwards; the old owner keeps what was not moved.
func TestMoveThenRemove(t *testing.T) {
	x := New()
	d := ms("2026-04-01T08:00:00Z")
	a := Event{Name: "add_to_cart", Source: "web", Time: d}
	b := Event{Name: "add_to_cart", Source: "app", Time: d + dayMS}
	c := Event{Name: "purchase", Source: "web", Time: d + 2*dayMS}
	x.Add(10, a, a, b, c)
	x.Add(20, Event{Name: "view", Source: "web", Time: d})
	x.Move(10, 20, []Event{a, b, Event{Name: "missing", Source: "web", Time: d}})
	ever := DidQuery{Name: "add_to_cart", From: math.MinInt64, To: math.MaxInt64}
	want(t, "cart after move", did(x, ever), 10, 20) // 10 still holds one a
	want(t, "purchase stays", did(x, DidQuery{Name: "purchase", From: math.MinInt64, To: math.MaxInt64}), 10)
	x.Remove(20, a, b)
	want(t, "cart after remove", did(x, ever), 10)
	x.Remove(20, a) // not held any more: ignored
	x.Remove(10, a)
	want(t, "cart gone", did(x, ever))
	if st := x.Stats(); st.Events != 2 {
		t.Errorf("Stats().Events = %d, want 2", st.Events)
	}
	want(t, "all", ids(x.All()), 10, 20)
}

// TestDrop clears liveness and attributes; leftover events stop counting.
func TestDrop(t *testing.T) {
	x := New()
	d := ms("2026-04-01T08:00:00Z")
	x.Add(1, Event{Name: "view", Source: "web", Time: d})
	x.SetAttrs(1, Attrs{Types: []string{"email"}, Traits: map[string]string{"tier": "gold"}, Consent: map[string]bool{"email": true, "sms": false}})
	x.SetAttrs(2, Attrs{Types: []string{"email"}, Consent: map[string]bool{"email": true}})
	want(t, "consent sms", ids(x.Consent("sms")))
	x.Drop(1)
	want(t, "all", ids(x.All()), 2)
	want(t, "has email", ids(x.Has("email")), 2)
	want(t, "consent email", ids(x.Consent("email")), 2)
	want(t, "trait", ids(x.Trait("tier", "=", "gold")))
	want(t, "did (leftover events do not count)", did(x, DidQuery{Name: "view", From: math.MinInt64, To: math.MaxInt64}))
	want(t, "did < 1", did(x, DidQuery{Name: "view", From: math.MinInt64, To: math.MaxInt64, Cmp: "<", N: 1}), 2)
	if st := x.Stats(); st.Traits != 0 || st.Types != 1 || st.Profiles != 1 {
		t.Errorf("Stats = %+v", st)
	}
}

func TestSetAttrsReplaces(t *testing.T) {
	x := New()
	x.SetAttrs(1, Attrs{Types: []string{"email", "phone"}, Traits: map[string]string{"tier": "gold", "age": "30"}, Consent: map[string]bool{"email": true}, Tags: []string{"vip", "b2b"}})
	x.SetAttrs(2, Attrs{Tags: []string{"vip"}})
	want(t, "vip", ids(x.Tagged("vip")), 1, 2)
	x.SetAttrs(1, Attrs{Types: []string{"phone"}, Traits: map[string]string{"tier": "silver"}, Consent: map[string]bool{"email": false}, Tags: []string{"b2b"}})
	want(t, "vip after", ids(x.Tagged("vip")), 2)
	want(t, "b2b after", ids(x.Tagged("b2b")), 1)
	want(t, "unknown tag", ids(x.Tagged("nope")))
	want(t, "email", ids(x.Has("email")))
	want(t, "phone", ids(x.Has("phone")), 1)
	want(t, "gold", ids(x.Trait("tier", "=", "gold")))
	want(t, "silver", ids(x.Trait("tier", "=", "silver")), 1)
	want(t, "age", ids(x.Trait("age", ">=", "0")))
	want(t, "consent", ids(x.Consent("email")))
}

func TestTraitComparison(t *testing.T) {
	x := New()
	vals := map[uint32]string{1: "10", 2: "10.0", 3: "9", 4: "abc", 5: "", 6: "1e1", 7: "-5", 8: "Inf", 9: "1e400", 10: "9x"}
	for p, v := range vals {
		x.SetAttrs(p, Attrs{Traits: map[string]string{"v": v}})
	}
	x.SetAttrs(11, Attrs{}) // without the trait
	for _, tc := range []struct {
		op, value string
		want      []uint32
	}{
		{"=", "10", []uint32{1, 2, 6}}, // numerically equal
		{"=", "abc", []uint32{4}},      // string equality
		{"=", "1e400", []uint32{9}},    // not a number (out of range): exact string
		{"!=", "10", []uint32{3, 4, 5, 7, 8, 9, 10}},
		{"<", "10", []uint32{3, 5, 7}},          // 9, -5 numerically; "" < "10" as strings, "1e400" > "10"
		{">", "9", []uint32{1, 2, 4, 6, 8, 10}}, // 10, 10.0, 1e1, Inf; "abc" and "9x" > "9" as strings
		{"<=", "", []uint32{5}},                 // only "" <= ""
		{">=", "Inf", []uint32{4, 8}},           // Inf numerically; "abc" >= "Inf" as strings, "9x" < "Inf"
		{"~", "1", nil},
	} {
		want(t, "v "+tc.op+" "+tc.value, ids(x.Trait("v", tc.op, tc.value)), tc.want...)
	}
	want(t, "unknown trait", ids(x.Trait("nope", "!=", "1")))
}

func TestVersionChangesOnEveryWrite(t *testing.T) {
	x := New()
	v := x.Version()
	for i, write := range []func(){
		func() { x.Add(1, Event{Name: "a", Source: "", Time: 0}) },
		func() { x.Remove(1, Event{Name: "b", Source: "", Time: 0}) }, // changes nothing
		func() { x.Move(1, 2, nil) },
		func() { x.SetAttrs(2, Attrs{}) },
		func() { x.Drop(2) },
	} {
		write()
		if nv := x.Version(); nv <= v {
			t.Fatalf("write %d: version %d after %d", i, nv, v)
		} else {
			v = nv
		}
	}
}

// TestAnyName: Name "" counts events of every name together.
func TestAnyName(t *testing.T) {
	x := New()
	x.Add(1, Event{Name: "a", Source: "web", Time: 5}, Event{Name: "b", Source: "web", Time: 6})
	x.Add(2, Event{Name: "a", Source: "app", Time: 5})
	want(t, "any >= 2", did(x, DidQuery{From: 0, To: 10, Cmp: ">=", N: 2}), 1)
	want(t, "any from app", did(x, DidQuery{Source: "app", From: 0, To: 10}), 2)
}

// TestCacheInvalidation: a cached whole-day OR is dropped when a day inside
// it changes, and a new day outside it is picked up.
func TestCacheInvalidation(t *testing.T) {
	x := New()
	d := ms("2026-05-01T00:00:00Z")
	for i := 0; i < 10; i++ {
		x.Add(uint32(i), Event{Name: "view", Source: "web", Time: d + int64(i)*dayMS + 5})
	}
	q := DidQuery{Name: "view", From: d - 5*dayMS, To: d + 20*dayMS - 1}
	want(t, "first", did(x, q), 0, 1, 2, 3, 4, 5, 6, 7, 8, 9)
	if x.Stats().Cached == 0 {
		t.Fatal("whole-day span not cached")
	}
	x.Remove(4, Event{Name: "view", Source: "web", Time: d + 4*dayMS + 5})
	want(t, "after remove inside", did(x, q), 0, 1, 2, 3, 5, 6, 7, 8, 9)
	x.Add(42, Event{Name: "view", Source: "web", Time: d + 15*dayMS})
	want(t, "after add outside", did(x, q), 0, 1, 2, 3, 5, 6, 7, 8, 9, 42)
	x.Move(9, 43, []Event{{Name: "view", Source: "web", Time: d + 9*dayMS + 5}})
	want(t, "after move", did(x, q), 0, 1, 2, 3, 5, 6, 7, 8, 42, 43)
}

// TestFilteredSpansAreCachedAndInvalidated: a run of whole days under a
// source filter or property conditions is cached apart from the same days
// unfiltered and under other conditions, and dropped when a day inside it
// changes (an event added, removed or moved; a property value never seen).
func TestFilteredSpansAreCachedAndInvalidated(t *testing.T) {
	x := New()
	x.ReplaceSeries("purchase", []string{"amount"}, nil)
	d := ms("2026-05-01T00:00:00Z")
	buy := func(p uint32, day int, src string, amount int) Event {
		return Event{Name: "purchase", Source: src, Time: d + int64(day)*dayMS + 5, Props: []byte(`{"amount":` + strconv.Itoa(amount) + `}`)}
	}
	for i := 0; i < 10; i++ {
		src := "web"
		if i%2 == 1 {
			src = "pos"
		}
		x.Add(uint32(i), buy(uint32(i), i, src, 100*i))
	}
	q := func(src string, conds ...Cond) DidQuery {
		return DidQuery{Name: "purchase", Source: src, Where: conds, From: d - 5*dayMS, To: d + 20*dayMS - 1}
	}
	over500 := Cond{Path: "amount", Op: ">", Value: "500"}
	for range 2 { // the second round is served from the cache
		want(t, "all", did(x, q("")), 0, 1, 2, 3, 4, 5, 6, 7, 8, 9)
		want(t, "pos", did(x, q("pos")), 1, 3, 5, 7, 9)
		want(t, "over 500", did(x, q("", over500)), 6, 7, 8, 9)
		want(t, "pos over 500", did(x, q("pos", over500)), 7, 9)
		want(t, "under 300", did(x, q("", Cond{Path: "amount", Op: "<", Value: "300"})), 0, 1, 2)
	}
	if n := x.Stats().Cached; n != 5 {
		t.Fatalf("%d spans cached, want 5", n)
	}
	x.Remove(7, buy(7, 7, "pos", 700))
	want(t, "pos over 500 after a remove", did(x, q("pos", over500)), 9)
	x.Add(42, buy(42, 2, "pos", 4242)) // a value never seen, inside the span
	want(t, "pos over 500 after an add", did(x, q("pos", over500)), 9, 42)
	want(t, "over 500 after an add", did(x, q("", over500)), 6, 8, 9, 42)
	x.Move(9, 43, []Event{buy(9, 9, "pos", 900)})
	want(t, "pos over 500 after a move", did(x, q("pos", over500)), 42, 43)
	want(t, "all after a move", did(x, q("")), 0, 1, 2, 3, 4, 5, 6, 8, 42, 43)
}

// TestResultsAreOwned: changing a returned bitmap never changes the index,
// whether the result came from one day's bitmap, a cached span or a clone.
func TestResultsAreOwned(t *testing.T) {
	x := New()
	d := ms("2026-05-01T00:00:00Z")
	for i := 0; i < 10; i++ {
		x.Add(uint32(i), Event{Name: "view", Source: "web", Time: d + int64(i)*dayMS})
	}
	x.SetAttrs(1, Attrs{Types: []string{"email"}, Traits: map[string]string{"t": "a"}, Consent: map[string]bool{"email": true}})
	queries := []func() []uint32{
		func() []uint32 { return ids(x.All()) },
		func() []uint32 { return did(x, DidQuery{Name: "view", From: d, To: d + dayMS - 1}) },
		func() []uint32 { return did(x, DidQuery{Name: "view", From: d, To: d + 10*dayMS - 1}) },
		func() []uint32 { return did(x, DidQuery{Name: "view", From: d, To: d + 10*dayMS - 1, Cmp: "<", N: 1}) },
		func() []uint32 { return ids(x.Has("email")) },
		func() []uint32 { return ids(x.Consent("email")) },
		func() []uint32 { return ids(x.Trait("t", "=", "a")) },
		func() []uint32 { return ids(x.Trait("t", ">", "")) },
	}
	mutators := []func() *roaring.Bitmap{
		x.All,
		func() *roaring.Bitmap { return x.Did(DidQuery{Name: "view", From: d, To: d + dayMS - 1}) },
		func() *roaring.Bitmap { return x.Did(DidQuery{Name: "view", From: d, To: d + 10*dayMS - 1}) },
		func() *roaring.Bitmap { return x.Has("email") },
		func() *roaring.Bitmap { return x.Consent("email") },
		func() *roaring.Bitmap { return x.Trait("t", "=", "a") },
		func() *roaring.Bitmap { return x.Trait("t", ">", "") },
	}
	var before [][]uint32
	for _, q := range queries {
		before = append(before, q())
	}
	for _, m := range mutators {
		bm := m()
		bm.Add(999)
		bm.Remove(1)
		bm.Or(roaring.BitmapOf(5000, 6000))
	}
	for i, q := range queries {
		if got := q(); !slices.Equal(got, before[i]) {
			t.Errorf("query %d: %v after mutating results, %v before", i, got, before[i])
		}
	}
}

// TestConcurrentReaders runs queries while the writer writes; run with
// -race. Answers are checked against the model once the writer is done.
func TestConcurrentReaders(t *testing.T) {
	x, m := New(), newModel()
	r := rand.New(rand.NewPCG(9, 9))
	done := make(chan struct{})
	var wg sync.WaitGroup
	for g := 0; g < 3; g++ {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(seed, 1))
			for {
				select {
				case <-done:
					return
				default:
				}
				q := randQuery(r)
				res := x.Did(q)
				if !res.IsEmpty() && q.Cmp == "" && q.From > q.To {
					t.Errorf("Did(%+v) not empty", q)
				}
				x.Has("email")
				x.Trait("age", "<", "10")
				x.Stats()
			}
		}(uint64(g))
	}
	for i := 0; i < 3000; i++ {
		p := uint32(r.IntN(100))
		switch r.IntN(4) {
		case 0, 1:
			ev := randEvent(r)
			x.Add(p, ev)
			m.add(p, ev)
		case 2:
			evs := slices.Clone(m.events[p])
			to := uint32(r.IntN(100))
			x.Move(p, to, evs)
			m.move(p, to, evs)
		case 3:
			a := randAttrs(r)
			x.SetAttrs(p, a)
			m.setAttrs(p, a)
		}
	}
	close(done)
	wg.Wait()
	checkQueries(t, r, x, m, 300)
}

// Unchanged: a profile is unchanged since a version until an event of its
// is added, removed or moved, it is dropped, or a series is rebuilt;
// attributes and other profiles' events leave it unchanged.
func TestUnchangedFollowsEachChangeOfAProfile(t *testing.T) {
	x := New()
	ev := func(ms int64) Event { return Event{Name: "buy", Source: "web", Time: ms} }
	x.Add(1, ev(10))
	x.Add(2, ev(20))
	since := func() uint64 { v := x.View(); defer v.Close(); return v.Version() }
	unchanged := func(p uint32, at uint64) bool { v := x.View(); defer v.Close(); return v.Unchanged(p, at) }
	steps := []struct {
		what    string
		do      func()
		changed []uint32
	}{
		{"SetAttrs", func() { x.SetAttrs(1, Attrs{Traits: map[string]string{"a": "b"}}) }, nil},
		{"Add to 2", func() { x.Add(2, ev(30)) }, []uint32{2}},
		{"Remove what 1 lacks", func() { x.Remove(1, ev(99)) }, nil},
		{"Remove from 1", func() { x.Remove(1, ev(10)) }, []uint32{1}},
		{"Move 2 to 3", func() { x.Move(2, 3, []Event{ev(20)}) }, []uint32{2, 3}},
		{"Drop 2", func() { x.Drop(2) }, []uint32{2}},
		{"Apply adds to 4", func() { x.Apply(9, []Delta{{Kind: DeltaAdd, P: 4, Events: []Event{ev(5)}}}) }, []uint32{4}},
		{"ReplaceSeries", func() { x.ReplaceSeries("buy", nil, []ProfileEvent{{P: 3, Event: ev(20)}}) }, []uint32{1, 2, 3, 4, 1000}},
	}
	for _, st := range steps {
		at := since()
		st.do()
		for p := uint32(1); p <= 4; p++ {
			if got, want := unchanged(p, at), !slices.Contains(st.changed, p); got != want {
				t.Errorf("after %s: Unchanged(%d) = %v, want %v", st.what, p, got, want)
			}
		}
		if got, want := unchanged(1000, at), !slices.Contains(st.changed, 1000); got != want {
			t.Errorf("after %s: Unchanged of a profile never seen = %v, want %v", st.what, got, want)
		}
	}
}

// Stats().Bytes counts what registered property paths keep: the same
// events with distinct amounts cost more when "amount" is registered,
// at least a tuple and a number per distinct value.
func TestStatsCountPropertyTuples(t *testing.T) {
	d := ms("2026-05-01T00:00:00Z")
	fill := func(paths []string) uint64 {
		x := New()
		x.ReplaceSeries("purchase", paths, nil)
		for i := range 1000 {
			x.Add(uint32(i), Event{Name: "purchase", Source: "web", Time: d + int64(i%30)*dayMS,
				Props: []byte(`{"amount":` + strconv.Itoa(1000+i) + `}`)})
		}
		return x.Stats().Bytes
	}
	plain, with := fill(nil), fill([]string{"amount"})
	// Each of the 1,000 tuples holds one value (40 bytes) and its number
	// in the column (8 bytes).
	if with < plain+1000*48 {
		t.Fatalf("Stats().Bytes %d with amount registered, %d without: want at least %d more", with, plain, 1000*48)
	}
}

// Latest is the latest event time taken in: adding raises it, removing and
// moving do not lower it, and a snapshot read back gives the latest of the
// events it holds.
func TestLatestEventTime(t *testing.T) {
	x := New()
	v := x.View()
	if got := v.Latest(); got != math.MinInt64 {
		t.Fatalf("empty index: Latest = %d", got)
	}
	v.Close()
	early, late := ms("2026-11-01T10:00:00Z"), ms("2026-11-12T23:59:59.999Z")
	x.Add(1, Event{Name: "view", Time: early, Source: "web"})
	x.Add(2, Event{Name: "buy", Time: late, Source: "web"}, Event{Name: "view", Time: early - 5, Source: "app"})
	x.Move(2, 3, []Event{{Name: "buy", Time: late, Source: "web"}})
	x.Remove(3, Event{Name: "buy", Time: late, Source: "web"})
	v = x.View()
	got := v.Latest()
	v.Close()
	if got != late {
		t.Fatalf("after a remove: Latest = %d, want %d (never lowered)", got, late)
	}
	var b strings.Builder
	if _, err := x.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	y, err := Read(strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	v = y.View()
	got = v.Latest()
	v.Close()
	if got != early {
		t.Fatalf("read back: Latest = %d, want %d (the latest event it holds)", got, early)
	}
}
