package query

import (
	"slices"
	"strings"

	"github.com/idgraph/idgraph/engine"
)

func linkReply(r engine.Result) Value {
	refused := make([]Value, len(r.Refused))
	for i, rf := range r.Refused {
		refused[i] = Map(Pair{"id", String(rf.ID)}, Pair{"rule", String(rf.Rule)})
	}
	moved := make([]Value, len(r.Moved))
	for i, m := range r.Moved {
		moved[i] = Map(Pair{"id", String(m.ID)}, Pair{"from", Int(int64(m.From))})
	}
	return Map(Pair{"profile", Int(int64(r.Profile))}, Pair{"dropped", Strings(orEmpty(r.Dropped))},
		Pair{"suppressed", Strings(orEmpty(r.Suppressed))}, Pair{"refused", Array(refused...)},
		Pair{"moved", Array(moved...)})
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func profileReply(p *engine.Profile, segs []string, withComputed bool, computed []Pair) Value {
	traits := sortedPairs(p.Traits, func(v string) Value { return String(v) })
	consent := make([]Pair, 0, len(p.Consent))
	for k, v := range p.Consent {
		d := "deny"
		if v {
			d = "grant"
		}
		consent = append(consent, Pair{k, String(d)})
	}
	slices.SortFunc(consent, byKey)
	pairs := make([]Pair, 0, 10)
	pairs = append(pairs,
		Pair{"profile", Int(int64(p.ID))},
		Pair{"ids", Strings(p.IDs)},
		Pair{"traits", Map(traits...)},
	)
	if withComputed {
		// Only when computed traits are defined: a profile's values, by name.
		pairs = append(pairs, Pair{"computed", Map(computed...)})
	}
	return Map(append(pairs,
		Pair{"consent", Map(consent...)},
		Pair{"tags", Strings(orEmpty(p.Tags))},
		Pair{"segments", Strings(orEmpty(segs))},
		Pair{"first_seen", String(fmtTime(p.FirstSeen))},
		Pair{"last_seen", String(fmtTime(p.LastSeen))},
		Pair{"events", Int(p.Events)},
	)...)
}

func sortedPairs(m map[string]string, f func(string) Value) []Pair {
	out := make([]Pair, 0, len(m))
	for k, v := range m {
		out = append(out, Pair{k, f(v)})
	}
	slices.SortFunc(out, byKey)
	return out
}

func byKey(a, b Pair) int { return strings.Compare(a.Key, b.Key) }

func whyReply(w *engine.Why) Value {
	path := make([]Value, len(w.Path))
	for i, e := range w.Path {
		path[i] = edgeReply(e, false)
	}
	return Map(Pair{"linked", Bool(w.Linked)}, Pair{"path", Array(path...)}, Pair{"reason", String(w.Reason)})
}

// edgeReply is one pair of identifiers seen together, with its evidence;
// with sources, every source that showed them together.
func edgeReply(e engine.Edge, sources bool) Value {
	ps := []Pair{{"from", String(e.From)}, {"to", String(e.To)}, {"status", String(e.Status)},
		{"rule", String(e.Rule)}, {"count", Int(int64(e.Count))},
		{"first_seen", String(fmtTime(e.First))}, {"last_seen", String(fmtTime(e.Last))},
		{"source", String(e.Source)}}
	if sources {
		ps = append(ps, Pair{"sources", Strings(e.Sources)})
	}
	if e.Status == "moved" {
		ps = append(ps, Pair{"moved_to", Int(int64(e.MovedTo))}, Pair{"moved_at", String(fmtTime(e.MovedAt))})
	}
	return Map(ps...)
}

func graphReply(g *engine.Graph) Value {
	nodes := make([]Value, len(g.Nodes))
	for i, n := range g.Nodes {
		nodes[i] = Map(Pair{"id", String(n.ID)}, Pair{"type", String(n.Type)}, Pair{"profile", Int(int64(n.Profile))}, Pair{"inside", Bool(n.Inside)})
	}
	edges := make([]Value, len(g.Edges))
	for i, e := range g.Edges {
		edges[i] = edgeReply(e, true)
	}
	return Map(Pair{"profile", Int(int64(g.Profile))}, Pair{"nodes", Array(nodes...)}, Pair{"edges", Array(edges...)},
		Pair{"truncated", Bool(g.Truncated)})
}
