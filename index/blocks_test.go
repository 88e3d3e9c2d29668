package index

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
)

// TestPerProfileReadsMatchTheModel: a profile's aggregates (AggregateFor,
// AggregatesFor), the comparisons of every profile's (AggregateMatch), and
// DidHolds, which probe only the days of the 32-day
// blocks that may hold the profile, equal a brute force over the model's
// events: over 900 days on both sides of 1970, windows that start and end
// inside blocks, and profiles whose events were removed or moved away
// (blocks keep a superset).
func TestPerProfileReadsMatchTheModel(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		rng := rand.New(rand.NewPCG(seed, 7))
		x, m := New(), newModel()
		// Even seeds use profiles on both sides of markLimit, whose days
		// blocks do not mark.
		base := uint32(0)
		if seed%2 == 0 {
			base = markLimit - 18
		}
		x.ReplaceSeries("buy", []string{"n"}, nil)
		day := func() int64 { return int64(rng.IntN(900)) - 300 }
		type held struct {
			p  uint32
			ev Event
		}
		var added []held
		for i := 0; i < 400; i++ {
			p := base + uint32(1+rng.IntN(30))
			name := []string{"buy", "view"}[rng.IntN(2)]
			ev := Event{Name: name, Source: "web", Time: day()*dayMS + int64(rng.IntN(int(dayMS))), Props: []byte(`{"n":` + strconv.Itoa(rng.IntN(100)) + `}`)}
			x.Add(p, ev)
			m.add(p, ev)
			added = append(added, held{p, ev})
		}
		for i := 0; i < 60; i++ { // remove or move some away
			h := added[rng.IntN(len(added))]
			if rng.IntN(2) == 0 {
				x.Remove(h.p, h.ev)
				m.remove(h.p, h.ev)
			} else {
				to := base + uint32(31+rng.IntN(5))
				x.Move(h.p, to, []Event{h.ev})
				m.move(h.p, to, []Event{h.ev})
			}
		}
		// The blocks as recount rebuilds them from a snapshot, half the time.
		if seed%4 < 2 {
			x = reread(t, x)
		}
		v := x.View()
		for q := 0; q < 40; q++ {
			from := day()*dayMS + int64(rng.IntN(int(dayMS)))
			to := from + int64(rng.IntN(400))*dayMS + int64(rng.IntN(int(dayMS)))
			over50 := []Cond{{Path: "n", Op: ">", Value: "50"}}
			qs := []AggQuery{
				{DidQuery: DidQuery{Name: "buy", From: from, To: to}, Kind: "count"},
				{DidQuery: DidQuery{Name: "buy", From: from, To: to}, Kind: "sum", Path: "n"},
				{DidQuery: DidQuery{From: from - 90*dayMS, To: to}, Kind: "score", Terms: []ScoreTerm{{Event: "view", Points: 1}, {Event: "buy", Points: 5, Where: over50}}},
			}
			dq := DidQuery{Name: []string{"buy", "view", ""}[rng.IntN(3)], From: from, To: to, Cmp: []string{"", ">=", "<"}[rng.IntN(3)], N: rng.IntN(4)}
			holders := m.did(dq)
			for p := base + 1; p <= base+35; p++ {
				want := modelAggregates(m.events[p], qs)
				got := v.AggregatesFor(qs, p)
				for i, q := range qs {
					one := v.AggregateFor(q, p)
					if fmt.Sprint(got[i]) != fmt.Sprint(want[i]) || fmt.Sprint(one) != fmt.Sprint(want[i]) {
						t.Fatalf("seed %d, profile %d, %s over [%d, %d]: AggregatesFor %+v, AggregateFor %+v, model %+v", seed, p, q.Kind, q.From, q.To, got[i], one, want[i])
					}
				}
				if got, want := v.DidHolds(dq, p), slices.Contains(holders, p); got != want {
					t.Fatalf("seed %d, profile %d: DidHolds(%+v) = %v, model %v", seed, p, dq, got, want)
				}
			}
			// The whole population's comparisons, which add up a block of
			// profiles at a time (the even seeds' profiles straddle two
			// blocks), agree with each profile's model value.
			for i, q := range qs {
				op := []string{"=", "!=", "<", "<=", ">", ">="}[rng.IntN(6)]
				lit := []string{"0", "1", "3", "10", "50", "120", "abc"}[rng.IntN(7)]
				var want []uint32
				for _, p := range m.all() {
					if modelAggregates(m.events[p], qs)[i].Holds(op, lit) {
						want = append(want, p)
					}
				}
				slices.Sort(want)
				if got := ids(v.AggregateMatch(q, op, lit)); !sameIDs(got, want) {
					t.Fatalf("seed %d, %s %s %s over [%d, %d]: AggregateMatch %v, model %v", seed, q.Kind, op, lit, q.From, q.To, got, want)
				}
			}
		}
		v.Close()
	}
}

// modelAggregates computes the test's count, sum and score queries over a
// profile's events by brute force.
func modelAggregates(evs []Event, qs []AggQuery) []AggValue {
	in := func(q AggQuery, ev Event) bool { return q.From <= ev.Time && ev.Time <= q.To }
	n := func(ev Event) float64 {
		v, _ := strconv.ParseFloat(string(ev.Props[len(`{"n":`):len(ev.Props)-1]), 64)
		return v
	}
	var count, sum, score float64
	var sums int
	for _, ev := range evs {
		if ev.Name == "buy" && in(qs[0], ev) {
			count++
		}
		if ev.Name == "buy" && in(qs[1], ev) {
			sum += n(ev)
			sums++
		}
		switch {
		case !in(qs[2], ev):
		case ev.Name == "view":
			score++
		case ev.Name == "buy" && n(ev) > 50:
			score += 5
		}
	}
	num := func(f float64) AggValue { return AggValue{Set: true, IsNum: true, Num: f} }
	out := []AggValue{num(count), {}, num(score)}
	if sums > 0 {
		out[1] = num(sum)
	}
	return out
}
