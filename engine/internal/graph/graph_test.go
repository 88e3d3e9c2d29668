package graph

import (
	"errors"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
)

func TestNormalize(t *testing.T) {
	for _, c := range []struct{ rule, in, want string }{
		{NormTrim, "  abc \n", "abc"},
		{NormLower, " Ann@Example.COM ", "ann@example.com"},
		{NormLower, "\u212a@x.io", "\u212a@x.io"}, // Kelvin sign: not ASCII, kept
		{NormLower, "ÄÖ@x.io", "ÄÖ@x.io"},         // only ASCII letters fold
		{NormUpper, " ab-12c ", "AB-12C"},
		{NormPhone, "+1 (555) 010-9999", "+15550109999"},
		{NormPhone, "8 800 555 35 35", "88005553535"},
		{NormPhone, "+", ""},
		{NormPhone, "-1", "1"},
	} {
		if got := Normalize(c.rule, c.in); got != c.want {
			t.Errorf("Normalize(%s, %q) = %q; want %q", c.rule, c.in, got, c.want)
		}
	}
}

func TestParseIDBlocksJunkBeforeAndAfterNormalisation(t *testing.T) {
	tt, err := NewTypes(BuiltinTypes())
	if err != nil {
		t.Fatal(err)
	}
	bl := NewBlocklist(DefaultBlocked(), false)
	for _, c := range []struct {
		in      string
		blocked bool
		kind    Kind // 0: no error
	}{
		{"phone:-1", true, 0},
		{"phone:+0000", true, 0},
		{"phone:+7 000 000 00 00", true, 0},
		{"phone:+1 000 000 0000", true, 0},
		{"phone:+44 207 000 0000", false, 0},
		{"phone:+100", false, 0},
		{"email:NULL", true, 0},
		{"idfa:00000000-0000-0000-0000-000000000000", true, 0},
		{"cookie:0", true, 0},
		{"cookie:10", false, 0},
		{"email:a\x00b@x.io", false, BadID},
		{"email:a\nb@x.io", false, BadID},
		{"email:", true, 0},
		{"fax:1", false, BadID},
		{"profile:1", false, BadID},
		{"nocolon", false, BadID},
		{"email:\xff", false, BadID},
	} {
		_, _, blocked, err := tt.ParseID(c.in, bl)
		var e *Error
		switch {
		case c.kind != 0 && (!errors.As(err, &e) || e.Kind != c.kind || e.Arg != c.in):
			t.Errorf("ParseID(%q): error %v; want kind %v with Arg the input", c.in, err, c.kind)
		case c.kind == 0 && err != nil:
			t.Errorf("ParseID(%q): %v", c.in, err)
		case c.kind == 0 && blocked != c.blocked:
			t.Errorf("ParseID(%q): blocked %v; want %v", c.in, blocked, c.blocked)
		}
	}
}

