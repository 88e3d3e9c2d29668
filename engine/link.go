package engine

import (
	"slices"
	"strings"
	"time"

	"github.com/idgraph/idgraph/engine/internal/graph"
	"github.com/idgraph/idgraph/engine/internal/store"
	"github.com/idgraph/idgraph/engine/internal/writer"
	"github.com/idgraph/idgraph/index"
)

// linkOp is TRACK (an event) or MERGE (a link): identifiers seen together,
// resolved by the rules of SPEC.md §3.
type linkOp struct {
	db     *DB
	event  bool
	name   string
	ids    []string
	at     time.Time
	source string
	props  []byte
	now    int64
}

func (db *DB) trackOpAt(ev Event, now int64) *linkOp {
	return &linkOp{db: db, event: true, name: ev.Name, ids: ev.IDs, at: ev.Time, source: ev.Source, props: ev.Props, now: now}
}

func (db *DB) mergeOpAt(ids []string, source string, at time.Time, now int64) *linkOp {
	return &linkOp{db: db, ids: ids, at: at, source: source, now: now}
}

// parsedIDs are a call's identifiers after normalisation.
type parsedIDs struct {
	ids        []graph.ID
	codes      []int
	dropped    []string // junk values
	suppressed []string // forgotten with SUPPRESS
}

// parseIDs normalises a call's identifiers, drops junk (and, given r,
// suppressed ones) and duplicates, and fails on a malformed one.
func (db *DB) parseIDs(tt *graph.Types, raw []string, r store.Reader) (parsedIDs, error) {
	var p parsedIDs
	if len(raw) == 0 {
		return p, invalid("", "no identifier given")
	}
	if len(raw) > db.opts.MaxIDs {
		return p, graph.Errorf(graph.TooLarge, "", "%d identifiers in one call; the most is %d", len(raw), db.opts.MaxIDs)
	}
	for _, s := range raw {
		id, code, blocked, err := tt.ParseID(s, db.bl)
		if err != nil {
			return p, err
		}
		if blocked {
			p.dropped = append(p.dropped, s)
			continue
		}
		if r != nil && r.MaySuppress() {
			sup, err := r.Suppressed(db.suppressHash(id))
			if err != nil {
				return p, err
			}
			if sup {
				p.suppressed = append(p.suppressed, s)
				continue
			}
		}
		if slices.Contains(p.ids, id) {
			continue
		}
		p.ids = append(p.ids, id)
		p.codes = append(p.codes, code)
	}
	if len(p.ids) == 0 {
		gone := append(append([]string(nil), p.dropped...), p.suppressed...)
		return p, graph.Errorf(graph.BadID, raw[0], "no identifier left after dropping %s", strings.Join(gone, ", "))
	}
	return p, nil
}

// linkPlan is a validated TRACK or MERGE.
type linkPlan struct {
	op     *linkOp
	ids    parsedIDs
	t      int64
	source string
	props  []byte
}

// check validates what needs neither the store nor the identifiers.
func (o *linkOp) check(tt *graph.Types) (*linkPlan, error) {
	p := &linkPlan{op: o, t: timeOr(o.at, o.now), source: o.source}
	if o.event {
		if err := graph.CheckName("event name", o.name); err != nil {
			return nil, err
		}
		var err error
		if p.props, err = graph.CompactProps(o.props); err != nil {
			return nil, err
		}
	} else if len(o.ids) < 2 {
		return nil, invalid("", "MERGE needs at least two identifiers")
	}
	if p.source == "" {
		p.source = DefaultSource
	}
	if err := graph.CheckName("source", p.source); err != nil {
		return nil, err
	}
	return p, nil
}

// Warm reads ahead what applying will read of each identifier: its
// identifier record and its profile (see writer.Warmer); the store's
// transaction knows the node from the identifier record. An operation
// whose identifiers do not parse is left to Plan to refuse.
func (o *linkOp) Warm(r store.Reader) {
	p, err := o.db.parseIDs(o.db.types.Load(), o.ids, nil)
	if err != nil {
		return
	}
	for _, id := range p.ids {
		if _, prof, err := r.Ident(id.Type, id.Value); err == nil {
			_, _ = r.Profile(prof)
		}
	}
}

