package engine

import (
	"fmt"
	"sort"
)

// member is one identifier of a link group: its node and its type code.
type member struct {
	node uint32
	typ  int
}

// resolver is the state the resolution rules read and change. The ingest
// path implements it over the store; re-resolution implements it over a
// scratch copy of one component. Both run the same rule function, resolve,
// so an incremental write and a replay of the record agree by construction.
type resolver interface {
	// profileOf returns the profile holding n, 0 when n is new.
	profileOf(n uint32) uint32
	// counts returns p's number of members per type code. The caller must
	// not keep or change it.
	counts(p uint32) map[int]int
	// create makes a new profile holding only the new node n.
	create(n uint32, typ int) uint32
	// join adds the new node n to p.
	join(n uint32, typ int, p uint32)
	// merge unites a and b and returns the survivor: the older (smaller) id.
	merge(a, b uint32) uint32
	// move takes n out of its profile and into p.
	move(n uint32, typ int, p uint32)
}

// decision is what the rules did with one member of a link group.
type decision struct {
	node uint32
	rule string // "" when linked; else the rule that refused the link
}

// orderMembers sorts a group by type priority, keeping the given order
// between equal priorities (SPEC.md §3, step 1). It sorts in place.
func orderMembers(tt *typeTable, ms []member) {
	sort.SliceStable(ms, func(i, j int) bool {
		return tt.specs[ms[i].typ].Priority < tt.specs[ms[j].typ].Priority
	})
}

// resolve applies SPEC.md §3 to one link group whose members are distinct
// and already ordered by orderMembers. It returns the profile that holds the
// anchor afterwards and one decision per member after the anchor.
func resolve(r resolver, tt *typeTable, ms []member) (uint32, []decision) {
	if len(ms) == 0 {
		return 0, nil
	}
	a := ms[0]
	p := r.profileOf(a.node)
	if p == 0 {
		p = r.create(a.node, a.typ)
	}
	out := make([]decision, 0, len(ms)-1)
	for _, x := range ms[1:] {
		px := r.profileOf(x.node)
		spec := tt.specs[x.typ]
		switch {
		case px == p:
			out = append(out, decision{node: x.node})
		case px == 0:
			// A new identifier is a profile of one: it joins when p has room.
			if r.counts(p)[x.typ]+1 <= spec.Limit {
				r.join(x.node, x.typ, p)
				out = append(out, decision{node: x.node})
			} else {
				r.create(x.node, x.typ)
				out = append(out, decision{node: x.node, rule: limitRule(spec)})
			}
		default:
			over := overflow(tt, r.counts(p), r.counts(px))
			if over < 0 {
				p = r.merge(p, px)
				out = append(out, decision{node: x.node})
			} else if spec.Exclusive && r.counts(p)[x.typ]+1 <= spec.Limit {
				r.move(x.node, x.typ, p)
				out = append(out, decision{node: x.node})
			} else {
				out = append(out, decision{node: x.node, rule: limitRule(tt.specs[over])})
			}
		}
	}
	return p, out
}

// overflow returns the first type code (by priority, then code) whose limit
// the union of two profiles would exceed, or -1 when they fit together.
func overflow(tt *typeTable, a, b map[int]int) int {
	best := -1
	for t, n := range b {
		if n+a[t] > tt.specs[t].Limit {
			if best < 0 || tt.specs[t].Priority < tt.specs[best].Priority ||
				tt.specs[t].Priority == tt.specs[best].Priority && t < best {
				best = t
			}
		}
	}
	return best
}

func limitRule(s TypeSpec) string {
	return fmt.Sprintf("limit %s=%d", s.Name, s.Limit)
}
