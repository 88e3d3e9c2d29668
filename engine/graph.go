package engine

import (
	"slices"
	"sort"
	"strings"

	"github.com/idgraph/idgraph/engine/internal/graph"
	"github.com/idgraph/idgraph/engine/internal/store"
)

// Graph is a profile's identity graph: its identifiers, the identifiers
// outside it that were seen with them, and every pair seen together with
// its evidence (the same as WHY gives for one edge).
type Graph struct {
	Profile uint32
	Nodes   []GraphNode // the profile's identifiers first, each group sorted
	Edges   []Edge      // sorted by From, To
	// Truncated is set when the graph was cut at the node or record limit:
	// the profile's own identifiers are always there, but some outside ones
	// or edges may be missing.
	Truncated bool
}

// GraphNode is one identifier of a Graph.
type GraphNode struct {
	ID      string // "type:value"
	Type    string
	Profile uint32 // the profile holding it now
	Inside  bool   // held by the graph's profile
}

// Limits of GRAPH.
const (
	maxGraphNodes   = 2000   // identifiers drawn, inside and outside
	maxGraphRecords = 200000 // link records read
)

// Graph returns the identity graph of the profile holding id (an
// identifier or profile:<id>). Edges between two identifiers outside the
// profile are left out.
func (db *DB) Graph(id string) (*Graph, error) {
	var out *Graph
	err := db.snapshot(func(s store.Snapshot) error {
		p, _, err := db.resolveID(s, id)
		if err != nil {
			return err
		}
		if p == 0 {
			return notFound(id, "%s is not known", graph.Clip(id))
		}
		pr, err := s.Profile(p)
		if err != nil {
			return err
		}
		out = &Graph{Profile: p}
		w := newWhyWalk(db, s)
		inside := make(map[uint32]bool, len(pr.Members))
		for _, m := range pr.Members {
			inside[m.Node] = true
		}
		// Every pair seen together with one of the profile's identifiers.
		type pair struct{ a, b uint32 }
		pairs := map[pair]bool{}
		outside := map[uint32]bool{}
		members := slices.Clone(pr.Members)
		sort.Slice(members, func(i, j int) bool { return members[i].ID < members[j].ID })
		for _, m := range members {
			if w.read > maxGraphRecords || len(inside)+len(outside) >= maxGraphNodes {
				out.Truncated = true
				break
			}
			recs, err := w.holding(m.Node)
			if err != nil {
				return err
			}
			for _, rec := range recs {
				for _, set := range rec.Sets {
					if indexOf(set, m.Node) < 0 {
						continue
					}
					for _, o := range set {
						if o == m.Node || !inside[o] && !outside[o] && len(inside)+len(outside) >= maxGraphNodes {
							if o != m.Node {
								out.Truncated = true
							}
							continue
						}
						if !inside[o] {
							outside[o] = true
						}
						a, b := m.Node, o
						if a > b {
							a, b = b, a
						}
						pairs[pair{a, b}] = true
					}
				}
			}
		}
		ids := map[uint32]string{}
		for n := range inside {
			nr, err := s.Node(n)
			if err != nil {
				return err
			}
			ids[n] = nr.ID()
			out.Nodes = append(out.Nodes, GraphNode{ID: nr.ID(), Type: nr.Type, Profile: nr.Profile, Inside: true})
		}
		var outNodes []GraphNode
		for n := range outside {
			nr, err := s.Node(n)
			if err != nil {
				return err
			}
			ids[n] = nr.ID()
			outNodes = append(outNodes, GraphNode{ID: nr.ID(), Type: nr.Type, Profile: nr.Profile})
		}
		byID := func(ns []GraphNode) { sort.Slice(ns, func(i, j int) bool { return ns[i].ID < ns[j].ID }) }
		byID(out.Nodes)
		byID(outNodes)
		out.Nodes = append(out.Nodes, outNodes...)
		for pr := range pairs {
			u, v := pr.a, pr.b
			if ids[v] < ids[u] {
				u, v = v, u
			}
			e, err := w.edge(u, v)
			if err != nil {
				return err
			}
			out.Edges = append(out.Edges, e)
		}
		sort.Slice(out.Edges, func(i, j int) bool {
			a, b := out.Edges[i], out.Edges[j]
			if c := strings.Compare(a.From, b.From); c != 0 {
				return c < 0
			}
			return a.To < b.To
		})
		return nil
	})
	return out, err
}
