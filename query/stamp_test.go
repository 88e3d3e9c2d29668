package query_test

import (
	"errors"
	"fmt"
	"math/rand"
	"testing"
	"time"

	"github.com/idgraph/idgraph/query"
)

// A WHO reply kept with its stamp (what the server's reply cache does) is,
// whenever Holds says the stamp still holds, exactly the reply WHO gives
// afresh. Checked at every step of random writes (events in the past, at
// window edges and in the future, traits, consent, tags, merges, splits,
// forgets), definitions made and dropped (saved segments over every kind
// of window, nested and over computed traits; computed traits), and a
// clock that moves by a millisecond, to midnight and just before it, by
// hours and days, and now and then backwards. The test also fails if too
// few kept replies ever held, or if none stopped holding without a write.
func TestStampedWhoRepliesHoldOnlyWhileTheyAreTrue(t *testing.T) {
	for _, seed := range []int64{1, 2, 3} {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) { stampDifferential(t, seed) })
	}
}

type stamped struct {
	v     string
	st    query.Stamp
	clock time.Time
	gen   uint64
}

func stampDifferential(t *testing.T, seed int64) {
	r := rand.New(rand.NewSource(seed))
	clock := time.Date(2026, 11, 10, 22, 0, 0, 0, time.UTC)
	x, db := newExec(t, clock)
	x.SetClock(func() time.Time { return clock })
	// Segments made at the clock of their saving: a BETWEEN ahead of it,
	// which the clock then passes through, and one behind it.
	segments := func() []string {
		between := func(from, to time.Duration) string {
			return clock.Add(from).Format(time.RFC3339) + " AND " + clock.Add(to).Format(time.RFC3339)
		}
		return []string{
			"carts DID add_to_cart WITHIN 7d AND NOT DID purchase WITHIN 7d",
			"recent DID view WITHIN 3h",
			"buyers DID purchase >= 2 TIMES",
			"refunders DID refund",
			"since DID refund SINCE " + clock.Add(-20*24*time.Hour).Format(time.RFC3339),
			"ahead DID refund BETWEEN " + between(time.Hour, 5*time.Hour),
			"past DID refund BETWEEN " + between(-300*time.Hour, -time.Hour),
			"gold TRAIT tier = gold AND CONSENT email",
			"vip TAGGED vip OR HAS email",
			"spenders TRAIT c_sum > 100",
			"hot TRAIT c_48h >= 2",
			"nested IN carts AND NOT IN gold",
		}
	}
	computed := [][2]string{
		{"c_sum", "SUM total OF purchase"},
		{"c_48h", "COUNT add_to_cart WITHIN 48h"},
		{"c_14d", "DISTINCT category OF view WITHIN 14d"},
	}
	var pool []string
	for i := 0; i < 8; i++ {
		pool = append(pool, fmt.Sprintf("cookie:c%d", i))
	}
	for i := 0; i < 3; i++ {
		pool = append(pool, fmt.Sprintf("user:u%d", i), fmt.Sprintf("email:e%d@x.io", i))
	}
	pick := func() string { return pool[r.Intn(len(pool))] }
	for _, c := range computed {
		mustExec(t, x, "COMPUTE "+c[0]+" AS "+c[1])
	}
	for _, sg := range segments() {
		mustExec(t, x, "SEGMENT SAVE "+sg)
	}
	kept := map[string]stamped{}
	var held, staleByClock int
	for step := 0; step < 1000; step++ {
		at := eventTime(r, clock, 3*time.Hour, 8, 20*24*time.Hour)
		var line string
		switch k := r.Intn(110); {
		case k < 14:
			line = fmt.Sprintf("TRACK %s %s AT %d PROPS '{\"total\": %d, \"category\": \"%s\"}'",
				[]string{"view", "add_to_cart", "purchase", "refund"}[r.Intn(4)], pick(), at.UnixMilli(), r.Intn(120), []string{"a", "b", "c"}[r.Intn(3)])
		case k < 16:
			line = fmt.Sprintf("TRACK login %s %s AT %d", pick(), pick(), at.UnixMilli())
		case k < 18:
			line = fmt.Sprintf("SET %s tier=%s", pick(), []string{"gold", "silver"}[r.Intn(2)])
		case k < 20:
			line = fmt.Sprintf("CONSENT %s email %s", pick(), []string{"GRANT", "DENY"}[r.Intn(2)])
		case k < 22:
			line = fmt.Sprintf("%s %s vip", []string{"TAG", "UNTAG"}[r.Intn(2)], pick())
		case k < 25:
			line = fmt.Sprintf("MERGE %s %s", pick(), pick())
		case k < 26:
			line = fmt.Sprintf("UNLINK %s %s", pick(), pick())
		case k < 27:
			line = "FORGET " + pick()
		case k < 28:
			segs := segments()
			line = "SEGMENT SAVE " + segs[r.Intn(len(segs))]
		case k < 29:
			line = "SEGMENT DROP " + []string{"recent", "since", "ahead", "hot", "vip", "refunders"}[r.Intn(6)]
		case k < 30:
			c := computed[r.Intn(len(computed))]
			x.ExecLine(ctx, nil, "COMPUTE DROP "+c[0])
			line = "COMPUTE " + c[0] + " AS " + c[1]
		case k < 31:
			line = "COMPUTE DROP " + computed[r.Intn(len(computed))][0]
		case k < 36:
			line = "SEGMENT SAVE " + segments()[5] // ahead, from the clock now
		}
		if line != "" {
			if _, err := x.ExecLine(ctx, nil, line); err != nil {
				var qe *query.Error
				if !errors.As(err, &qe) {
					t.Fatalf("%s: %v", line, err)
				}
			}
		}
		clock = moveClock(r, clock)
		for _, id := range pool {
			k, ok := kept[id]
			if !ok {
				continue
			}
			v, st, err := x.WhoStamped(ctx, nil, id)
			if err != nil {
				t.Fatalf("WHO %s: %v", id, err)
			}
			if x.Holds(ctx, k.st) {
				held++
				if got := v.String(); got != k.v {
					t.Fatalf("step %d (seed %d), clock %s, after %q: WHO %s kept at %s still holds but differs:\nkept:\n%s\nafresh:\n%s",
						step, seed, clock.Format(time.RFC3339Nano), line, id, k.clock.Format(time.RFC3339Nano), k.v, got)
				}
			} else if db.Gen() == k.gen && v.String() != k.v {
				staleByClock++ // the clock alone changed it, and the stamp knew
			}
			if v.Kind == query.KindMap {
				kept[id] = stamped{v: v.String(), st: st, clock: clock, gen: db.Gen()}
			} else {
				delete(kept, id)
			}
		}
		for range 2 {
			id := pick()
			if v, st, err := x.WhoStamped(ctx, nil, id); err == nil && v.Kind == query.KindMap {
				kept[id] = stamped{v: v.String(), st: st, clock: clock, gen: db.Gen()}
			}
		}
	}
	if held < 500 || staleByClock == 0 {
		t.Fatalf("held %d times, %d changed by the clock alone: the test did not exercise the stamps", held, staleByClock)
	}
	t.Logf("held %d times; %d replies changed by the clock alone", held, staleByClock)
}

