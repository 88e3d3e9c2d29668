package index

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/RoaringBitmap/roaring/v2"
)

// model is the brute-force reference: a plain map of profile → events.
type model struct {
	live   map[uint32]bool
	events map[uint32][]Event
	attrs  map[uint32]Attrs
}

func newModel() *model {
	return &model{live: map[uint32]bool{}, events: map[uint32][]Event{}, attrs: map[uint32]Attrs{}}
}

func (m *model) add(p uint32, evs ...Event) {
	m.live[p] = true
	m.events[p] = append(m.events[p], evs...)
}

func (m *model) removeOne(p uint32, ev Event) bool {
	i := slices.IndexFunc(m.events[p], func(e Event) bool {
		return e.Name == ev.Name && e.Source == ev.Source && e.Time == ev.Time && string(e.Props) == string(ev.Props)
	})
	if i < 0 {
		return false
	}
	m.events[p] = slices.Delete(m.events[p], i, i+1)
	return true
}

func (m *model) remove(p uint32, evs ...Event) {
	for _, ev := range evs {
		m.removeOne(p, ev)
	}
}

func (m *model) move(from, to uint32, evs []Event) {
	m.live[to] = true
	if from == to {
		return
	}
	for _, ev := range evs {
		if m.removeOne(from, ev) {
			m.events[to] = append(m.events[to], ev)
		}
	}
}

func (m *model) setAttrs(p uint32, a Attrs) {
	m.live[p] = true
	m.attrs[p] = a
}

func (m *model) drop(p uint32) {
	delete(m.live, p)
	delete(m.attrs, p)
}

