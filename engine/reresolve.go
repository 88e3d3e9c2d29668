package engine

import (
	"slices"
	"sort"

	"github.com/idgraph/idgraph/engine/internal/graph"
	"github.com/idgraph/idgraph/engine/internal/store"
	"github.com/idgraph/idgraph/index"
)

// linkedRecords returns the linked records that hold n: those anchored on
// n and those of its partners whose sets hold it.
func (a *applier) linkedRecords(n uint32) []*store.Record {
	var out []*store.Record
	for rec, err := range a.tx.Records(n, store.Range{LinkedOnly: true}) {
		if err != nil {
			a.fail(err)
			return nil
		}
		out = append(out, rec)
	}
	partners, err := a.tx.Partners(n)
	a.fail(err)
	for _, p := range partners {
		for rec, err := range a.tx.Records(p, store.Range{LinkedOnly: true}) {
			if err != nil {
				a.fail(err)
				return nil
			}
			if rec.Holds(n) {
				out = append(out, rec)
			}
		}
	}
	return out
}

// fixPartners deletes the partner entries (n, anchor) of nodes that no
// record anchored on anchor holds any more.
func (a *applier) fixPartners(anchor uint32, nodes map[uint32]bool) {
	if len(nodes) == 0 {
		return
	}
	still := map[uint32]bool{}
	for rec, err := range a.tx.Records(anchor, store.Range{LinkedOnly: true}) {
		if err != nil {
			a.fail(err)
			return
		}
		for n := range nodes {
			if !still[n] && rec.Holds(n) {
				still[n] = true
			}
		}
	}
	for n := range nodes {
		if n != anchor && !still[n] {
			a.tx.DeletePartner(n, anchor)
		}
	}
}

