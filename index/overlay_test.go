package index

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestOverlayEqualsApply builds two equal indexes, lays random deltas over
// one's view and applies them to the other, and compares every
// per-profile answer: the overlay must answer as the index will.
func TestOverlayEqualsApply(t *testing.T) {
	for seed := range uint64(40) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) { overlayDifferential(t, seed) })
	}
}

func propsEvent(r *rand.Rand) Event {
	ev := randEvent(r)
	switch r.IntN(4) {
	case 0:
		ev.Props = []byte(fmt.Sprintf(`{"n":%d,"cat":%q}`, r.IntN(6), []string{"a", "b"}[r.IntN(2)]))
	case 1:
		ev.Props = []byte(fmt.Sprintf(`{"n":"%d"}`, r.IntN(6)))
	}
	return ev
}

func overlayDifferential(t *testing.T, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 77))
	x, y := New(), New()
	for _, ix := range []*Index{x, y} {
		ix.ReplaceSeries("view", []string{"n", "cat"}, nil)
		ix.ReplaceSeries("purchase", []string{"n"}, nil)
	}
	held := map[uint32][]Event{}
	const profiles = 12
	both := func(ds ...Delta) {
		x.Apply(0, ds)
		y.Apply(0, ds)
	}
	for range 80 {
		p := uint32(1 + r.IntN(profiles))
		ev := propsEvent(r)
		both(Delta{Kind: DeltaAdd, P: p, Events: []Event{ev}})
		held[p] = append(held[p], ev)
	}
	for p := uint32(1); p <= profiles; p++ {
		if r.IntN(3) > 0 {
			both(Delta{Kind: DeltaSetAttrs, P: p, Attrs: randAttrs(r)})
		}
	}
	// Random deltas, as the engine makes them: events a profile holds are
	// removed or moved; new ones added; attributes replaced; profiles dropped.
	var ds []Delta
	for range 1 + r.IntN(12) {
		p := uint32(1 + r.IntN(profiles))
		switch r.IntN(6) {
		case 0, 1:
			ev := propsEvent(r)
			ds = append(ds, Delta{Kind: DeltaAdd, P: p, Events: []Event{ev}})
			held[p] = append(held[p], ev)
		case 2:
			if len(held[p]) > 0 {
				i := r.IntN(len(held[p]))
				ds = append(ds, Delta{Kind: DeltaRemove, P: p, Events: []Event{held[p][i]}})
				held[p] = slices.Delete(held[p], i, i+1)
			}
		case 3:
			to := uint32(1 + r.IntN(profiles+2))
			if to == p {
				continue
			}
			evs := slices.Clone(held[p])
			ds = append(ds, Delta{Kind: DeltaMove, P: p, To: to, Events: evs})
			held[to] = append(held[to], evs...)
			held[p] = nil
			if r.IntN(2) == 0 {
				ds = append(ds, Delta{Kind: DeltaDrop, P: p})
			}
		case 4:
			ds = append(ds, Delta{Kind: DeltaSetAttrs, P: p, Attrs: randAttrs(r)})
		case 5:
			ds = append(ds, Delta{Kind: DeltaDrop, P: p})
		}
	}
	v := x.View()
	defer v.Close()
	o := v.Overlay(ds)
	y.Apply(0, ds)
	w := y.View()
	defer w.Close()
	for p := uint32(1); p <= profiles+2; p++ {
		if o.Live(p) != w.Live(p) {
			t.Fatalf("Live(%d): overlay %v, applied %v", p, o.Live(p), w.Live(p))
		}
		var aqs []AggQuery
		var want []AggValue
		for range 60 {
			q := randQuery(r)
			if r.IntN(2) == 0 {
				q.Where = []Cond{{Path: []string{"n", "cat", "nope"}[r.IntN(3)], Op: []string{"=", "<", ">=", "!="}[r.IntN(4)], Value: []string{"2", "a", "3"}[r.IntN(3)]}}
			}
			if a, b := o.DidHolds(q, p), w.DidHolds(q, p); a != b {
				t.Fatalf("DidHolds(%+v, %d): overlay %v, applied %v (deltas %+v)", q, p, a, b, ds)
			}
			aq := AggQuery{DidQuery: q, Kind: []string{"count", "sum", "min", "max", "avg", "first", "last", "distinct", "score"}[r.IntN(9)], Path: []string{"n", "cat"}[r.IntN(2)]}
			if aq.Kind == "score" {
				aq.Terms = []ScoreTerm{{Event: "view", Points: 1}, {Event: "purchase", Source: "pos", Points: 5, Where: q.Where}}
			}
			if a, b := o.AggregateFor(aq, p), w.AggregateFor(aq, p); a != b {
				t.Fatalf("AggregateFor(%+v, %d): overlay %+v, applied %+v", aq, p, a, b)
			}
			aqs, want = append(aqs, aq), append(want, w.AggregateFor(aq, p))
		}
		// All at once (WHO's computed traits) as one at a time.
		for _, got := range [][]AggValue{o.AggregatesFor(aqs, p), w.AggregatesFor(aqs, p)} {
			for i := range aqs {
				if got[i] != want[i] {
					t.Fatalf("AggregatesFor(…%+v…, %d)[%d] = %+v, alone %+v", aqs[i], p, i, got[i], want[i])
				}
			}
		}
		for _, typ := range testTypes {
			if o.HasType(typ, p) != w.HasType(typ, p) {
				t.Fatalf("HasType(%s, %d)", typ, p)
			}
		}
		for _, pu := range purposes {
			if o.Granted(pu, p) != w.Granted(pu, p) || o.HasTag("tag-"+pu, p) != w.HasTag("tag-"+pu, p) {
				t.Fatalf("Granted/HasTag(%s, %d)", pu, p)
			}
		}
		for _, name := range testTraits {
			for _, op := range []string{"=", "!=", "<", ">="} {
				val := testVals[r.IntN(len(testVals))]
				if o.TraitHolds(name, op, val, p) != w.TraitHolds(name, op, val, p) {
					t.Fatalf("TraitHolds(%s %s %s, %d)", name, op, val, p)
				}
			}
		}
	}
}
