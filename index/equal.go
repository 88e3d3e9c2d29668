package index

import (
	"cmp"
	"fmt"
	"maps"
	"slices"

	"github.com/RoaringBitmap/roaring/v2"
)

// Equal compares the content of two indexes — live profiles, every event of
// every profile (name, source, time, multiplicity), identifier types,
// consent and traits — and, on the first difference, returns false and a
// sentence naming it. It also checks that each index's derived day bitmaps
// agree with its events, so `idgraph check` catches a damaged index even
// when compared with itself. Version, source interning order and cache
// state are not content.
func (x *Index) Equal(y *Index) (bool, string) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if y != x {
		y.mu.RLock()
		defer y.mu.RUnlock()
	}
	return x.equal(y)
}

// Equal compares the view's moment of its index with y, as Index.Equal.
func (v *View) Equal(y *Index) (bool, string) {
	if y != v.x {
		y.mu.RLock()
		defer y.mu.RUnlock()
	}
	return v.x.equal(y)
}

func (x *Index) equal(y *Index) (bool, string) {
	if msg := x.checkDerived("first"); msg != "" {
		return false, msg
	}
	if msg := y.checkDerived("second"); msg != "" {
		return false, msg
	}
	if !x.live.Equals(y.live) {
		return false, "live profiles differ: " + diffSets(x.live, y.live)
	}
	xn, yn := x.names(), y.names()
	if !slices.Equal(xn, yn) {
		return false, fmt.Sprintf("event names differ: %q vs %q", xn, yn)
	}
	for _, name := range xn {
		xs, ys := x.series[name], y.series[name]
		if xp, yp := xs.paths(), ys.paths(); !slices.Equal(xp, yp) {
			return false, fmt.Sprintf("event %q: property paths %q vs %q", name, xp, yp)
		}
		if len(xs.buckets) != len(ys.buckets) {
			return false, fmt.Sprintf("event %q is on %d days vs %d", name, len(xs.buckets), len(ys.buckets))
		}
		for i, xb := range xs.buckets {
			yb := ys.buckets[i]
			if xb.day != yb.day {
				return false, fmt.Sprintf("event %q: day %d vs %d", name, xb.day, yb.day)
			}
			xe, ye := x.canonical(xs, xb), y.canonical(ys, yb)
			if len(xe) != len(ye) {
				return false, fmt.Sprintf("event %q on day %d: %d events vs %d", name, xb.day, len(xe), len(ye))
			}
			for k := range xe {
				if xe[k] != ye[k] {
					return false, fmt.Sprintf("event %q on day %d: %+v vs %+v", name, xb.day, xe[k], ye[k])
				}
			}
		}
	}
	if msg := diffMaps("identifier type", x.types, y.types); msg != "" {
		return false, msg
	}
	if msg := diffMaps("consent purpose", x.consent, y.consent); msg != "" {
		return false, msg
	}
	if msg := diffMaps("tag", x.tags, y.tags); msg != "" {
		return false, msg
	}
	xt, yt := slices.Sorted(maps.Keys(x.traits)), slices.Sorted(maps.Keys(y.traits))
	if !slices.Equal(xt, yt) {
		return false, fmt.Sprintf("trait names differ: %q vs %q", xt, yt)
	}
	for _, name := range xt {
		xm, ym := make(map[string]*roaring.Bitmap), make(map[string]*roaring.Bitmap)
		for s, v := range x.traits[name].byStr {
			xm[s] = v.bm
		}
		for s, v := range y.traits[name].byStr {
			ym[s] = v.bm
		}
		if msg := diffMaps("value of trait "+fmt.Sprintf("%q", name), xm, ym); msg != "" {
			return false, msg
		}
	}
	return true, ""
}

func (x *Index) names() []string {
	var names []string
	for name, s := range x.series {
		if len(s.buckets) > 0 {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// canonEvent is an event in a form independent of source and tuple
// interning.
type canonEvent struct {
	Profile uint32
	MS      uint32
	Source  string
	Props   string // the registered property values
}

func (s *series) paths() []string {
	if s.props == nil {
		return nil
	}
	return s.props.paths
}

func (x *Index) canonical(s *series, b *bucket) []canonEvent {
	out := make([]canonEvent, 0, b.ev.n)
	for _, c := range b.ev.chunks {
		for _, e := range c {
			props := ""
			if s.props != nil && int(e.tup) < len(s.props.tuples) {
				props = fmt.Sprint(s.props.tuples[e.tup])
			}
			out = append(out, canonEvent{e.p, e.ms, x.sources[e.src], props})
		}
	}
	slices.SortFunc(out, func(a, b canonEvent) int {
		return cmp.Or(cmp.Compare(a.Profile, b.Profile), cmp.Compare(a.MS, b.MS), cmp.Compare(a.Source, b.Source),
			cmp.Compare(a.Props, b.Props))
	})
	return out
}

// checkDerived verifies that every day bitmap holds exactly the profiles of
// its events, that entries are sorted and that the event total is right.
func (x *Index) checkDerived(which string) string {
	total := 0
	for name, s := range x.series {
		for i, b := range s.buckets {
			if i > 0 && s.buckets[i-1].day >= b.day {
				return fmt.Sprintf("%s index: days of %q out of order", which, name)
			}
			bm := roaring.New()
			var prev *entry
			n := 0
			for _, c := range b.ev.chunks {
				if len(c) == 0 {
					return fmt.Sprintf("%s index: empty chunk in %q day %d", which, name, b.day)
				}
				for k := range c {
					if prev != nil && c[k].less(*prev) {
						return fmt.Sprintf("%s index: events of %q day %d out of order", which, name, b.day)
					}
					prev = &c[k]
					bm.Add(c[k].p)
					n++
				}
			}
			if n == 0 || n != b.ev.n {
				return fmt.Sprintf("%s index: %q day %d holds %d events, counted %d", which, name, b.day, n, b.ev.n)
			}
			if !bm.Equals(b.bm) {
				return fmt.Sprintf("%s index: bitmap of %q day %d disagrees with its events: %s", which, name, b.day, diffSets(b.bm, bm))
			}
			total += n
		}
	}
	if total != x.events {
		return fmt.Sprintf("%s index: holds %d events, counted %d", which, total, x.events)
	}
	return ""
}

func diffMaps(what string, x, y map[string]*roaring.Bitmap) string {
	xk, yk := slices.Sorted(maps.Keys(x)), slices.Sorted(maps.Keys(y))
	if !slices.Equal(xk, yk) {
		return fmt.Sprintf("%ss differ: %q vs %q", what, xk, yk)
	}
	for _, k := range xk {
		if !x[k].Equals(y[k]) {
			return fmt.Sprintf("%s %q: profiles differ: %s", what, k, diffSets(x[k], y[k]))
		}
	}
	return ""
}

func diffSets(x, y *roaring.Bitmap) string {
	if d := roaring.AndNot(x, y); !d.IsEmpty() {
		return fmt.Sprintf("profile %d only in the first", d.Minimum())
	}
	d := roaring.AndNot(y, x)
	return fmt.Sprintf("profile %d only in the second", d.Minimum())
}