func (o *linkOp) Plan(r writer.Reader) (writer.Plan, error) {
	o.db.stamp(r, o.now)
	tt := o.db.local(r).types
	p, err := o.check(tt)
	if err != nil {
		return nil, err
	}
	if p.ids, err = o.db.parseIDs(tt, o.ids, r); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *linkPlan) Apply(tx *writer.Tx) (any, error) {
	a := p.op.db.applier(tx)
	res, _ := a.link(p)
	return res, a.err
}

// link applies a planned TRACK or MERGE and returns its result and anchor.
func (a *applier) link(p *linkPlan) (Result, uint32) {
	ms := make([]graph.Member, len(p.ids.ids))
	for i, id := range p.ids.ids {
		n, _, err := a.tx.Ident(id.Type, id.Value)
		if err != nil && err != store.ErrNotFound {
			a.fail(err)
			return Result{}, 0
		}
		if n == 0 {
			n = a.newNode(id)
		}
		ms[i] = graph.Member{Node: n, Type: p.ids.codes[i]}
	}
	graph.Order(a.types, ms)
	anchor := ms[0].Node
	seq := a.nextSeq()
	g := &ingest{a: a, now: p.op.now}
	prof, decisions := graph.Resolve(g, a.types, ms)
	res := Result{Profile: prof, Dropped: p.ids.dropped, Suppressed: p.ids.suppressed, Moved: a.moved}
	nodes := make([]uint32, len(ms))
	rules := make([]string, len(ms))
	for i, m := range ms {
		nodes[i] = m.Node
	}
	for i, d := range decisions {
		rules[i+1] = d.Rule
		if d.Refused() {
			res.Refused = append(res.Refused, Refusal{ID: a.node(d.Node).ID(), Rule: d.Rule})
		}
	}
	rec := &store.Record{RecordKey: store.RecordKey{Anchor: anchor, Time: p.t, Seq: seq},
		Event: p.op.event, Name: p.op.name, Source: p.source, IDs: nodes, Props: p.props}
	if len(ms) > 1 {
		rec.Sets, rec.Rules = [][]uint32{nodes}, [][]string{rules}
		for _, n := range nodes[1:] {
			has, err := a.tx.HasPartner(n, anchor)
			a.fail(err)
			if !has {
				a.tx.AddPartner(n, anchor)
			}
		}
	}
	if p.op.event || len(ms) > 1 {
		a.tx.PutRecord(rec)
	}
	if p.op.event {
		pr := a.profile(prof)
		pr.AddTime(p.t)
		a.tx.PutProfile(prof, pr)
		a.tx.Index(index.Delta{Kind: index.DeltaAdd, P: prof, Events: []index.Event{{Name: p.op.name, Source: p.source, Time: p.t, Props: p.props}}})
	}
	return res, anchor
}

// ingest implements graph.Resolver over the transaction for one operation.
// Storage errors are sticky in the applier: the rules cannot fail, so the
// operation checks the applier's error when they return.
type ingest struct {
	a   *applier
	now int64
}

func (g *ingest) ProfileOf(n uint32) uint32 { return g.a.node(n).Profile }

func (g *ingest) Counts(p uint32) graph.Counts { return g.a.profile(p).Counts }

func (g *ingest) Create(n uint32, typ int) uint32 {
	p, _ := g.a.newProfile(g.now)
	g.Join(n, typ, p)
	return p
}

// Join adds a node new in this operation (no events, no facts) to p.
func (g *ingest) Join(n uint32, typ int, p uint32) {
	a := g.a
	rec := a.node(n)
	rec.Profile = p
	a.tx.PutNode(n, rec)
	pr := a.profile(p)
	pr.Members = append(pr.Members, store.Member{Node: n, ID: rec.ID()})
	pr.Summary.Add(graph.MemberSummary(a.types.Spec(typ).Name, graph.Span{}, graph.Facts{}))
	a.tx.PutProfile(p, pr)
	a.touch(p)
}

