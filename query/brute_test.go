package query_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
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

// Segments and computed traits against a brute-force evaluation over the
// events that count for each profile now, read back through WHO and
// TIMELINE. The model below is written from SPEC.md §4 and §4.1, not from
// the index: it decodes each event's PROPS, walks the path, compares, and
// aggregates event by event.

type bruteProfile struct {
	id      uint32
	types   map[string]bool
	traits  map[string]string
	consent map[string]bool
	tags    map[string]bool
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
		bp := &bruteProfile{id: p.ID, types: map[string]bool{}, traits: p.Traits, consent: p.Consent, tags: map[string]bool{}, events: evs}
		for _, s := range p.IDs {
			bp.types[s[:strings.IndexByte(s, ':')]] = true
		}
		for _, tag := range p.Tags {
			bp.tags[tag] = true
		}
		out = append(out, bp)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// bruteEnv is what an evaluation depends on besides the profile.
type bruteEnv struct {
	now      time.Time
	computed map[string]*query.Aggregate
}

func brute(e query.Expr, p *bruteProfile, env *bruteEnv) bool {
	switch e := e.(type) {
	case *query.Or:
		return brute(e.L, p, env) || brute(e.R, p, env)
	case *query.And:
		return brute(e.L, p, env) && brute(e.R, p, env)
	case *query.Not:
		return !brute(e.X, p, env)
	case *query.Has:
		return p.types[e.Type]
	case *query.ConsentIs:
		return p.consent[e.Purpose]
	case *query.Tagged:
		return p.tags[e.Tag]
	case *query.TraitCmp:
		if a, ok := env.computed[e.Name]; ok {
			v := bruteAggregate(a, p, env.now)
			return v.set && cmp(e.Op, compareText(v.text, v.num, v.isNum, e.Value))
		}
		v, ok := p.traits[e.Name]
		return ok && cmp(e.Op, compareText(v, 0, false, e.Value))
	case *query.Did:
		from, to := bruteSpan(e.Window, env.now)
		n := 0
		for _, ev := range p.events {
			if ev.Name == e.Event && (e.Source == "" || ev.Source == e.Source) && inSpan(ev.Time, from, to) && condsHold(ev.Props, e.Where) {
				n++
			}
		}
		if e.Cmp == "" {
			return n >= 1
		}
		return cmp(e.Cmp, compareInts(n, e.N))
	}
	panic(fmt.Sprintf("unexpected %T", e))
}

// bruteSpan is a window's first and last instant at now (SPEC.md §4).
func bruteSpan(w query.Window, now time.Time) (from, to time.Time) {
	from, to = time.Unix(-1<<40, 0), now
	switch w.Kind {
	case query.WindowWithin:
		from = now.UTC().Truncate(24*time.Hour).AddDate(0, 0, -(w.Days - 1))
	case query.WindowHours:
		from = now.Add(-time.Duration(w.Hours) * time.Hour)
	case query.WindowSince:
		from = w.From
	case query.WindowBetween:
		from = w.From
		if w.To.Before(to) {
			to = w.To
		}
	}
	return from, to
}

func inSpan(t, from, to time.Time) bool { return !t.Before(from) && !t.After(to) }

// propAt returns the JSON value at a dotted path of an event's PROPS.
func propAt(props []byte, path string) (any, bool) {
	if len(props) == 0 {
		return nil, false
	}
	d := json.NewDecoder(bytes.NewReader(props))
	d.UseNumber()
	var cur any
	if d.Decode(&cur) != nil {
		return nil, false
	}
	for _, k := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[k]; !ok {
			return nil, false
		}
	}
	return cur, true
}

func number(s string) (float64, bool) {
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil && !math.IsNaN(f)
}

// compareText compares a stored value (text, and its number when isNum)
// with a literal: as numbers when both are, else as text.
func compareText(text string, num float64, isNum bool, lit string) int {
	if b, ok := number(lit); ok && isNum {
		switch {
		case num < b:
			return -1
		case num > b:
			return 1
		}
		return 0
	}
	return strings.Compare(text, lit)
}

