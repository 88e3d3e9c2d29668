package engine

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sort"

	"github.com/idgraph/idgraph/engine/internal/graph"
	"github.com/idgraph/idgraph/engine/internal/store"
	"github.com/idgraph/idgraph/index"
)

// maxProblems bounds what Check reports.
const maxProblems = 100

// Check verifies the store's invariants on one moment and returns what is
// wrong (nothing when all hold):
//   - identifier → node → profile → member list agree both ways;
//   - each live profile's summary (members per type, events, first/last
//     seen, traits, consent, tags) equals graph.Derive over its members,
//     and no profile exceeds a type's limit;
//   - partner entries are exactly the non-anchor members of link sets;
//   - the profiles equal a replay of every link record in arrival order;
//   - the index equals one rebuilt from the records.
//
// A record that cannot be decoded is reported, never a panic; err is set
// only when the store cannot be read at all.
func (db *DB) Check() (problems []string, err error) {
	report := func(format string, args ...any) {
		if len(problems) < maxProblems {
			problems = append(problems, fmt.Sprintf(format, args...))
		}
	}
	err = db.view(func(v *index.View, s store.Snapshot) error {
		c := &checker{db: db, s: s, report: report}
		if err := c.run(v); err != nil {
			if errors.Is(err, store.ErrCorrupt) {
				report("%v", err)
				return nil
			}
			return err
		}
		return nil
	})
	return problems, err
}

type checker struct {
	db     *DB
	s      store.Snapshot
	report func(string, ...any)
	tt     *graph.Types
}

func (c *checker) run(v *index.View) error {
	s, report := c.s, c.report
	c.tt = c.db.types.Load()
	meta, err := s.Meta()
	if err != nil {
		return err
	}
	purging := map[uint32]bool{}
	for _, n := range meta.Purge {
		purging[n] = true
	}
	nodes := map[uint32]*store.Node{}
	if err := s.ScanNodes(func(n uint32, nr *store.Node) error {
		c := *nr
		nodes[n] = &c
		return nil
	}); err != nil {
		return err
	}
	idents := 0
	if err := s.ScanIdents(func(typ, val string, n, p uint32) error {
		idents++
		nr := nodes[n]
		switch {
		case nr == nil || nr.Type != typ || nr.Value != val:
			report("identifier %s:%s points at node %d, which does not hold it", typ, graph.Clip(val), n)
		case nr.Profile != p:
			report("identifier %s:%s says profile %d, its node says %d", typ, graph.Clip(val), p, nr.Profile)
		}
		return nil
	}); err != nil {
		return err
	}
	if idents != len(nodes) {
		report("%d identifiers but %d nodes", idents, len(nodes))
	}
	spans := map[uint32]graph.Span{}
	var linked []*store.Record
	if err := s.ScanRecords(func(r *store.Record) error {
		if purging[r.Anchor] {
			return nil
		}
		if nodes[r.Anchor] == nil {
			report("record %d is anchored on missing node %d", r.Seq, r.Anchor)
			return nil
		}
		if r.Event {
			sp := spans[r.Anchor]
			sp.AddTime(r.Time)
			spans[r.Anchor] = sp
		}
		if r.Linked() {
			linked = append(linked, r)
		}
		return nil
	}); err != nil {
		return err
	}
	facts := map[uint32]graph.Facts{}
	if err := s.ScanFacts(func(n uint32, f graph.Facts) error {
		facts[n] = f
		if nodes[n] == nil {
			report("facts of missing node %d", n)
		}
		return nil
	}); err != nil {
		return err
	}
	memberOf := map[uint32]uint32{}
	if err := s.ScanProfiles(func(p uint32, pr *store.Profile) error {
		if pr.Into != 0 {
			if pr.Into >= p {
				report("profile %d forwards to %d, which is not older", p, pr.Into)
			}
			return nil
		}
		if len(pr.Members) == 0 {
			report("live profile %d has no members", p)
		}
		sums := make([]graph.Summary, 0, len(pr.Members))
		for _, m := range pr.Members {
			nr := nodes[m.Node]
			if nr == nil {
				report("profile %d lists missing node %d", p, m.Node)
				continue
			}
			if nr.Profile != p {
				report("profile %d lists node %d (%s) which says it is in %d", p, m.Node, m.ID, nr.Profile)
			}
			if m.ID != nr.ID() {
				report("profile %d lists %q for node %d (%s)", p, m.ID, m.Node, nr.ID())
			}
			if q, dup := memberOf[m.Node]; dup {
				report("node %d is listed by profiles %d and %d", m.Node, q, p)
			}
			memberOf[m.Node] = p
			sums = append(sums, graph.MemberSummary(nr.Type, spans[m.Node], facts[m.Node]))
		}
		want := graph.Derive(sums)
		c.compare(p, &pr.Summary, &want)
		for _, tc := range pr.Counts {
			if spec, ok := c.tt.Lookup(tc.Type); ok && tc.N > spec.Limit {
				report("profile %d holds %d %s, over the limit %d", p, tc.N, tc.Type, spec.Limit)
			}
		}
		return nil
	}); err != nil {
		return err
	}
	for n, nr := range nodes {
		if memberOf[n] != nr.Profile {
			report("node %d (%s) says profile %d; no live profile lists it there", n, nr.ID(), nr.Profile)
		}
	}
	// Partner entries: exactly the non-anchor members of link sets.
	want := map[[2]uint32]bool{}
	for _, r := range linked {
		for n := range nodesOf(r.Sets) {
			if nodes[n] == nil {
				report("record %d holds missing node %d", r.Seq, n)
			}
			if n != r.Anchor {
				want[[2]uint32{n, r.Anchor}] = true
			}
		}
	}
	have := map[[2]uint32]bool{}
	if err := s.ScanPartners(func(n, a uint32) error {
		have[[2]uint32{n, a}] = true
		if !want[[2]uint32{n, a}] {
			report("partner entry %d → %d: no record anchored on %d holds %d", n, a, a, n)
		}
		return nil
	}); err != nil {
		return err
	}
	for k := range want {
		if !have[k] {
			report("record anchored on %d holds %d, but the partner entry is missing", k[1], k[0])
		}
	}
	c.replay(nodes, linked)
	// The index equals a recomputation.
	x := index.New()
	if err := rebuildIndex(s, x); err != nil {
		return err
	}
	if ok, diff := v.Equal(x); !ok {
		report("index differs from a recomputation from the records: %s", diff)
	}
	return nil
}

