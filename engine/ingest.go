package engine

import (
	"github.com/idgraph/idgraph/index"
)

// ingest implements resolver over the store for one operation. Storage
// errors are sticky in err: the rule function cannot fail, so the operation
// checks err when it returns and the batch is aborted.
type ingest struct {
	w   *writer
	err error
}

func (g *ingest) fail(err error) {
	if g.err == nil {
		g.err = err
	}
}

func (g *ingest) profileOf(n uint32) uint32 {
	rec, err := g.w.node(n)
	if err != nil {
		g.fail(err)
		return 0
	}
	return rec.Profile
}

var emptyCounts = map[int]int{}

func (g *ingest) counts(p uint32) map[int]int {
	pr, err := g.w.prof(p)
	if err != nil {
		g.fail(err)
		return emptyCounts
	}
	return pr.counts
}

func (g *ingest) create(n uint32, typ int) uint32 {
	p, _ := g.w.newProfile()
	g.join(n, typ, p)
	return p
}

func (g *ingest) join(n uint32, typ int, p uint32) {
	w := g.w
	rec, err := w.node(n)
	if err != nil {
		g.fail(err)
		return
	}
	pr, err := w.prof(p)
	if err != nil {
		g.fail(err)
		return
	}
	rec.Profile = p
	w.dirtyNodes[n] = true
	pr.count(w.tt, typ, 1)
	pr.rec.Members++
	w.dirtyProfs[p] = true
	w.touched[p] = true
	g.fail(w.setMember(p, n, rec))
	// A node new in this operation has no facts yet; a node created by SET
	// or CONSENT earlier, or one that moves, brings its own.
	if w.fresh[n] {
		return
	}
	f, err := w.facts(n)
	if err != nil {
		g.fail(err)
		return
	}
	pr.rec.Traits = mergeTraits(pr.rec.Traits, f.Traits)
	pr.rec.Consent = mergeConsent(pr.rec.Consent, f.Consent)
}

// merge relabels the younger profile's members into the older one, which
// keeps its id; the younger id becomes a forwarding pointer.
func (g *ingest) merge(a, b uint32) uint32 {
	w := g.w
	s, o := a, b
	if o < s {
		s, o = o, s
	}
	sp, err := w.prof(s)
	if err != nil {
		g.fail(err)
		return s
	}
	op, err := w.prof(o)
	if err != nil {
		g.fail(err)
		return s
	}
	ms, err := w.members(o)
	if err != nil {
		g.fail(err)
		return s
	}
	var moved []index.Event
	for _, n := range ms {
		rec, err := w.node(n)
		if err != nil {
			g.fail(err)
			return s
		}
		rec.Profile = s
		w.dirtyNodes[n] = true
		g.fail(w.delMember(o, n))
		g.fail(w.setMember(s, n, rec))
		if op.rec.Events > 0 {
			as, err := w.nodeEvents(n)
			if err != nil {
				g.fail(err)
				return s
			}
			moved = append(moved, evs(as)...)
		}
	}
	for t, c := range op.counts {
		sp.count(w.tt, t, c)
	}
	sp.rec.Members += op.rec.Members
	sp.rec.Events += op.rec.Events
	sp.rec.First, sp.rec.Last = spanUnion(sp.rec.Events-op.rec.Events, sp.rec.First, sp.rec.Last, op.rec.Events, op.rec.First, op.rec.Last)
	sp.rec.Traits = mergeTraits(sp.rec.Traits, op.rec.Traits)
	sp.rec.Consent = mergeConsent(sp.rec.Consent, op.rec.Consent)
	w.dirtyProfs[s] = true
	w.touched[s] = true
	delete(w.touched, o)
	if w.born[o] && op.rec.Events == 0 {
		// Created and merged away within this operation: nobody can have
		// seen its id, so it leaves no forwarding pointer and the index
		// never heard of it.
		w.profs[o] = nil
		delete(w.dirtyProfs, o)
		return s
	}
	op.rec = profRec{Into: s}
	op.counts = map[int]int{}
	w.dirtyProfs[o] = true
	w.index(func(x *index.Index) {
		if len(moved) > 0 {
			x.Move(o, s, moved)
		}
		x.Drop(o)
	})
	return s
}

// spanUnion combines the first/last-seen spans of two event sets, either of
// which may be empty.
func spanUnion(n1 int64, f1, l1 int64, n2 int64, f2, l2 int64) (int64, int64) {
	switch {
	case n2 == 0:
		return f1, l1
	case n1 == 0:
		return f2, l2
	}
	return min(f1, f2), max(l1, l2)
}

