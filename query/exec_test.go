package query_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/idgraph/idgraph/engine"
	"github.com/idgraph/idgraph/query"
)

var ctx = context.Background()

func newExec(t *testing.T, now time.Time) (*query.Executor, *engine.DB) {
	t.Helper()
	opts := engine.DefaultOptions("")
	opts.InMemory = true
	db, err := engine.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	x := query.NewExecutor(db)
	x.SetClock(func() time.Time { return now })
	return x, db
}

func mustExec(t *testing.T, x *query.Executor, line string) query.Value {
	t.Helper()
	v, err := x.ExecLine(ctx, nil, line)
	if err != nil {
		t.Fatalf("%s: %v", line, err)
	}
	return v
}

func TestStatementsAndReplies(t *testing.T) {
	now := time.Date(2026, 11, 10, 12, 0, 0, 0, time.UTC)
	x, _ := newExec(t, now)
	v := mustExec(t, x, `TRACK add_to_cart cookie:c1 AT 2026-11-08T10:00:00Z FROM web PROPS '{"sku":"A1"}'`)
	if p, _ := v.Get("profile"); p.Int != 1 {
		t.Fatalf("TRACK reply %v", v)
	}
	v = mustExec(t, x, "TRACK signup user:u1 email:Ann@Example.com cookie:c1 idfa:00000000-0000-0000-0000-000000000000 AT 2026-11-09T10:00:00Z")
	if d, _ := v.Get("dropped"); len(d.Arr) != 1 || d.Arr[0].Str != "idfa:00000000-0000-0000-0000-000000000000" {
		t.Fatalf("dropped: %v", v)
	}
	mustExec(t, x, "CONSENT email:ann@example.com email GRANT AT 2026-11-09T10:00:00Z")
	mustExec(t, x, "SET user:u1 tier=gold age=34")
	mustExec(t, x, "SEGMENT SAVE carts DID add_to_cart WITHIN 7d AND NOT DID purchase WITHIN 7d")
	who := mustExec(t, x, "WHO cookie:c1")
	want := `profile: (integer) 1
ids:
  "cookie:c1"
  "email:ann@example.com"
  "user:u1"
traits:
  age: "34"
  tier: "gold"
consent:
  email: "grant"
tags:
  (empty)
segments:
  "carts"
first_seen: "2026-11-08T10:00:00.000Z"
last_seen: "2026-11-09T10:00:00.000Z"
events: (integer) 2`
	if who.String() != want {
		t.Fatalf("WHO:\n%s\nwant:\n%s", who, want)
	}
	count := mustExec(t, x, "SEGMENT COUNT DID add_to_cart WITHIN 7d AND NOT DID purchase WITHIN 7d AND HAS email AND CONSENT email")
	if count.Int != 1 {
		t.Fatalf("abandoned carts: %v", count)
	}
	if c := mustExec(t, x, "SEGMENT COUNT DID add_to_cart WITHIN 2d"); c.Int != 0 {
		t.Fatalf("2-day window starts 2026-11-09T00:00: %v", c)
	}
	if c := mustExec(t, x, "SEGMENT COUNT DID add_to_cart WITHIN 3d"); c.Int != 1 {
		t.Fatalf("3-day window: %v", c)
	}
	if c := mustExec(t, x, "SEGMENT COUNT TRAIT age >= 30 AND TRAIT tier = gold"); c.Int != 1 {
		t.Fatalf("traits: %v", c)
	}
	if c := mustExec(t, x, "SEGMENT COUNT DID signup ASOF 2026-11-09T09:59:59.999Z"); c.Int != 0 {
		t.Fatalf("ASOF before the event: %v", c)
	}
	if v := mustExec(t, x, "WHO email:nobody@example.com"); v.Kind != query.KindNil {
		t.Fatalf("unknown WHO: %v", v)
	}
	tl := mustExec(t, x, "TIMELINE user:u1 LIMIT 1")
	if len(tl.Arr) != 1 {
		t.Fatalf("timeline: %v", tl)
	}
	if e, _ := tl.Arr[0].Get("event"); e.Str != "signup" {
		t.Fatalf("timeline newest first: %v", tl)
	}
	why := mustExec(t, x, "WHY cookie:c1 user:u1")
	if l, _ := why.Get("linked"); l.Int != 1 {
		t.Fatalf("why: %v", why)
	}
	f := mustExec(t, x, "FORGET user:u1")
	if ids, _ := f.Get("ids"); ids.Int != 3 {
		t.Fatalf("forget: %v", f)
	}
	if c := mustExec(t, x, "SEGMENT COUNT NOT HAS cookie"); c.Int != 0 {
		t.Fatalf("after forget: %v", c)
	}
}

