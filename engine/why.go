package engine

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/idgraph/idgraph/engine/internal/graph"
	"github.com/idgraph/idgraph/engine/internal/store"
)

// Edge is one pair of identifiers seen together, with its evidence.
type Edge struct {
	From, To string
	Linked   bool // the two are in the same profile
	// Status is "linked"; "refused" when the last link was refused by a
	// rule; "moved" when one of them (an exclusive identifier) has since
	// moved to another profile; "unlinked" otherwise (each link was decided
	// for another profile).
	Status      string
	Rule        string // the refusing rule, or "moved <type>" for a move
	Count       int    // link records showing them together
	First, Last time.Time
	Source      string   // source of the latest record
	Sources     []string // every source that showed them together, sorted
	// MovedTo is the profile the moved identifier went to, MovedAt when.
	MovedTo uint32
	MovedAt time.Time
}

// Why explains how two identifiers are linked.
type Why struct {
	Linked bool   // both in one profile
	Path   []Edge // a shortest chain of co-occurrences from a to b
	Reason string // a sentence for people
}

// maxWhyRecords bounds the link records WHY reads before giving up.
const maxWhyRecords = 100000

// Why finds a shortest chain of co-occurrences between a and b and the
// evidence on each edge; when they are not in one profile it names the rule
// that refused the link, or the move that took one of them away.
func (db *DB) Why(a, b string) (*Why, error) {
	out := &Why{}
	err := db.snapshot(func(s store.Snapshot) error {
		var nodes, profs [2]uint32
		for i, raw := range []string{a, b} {
			if strings.HasPrefix(raw, ProfileType+":") {
				return graph.Errorf(graph.BadID, raw, "WHY takes identifiers, not profiles")
			}
			p, n, err := db.resolveID(s, raw)
			if err != nil {
				return err
			}
			if n == 0 {
				return notFound(raw, "%s is not known", graph.Clip(raw))
			}
			nodes[i], profs[i] = n, p
		}
		out.Linked = profs[0] == profs[1]
		if nodes[0] == nodes[1] {
			out.Reason = "the same identifier"
			return nil
		}
		w := newWhyWalk(db, s)
		path, err := w.shortestPath(nodes[0], nodes[1])
		if err != nil {
			return err
		}
		for i := 0; i+1 < len(path); i++ {
			e, err := w.edge(path[i], path[i+1])
			if err != nil {
				return err
			}
			out.Path = append(out.Path, e)
		}
		out.Reason = reason(out, path)
		return nil
	})
	return out, err
}

func reason(w *Why, path []uint32) string {
	switch {
	case path == nil && w.Linked:
		return fmt.Sprintf("in the same profile, but no chain was found within %d link records", maxWhyRecords)
	case path == nil:
		return "never seen together, directly or through other identifiers"
	case w.Linked:
		return fmt.Sprintf("linked through %d co-occurrence(s)", len(w.Path))
	}
	for _, e := range w.Path {
		switch e.Status {
		case "refused":
			return fmt.Sprintf("not linked: %s — %s refused by %s", e.From, e.To, e.Rule)
		case "moved":
			typ := strings.TrimPrefix(e.Rule, "moved ")
			return fmt.Sprintf("not linked: a %s belongs to one profile at a time, and it moved to profile %d at %s", typ, e.MovedTo,
				e.MovedAt.Format("2006-01-02T15:04:05.000Z"))
		}
	}
	return "not linked: seen together, but each link was decided for another profile"
}

// whyWalk reads link records for WHY on one snapshot.
type whyWalk struct {
	db     *DB
	s      store.Snapshot
	cache  map[uint32][]*store.Record // n → the linked records that hold n
	stored map[uint32][]*store.Record // n → the linked records stored under n
	read   int
}

func newWhyWalk(db *DB, s store.Snapshot) *whyWalk {
	return &whyWalk{db: db, s: s, cache: map[uint32][]*store.Record{}, stored: map[uint32][]*store.Record{}}
}