// move takes an exclusive identifier alone out of its profile and into p;
// the events anchored on it go with it.
func (g *ingest) move(n uint32, typ int, p uint32) {
	w := g.w
	rec, err := w.node(n)
	if err != nil {
		g.fail(err)
		return
	}
	old := rec.Profile
	opr, err := w.prof(old)
	if err != nil {
		g.fail(err)
		return
	}
	as, err := w.nodeEvents(n)
	if err != nil {
		g.fail(err)
		return
	}
	g.fail(w.delMember(old, n))
	opr.count(w.tt, typ, -1)
	opr.rec.Members--
	w.dirtyProfs[old] = true
	w.touched[old] = true
	rec.Profile = 0
	g.join(n, typ, p)
	pr, err := w.prof(p)
	if err != nil {
		g.fail(err)
		return
	}
	if len(as) > 0 {
		f, l := span(as)
		pr.rec.First, pr.rec.Last = spanUnion(pr.rec.Events, pr.rec.First, pr.rec.Last, int64(len(as)), f, l)
		pr.rec.Events += int64(len(as))
		moved := evs(as)
		w.index(func(x *index.Index) { x.Move(old, p, moved) })
		// The profile left behind loses these events; its span changes only
		// if they held one of its ends, and only then are its remaining
		// members' events scanned.
		opr.rec.Events -= int64(len(as))
		switch {
		case opr.rec.Events == 0:
			opr.rec.First, opr.rec.Last = 0, 0
		case f == opr.rec.First || l == opr.rec.Last:
			g.fail(w.recomputeSpan(old, opr))
		}
	}
	// Its traits and consent are the latest of its remaining members' facts.
	g.fail(w.recomputeFacts(old, opr))
}

func span(as []anchored) (first, last int64) {
	for i, a := range as {
		if i == 0 || a.ev.Time < first {
			first = a.ev.Time
		}
		if i == 0 || a.ev.Time > last {
			last = a.ev.Time
		}
	}
	return first, last
}

// recomputeSpan recomputes first/last seen from the members' events.
func (w *writer) recomputeSpan(p uint32, pr *profile) error {
	ms, err := w.members(p)
	if err != nil {
		return err
	}
	var n, first, last int64
	for _, m := range ms {
		as, err := w.nodeEvents(m)
		if err != nil {
			return err
		}
		if len(as) > 0 {
			f, l := span(as)
			first, last = spanUnion(n, first, last, int64(len(as)), f, l)
			n += int64(len(as))
		}
	}
	pr.rec.First, pr.rec.Last = first, last
	return nil
}

// recomputeFacts recomputes traits and consent from the members' facts.
func (w *writer) recomputeFacts(p uint32, pr *profile) error {
	ms, err := w.members(p)
	if err != nil {
		return err
	}
	pr.rec.Traits, pr.rec.Consent = nil, nil
	for _, m := range ms {
		fr, err := w.facts(m)
		if err != nil {
			return err
		}
		pr.rec.Traits = mergeTraits(pr.rec.Traits, fr.Traits)
		pr.rec.Consent = mergeConsent(pr.rec.Consent, fr.Consent)
	}
	return nil
}

// recompute rebuilds a live profile's derived fields from its members.
func (w *writer) recompute(p uint32, pr *profile) error {
	ms, err := w.members(p)
	if err != nil {
		return err
	}
	rec := profRec{Created: pr.rec.Created, Mem: pr.rec.Mem}
	counts := map[int]int{}
	for _, n := range ms {
		nr, err := w.node(n)
		if err != nil {
			return err
		}
		counts[w.tt.byName[nr.Type]]++
		rec.Members++
		as, err := w.nodeEvents(n)
		if err != nil {
			return err
		}
		if len(as) > 0 {
			f, l := span(as)
			rec.First, rec.Last = spanUnion(rec.Events, rec.First, rec.Last, int64(len(as)), f, l)
			rec.Events += int64(len(as))
		}
		fr, err := w.facts(n)
		if err != nil {
			return err
		}
		rec.Traits = mergeTraits(rec.Traits, fr.Traits)
		rec.Consent = mergeConsent(rec.Consent, fr.Consent)
	}
	rec.Counts = w.countNames(counts)
	pr.rec, pr.counts = rec, counts
	w.dirtyProfs[p] = true
	w.touched[p] = true
	return nil
}