// Merge relabels the younger profile's members into the older one, which
// keeps its id; the younger id becomes a forwarding pointer.
func (g *ingest) Merge(x, y uint32) uint32 {
	a := g.a
	s, o := min(x, y), max(x, y)
	sp, op := a.profile(s), a.profile(o)
	var moved []index.Event
	for _, m := range op.Members {
		rec := a.node(m.Node)
		rec.Profile = s
		a.tx.PutNode(m.Node, rec)
		if op.Events > 0 {
			evs, _ := a.nodeEvents(m.Node)
			moved = append(moved, evs...)
		}
	}
	sp.Members = append(sp.Members, op.Members...)
	sp.Summary.Add(op.Summary)
	a.tx.PutProfile(s, sp)
	a.touch(s)
	delete(a.l.touched, o)
	if a.born[o] && op.Events == 0 {
		// Created and merged away within this operation: nobody can have
		// seen its id, so it leaves no forwarding pointer and the index
		// never heard of it.
		a.tx.DeleteProfile(o)
		return s
	}
	a.tx.PutProfile(o, &store.Profile{Into: s})
	a.change(Change{Kind: ChangeMerged, Profile: s, From: o})
	if len(moved) > 0 {
		a.tx.Index(index.Delta{Kind: index.DeltaMove, P: o, To: s, Events: moved})
	}
	a.tx.Index(index.Delta{Kind: index.DeltaDrop, P: o})
	return s
}

// Move takes an exclusive identifier alone out of its profile and into p;
// the events anchored on it and what was said of it go with it.
func (g *ingest) Move(n uint32, typ int, p uint32) {
	a := g.a
	rec := a.node(n)
	old := rec.Profile
	evs, span := a.nodeEvents(n)
	facts, err := a.tx.Facts(n)
	a.fail(err)
	rec.Profile = p
	a.tx.PutNode(n, rec)
	pr := a.profile(p)
	pr.Members = append(pr.Members, store.Member{Node: n, ID: rec.ID()})
	pr.Summary.Add(graph.MemberSummary(a.types.Spec(typ).Name, span, facts))
	a.tx.PutProfile(p, pr)
	a.touch(p)
	opr := a.profile(old)
	opr.Members = slices.DeleteFunc(opr.Members, func(m store.Member) bool { return m.Node == n })
	a.leave(old, opr, typ, span)
	if len(evs) > 0 {
		a.tx.Index(index.Delta{Kind: index.DeltaMove, P: old, To: p, Events: evs})
	}
	a.moved = append(a.moved, Moved{ID: rec.ID(), From: old})
	a.change(Change{Kind: ChangeMoved, Profile: p, From: old, node: n})
}

// leave updates profile p after one member of type typ whose events span
// gone left it (already removed from pr.Members): counts and the event
// span incrementally, facts from the remaining members. The span is
// recomputed from the members' events only when the leaving events held
// one of its ends.
func (a *applier) leave(p uint32, pr *store.Profile, typ int, gone graph.Span) {
	name := a.types.Spec(typ).Name
	pr.Counts.Add(name, -1)
	switch {
	case gone.Events == 0:
	case gone.Events == pr.Events:
		pr.Span = graph.Span{}
	case gone.First > pr.First && gone.Last < pr.Last:
		pr.Events -= gone.Events
	default:
		pr.Span = graph.Span{}
		for _, m := range pr.Members {
			_, sp := a.nodeEvents(m.Node)
			pr.Span.Add(sp)
		}
	}
	pr.Facts = graph.Facts{}
	for _, m := range pr.Members {
		f, err := a.tx.Facts(m.Node)
		a.fail(err)
		pr.Facts.Add(f)
	}
	a.tx.PutProfile(p, pr)
	a.touch(p)
}