func TestErrorsHaveCodesAndPositions(t *testing.T) {
	x, _ := newExec(t, time.Now())
	cases := []struct {
		line, code string
		pos        int
	}{
		{"TRACK view nocolon", query.CodeBadID, 3},
		{"TRACK view fax:1", query.CodeBadID, 3},
		{"TRACK view cookie:null", query.CodeBadID, 3},
		{"SEGMENT COUNT HAS fax", query.CodeSyntax, 4},
		{"SEGMENT COUNT IN nosuch", query.CodeNotFound, 4},
		{"SEGMENT COUNT DID x WITHIN 0d", query.CodeSyntax, 6},
		{"SEGMENT COUNT DID x AND AND", query.CodeSyntax, 6},
		{"FORGET email:nobody@x.io", query.CodeNotFound, 2},
		{"WHO nocolon", query.CodeBadID, 2},
		{"UNLINK cookie:a cookie:b", query.CodeNotFound, 2},
		{"TRACK view cookie:a AT 1764000000", query.CodeSyntax, 5},
		{"FROB x", query.CodeSyntax, 1},
	}
	for _, c := range cases {
		_, err := x.ExecLine(ctx, nil, c.line)
		var qe *query.Error
		if !errors.As(err, &qe) || qe.Code != c.code || qe.Pos != c.pos {
			t.Errorf("%s: got %v, want %s at %d", c.line, err, c.code, c.pos)
		}
	}
	_, err := x.ExecLine(ctx, &query.Session{ReadOnly: true}, "TRACK view cookie:a")
	var qe *query.Error
	if !errors.As(err, &qe) || qe.Code != query.CodeReadOnly {
		t.Fatalf("read-only: %v", err)
	}
	if _, err := x.ExecLine(ctx, nil, "WHO cookie:a"); err != nil {
		t.Fatalf("read-only failure changed something: %v", err)
	}
}

// --- segments against a brute-force evaluation over the events ---

type bruteProfile struct {
	id      uint32
	types   map[string]bool
	traits  map[string]string
	consent map[string]bool
	events  []engine.TimelineEvent
}

func snapshot(t *testing.T, db *engine.DB, pool []string) []*bruteProfile {
	seen := map[uint32]bool{}
	var out []*bruteProfile
	for _, id := range pool {
		p, err := db.Who(id)
		if errors.Is(err, engine.ErrNotFound) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if seen[p.ID] {
			continue
		}
		seen[p.ID] = true
		evs, err := db.Timeline("profile:"+strconv.Itoa(int(p.ID)), engine.TimelinePage{Limit: 10000})
		if err != nil {
			t.Fatal(err)
		}
		bp := &bruteProfile{id: p.ID, types: map[string]bool{}, traits: p.Traits, consent: p.Consent, events: evs}
		for _, s := range p.IDs {
			bp.types[s[:strings.IndexByte(s, ':')]] = true
		}
		out = append(out, bp)
	}
	return out
}