// reresolve replays, from nothing, every link record of the components that
// hold the start nodes, and writes the difference: node labels, profiles
// (recomputed with graph.Derive), forwarding pointers, the records'
// decisions and index moves. A piece keeps the old id of the profile whose
// oldest identifier it holds (the smallest such id when it holds several);
// other pieces get new ids, and the old ids that lost their founder forward
// to where it went.
func (a *applier) reresolve(start []uint32, now int64) {
	comp := map[uint32]bool{}
	oldProf := map[uint32]uint32{}
	seenProf := map[uint32]bool{}
	records := map[store.RecordKey]*store.Record{}
	queue := append([]uint32(nil), start...)
	for len(queue) > 0 && a.err == nil {
		n := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		if comp[n] {
			continue
		}
		rec, err := a.tx.Node(n)
		if err != nil {
			continue // erased in this operation
		}
		comp[n] = true
		oldProf[n] = rec.Profile
		if p := rec.Profile; p != 0 && !seenProf[p] {
			seenProf[p] = true
			for _, m := range a.profile(p).Members {
				queue = append(queue, m.Node)
			}
		}
		// Records anchored on n; those anchored elsewhere are found when
		// their anchor (a partner of n) is visited.
		for r, err := range a.tx.Records(n, store.Range{LinkedOnly: true}) {
			if err != nil {
				a.fail(err)
				return
			}
			records[r.RecordKey] = r
			for _, set := range r.Sets {
				queue = append(queue, set...)
			}
		}
		partners, err := a.tx.Partners(n)
		a.fail(err)
		queue = append(queue, partners...)
	}
	if a.err != nil {
		return
	}
	keys := make([]store.RecordKey, 0, len(records))
	for k := range records {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].Seq < keys[j].Seq })
	typeOf := func(n uint32) int {
		c, _ := a.types.Code(a.node(n).Type)
		return c
	}
	sc := graph.NewScratch(a.types)
	for _, k := range keys {
		r := records[k]
		changed := len(r.Rules) != len(r.Sets)
		if changed {
			r.Rules = make([][]string, len(r.Sets))
		}
		for i, set := range r.Sets {
			ms := make([]graph.Member, len(set))
			for j, n := range set {
				ms[j] = graph.Member{Node: n, Type: typeOf(n)}
			}
			_, ds := sc.Replay(ms)
			rules := make([]string, len(ms))
			ordered := make([]uint32, len(ms))
			for j, m := range ms {
				ordered[j] = m.Node
			}
			for j, d := range ds {
				rules[j+1] = d.Rule
			}
			if !slices.Equal(r.Rules[i], rules) || !slices.Equal(set, ordered) {
				changed = true
			}
			r.Sets[i], r.Rules[i] = ordered, rules
		}
		// Only records whose decisions (or order) changed are rewritten: a
		// component's history can be long, its changes are usually few.
		if changed {
			a.tx.PutRecord(r)
		}
	}
	nodes := make([]uint32, 0, len(comp))
	for n := range comp {
		nodes = append(nodes, n)
	}
	slices.Sort(nodes)
	for _, n := range nodes {
		if sc.Label(n) == 0 {
			sc.Create(n, typeOf(n))
		}
	}
	// Which piece keeps which id.
	founder := map[uint32]uint32{} // old profile → its smallest node in comp
	for _, n := range nodes {
		if q := oldProf[n]; q != 0 {
			if _, ok := founder[q]; !ok {
				founder[q] = n
			}
		}
	}
	olds := make([]uint32, 0, len(founder))
	for q := range founder {
		olds = append(olds, q)
	}
	slices.Sort(olds)
	idOf := map[uint32]uint32{}
	for _, q := range olds {
		if l := sc.Label(founder[q]); idOf[l] == 0 {
			idOf[l] = q
		}
	}
	var labels []uint32
	for _, n := range nodes {
		l := sc.Label(n)
		if idOf[l] == 0 {
			p, _ := a.newProfile(now)
			idOf[l] = p
		}
		if !slices.Contains(labels, l) {
			labels = append(labels, l)
		}
	}
	// Relabel nodes whose profile changed; their events move in the index.
	for _, n := range nodes {
		np, op := idOf[sc.Label(n)], oldProf[n]
		if np == op {
			continue
		}
		rec := a.node(n)
		rec.Profile = np
		a.tx.PutNode(n, rec)
		if op != 0 {
			if evs, _ := a.nodeEvents(n); len(evs) > 0 {
				a.tx.Index(index.Delta{Kind: index.DeltaMove, P: op, To: np, Events: evs})
			}
		}
	}
	for _, q := range olds {
		if to := idOf[sc.Label(founder[q])]; to != q {
			a.tx.PutProfile(q, &store.Profile{Into: to})
			delete(a.l.touched, q)
			a.tx.Index(index.Delta{Kind: index.DeltaDrop, P: q})
			a.change(Change{Kind: ChangeMerged, Profile: to, From: q})
		}
	}
	// Pieces with a new id split from the profile their nodes were in.
	into := map[uint32][]uint32{}
	for _, l := range labels {
		p := idOf[l]
		if slices.Contains(olds, p) {
			continue
		}
		for _, n := range sc.Members(l) {
			if q := oldProf[n]; q != 0 {
				if !slices.Contains(into[q], p) {
					into[q] = append(into[q], p)
				}
				break
			}
		}
	}
	for _, q := range olds {
		if ps := into[q]; len(ps) > 0 {
			slices.Sort(ps)
			a.change(Change{Kind: ChangeSplit, Profile: q, Into: ps})
		}
	}
	// A piece that kept its old id and exactly its old members is
	// unchanged; the others are derived again from their members.
	oldMembers := map[uint32][]uint32{}
	for _, n := range nodes {
		if q := oldProf[n]; q != 0 {
			oldMembers[q] = append(oldMembers[q], n)
		}
	}
	for _, l := range labels {
		p := idOf[l]
		mem := slices.Clone(sc.Members(l))
		slices.Sort(mem)
		pr := a.profile(p)
		if pr.Into == 0 && slices.Equal(mem, oldMembers[p]) && !a.l.touched[p] {
			continue
		}
		a.derive(p, pr.Created, mem)
	}
}

// derive recomputes profile p from its members: graph.Derive over each
// member's type, events and facts.
func (a *applier) derive(p uint32, created int64, members []uint32) {
	pr := &store.Profile{Created: created}
	sums := make([]graph.Summary, 0, len(members))
	for _, n := range members {
		rec := a.node(n)
		pr.Members = append(pr.Members, store.Member{Node: n, ID: rec.ID()})
		_, span := a.nodeEvents(n)
		facts, err := a.tx.Facts(n)
		a.fail(err)
		sums = append(sums, graph.MemberSummary(rec.Type, span, facts))
	}
	pr.Summary = graph.Derive(sums)
	a.tx.PutProfile(p, pr)
	a.touch(p)
}