func (m *model) all() []uint32 {
	var out []uint32
	for p, ok := range m.live {
		if ok {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

func (m *model) did(q DidQuery) []uint32 {
	var out []uint32
	for _, p := range m.all() {
		n := 0
		for _, ev := range m.events[p] {
			if (q.Name == "" || ev.Name == q.Name) && (q.Source == "" || ev.Source == q.Source) &&
				q.From <= ev.Time && ev.Time <= q.To {
				n++
			}
		}
		var ok bool
		switch q.Cmp {
		case "":
			ok = n >= 1
		case ">=":
			ok = n >= q.N
		case ">":
			ok = n > q.N
		case "=":
			ok = n == q.N
		case "<":
			ok = n < q.N
		case "<=":
			ok = n <= q.N
		}
		if ok {
			out = append(out, p)
		}
	}
	return out
}

func (m *model) has(typ string) []uint32 {
	var out []uint32
	for _, p := range m.all() {
		if slices.Contains(m.attrs[p].Types, typ) {
			out = append(out, p)
		}
	}
	return out
}

func (m *model) consent(purpose string) []uint32 {
	var out []uint32
	for _, p := range m.all() {
		if m.attrs[p].Consent[purpose] {
			out = append(out, p)
		}
	}
	return out
}

func (m *model) tagged(tag string) []uint32 {
	var out []uint32
	for _, p := range m.all() {
		if slices.Contains(m.attrs[p].Tags, tag) {
			out = append(out, p)
		}
	}
	return out
}

func (m *model) trait(name, op, value string) []uint32 {
	var out []uint32
	for _, p := range m.all() {
		v, ok := m.attrs[p].Traits[name]
		if !ok {
			continue
		}
		var c int
		a, errA := parseFloatStrict(v)
		b, errB := parseFloatStrict(value)
		if errA && errB {
			c = map[bool]int{true: -1, false: 0}[a < b] + map[bool]int{true: 1, false: 0}[a > b]
		} else {
			c = strings.Compare(v, value)
		}
		var hit bool
		switch op {
		case "=":
			hit = c == 0
		case "!=":
			hit = c != 0
		case "<":
			hit = c < 0
		case "<=":
			hit = c <= 0
		case ">":
			hit = c > 0
		case ">=":
			hit = c >= 0
		}
		if hit {
			out = append(out, p)
		}
	}
	return out
}

// parseFloatStrict restates the documented number rule independently of
// parseNum: strconv.ParseFloat accepts it without error and it is not NaN.
func parseFloatStrict(s string) (float64, bool) {
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil && f == f
}

const day0 = int64(20_000) * dayMS // 2024-10-04 00:00 UTC

// days is the number of days random times spread over; TestMatchesModel
// changes it per configuration (tests in this package do not run in parallel).
var days = 90

var (
	testNames   = []string{"view", "add_to_cart", "purchase", "visit"}
	testSources = []string{"web", "app", "pos"}
	testTypes   = []string{"email", "phone", "cookie", "idfa"}
	testVals    = []string{"10", "10.0", "9", "abc", "", "1e1", "-0", "0", "Inf", "x10", "5"}
	testTraits  = []string{"age", "city", "tier"}
	purposes    = []string{"email", "sms"}
)

// boundaryTime picks a time on a day of the test range, biased to the
// first and last millisecond of the day.
func boundaryTime(r *rand.Rand) int64 {
	d := day0 + int64(r.IntN(days))*dayMS
	switch r.IntN(4) {
	case 0:
		return d
	case 1:
		return d + dayMS - 1
	case 2:
		return d + int64(r.IntN(3))*1000
	}
	return d + r.Int64N(dayMS)
}

func randEvent(r *rand.Rand) Event {
	return Event{Name: testNames[r.IntN(len(testNames))], Source: testSources[r.IntN(len(testSources))], Time: boundaryTime(r)}
}

func randAttrs(r *rand.Rand) Attrs {
	var a Attrs
	for _, t := range testTypes {
		if r.IntN(2) == 0 {
			a.Types = append(a.Types, t)
		}
	}
	a.Traits = map[string]string{}
	for _, t := range testTraits {
		if r.IntN(3) > 0 {
			a.Traits[t] = testVals[r.IntN(len(testVals))]
		}
	}
	a.Consent = map[string]bool{}
	for _, p := range purposes {
		if r.IntN(3) > 0 {
			a.Consent[p] = r.IntN(2) == 0
		}
	}
	for _, tag := range purposes {
		if r.IntN(3) == 0 {
			a.Tags = append(a.Tags, "tag-"+tag)
		}
	}
	return a
}

func randQuery(r *rand.Rand) DidQuery {
	var q DidQuery
	switch r.IntN(6) {
	case 0:
		q.Name = ""
	case 1:
		q.Name = "never"
	default:
		q.Name = testNames[r.IntN(len(testNames))]
	}
	switch r.IntN(5) {
	case 0:
		q.Source = testSources[r.IntN(len(testSources))]
	case 1:
		q.Source = "unknown"
	}
	q.From, q.To = boundaryTime(r), boundaryTime(r)
	if r.IntN(3) > 0 && q.From > q.To {
		q.From, q.To = q.To, q.From
	}
	switch r.IntN(8) {
	case 0:
		q.From = math.MinInt64
	case 1:
		q.To = math.MaxInt64
	case 2:
		q.From, q.To = math.MinInt64, math.MaxInt64
	}
	q.Cmp = []string{"", ">=", ">", "=", "<", "<=", "~"}[r.IntN(7)]
	q.N = r.IntN(5) - 1
	return q
}

func ids(bm *roaring.Bitmap) []uint32 {
	if bm.IsEmpty() {
		return nil
	}
	return bm.ToArray()
}

func sameIDs(a, b []uint32) bool { return slices.Equal(a, b) }

// checkQueries compares n random queries of x with the model.
func checkQueries(t *testing.T, r *rand.Rand, x *Index, m *model, n int) {
	t.Helper()
	if got, want := ids(x.All()), m.all(); !sameIDs(got, want) {
		t.Fatalf("All: got %v, want %v", got, want)
	}
	for i := 0; i < n; i++ {
		switch r.IntN(6) {
		case 0:
			typ := testTypes[r.IntN(len(testTypes))]
			if got, want := ids(x.Has(typ)), m.has(typ); !sameIDs(got, want) {
				t.Fatalf("Has(%q): got %v, want %v", typ, got, want)
			}
		case 1:
			pu := purposes[r.IntN(len(purposes))]
			if got, want := ids(x.Consent(pu)), m.consent(pu); !sameIDs(got, want) {
				t.Fatalf("Consent(%q): got %v, want %v", pu, got, want)
			}
			tag := "tag-" + pu
			if got, want := ids(x.Tagged(tag)), m.tagged(tag); !sameIDs(got, want) {
				t.Fatalf("Tagged(%q): got %v, want %v", tag, got, want)
			}
		case 2:
			name := testTraits[r.IntN(len(testTraits))]
			op := []string{"=", "!=", "<", "<=", ">", ">="}[r.IntN(6)]
			val := testVals[r.IntN(len(testVals))]
			if got, want := ids(x.Trait(name, op, val)), m.trait(name, op, val); !sameIDs(got, want) {
				t.Fatalf("Trait(%q %s %q): got %v, want %v", name, op, val, got, want)
			}
		default:
			q := randQuery(r)
			if got, want := ids(x.Did(q)), m.did(q); !sameIDs(got, want) {
				t.Fatalf("Did(%+v): got %v, want %v", q, got, want)
			}
		}
	}
}

// TestMatchesModel runs random writes and queries against the index and the
// brute-force model and requires identical answers throughout.
func TestMatchesModel(t *testing.T) {
	configs := []struct {
		name                  string
		seeds                 uint64
		days, profiles, steps int
		stride                uint32 // between profile ids
	}{
		{"90days", 6, 90, 300, 4000, 1},
		// One day and many profiles: buckets of thousands of events, so
		// chunks split and empty out.
		{"busyday", 2, 1, 2000, 6000, 1},
		// Profile ids up to about 1.2M: TIMES counts them in many blocks,
		// and skips the blocks between.
		{"spread", 2, 30, 300, 3000, 4099},
	}
	defer func(d int) { days = d }(days)
	for _, cfg := range configs {
		if raceEnabled {
			cfg.seeds, cfg.steps = 1, cfg.steps/2
		}
		for seed := uint64(1); seed <= cfg.seeds; seed++ {
			t.Run(fmt.Sprintf("%s/%d", cfg.name, seed), func(t *testing.T) {
				days = cfg.days
				if chunks := testRandom(t, seed, cfg.profiles, cfg.stride, cfg.steps); cfg.days < 10 && !raceEnabled && chunks < 3 {
					t.Fatalf("largest bucket had %d chunks; the configuration no longer splits chunks", chunks)
				}
			})
		}
	}
}

// testRandom runs one random scenario and returns the largest number of
// chunks a bucket had at a check point.
func testRandom(t *testing.T, seed uint64, profiles int, stride uint32, steps int) (chunks int) {
	r := rand.New(rand.NewPCG(seed, seed*7919))
	x, m := New(), newModel()
	for step := 0; step < steps; step++ {
		p := uint32(r.IntN(profiles)) * stride
		switch k := r.IntN(20); {
		case k < 9: // add a batch
			evs := make([]Event, 1+r.IntN(4))
			for i := range evs {
				evs[i] = randEvent(r)
				if i > 0 && r.IntN(4) == 0 {
					evs[i] = evs[i-1] // duplicates count twice
				}
			}
			x.Add(p, evs...)
			m.add(p, evs...)
		case k < 12: // remove some held events and maybe one not held
			var evs []Event
			for _, ev := range m.events[p] {
				if r.IntN(3) == 0 {
					evs = append(evs, ev)
				}
			}
			if r.IntN(2) == 0 {
				evs = append(evs, randEvent(r))
			}
			x.Remove(p, evs...)
			m.remove(p, evs...)
		case k < 15: // move: merge (all) or split (some)
			to := uint32(r.IntN(profiles)) * stride
			var evs []Event
			all := r.IntN(2) == 0
			for _, ev := range m.events[p] {
				if all || r.IntN(2) == 0 {
					evs = append(evs, ev)
				}
			}
			if r.IntN(3) == 0 {
				evs = append(evs, randEvent(r))
			}
			x.Move(p, to, evs)
			m.move(p, to, evs)
			if all && r.IntN(2) == 0 && p != to {
				x.Drop(p)
				m.drop(p)
			}
		case k < 18:
			a := randAttrs(r)
			x.SetAttrs(p, a)
			m.setAttrs(p, a)
		default: // forget: remove everything (usually) then drop
			if r.IntN(4) > 0 {
				evs := slices.Clone(m.events[p])
				x.Remove(p, evs...)
				m.remove(p, evs...)
			}
			x.Drop(p)
			m.drop(p)
		}
		if step%100 == 99 {
			checkQueries(t, r, x, m, 30)
			for _, s := range x.series {
				for _, b := range s.buckets {
					chunks = max(chunks, len(b.ev.chunks))
				}
			}
		}
	}
	checkQueries(t, r, x, m, 600)
	if ok, msg := x.Equal(x); !ok {
		t.Fatalf("self check: %s", msg)
	}
	y := reread(t, x)
	if ok, msg := x.Equal(y); !ok {
		t.Fatalf("round trip: %s", msg)
	}
	checkQueries(t, rand.New(rand.NewPCG(seed, 1)), y, m, 300)
	// The restored index keeps working as a writer.
	x.Add(1, Event{Name: "view", Source: "web", Time: day0})
	y.Add(1, Event{Name: "view", Source: "web", Time: day0})
	if ok, msg := x.Equal(y); !ok {
		t.Fatalf("after round trip and add: %s", msg)
	}
	return chunks
}

// reread returns x written as a snapshot and read back.
func reread(t *testing.T, x *Index) *Index {
	t.Helper()
	var buf bytes.Buffer
	if _, err := x.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	y, err := Read(&buf)
	if err != nil {
		t.Fatal(err)
	}
	return y
}