func condsHold(props []byte, cs []query.Cond) bool {
	for _, c := range cs {
		v, ok := propAt(props, c.Path)
		if !ok {
			return false
		}
		switch v := v.(type) {
		case bool:
			lit := c.Value == "true" || c.Value == "false"
			if !lit || c.Op != "=" && c.Op != "!=" {
				return false
			}
			if (v == (c.Value == "true")) != (c.Op == "=") {
				return false
			}
		case json.Number:
			n, isNum := number(string(v))
			if !cmp(c.Op, compareText(string(v), n, isNum, c.Value)) {
				return false
			}
		case string:
			n, isNum := number(v)
			if !cmp(c.Op, compareText(v, n, isNum, c.Value)) {
				return false
			}
		default: // null, an object, an array
			return false
		}
	}
	return true
}

// bruteValue is a computed trait's value for one profile.
type bruteValue struct {
	set   bool
	isNum bool
	num   float64
	text  string
}

// scalar is a property value FIRST, LAST and DISTINCT can take.
type scalar struct {
	rank  int // 1 number, 2 string, 3 true, 4 false: the order of ties
	text  string
	num   float64
	isNum bool
}

func scalarOf(v any) (scalar, bool) {
	switch v := v.(type) {
	case json.Number:
		n, ok := number(string(v))
		if !ok {
			return scalar{rank: 2, text: string(v)}, true
		}
		return scalar{rank: 1, text: string(v), num: n, isNum: true}, true
	case string:
		n, ok := number(v)
		return scalar{rank: 2, text: v, num: n, isNum: ok}, true
	case bool:
		if v {
			return scalar{rank: 3, text: "true"}, true
		}
		return scalar{rank: 4, text: "false"}, true
	}
	return scalar{}, false
}

func (a scalar) less(b scalar) bool {
	if a.rank != b.rank {
		return a.rank < b.rank
	}
	return a.text < b.text
}

func bruteAggregate(a *query.Aggregate, p *bruteProfile, now time.Time) bruteValue {
	from, to := bruteSpan(a.Window, now)
	type term struct {
		points        float64
		event, source string
		where         []query.Cond
	}
	terms := []term{{1, a.Event, a.Source, a.Where}}
	if a.Kind == "SCORE" {
		terms = nil
		for _, t := range a.Terms {
			terms = append(terms, term{t.Points, t.Event, t.Source, t.Where})
		}
	}
	var (
		count, score, sum float64
		nums              int
		minV, maxV        float64
		first, last       scalar
		firstT, lastT     time.Time
		seenFirst         bool
		distinct          = map[string]bool{}
	)
	for _, t := range terms {
		for _, ev := range p.events {
			if ev.Name != t.event || t.source != "" && ev.Source != t.source || !inSpan(ev.Time, from, to) || !condsHold(ev.Props, t.where) {
				continue
			}
			count++
			score += t.points
			if a.Property == "" {
				continue
			}
			raw, ok := propAt(ev.Props, a.Property)
			if !ok {
				continue
			}
			s, ok := scalarOf(raw)
			if !ok {
				continue
			}
			if s.isNum {
				if nums == 0 || s.num < minV {
					minV = s.num
				}
				if nums == 0 || s.num > maxV {
					maxV = s.num
				}
				sum += s.num
				nums++
			}
			if !seenFirst || ev.Time.Before(firstT) || ev.Time.Equal(firstT) && s.less(first) {
				first, firstT = s, ev.Time
			}
			if !seenFirst || ev.Time.After(lastT) || ev.Time.Equal(lastT) && last.less(s) {
				last, lastT = s, ev.Time
			}
			seenFirst = true
			key := "s" + s.text
			switch s.rank {
			case 1:
				key = "n" + strconv.FormatFloat(s.num, 'g', -1, 64)
			case 3, 4:
				key = s.text
			}
			distinct[key] = true
		}
	}
	num := func(f float64) bruteValue {
		return bruteValue{set: true, isNum: true, num: f, text: strconv.FormatFloat(f, 'f', -1, 64)}
	}
	switch a.Kind {
	case "COUNT":
		return num(count)
	case "SCORE":
		return num(score)
	case "SUM", "AVG", "MIN", "MAX":
		if nums == 0 {
			return bruteValue{}
		}
		return num(map[string]float64{"SUM": sum, "AVG": sum / float64(nums), "MIN": minV, "MAX": maxV}[a.Kind])
	case "DISTINCT":
		if len(distinct) == 0 {
			return bruteValue{}
		}
		return num(float64(len(distinct)))
	case "FIRST", "LAST":
		if !seenFirst {
			return bruteValue{}
		}
		s := first
		if a.Kind == "LAST" {
			s = last
		}
		return bruteValue{set: true, isNum: s.isNum, num: s.num, text: s.text}
	}
	panic(a.Kind)
}

