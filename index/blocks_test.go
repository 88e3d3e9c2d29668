package index

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"
)

// TestBlocksAgreeWithEveryDay: a profile's aggregates read through the
// blocks that may hold it (AggregatesFor) equal those read by probing
// every day of the window (AggregateFor), over years of days on both
// sides of 1970, windows that start and end inside blocks, and profiles
// whose events were removed or moved away (blocks keep a superset).
func TestBlocksAgreeWithEveryDay(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		rng := rand.New(rand.NewPCG(seed, 7))
		x := New()
		x.ReplaceSeries("buy", []string{"n"}, nil)
		day := func() int64 { return int64(rng.IntN(900)) - 300 }
		type held struct {
			p  uint32
			ev Event
		}
		var added []held
		for i := 0; i < 400; i++ {
			p := uint32(1 + rng.IntN(30))
			name := []string{"buy", "view"}[rng.IntN(2)]
			ev := Event{Name: name, Source: "web", Time: day()*dayMS + int64(rng.IntN(int(dayMS))), Props: []byte(`{"n":` + strconv.Itoa(rng.IntN(100)) + `}`)}
			x.Add(p, ev)
			added = append(added, held{p, ev})
		}
		for i := 0; i < 60; i++ { // remove or move some away
			h := added[rng.IntN(len(added))]
			if rng.IntN(2) == 0 {
				x.Remove(h.p, h.ev)
			} else {
				x.Move(h.p, uint32(31+rng.IntN(5)), []Event{h.ev})
			}
		}
		v := x.View()
		for q := 0; q < 40; q++ {
			from := day()*dayMS + int64(rng.IntN(int(dayMS)))
			to := from + int64(rng.IntN(400))*dayMS + int64(rng.IntN(int(dayMS)))
			qs := []AggQuery{
				{DidQuery: DidQuery{Name: "buy", From: from, To: to}, Kind: "count"},
				{DidQuery: DidQuery{Name: "buy", From: from, To: to}, Kind: "sum", Path: "n"},
				{DidQuery: DidQuery{Name: "buy", From: from - 90*dayMS, To: to}, Kind: "last", Path: "n"},
				{DidQuery: DidQuery{From: from, To: to}, Kind: "score", Terms: []ScoreTerm{{Event: "view", Points: 1}, {Event: "buy", Points: 5, Where: []Cond{{Path: "n", Op: ">", Value: "50"}}}}},
			}
			for p := uint32(1); p <= 35; p++ {
				got := v.AggregatesFor(qs, p)
				for i, q := range qs {
					if want := v.AggregateFor(q, p); fmt.Sprint(got[i]) != fmt.Sprint(want) {
						t.Fatalf("seed %d, profile %d, %s over [%d, %d]: through blocks %+v, every day %+v", seed, p, q.Kind, from, to, got[i], want)
					}
				}
			}
		}
		v.Close()
	}
}