func brute(e query.Expr, p *bruteProfile, now time.Time) bool {
	switch e := e.(type) {
	case *query.Or:
		return brute(e.L, p, now) || brute(e.R, p, now)
	case *query.And:
		return brute(e.L, p, now) && brute(e.R, p, now)
	case *query.Not:
		return !brute(e.X, p, now)
	case *query.Has:
		return p.types[e.Type]
	case *query.ConsentIs:
		return p.consent[e.Purpose]
	case *query.TraitCmp:
		v, ok := p.traits[e.Name]
		if !ok {
			return false
		}
		c := strings.Compare(v, e.Value)
		a, errA := strconv.ParseFloat(v, 64)
		b, errB := strconv.ParseFloat(e.Value, 64)
		if errA == nil && errB == nil {
			c = 0
			if a < b {
				c = -1
			} else if a > b {
				c = 1
			}
		}
		return cmp(e.Op, c)
	case *query.Did:
		from := time.Unix(-1<<40, 0)
		to := now
		switch e.Window.Kind {
		case query.WindowWithin:
			day := now.UTC().Truncate(24 * time.Hour)
			from = day.AddDate(0, 0, -(e.Window.Days - 1))
		case query.WindowSince:
			from = e.Window.From
		case query.WindowBetween:
			from = e.Window.From
			if e.Window.To.Before(to) {
				to = e.Window.To
			}
		}
		n := 0
		for _, ev := range p.events {
			if ev.Name == e.Event && (e.Source == "" || ev.Source == e.Source) && !ev.Time.Before(from) && !ev.Time.After(to) {
				n++
			}
		}
		if e.Cmp == "" {
			return n >= 1
		}
		c := 0
		if n < e.N {
			c = -1
		} else if n > e.N {
			c = 1
		}
		return cmp(e.Cmp, c)
	}
	panic(fmt.Sprintf("unexpected %T", e))
}

func cmp(op string, c int) bool {
	switch op {
	case "=":
		return c == 0
	case "!=":
		return c != 0
	case "<":
		return c < 0
	case "<=":
		return c <= 0
	case ">":
		return c > 0
	case ">=":
		return c >= 0
	}
	return false
}

func randomExpr(r *rand.Rand, depth int, now time.Time) string {
	if depth > 0 && r.Intn(3) > 0 {
		l, rr := randomExpr(r, depth-1, now), randomExpr(r, depth-1, now)
		switch r.Intn(3) {
		case 0:
			return "(" + l + " AND " + rr + ")"
		case 1:
			return "(" + l + " OR " + rr + ")"
		default:
			return "NOT " + l
		}
	}
	names := []string{"view", "add_to_cart", "purchase"}
	switch r.Intn(6) {
	case 0:
		return "HAS " + []string{"user", "email", "cookie", "device"}[r.Intn(4)]
	case 1:
		return "CONSENT email"
	case 2:
		return fmt.Sprintf("TRAIT age %s %d", []string{"=", "!=", "<", "<=", ">", ">="}[r.Intn(6)], 20+r.Intn(30))
	default:
		s := "DID " + names[r.Intn(3)]
		if r.Intn(3) == 0 {
			s += " FROM " + []string{"web", "app", "pos"}[r.Intn(3)]
		}
		if r.Intn(3) == 0 {
			s += fmt.Sprintf(" %s %d TIMES", []string{">=", ">", "=", "<", "<="}[r.Intn(5)], r.Intn(4))
		}
		switch r.Intn(4) {
		case 0:
			s += fmt.Sprintf(" WITHIN %dd", 1+r.Intn(60))
		case 1:
			s += " SINCE " + now.Add(-time.Duration(r.Intn(90*24))*time.Hour).Format(time.RFC3339)
		case 2:
			a := now.Add(-time.Duration(r.Intn(90*24)) * time.Hour)
			s += " BETWEEN " + a.Format(time.RFC3339) + " AND " + a.Add(time.Duration(1+r.Intn(30*24))*time.Hour).Format(time.RFC3339)
		}
		return s
	}
}

func TestSegmentsMatchBruteForce(t *testing.T) {
	seeds := []int64{1, 2, 3}
	// IDGRAPH_SEGMENT_SEEDS=N runs N more seeds (a soak).
	if n, _ := strconv.Atoi(os.Getenv("IDGRAPH_SEGMENT_SEEDS")); n > 0 {
		for i := 0; i < n; i++ {
			seeds = append(seeds, int64(100+i))
		}
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) { segmentDifferential(t, seed) })
	}
}

