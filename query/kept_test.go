package query_test

import (
	"errors"
	"fmt"
	"math/rand"
	"testing"
	"time"

	"github.com/idgraph/idgraph/query"
)

// WHO keeps computed values per profile while they provably hold. Against
// the brute force at every step, with writes (events in the past, at
// window edges and in the future, merges, splits, forgets) and a clock
// that moves by a millisecond, to midnight and just before it, by hours
// and days, and now and then backwards: a kept value that outlived a
// change shows up as a difference.
func TestKeptComputedValuesFollowWritesAndTheClock(t *testing.T) {
	for _, seed := range []int64{1, 2, 3} {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) { keptDifferential(t, seed) })
	}
}

func keptDifferential(t *testing.T, seed int64) {
	r := rand.New(rand.NewSource(seed))
	clock := time.Date(2026, 11, 10, 22, 0, 0, 0, time.UTC)
	x, db := newExec(t, clock)
	x.SetClock(func() time.Time { return clock })
	// Besides the differential's traits, windows wholly ahead of the
	// clock and across it, which the clock passes through (refund is
	// counted by the window ahead only).
	between := func(from, to time.Duration) string {
		return clock.Add(from).Format(time.RFC3339) + " AND " + clock.Add(to).Format(time.RFC3339)
	}
	defs := append(computedDefs(clock),
		[2]string{"c_ahead", "COUNT refund BETWEEN " + between(30*time.Hour, 80*time.Hour)},
		[2]string{"c_across", "SUM total OF view BETWEEN " + between(-200*time.Hour, 20*time.Hour)})
	env := &bruteEnv{computed: map[string]*query.Aggregate{}}
	for _, d := range defs {
		mustExec(t, x, "COMPUTE "+d[0]+" AS "+d[1])
		st, err := query.ParseLine("COMPUTE " + d[0] + " AS " + d[1])
		if err != nil {
			t.Fatal(err)
		}
		env.computed[d[0]] = &st.(*query.Compute).Agg
	}
	var pool []string
	for i := 0; i < 10; i++ {
		pool = append(pool, fmt.Sprintf("cookie:c%d", i))
	}
	for i := 0; i < 4; i++ {
		pool = append(pool, fmt.Sprintf("user:u%d", i), fmt.Sprintf("email:e%d@x.io", i))
	}
	pick := func() string { return pool[r.Intn(len(pool))] }
	for step := 0; step < 300; step++ {
		// An event's time, relative to the clock: the hours window's and
		// the days windows' edges exactly and a millisecond either side,
		// and up to three hours ahead (it counts once the clock gets there).
		at := eventTime(r, clock, 48*time.Hour, 31, 40*24*time.Hour)
		var line string
		switch k := r.Intn(20); {
		case k < 12:
			line = fmt.Sprintf("TRACK %s %s AT %d FROM %s%s", []string{"view", "add_to_cart", "purchase", "refund"}[r.Intn(4)], pick(), at.UnixMilli(), []string{"web", "app", "pos"}[r.Intn(3)], randomProps(r))
		case k < 13:
			line = fmt.Sprintf("TRACK login %s %s AT %d", pick(), pick(), at.UnixMilli())
		case k < 16:
			line = fmt.Sprintf("MERGE %s %s", pick(), pick())
		case k < 18:
			line = fmt.Sprintf("UNLINK %s %s", pick(), pick())
		case k < 19:
			line = "FORGET " + pick()
		}
		if line != "" {
			if _, err := x.ExecLine(ctx, nil, line); err != nil {
				var qe *query.Error
				if !errors.As(err, &qe) || (qe.Code != query.CodeNotFound && qe.Code != query.CodeSyntax) {
					t.Fatalf("%s: %v", line, err)
				}
			}
		}
		clock = moveClock(r, clock)
		env.now = clock
		// WHO twice for a few identifiers: the second answer is the kept one.
		some := []string{pick(), pick(), pick()}
		for range 2 {
			checkComputedValues(t, x, snapshot(t, db, some), env)
		}
		if t.Failed() {
			t.Fatalf("step %d (seed %d), clock %s, after %q", step, seed, clock.Format(time.RFC3339Nano), line)
		}
	}
}