// compare reports where a stored summary differs from the derived one.
func (c *checker) compare(p uint32, got, want *graph.Summary) {
	if !slices.Equal(got.Counts, want.Counts) {
		c.report("profile %d counts %v members per type, holds %v", p, got.Counts, want.Counts)
	}
	if got.Events != want.Events || want.Events > 0 && (got.First != want.First || got.Last != want.Last) {
		c.report("profile %d says %d events %d..%d; its members anchor %d events %d..%d", p,
			got.Events, got.First, got.Last, want.Events, want.First, want.Last)
	}
	if !factsEqual(got.Facts, want.Facts) {
		c.report("profile %d's traits, consent or tags differ from its members'", p)
	}
}

func factsEqual(a, b graph.Facts) bool {
	norm := func(f graph.Facts) graph.Facts {
		if len(f.Traits) == 0 {
			f.Traits = nil
		}
		if len(f.Consent) == 0 {
			f.Consent = nil
		}
		if len(f.Tags) == 0 {
			f.Tags = nil
		}
		return f
	}
	return reflect.DeepEqual(norm(a), norm(b))
}

// replay checks that the profiles equal a replay of every linked record in
// arrival order.
func (c *checker) replay(nodes map[uint32]*store.Node, linked []*store.Record) {
	sort.Slice(linked, func(i, j int) bool { return linked[i].Seq < linked[j].Seq })
	sc := graph.NewScratch(c.tt)
	typeOf := func(n uint32) int {
		code, _ := c.tt.Code(nodes[n].Type)
		return code
	}
	for _, r := range linked {
		for _, set := range r.Sets {
			ms := make([]graph.Member, 0, len(set))
			for _, n := range set {
				if nodes[n] != nil {
					ms = append(ms, graph.Member{Node: n, Type: typeOf(n)})
				}
			}
			sc.Replay(ms)
		}
	}
	ids := slices.Sorted(maps.Keys(nodes))
	labelToProf := map[uint32]uint32{}
	profToLabel := map[uint32]uint32{}
	for _, n := range ids {
		if sc.Label(n) == 0 {
			sc.Create(n, typeOf(n))
		}
		l, p := sc.Label(n), nodes[n].Profile
		if q, ok := labelToProf[l]; ok && q != p || profToLabel[p] != 0 && profToLabel[p] != l {
			c.report("node %d (%s): profiles differ from a replay of the link records", n, nodes[n].ID())
			continue
		}
		labelToProf[l], profToLabel[p] = p, l
	}
}