func segmentDifferential(t *testing.T, seed int64) {
	r := rand.New(rand.NewSource(seed))
	now := time.Date(2026, 11, 10, 15, 30, 0, 0, time.UTC)
	x, db := newExec(t, now)
	var pool []string
	for i := 0; i < 40; i++ {
		pool = append(pool, fmt.Sprintf("cookie:c%d", i))
	}
	for i := 0; i < 15; i++ {
		pool = append(pool, fmt.Sprintf("user:u%d", i), fmt.Sprintf("email:e%d@x.io", i))
	}
	for i := 0; i < 8; i++ {
		pool = append(pool, fmt.Sprintf("device:d%d", i))
	}
	pick := func() string { return pool[r.Intn(len(pool))] }
	for i := 0; i < 1500; i++ {
		// Times spread over 90 days before now, some exactly at midnight
		// and just before it, and a few after now (which never count).
		tm := now.Add(-time.Duration(r.Int63n(int64(90 * 24 * time.Hour))))
		switch r.Intn(10) {
		case 0:
			tm = tm.Truncate(24 * time.Hour)
		case 1:
			tm = tm.Truncate(24 * time.Hour).Add(-time.Millisecond)
		case 2:
			tm = now.Add(time.Duration(r.Intn(48)) * time.Hour)
		}
		var line string
		switch k := r.Intn(100); {
		case k < 70:
			line = fmt.Sprintf("TRACK %s %s AT %d FROM %s", []string{"view", "add_to_cart", "purchase"}[r.Intn(3)], pick(), tm.UnixMilli(), []string{"web", "app", "pos"}[r.Intn(3)])
			if r.Intn(4) == 0 {
				line = fmt.Sprintf("TRACK login %s %s AT %d", pick(), pick(), tm.UnixMilli())
			}
		case k < 80:
			line = fmt.Sprintf("SET %s age=%d", pick(), 18+r.Intn(40))
		case k < 88:
			line = fmt.Sprintf("CONSENT %s email %s AT %d", pick(), []string{"GRANT", "DENY"}[r.Intn(2)], tm.UnixMilli())
		case k < 95:
			line = fmt.Sprintf("MERGE %s %s", pick(), pick())
		case k < 98:
			line = fmt.Sprintf("UNLINK %s %s", pick(), pick())
		default:
			line = "FORGET " + pick()
		}
		if _, err := x.ExecLine(ctx, nil, line); err != nil {
			var qe *query.Error
			if !errors.As(err, &qe) || (qe.Code != query.CodeNotFound && qe.Code != query.CodeSyntax) {
				t.Fatalf("%s: %v", line, err)
			}
		}
	}
	profiles := snapshot(t, db, pool)
	for i := 0; i < 300; i++ {
		text := randomExpr(r, 3, now)
		e, err := query.ParseExprString(text)
		if err != nil {
			t.Fatalf("%s: %v", text, err)
		}
		var want []int64
		for _, p := range profiles {
			if brute(e, p, now) {
				want = append(want, int64(p.id))
			}
		}
		sort.Slice(want, func(i, j int) bool { return want[i] < want[j] })
		v := mustExec(t, x, "SEGMENT IDS "+text+" LIMIT 100000")
		var got []int64
		for _, a := range v.Arr {
			got = append(got, a.Int)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("SEGMENT IDS %s\n got %v\nwant %v", text, got, want)
		}
	}
}

