package graph

import (
	"fmt"
	"sort"
	"strings"
)

// Member is one identifier of a link set: its node and its type code.
type Member struct {
	Node uint32
	Type int
}

// Resolver is the state the resolution rules read and change. The ingest
// path implements it over the store; re-resolution and `check` over a
// Scratch copy of one component. Both run Resolve, so an incremental write
// and a replay of the record agree by construction.
type Resolver interface {
	// ProfileOf returns the profile holding n, 0 when n is new.
	ProfileOf(n uint32) uint32
	// Counts returns p's number of members per type name. The caller must
	// not keep or change it.
	Counts(p uint32) Counts
	// Create makes a new profile holding only the new node n.
	Create(n uint32, typ int) uint32
	// Join adds the new node n to p.
	Join(n uint32, typ int, p uint32)
	// Merge unites a and b and returns the survivor: the older (smaller) id.
	Merge(a, b uint32) uint32
	// Move takes n out of its profile and into p.
	Move(n uint32, typ int, p uint32)
}

// Decision is what the rules did with one member of a link set after its
// anchor.
type Decision struct {
	Node uint32
	// Rule is "" when the member was linked (already there, joined or
	// merged), the refusing rule ("limit user=1") when the link was refused,
	// or "moved <type>" when the member alone moved to the anchor's profile.
	Rule string
}

// Refused reports a refused link.
func (d Decision) Refused() bool { return d.Rule != "" && !d.Moved() }

// Moved reports an exclusive identifier that moved.
func (d Decision) Moved() bool { return IsMoveRule(d.Rule) }

// IsMoveRule reports whether a stored rule records a move.
func IsMoveRule(rule string) bool { return strings.HasPrefix(rule, "moved ") }

// Order sorts a link set by type priority, keeping the given order between
// equal priorities (SPEC.md §3, step 1). It sorts in place.
func Order(t *Types, ms []Member) {
	sort.SliceStable(ms, func(i, j int) bool {
		return t.specs[ms[i].Type].Priority < t.specs[ms[j].Type].Priority
	})
}

// Resolve applies SPEC.md §3 to one link set whose members are distinct and
// already ordered by Order. It returns the profile that holds the anchor
// afterwards and one decision per member after the anchor.
func Resolve(r Resolver, t *Types, ms []Member) (uint32, []Decision) {
	if len(ms) == 0 {
		return 0, nil
	}
	a := ms[0]
	p := r.ProfileOf(a.Node)
	if p == 0 {
		p = r.Create(a.Node, a.Type)
	}
	out := make([]Decision, 0, len(ms)-1)
	for _, x := range ms[1:] {
		px := r.ProfileOf(x.Node)
		spec := t.specs[x.Type]
		switch {
		case px == p:
			out = append(out, Decision{Node: x.Node})
		case px == 0:
			// A new identifier is a profile of one: it joins when p has room.
			if r.Counts(p).Of(spec.Name)+1 <= spec.Limit {
				r.Join(x.Node, x.Type, p)
				out = append(out, Decision{Node: x.Node})
			} else {
				r.Create(x.Node, x.Type)
				out = append(out, Decision{Node: x.Node, Rule: limitRule(spec)})
			}
		default:
			over := t.overflow(r.Counts(p), r.Counts(px))
			switch {
			case over < 0:
				p = r.Merge(p, px)
				out = append(out, Decision{Node: x.Node})
			case spec.Exclusive && r.Counts(p).Of(spec.Name)+1 <= spec.Limit:
				r.Move(x.Node, x.Type, p)
				out = append(out, Decision{Node: x.Node, Rule: "moved " + spec.Name})
			default:
				out = append(out, Decision{Node: x.Node, Rule: limitRule(t.specs[over])})
			}
		}
	}
	return p, out
}

// overflow returns the first type code (by priority, then code) whose limit
// the union of two profiles would exceed, or -1 when they fit together.
func (t *Types) overflow(a, b Counts) int {
	best := -1
	for _, tc := range b {
		c, ok := t.byName[tc.Type]
		if !ok || tc.N+a.Of(tc.Type) <= t.specs[c].Limit {
			continue
		}
		if best < 0 || t.specs[c].Priority < t.specs[best].Priority ||
			t.specs[c].Priority == t.specs[best].Priority && c < best {
			best = c
		}
	}
	return best
}

func limitRule(s TypeSpec) string {
	return fmt.Sprintf("limit %s=%d", s.Name, s.Limit)
}
