package query_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/idgraph/idgraph/engine"
	"github.com/idgraph/idgraph/query"
)

var ctx = context.Background()

func newExec(t testing.TB, now time.Time) (*query.Executor, *engine.DB) {
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

// Saved segments are bounded: nesting deeper than 16 and more than the
// limit of saved segments (1,000; 40 here) are refused (a segment that can be saved can be used),
// and a chain that fans out four ways at each of its 16 levels (4^15
// references) is evaluated once per segment: WHO and SEGMENT COUNT answer
// at once (issue 16, finding 7).
func TestSavedSegmentsAreBounded(t *testing.T) {
	x, _ := newExec(t, time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC))
	ctx := context.Background()
	mustExec(t, x, "TRACK visit cookie:a AT 2026-11-01T10:00:00Z")
	mustExec(t, x, "SEGMENT SAVE d0 DID visit")
	for k := 1; k <= 15; k++ {
		p := fmt.Sprintf("d%d", k-1)
		mustExec(t, x, fmt.Sprintf("SEGMENT SAVE d%d IN %s OR IN %s OR IN %s OR IN %s", k, p, p, p, p))
	}
	_, err := x.ExecLine(ctx, nil, "SEGMENT SAVE d16 IN d15")
	if err == nil || !strings.Contains(err.Error(), "nested deeper than 16") {
		t.Errorf("a 17th level: %v", err)
	}
	if got := mustExec(t, x, "SEGMENT COUNT IN d15").String(); got != "(integer) 1" {
		t.Errorf("SEGMENT COUNT IN d15 = %s", got)
	}
	who := mustExec(t, x, "WHO cookie:a")
	if segs, _ := who.Get("segments"); len(segs.Arr) != 16 {
		t.Errorf("WHO lists %d segments, want d0..d15: %s", len(segs.Arr), segs)
	}
	defer query.SetMaxSavedSegments(40)()
	for i := 16; i < 40; i++ {
		mustExec(t, x, fmt.Sprintf("SEGMENT SAVE s%d DID visit", i))
	}
	if _, err := x.ExecLine(ctx, nil, "SEGMENT SAVE one-too-many DID visit"); err == nil || !strings.Contains(err.Error(), "at most 40 segments") {
		t.Errorf("the 1,001st segment: %v", err)
	}
	mustExec(t, x, "SEGMENT SAVE s17 DID signup") // replacing one stays possible
	if got := mustExec(t, x, "SEGMENT COUNT IN s17").String(); got != "(integer) 0" {
		t.Errorf("the replaced segment counts %s", got)
	}
}

// PROPS that are not valid UTF-8, and identifiers with control bytes, are
// refused with a positioned error and change nothing (issue 16, finding 15).
func TestInvalidBytesAreRefused(t *testing.T) {
	x, db := newExec(t, time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC))
	ctx := context.Background()
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"TRACK", "view", "cookie:a", "PROPS", "{\"name\":\"caf\xe9\"}"}, "ERR SYNTAX at word 5: PROPS is not valid UTF-8"},
		{[]string{"RECORD", "{\"event\":\"view\",\"ids\":[\"cookie:a\"],\"props\":{\"name\":\"caf\xe9\"}}"}, "ERR SYNTAX PROPS is not valid UTF-8"},
		{[]string{"TRACK", "view", "cookie:a\x00b"}, "ERR BADID at word 3"},
		{[]string{"TRACK", "view", "cookie:a\nb"}, "ERR BADID at word 3"},
	}
	for _, c := range cases {
		_, err := x.Exec(ctx, nil, c.args)
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.args, err, c.want)
		}
	}
	if st := db.Stats(); st.Nodes != 0 || st.Seq != 0 {
		t.Errorf("refused statements wrote: %+v", st)
	}
}

// SEGMENT EXPORT ... SNAPSHOT reads the moment of its first page on every
// page, while writes go on and WHO sees them (issue 13): a member added,
// one whose email changes and one who leaves between pages do not change
// what the export returns; without SNAPSHOT the next page sees them.
func TestExportSnapshotIsOneMomentWhileWritesGoOn(t *testing.T) {
	x, _ := newExec(t, time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC))
	for i := 1; i <= 4; i++ {
		mustExec(t, x, fmt.Sprintf("TRACK add_to_cart cookie:c%d email:p%d@x.io AT 2026-11-01T10:00:00Z", i, i))
	}
	mustExec(t, x, "SEGMENT SAVE carts DID add_to_cart WITHIN 7d AND NOT DID purchase WITHIN 7d")
	page := func(line string) (ids []int64, emails []string) {
		t.Helper()
		v := mustExec(t, x, line)
		for _, m := range v.Arr {
			p, _ := m.Get("profile")
			e, _ := m.Get("email")
			ids = append(ids, p.Int)
			emails = append(emails, e.String())
		}
		return ids, emails
	}
	ids1, _ := page("SEGMENT EXPORT carts FIELDS email LIMIT 2 SNAPSHOT exp1")
	if !slices.Equal(ids1, []int64{1, 2}) {
		t.Fatalf("first page: %v", ids1)
	}
	// Between the pages: profile 3 buys (leaves), profile 4 gets a second
	// email, a new profile 5 adds to cart; all acknowledged at once.
	mustExec(t, x, "TRACK purchase cookie:c3 AT 2026-11-01T12:00:00Z")
	mustExec(t, x, "MERGE cookie:c4 email:q4@x.io AT 2026-11-01T12:00:00Z")
	mustExec(t, x, "TRACK add_to_cart cookie:c5 AT 2026-11-01T12:00:00Z")
	if who := mustExec(t, x, "WHO cookie:c4").String(); !strings.Contains(who, "q4@x.io") {
		t.Fatalf("WHO does not see the write made while the snapshot is held: %s", who)
	}
	ids2, emails2 := page("SEGMENT EXPORT carts FIELDS email LIMIT 10 AFTER 2 SNAPSHOT exp1")
	if !slices.Equal(ids2, []int64{3, 4}) || strings.Contains(strings.Join(emails2, " "), "q4@x.io") {
		t.Errorf("second page of the snapshot: %v %v, want profiles 3 and 4 as they were", ids2, emails2)
	}
	c5, _ := mustExec(t, x, "WHO cookie:c5").Get("profile")
	ids3, emails3 := page("SEGMENT EXPORT carts FIELDS email LIMIT 10 AFTER 2")
	if !slices.Equal(ids3, []int64{4, c5.Int}) || !strings.Contains(strings.Join(emails3, " "), "q4@x.io") {
		t.Errorf("the same page without the snapshot: %v %v, want profiles 4 and %d as they are now", ids3, emails3, c5.Int)
	}
}
