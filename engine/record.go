package engine

import (
	"github.com/idgraph/idgraph/engine/internal/graph"
	"github.com/idgraph/idgraph/engine/internal/writer"
)

// recordOp applies a Record: its event or link, then its traits, consent
// and tags on the anchor, all in one operation.
type recordOp struct {
	db  *DB
	r   Record
	now int64
}

type recordPlan struct {
	op     *recordOp
	link   *linkPlan // nil: a single identifier, no event
	tg     target    // the single identifier, when link is nil
	change factsChange
	t      int64
	dup    bool
}

// check validates what needs no store.
func (o *recordOp) check(tt *graph.Types) (*recordPlan, error) {
	r := &o.r
	p := &recordPlan{op: o, t: timeOr(r.Time, o.now),
		change: factsChange{traits: r.Traits, consent: r.Consent, tags: r.Tags, tagOn: true}}
	if len(r.MessageID) > MaxMessageIDLen {
		return nil, graph.Errorf(graph.TooLarge, r.MessageID, "messageId of %d bytes; the most is %d", len(r.MessageID), MaxMessageIDLen)
	}
	if err := p.change.check(); err != nil {
		return nil, err
	}
	switch {
	case r.Event != "" || len(r.IDs) >= 2:
		lo := &linkOp{db: o.db, event: r.Event != "", name: r.Event, ids: r.IDs, at: r.Time, source: r.Source, props: r.Props, now: o.now}
		lp, err := lo.check(tt)
		if err != nil {
			return nil, err
		}
		p.link = lp
	case len(r.IDs) == 1:
	default:
		return nil, invalid("", "no identifier given")
	}
	return p, nil
}

func (o *recordOp) Plan(r writer.Reader) (writer.Plan, error) {
	o.db.stamp(r, o.now)
	if o.r.MessageID != "" {
		until, ok, err := r.Message(o.r.MessageID)
		if err != nil {
			return nil, err
		}
		if ok && until > o.now {
			return &recordPlan{op: o, dup: true}, nil
		}
	}
	tt := o.db.local(r).types
	p, err := o.check(tt)
	if err != nil {
		return nil, err
	}
	if p.link != nil {
		if p.link.ids, err = o.db.parseIDs(tt, o.r.IDs, r); err != nil {
			return nil, err
		}
	} else if p.tg, err = o.db.findTarget(tt, r, o.r.IDs[0]); err != nil {
		return nil, err
	} else if err := p.change.fits(r, p.tg); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *recordPlan) Apply(tx *writer.Tx) (any, error) {
	if p.dup {
		return Result{Duplicate: true}, nil
	}
	a := p.op.db.applier(tx)
	var res Result
	var n uint32
	if p.link != nil {
		res, n = a.link(p.link)
	} else {
		n, res.Profile = a.ensure(p.tg, p.op.now)
	}
	if !p.change.empty() {
		a.sayFacts(n, res.Profile, &p.change, p.t)
	}
	if id := p.op.r.MessageID; id != "" {
		a.tx.PutMessage(id, p.op.now+p.op.db.opts.DedupWindow.Milliseconds(), p.op.db.opts.DedupWindow)
	}
	return res, a.err
}