// storedUnder returns the linked records stored under n, read once per
// walk: a hub's records hold each of its partners, and a profile's walk
// asks for them once per partner.
func (w *whyWalk) storedUnder(n uint32) ([]*store.Record, error) {
	if rs, ok := w.stored[n]; ok {
		return rs, nil
	}
	var out []*store.Record
	for rec, err := range w.s.Records(n, store.Range{LinkedOnly: true}) {
		if err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
	w.stored[n] = out
	return out, nil
}

// holding returns the linked records that hold n: those stored under n,
// and those of its partners that hold it.
func (w *whyWalk) holding(n uint32) ([]*store.Record, error) {
	if rs, ok := w.cache[n]; ok {
		return rs, nil
	}
	own, err := w.storedUnder(n)
	if err != nil {
		return nil, err
	}
	out := slices.Clone(own)
	partners, err := w.s.Partners(n)
	if err != nil {
		return nil, err
	}
	for _, p := range partners {
		recs, err := w.storedUnder(p)
		if err != nil {
			return nil, err
		}
		for _, rec := range recs {
			if rec.Holds(n) {
				out = append(out, rec)
			}
		}
	}
	w.read += len(out)
	w.cache[n] = out
	return out, nil
}

// shortestPath is a breadth-first search over co-occurrences.
func (w *whyWalk) shortestPath(a, b uint32) ([]uint32, error) {
	prev := map[uint32]uint32{a: a}
	queue := []uint32{a}
	for len(queue) > 0 && w.read < maxWhyRecords {
		n := queue[0]
		queue = queue[1:]
		recs, err := w.holding(n)
		if err != nil {
			return nil, err
		}
		for _, rec := range recs {
			for _, set := range rec.Sets {
				if indexOf(set, n) < 0 {
					continue
				}
				for _, m := range set {
					if _, ok := prev[m]; ok {
						continue
					}
					prev[m] = n
					if m == b {
						path := []uint32{b}
						for x := b; x != a; {
							x = prev[x]
							path = append(path, x)
						}
						for i, j := 0, len(path)-1; i < j; i, j = i+1, j-1 {
							path[i], path[j] = path[j], path[i]
						}
						return path, nil
					}
					queue = append(queue, m)
				}
			}
		}
	}
	return nil, nil
}

// edge gathers the evidence for the pair u–v.
func (w *whyWalk) edge(u, v uint32) (Edge, error) {
	var e Edge
	nu, err := w.s.Node(u)
	if err != nil {
		return e, err
	}
	nv, err := w.s.Node(v)
	if err != nil {
		return e, err
	}
	e.From, e.To = nu.ID(), nv.ID()
	e.Linked = nu.Profile == nv.Profile
	recs, err := w.holding(u)
	if err != nil {
		return e, err
	}
	var lastSeq uint64
	lastRule := ""
	for _, rec := range recs {
		for i, set := range rec.Sets {
			iu, iv := indexOf(set, u), indexOf(set, v)
			if iu < 0 || iv < 0 {
				continue
			}
			t := time.UnixMilli(rec.Time).UTC()
			if e.Count == 0 || t.Before(e.First) {
				e.First = t
			}
			if e.Count == 0 || !t.Before(e.Last) {
				e.Last = t
				e.Source = rec.Source
			}
			e.Count++
			if !slices.Contains(e.Sources, rec.Source) {
				e.Sources = append(e.Sources, rec.Source)
			}
			if rec.Seq >= lastSeq {
				lastSeq = rec.Seq
				lastRule = ""
				if i < len(rec.Rules) {
					lastRule = rec.Rules[i][max(iu, iv)]
				}
			}
		}
	}
	sort.Strings(e.Sources)
	switch {
	case e.Linked:
		e.Status = "linked"
	case lastRule != "" && !graph.IsMoveRule(lastRule):
		e.Status, e.Rule = "refused", lastRule
	default:
		e.Status = "unlinked"
		for _, x := range []uint32{u, v} {
			moved, err := w.lastMove(x, lastSeq)
			if err != nil {
				return e, err
			}
			if moved != nil {
				e.Status, e.Rule = "moved", moved.rule
				e.MovedTo, e.MovedAt = moved.to, moved.at
				break
			}
		}
	}
	return e, nil
}

type move struct {
	rule string
	to   uint32
	at   time.Time
}

// lastMove finds the latest record after seq that moved x away.
func (w *whyWalk) lastMove(x uint32, after uint64) (*move, error) {
	recs, err := w.holding(x)
	if err != nil {
		return nil, err
	}
	sort.Slice(recs, func(i, j int) bool { return recs[i].Seq > recs[j].Seq })
	for _, rec := range recs {
		if rec.Seq <= after {
			break
		}
		for i, set := range rec.Sets {
			j := indexOf(set, x)
			if j < 0 || i >= len(rec.Rules) || !graph.IsMoveRule(rec.Rules[i][j]) {
				continue
			}
			nx, err := w.s.Node(x)
			if err != nil {
				return nil, err
			}
			return &move{rule: rec.Rules[i][j], to: nx.Profile, at: time.UnixMilli(rec.Time).UTC()}, nil
		}
	}
	return nil, nil
}