func compareInts(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
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

// computedDefs are the computed traits of the differential: every
// aggregate, with sources, conditions and each kind of window. The first
// half is defined before any event arrives, the rest after (a backfill).
func computedDefs(now time.Time) [][2]string {
	since := now.Add(-40 * 24 * time.Hour).Format(time.RFC3339)
	return [][2]string{
		{"c_count", "COUNT purchase WHERE category = phones WITHIN 30d"},
		{"c_sum", "SUM total OF purchase"},
		{"c_min", "MIN total OF add_to_cart WITHIN 48h"},
		{"c_max", "MAX total OF view FROM web"},
		{"c_avg", "AVG total OF purchase SINCE " + since},
		{"c_first", "FIRST category OF view"},
		{"c_last", "LAST total OF purchase WHERE ok = true"},
		{"c_distinct", "DISTINCT category OF view WITHIN 14d"},
		{"c_items", "SUM cart.items OF add_to_cart FROM app"},
		{"c_score", "SCORE 1 view + 5 add_to_cart WHERE total > 50 + 20 purchase FROM pos + -3 login WITHIN 7d"},
	}
}

// numericLit draws a literal for a numeric computed trait.
func numericLit(r *rand.Rand) string {
	return []string{"0", "1", "2", "5", "20", "50", "99.5", "100", "150", "-3"}[r.Intn(10)]
}

func randomExpr(r *rand.Rand, depth int, now time.Time) string {
	if depth > 0 && r.Intn(3) > 0 {
		l, rr := randomExpr(r, depth-1, now), randomExpr(r, depth-1, now)
		switch r.Intn(3) {
		case 0:
			return "( " + l + " AND " + rr + " )"
		case 1:
			return "( " + l + " OR " + rr + " )"
		default:
			return "NOT " + l
		}
	}
	names := []string{"view", "add_to_cart", "purchase"}
	ops := []string{"=", "!=", "<", "<=", ">", ">="}
	switch r.Intn(10) {
	case 0:
		return "HAS " + []string{"user", "email", "cookie", "device"}[r.Intn(4)]
	case 1:
		return "CONSENT email"
	case 2:
		return fmt.Sprintf("TRAIT age %s %d", ops[r.Intn(6)], 20+r.Intn(30))
	case 3:
		return "TAGGED " + []string{"vip", "b2b", "'black friday'"}[r.Intn(3)]
	case 4:
		defs := computedDefs(now)
		d := defs[r.Intn(len(defs))]
		lit := numericLit(r)
		if d[0] == "c_first" {
			lit = []string{"phones", "books", "Phones", "a", "z"}[r.Intn(5)]
		}
		return fmt.Sprintf("TRAIT %s %s %s", d[0], ops[r.Intn(6)], lit)
	default:
		s := "DID " + names[r.Intn(3)]
		if r.Intn(3) == 0 {
			s += " FROM " + []string{"web", "app", "pos"}[r.Intn(3)]
		}
		if r.Intn(2) == 0 {
			conds := []string{
				"total > 50", "total <= 100", "total != 7", "total = 50", "category = phones", "category != books",
				"category < p", "cart.items >= 2", "ok = true", "ok != false", "ok = yes", "total >= n/a",
			}
			s += " WHERE " + conds[r.Intn(len(conds))]
			if r.Intn(3) == 0 {
				s += " AND " + conds[r.Intn(len(conds))]
			}
		}
		if r.Intn(3) == 0 {
			s += fmt.Sprintf(" %s %d TIMES", []string{">=", ">", "=", "<", "<="}[r.Intn(5)], r.Intn(4))
		}
		switch r.Intn(5) {
		case 0:
			s += fmt.Sprintf(" WITHIN %dd", 1+r.Intn(60))
		case 1:
			s += " SINCE " + now.Add(-time.Duration(r.Intn(90*24))*time.Hour).Format(time.RFC3339)
		case 2:
			a := now.Add(-time.Duration(r.Intn(90*24)) * time.Hour)
			s += " BETWEEN " + a.Format(time.RFC3339) + " AND " + a.Add(time.Duration(1+r.Intn(30*24))*time.Hour).Format(time.RFC3339)
		case 3:
			s += fmt.Sprintf(" WITHIN %dh", 1+r.Intn(100))
		}
		return s
	}
}

// randomProps draws an event's PROPS: totals as numbers, numeric text and
// text, categories, a nested cart, booleans; or none.
func randomProps(r *rand.Rand) string {
	m := map[string]any{}
	switch r.Intn(6) {
	case 0:
		m["total"] = r.Intn(150)
	case 1:
		m["total"] = strconv.Itoa(r.Intn(150))
	case 2:
		m["total"] = "n/a"
	case 3:
		m["total"] = float64(r.Intn(300)) / 2
	case 4:
		m["total"] = nil
	}
	if r.Intn(2) == 0 {
		m["category"] = []string{"phones", "books", "Phones", "7"}[r.Intn(4)]
	}
	if r.Intn(3) == 0 {
		m["cart"] = map[string]any{"items": r.Intn(4)}
	}
	if r.Intn(4) == 0 {
		m["ok"] = r.Intn(2) == 0
	}
	if len(m) == 0 {
		return ""
	}
	b, _ := json.Marshal(m)
	return " PROPS '" + string(b) + "'"
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
	defs := computedDefs(now)
	define := func(d [2]string) { mustExec(t, x, "COMPUTE "+d[0]+" AS "+d[1]) }
	for _, d := range defs[:len(defs)/2] {
		define(d)
	}
	var same string // when set, the identifier the next pick returns
	pick := func() string {
		if same != "" {
			id := same
			same = ""
			return id
		}
		return pool[r.Intn(len(pool))]
	}
	type moment struct {
		t  time.Time
		id string
	}
	var used []moment
	for i := 0; i < 1500; i++ {
		// Times spread over 90 days before now, some exactly at midnight
		// and just before it, some within the last hours, and a few after
		// now (which never count).
		tm := now.Add(-time.Duration(r.Int63n(int64(90 * 24 * time.Hour))))
		switch r.Intn(10) {
		case 0:
			tm = tm.Truncate(24 * time.Hour)
		case 1:
			tm = tm.Truncate(24 * time.Hour).Add(-time.Millisecond)
		case 2:
			tm = now.Add(time.Duration(r.Intn(48)) * time.Hour)
		case 3:
			tm = now.Add(-time.Duration(r.Intn(100)) * time.Hour)
		case 4, 5:
			if len(used) > 0 { // another event of someone at the same millisecond
				u := used[r.Intn(len(used))]
				tm, same = u.t, u.id
			}
		}
		var line string
		switch k := r.Intn(100); {
		case k < 66:
			id := pick()
			used = append(used, moment{tm, id})
			line = fmt.Sprintf("TRACK %s %s AT %d FROM %s%s", []string{"view", "add_to_cart", "purchase"}[r.Intn(3)], id, tm.UnixMilli(), []string{"web", "app", "pos"}[r.Intn(3)], randomProps(r))
			if r.Intn(4) == 0 {
				line = fmt.Sprintf("TRACK login %s %s AT %d", pick(), pick(), tm.UnixMilli())
			}
		case k < 74:
			line = fmt.Sprintf("SET %s age=%d", pick(), 18+r.Intn(40))
		case k < 80:
			line = fmt.Sprintf("CONSENT %s email %s AT %d", pick(), []string{"GRANT", "DENY"}[r.Intn(2)], tm.UnixMilli())
		case k < 86:
			line = fmt.Sprintf("%s %s %s AT %d", []string{"TAG", "UNTAG"}[r.Intn(2)], pick(), []string{"vip", "b2b", "'black friday'"}[r.Intn(3)], tm.UnixMilli())
		case k < 93:
			line = fmt.Sprintf("MERGE %s %s", pick(), pick())
		case k < 97:
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
	for _, d := range defs[len(defs)/2:] {
		define(d)
	}
	env := &bruteEnv{now: now, computed: map[string]*query.Aggregate{}}
	for _, d := range defs {
		st, err := query.ParseLine("COMPUTE " + d[0] + " AS " + d[1])
		if err != nil {
			t.Fatal(err)
		}
		env.computed[d[0]] = &st.(*query.Compute).Agg
	}
	profiles := snapshot(t, db, pool)
	checkComputedValues(t, x, profiles, env)
	for i := 0; i < 300; i++ {
		text := randomExpr(r, 3, now)
		e, err := query.ParseExprString(text)
		if err != nil {
			t.Fatalf("%s: %v", text, err)
		}
		// Now, or ASOF a moment of the last 60 days: windows and computed
		// traits move with it.
		at := &bruteEnv{now: now, computed: env.computed}
		asof := ""
		if r.Intn(4) == 0 {
			at.now = now.Add(-time.Duration(r.Int63n(int64(60 * 24 * time.Hour)))).Truncate(time.Millisecond)
			asof = fmt.Sprintf(" ASOF %d", at.now.UnixMilli())
		}
		var want []int64
		for _, p := range profiles {
			if brute(e, p, at) {
				want = append(want, int64(p.id))
			}
		}
		v := mustExec(t, x, "SEGMENT IDS "+text+asof+" LIMIT 100000")
		var got []int64
		for _, a := range v.Arr {
			got = append(got, a.Int)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("SEGMENT IDS %s%s\n got %v\nwant %v", text, asof, got, want)
		}
	}
}

// checkComputedValues compares WHO's computed map with the model for
// every profile.
func checkComputedValues(t *testing.T, x *query.Executor, profiles []*bruteProfile, env *bruteEnv) {
	t.Helper()
	for _, p := range profiles {
		who := mustExec(t, x, fmt.Sprintf("WHO profile:%d", p.id))
		var got map[string]query.Value
		for _, kv := range who.Map {
			if kv.Key == "computed" {
				got = map[string]query.Value{}
				for _, c := range kv.Val.Map {
					got[c.Key] = c.Val
				}
			}
		}
		if got == nil {
			t.Fatalf("WHO profile:%d has no computed map", p.id)
		}
		for name, a := range env.computed {
			want := bruteAggregate(a, p, env.now)
			g, ok := got[name]
			switch {
			case !want.set && ok:
				t.Errorf("profile %d %s = %v, want no value", p.id, name, g)
			case !want.set:
			case !ok:
				t.Errorf("profile %d %s has no value, want %s", p.id, name, want.text)
			case want.isNum && (g.Kind != query.KindDouble || math.Abs(g.Float-want.num) > 1e-9*math.Max(1, math.Abs(want.num))):
				t.Errorf("profile %d %s = %+v, want %v", p.id, name, g, want.num)
			case !want.isNum && (g.Kind != query.KindString || g.Str != want.text):
				t.Errorf("profile %d %s = %+v, want %q", p.id, name, g, want.text)
			}
		}
	}
}