// A kept value of a window still ahead of the clock: the event it will
// count is already stored, so nothing but the clock changes it.
func TestKeptValueOfAWindowAheadChangesWithTheClock(t *testing.T) {
	t0 := time.Date(2026, 11, 10, 12, 0, 0, 0, time.UTC)
	clock := t0
	x, _ := newExec(t, t0)
	x.SetClock(func() time.Time { return clock })
	mustExec(t, x, fmt.Sprintf("COMPUTE ahead AS COUNT refund BETWEEN %s AND %s", t0.Add(time.Hour).Format(time.RFC3339), t0.Add(5*time.Hour).Format(time.RFC3339)))
	mustExec(t, x, fmt.Sprintf("TRACK refund cookie:a AT %d", t0.Add(2*time.Hour).UnixMilli()))
	for _, step := range []struct {
		at   time.Duration
		want float64
	}{{0, 0}, {0, 0}, {2*time.Hour - time.Millisecond, 0}, {2 * time.Hour, 1}, {6 * time.Hour, 1}} {
		clock = t0.Add(step.at)
		got, ok := mustExec(t, x, "WHO cookie:a").Get("computed")
		if v, _ := got.Get("ahead"); !ok || v.Kind != query.KindDouble || v.Float != step.want {
			t.Fatalf("at t0+%s: computed %+v, want ahead = %v", step.at, got, step.want)
		}
	}
}

// Kept values follow the definitions: a dropped trait leaves WHO, and one
// defined again under the same name answers from its new definition.
func TestKeptValuesFollowTheDefinitions(t *testing.T) {
	now := time.Date(2026, 11, 10, 12, 0, 0, 0, time.UTC)
	x, _ := newExec(t, now)
	mustExec(t, x, "COMPUTE spend AS SUM total OF purchase")
	mustExec(t, x, fmt.Sprintf(`TRACK purchase cookie:a AT %d PROPS '{"total":30,"tax":3}'`, now.Add(-time.Hour).UnixMilli()))
	computed := func() string {
		v, _ := mustExec(t, x, "WHO cookie:a").Get("computed")
		return fmt.Sprint(v.Map)
	}
	for _, step := range []struct{ line, want string }{
		{"", "[{spend 30}]"},
		{"", "[{spend 30}]"},
		{"COMPUTE DROP spend", "[]"},
		{"COMPUTE spend AS SUM tax OF purchase", "[{spend 3}]"},
		{"COMPUTE orders AS COUNT purchase", "[{orders 1} {spend 3}]"},
	} {
		if step.line != "" {
			mustExec(t, x, step.line)
		}
		if got := computed(); got != step.want {
			t.Fatalf("after %q: computed %s, want %s", step.line, got, step.want)
		}
	}
}

// eventTime picks an event's time for the differential tests, relative to
// the clock: a window's edge (edge before the clock) exactly and a
// millisecond either side; a midnight up to days back and a millisecond
// before it; up to three hours ahead (it counts once the clock gets
// there); or anywhere up to back before the clock.
func eventTime(r *rand.Rand, clock time.Time, edge time.Duration, days int, back time.Duration) time.Time {
	switch r.Intn(6) {
	case 0:
		return clock.Add(-edge).Add(time.Duration(r.Intn(3)-1) * time.Millisecond)
	case 1:
		return midnight(clock).Add(-time.Duration(r.Intn(days)) * 24 * time.Hour).Add(time.Duration(r.Intn(2)) * -time.Millisecond)
	case 2:
		return clock.Add(time.Duration(r.Int63n(int64(3 * time.Hour))))
	}
	return clock.Add(-time.Duration(r.Int63n(int64(back))))
}

// moveClock moves the differential tests' clock: not at all, by a
// millisecond, to midnight and just before it, by up to three hours, by a
// day, now and then backwards, or by up to ten minutes. Statements see
// milliseconds.
func moveClock(r *rand.Rand, clock time.Time) time.Time {
	switch r.Intn(8) {
	case 1:
		clock = clock.Add(time.Millisecond)
	case 2:
		clock = midnight(clock).Add(24 * time.Hour)
	case 3:
		clock = midnight(clock).Add(24*time.Hour - time.Millisecond)
	case 4:
		clock = clock.Add(time.Duration(r.Int63n(int64(3 * time.Hour))))
	case 5:
		clock = clock.Add(24 * time.Hour)
	case 6:
		clock = clock.Add(-time.Duration(r.Int63n(int64(time.Hour))))
	case 7:
		clock = clock.Add(time.Duration(r.Intn(600)) * time.Second)
	}
	return clock.Truncate(time.Millisecond)
}

func midnight(t time.Time) time.Time { return t.Truncate(24 * time.Hour) }