func TestPagingSourcesAndSavedSegments(t *testing.T) {
	now := time.Date(2026, 11, 10, 12, 0, 0, 0, time.UTC)
	x, _ := newExec(t, now)
	pos := &query.Session{Name: "pos"}
	for i := 1; i <= 5; i++ {
		s := (*query.Session)(nil)
		if i%2 == 1 {
			s = pos // the connection's name is the default source
		}
		if _, err := x.ExecLine(ctx, s, fmt.Sprintf("TRACK purchase cookie:c%d AT 2026-11-0%dT10:00:00Z", i, i)); err != nil {
			t.Fatal(err)
		}
	}
	mustExec(t, x, "TRACK purchase cookie:c2 AT 2026-11-09T10:00:00Z FROM app")
	ids := func(line string) []int64 {
		var out []int64
		for _, v := range mustExec(t, x, line).Arr {
			out = append(out, v.Int)
		}
		return out
	}
	if got := ids("SEGMENT IDS DID purchase LIMIT 2"); !slices.Equal(got, []int64{1, 2}) {
		t.Fatalf("page 1: %v", got)
	}
	if got := ids("SEGMENT IDS DID purchase LIMIT 2 AFTER 2"); !slices.Equal(got, []int64{3, 4}) {
		t.Fatalf("page 2: %v", got)
	}
	if got := ids("SEGMENT IDS DID purchase LIMIT 2 AFTER 4"); !slices.Equal(got, []int64{5}) {
		t.Fatalf("page 3: %v", got)
	}
	if got := ids("SEGMENT IDS DID purchase FROM pos"); !slices.Equal(got, []int64{1, 3, 5}) {
		t.Fatalf("FROM pos: %v", got)
	}
	if got := ids("SEGMENT IDS DID purchase FROM app AND NOT DID purchase FROM pos"); !slices.Equal(got, []int64{2}) {
		t.Fatalf("app, not pos: %v", got)
	}
	mustExec(t, x, "SEGMENT SAVE store_buyers DID purchase FROM pos")
	mustExec(t, x, "SEGMENT SAVE early_store_buyers IN store_buyers AND DID purchase BETWEEN 2026-11-01T00:00:00Z AND 2026-11-02T00:00:00Z")
	if got := ids("SEGMENT IDS IN early_store_buyers"); !slices.Equal(got, []int64{1}) {
		t.Fatalf("IN: %v", got)
	}
	list := mustExec(t, x, "SEGMENT LIST")
	if len(list.Map) != 2 || list.Map[1].Key != "store_buyers" || list.Map[1].Val.Str != "DID purchase FROM pos" {
		t.Fatalf("LIST: %v", list)
	}
	// A segment another one uses cannot be dropped.
	if _, err := x.ExecLine(ctx, nil, "SEGMENT DROP store_buyers"); err == nil ||
		err.Error() != "ERR CONFLICT at word 3: segment store_buyers is used by early_store_buyers; drop or change those first" {
		t.Fatalf("DROP of a used segment: %v", err)
	}
	if v := mustExec(t, x, "SEGMENT DROP early_store_buyers"); v.Int != 1 {
		t.Fatalf("DROP: %v", v)
	}
	if v := mustExec(t, x, "SEGMENT DROP store_buyers"); v.Int != 1 {
		t.Fatalf("DROP: %v", v)
	}
	if v := mustExec(t, x, "SEGMENT DROP store_buyers"); v.Int != 0 {
		t.Fatalf("DROP again: %v", v)
	}
	tl := mustExec(t, x, "TIMELINE cookie:c2")
	if len(tl.Arr) != 2 {
		t.Fatalf("timeline: %v", tl)
	}
	if src, _ := tl.Arr[0].Get("source"); src.Str != "app" {
		t.Fatalf("newest first, FROM kept: %v", tl)
	}
	if src, _ := tl.Arr[1].Get("source"); src.Str != "default" {
		t.Fatalf("no FROM and no client name: %v", tl)
	}
	before := mustExec(t, x, "TIMELINE cookie:c2 BEFORE 2026-11-09T10:00:00Z")
	if len(before.Arr) != 1 {
		t.Fatalf("BEFORE is strict: %v", before)
	}
	if tm, _ := before.Arr[0].Get("time"); tm.Str != "2026-11-02T10:00:00.000Z" {
		t.Fatalf("BEFORE: %v", before)
	}
}