func TestParseTime(t *testing.T) {
	ok := map[string]time.Time{
		"0":                              time.UnixMilli(0).UTC(),
		"999999999":                      time.UnixMilli(999999999).UTC(),
		"1764000000000":                  time.UnixMilli(1764000000000).UTC(),
		"2026-11-01T10:00:00.1239+02:00": time.Date(2026, 11, 1, 8, 0, 0, 123e6, time.UTC),
	}
	for in, want := range ok {
		if got, err := ParseTime(in); err != nil || !got.Equal(want) {
			t.Errorf("ParseTime(%s) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"1764000000", "10000000000", "99999999999", "253402300800000", "1969-12-31T23:59:59Z", "2026-13-01", ""} {
		if _, err := ParseTime(in); err == nil {
			t.Errorf("ParseTime(%q) accepted", in)
		}
	}
}

func randSummary(r *rand.Rand) Summary {
	s := MemberSummary([]string{"user", "email", "cookie"}[r.IntN(3)], Span{}, Facts{})
	for range r.IntN(3) {
		s.Span.AddTime(r.Int64N(1000))
	}
	for range r.IntN(3) {
		st := Stamp{T: r.Int64N(5), S: uint64(r.IntN(5))}
		switch r.IntN(3) {
		case 0:
			s.Facts.Add(Facts{Traits: map[string]Value{[]string{"a", "b"}[r.IntN(2)]: {V: []string{"x", "y", ""}[r.IntN(3)], Stamp: st}}})
		case 1:
			s.Facts.Add(Facts{Consent: map[string]Flag{"email": {On: r.IntN(2) == 0, Stamp: st}}})
		default:
			s.Facts.Add(Facts{Tags: map[string]Flag{"vip": {On: r.IntN(2) == 0, Stamp: st}}})
		}
	}
	return s
}

// A profile's summary does not depend on the order its members' summaries
// are combined in, so incremental Adds and Derive agree.
func TestDeriveIsOrderFree(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 500 {
		ms := make([]Summary, 1+r.IntN(6))
		for i := range ms {
			ms[i] = randSummary(r)
		}
		want := Derive(ms)
		shuffled := append([]Summary(nil), ms...)
		r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		// Incrementally, as the writer does: start from one, Add the rest.
		got := shuffled[0].Clone()
		for _, m := range shuffled[1:] {
			got.Add(m)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("incremental %+v\nderived %+v", got, want)
		}
	}
}

func TestResolveRules(t *testing.T) {
	tt, err := NewTypes(BuiltinTypes())
	if err != nil {
		t.Fatal(err)
	}
	code := func(name string) int { c, _ := tt.Code(name); return c }
	sc := NewScratch(tt)
	m := func(n uint32, typ string) Member { return Member{Node: n, Type: code(typ)} }
	// user:1 with cookie:10; user:2 with the same cookie is refused.
	sc.Replay([]Member{m(1, "user"), m(10, "cookie")})
	_, ds := sc.Replay([]Member{m(2, "user"), m(10, "cookie")})
	if len(ds) != 1 || !ds[0].Refused() || ds[0].Rule != "limit user=1" {
		t.Fatalf("shared cookie: %+v", ds)
	}
	// A device moves to a new owner, alone.
	sc.Replay([]Member{m(1, "user"), m(20, "device"), m(11, "cookie")})
	_, ds = sc.Replay([]Member{m(2, "user"), m(20, "device")})
	if !ds[0].Moved() || sc.Label(20) != sc.Label(2) || sc.Label(11) != sc.Label(1) {
		t.Fatalf("device move: %+v labels %d %d %d", ds, sc.Label(20), sc.Label(2), sc.Label(11))
	}
	// Two new user ids in one call: the second starts its own profile.
	_, ds = sc.Replay([]Member{m(3, "user"), m(4, "user")})
	if !ds[0].Refused() || sc.Label(3) == sc.Label(4) {
		t.Fatalf("two new users: %+v", ds)
	}
}

// Counts against a map: random adds and removals (a removal below zero
// included) keep them sorted, without zeros, and equal to the map.
func TestCountsFollowAMap(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	types := []string{"cookie", "device", "email", "phone", "user", "app"}
	for range 200 {
		var c Counts
		m := map[string]int{}
		for range 40 {
			typ, n := types[r.IntN(len(types))], r.IntN(5)-2
			c.Add(typ, n)
			if m[typ] += n; m[typ] <= 0 {
				delete(m, typ)
			}
			total := 0
			for i, tc := range c {
				if tc.N <= 0 || i > 0 && c[i-1].Type >= tc.Type {
					t.Fatalf("after Add(%s, %d): %v is not sorted and positive", typ, n, c)
				}
				if m[tc.Type] != tc.N {
					t.Fatalf("after Add(%s, %d): %v, map %v", typ, n, c, m)
				}
				total += tc.N
			}
			if len(c) != len(m) || c.Total() != total {
				t.Fatalf("after Add(%s, %d): %v, map %v", typ, n, c, m)
			}
			for _, typ := range types {
				if c.Of(typ) != m[typ] {
					t.Fatalf("Of(%s) = %d, map %d", typ, c.Of(typ), m[typ])
				}
			}
		}
		// A clone is its own: changing it leaves the original.
		d := c.Clone()
		d.Add("zzz", 1)
		if len(c) > 0 {
			d.Add(c[0].Type, 5)
		}
		for _, tc := range c {
			if m[tc.Type] != tc.N {
				t.Fatalf("the clone's change reached the original: %v", c)
			}
		}
	}
}