// How long a WHO reply's stamp holds, case by case: forever without saved
// segments or computed traits, until a write; until midnight under a days
// window; a millisecond under an hours window or when an event lies ahead
// of the clock; forever under a window that ended, future events or not.
func TestStampOfWhoFollowsTheClock(t *testing.T) {
	now := time.Date(2026, 11, 10, 12, 0, 0, 0, time.UTC)
	clock := now
	x, _ := newExec(t, now)
	x.SetClock(func() time.Time { return clock })
	mustExec(t, x, "TRACK add_to_cart cookie:a AT 2026-11-09T10:00:00Z")
	mustExec(t, x, "TRACK view cookie:b AT 2026-11-10T10:00:00Z")
	stampAt := func(id string) query.Stamp {
		t.Helper()
		clock = now
		v, st, err := x.WhoStamped(ctx, nil, id)
		if err != nil || v.Kind != query.KindMap {
			t.Fatalf("WHO %s: %v %v", id, v, err)
		}
		return st
	}
	holds := func(st query.Stamp, at time.Time) bool {
		clock = at
		defer func() { clock = now }()
		return x.Holds(ctx, st)
	}
	year := now.AddDate(1, 0, 0)
	midnight := time.Date(2026, 11, 11, 0, 0, 0, 0, time.UTC)
	ms := time.Millisecond

	st := stampAt("cookie:a")
	if !holds(st, now) || !holds(st, year) || holds(st, now.Add(-ms)) {
		t.Fatal("without segments or computed traits a reply holds from its moment on, for ever")
	}
	if _, _, err := x.WhoStamped(ctx, nil, "cookie:nobody"); err != nil {
		t.Fatal(err)
	}
	if !holds(st, now) {
		t.Fatal("a read ended the stamp")
	}
	mustExec(t, x, "TRACK view cookie:zzz AT 2026-11-01T00:00:00Z")
	if holds(st, now) {
		t.Fatal("the stamp held after a write")
	}

	mustExec(t, x, "SEGMENT SAVE carts DID add_to_cart WITHIN 1d")
	st = stampAt("cookie:a")
	if !holds(st, midnight.Add(-ms)) || holds(st, midnight) {
		t.Fatal("under WITHIN 1d the reply holds until midnight exactly")
	}
	mustExec(t, x, "SEGMENT SAVE recent DID view WITHIN 3h")
	st = stampAt("cookie:a")
	if !holds(st, now) || holds(st, now.Add(ms)) {
		t.Fatal("under WITHIN 3h the reply holds for its millisecond only")
	}
	mustExec(t, x, "SEGMENT DROP recent")
	mustExec(t, x, "SEGMENT DROP carts")

	mustExec(t, x, "SEGMENT SAVE ahead DID refund BETWEEN 2026-11-10T13:00:00Z AND 2026-11-10T17:00:00Z")
	mustExec(t, x, "SEGMENT SAVE past DID refund BETWEEN 2026-11-01T00:00:00Z AND 2026-11-10T11:00:00Z")
	st = stampAt("cookie:a")
	if !holds(st, year) {
		t.Fatal("with no event ahead of the clock, BETWEEN windows hold for ever")
	}
	mustExec(t, x, "TRACK refund cookie:a AT 2026-11-10T14:00:00Z")
	st = stampAt("cookie:a")
	if !holds(st, now) || holds(st, now.Add(ms)) {
		t.Fatal("with a refund ahead in a window still open, the reply holds for its millisecond only")
	}
	mustExec(t, x, "SEGMENT DROP ahead")
	st = stampAt("cookie:a")
	if !holds(st, year) {
		t.Fatal("a window that ended holds for ever, events ahead or not")
	}
}
