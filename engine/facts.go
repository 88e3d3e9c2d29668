package engine

import (
	"errors"
	"strings"
	"time"

	"github.com/idgraph/idgraph/engine/internal/graph"
	"github.com/idgraph/idgraph/engine/internal/store"
	"github.com/idgraph/idgraph/engine/internal/writer"
)

// factsChange is what one SET, CONSENT or TAG/UNTAG says.
type factsChange struct {
	traits  []Trait
	consent map[string]bool
	tags    []string
	tagOn   bool
}

func (c *factsChange) empty() bool {
	return len(c.traits) == 0 && len(c.consent) == 0 && len(c.tags) == 0
}

// check validates the names and values.
func (c *factsChange) check() error {
	if len(c.traits) > MaxTraits {
		return graph.Errorf(graph.TooLarge, "", "%d traits in one call; the most is %d", len(c.traits), MaxTraits)
	}
	for _, t := range c.traits {
		if err := graph.CheckName("trait name", t.Name); err != nil {
			return err
		}
		if err := graph.CheckValue(t.Name, t.Value); err != nil {
			return err
		}
	}
	for purpose := range c.consent {
		if err := graph.CheckName("purpose", purpose); err != nil {
			return err
		}
	}
	for _, tag := range c.tags {
		if err := graph.CheckName("tag", tag); err != nil {
			return err
		}
	}
	return nil
}

// facts returns the change as facts stamped s.
func (c *factsChange) facts(s graph.Stamp) graph.Facts {
	var f graph.Facts
	for _, t := range c.traits {
		if f.Traits == nil {
			f.Traits = map[string]graph.Value{}
		}
		f.Traits[t.Name] = graph.Value{V: t.Value, Stamp: s}
	}
	for purpose, grant := range c.consent {
		if f.Consent == nil {
			f.Consent = map[string]graph.Flag{}
		}
		f.Consent[purpose] = graph.Flag{On: grant, Stamp: s}
	}
	for _, tag := range c.tags {
		if f.Tags == nil {
			f.Tags = map[string]graph.Flag{}
		}
		f.Tags[tag] = graph.Flag{On: c.tagOn, Stamp: s}
	}
	return f
}

// factsOp is SET, CONSENT or TAG/UNTAG on one identifier or profile.
type factsOp struct {
	db     *DB
	id     string
	change factsChange
	at     time.Time
	now    int64
}

func (db *DB) factsOpAt(id string, c factsChange, at time.Time, now int64) *factsOp {
	return &factsOp{db: db, id: id, change: c, at: at, now: now}
}

// target is what a SET, CONSENT or TAG addresses: an identifier (node 0
// when it is new and will be created) or a live profile.
type target struct {
	id      graph.ID
	code    int
	node    uint32
	profile uint32
}

// findTarget resolves the identifier or profile:<id> a facts call
// addresses. A profile is addressed through its highest-priority member.
func (db *DB) findTarget(tt *graph.Types, r store.Reader, raw string) (target, error) {
	if strings.HasPrefix(raw, ProfileType+":") {
		id, err := parseProfileID(raw)
		if err != nil {
			return target{}, err
		}
		p, err := live(r, id)
		if err != nil {
			return target{}, err
		}
		if p == 0 {
			return target{}, notFound(raw, "no profile %d", id)
		}
		pr, err := r.Profile(p)
		if err != nil {
			return target{}, err
		}
		best, bestPri := store.Member{}, 0
		for _, m := range pr.Members {
			typ, _, _ := strings.Cut(m.ID, ":")
			spec, _ := tt.Lookup(typ)
			if best.Node == 0 || spec.Priority < bestPri || spec.Priority == bestPri && m.Node < best.Node {
				best, bestPri = m, spec.Priority
			}
		}
		return target{node: best.Node, profile: p}, nil
	}
	id, code, blocked, err := tt.ParseID(raw, db.bl)
	if err != nil {
		return target{}, err
	}
	if blocked {
		return target{}, graph.Errorf(graph.BadID, raw, "%q is a blocked value", graph.Clip(raw))
	}
	sup := false
	if r.MaySuppress() {
		if sup, err = r.Suppressed(db.suppressHash(id)); err != nil {
			return target{}, err
		}
	}
	if sup {
		return target{}, graph.Errorf(graph.BadID, raw, "%q was forgotten with SUPPRESS", graph.Clip(raw))
	}
	n, p, err := r.Ident(id.Type, id.Value)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return target{}, err
	}
	return target{id: id, code: code, node: n, profile: p}, nil
}

type factsPlan struct {
	op *factsOp
	tg target
	t  int64
}

func (o *factsOp) Plan(r writer.Reader) (writer.Plan, error) {
	o.db.stamp(r, o.now)
	if o.change.empty() {
		return nil, invalid("", "nothing to set")
	}
	if err := o.change.check(); err != nil {
		return nil, err
	}
	tg, err := o.db.findTarget(o.db.local(r).types, r, o.id)
	if err != nil {
		return nil, err
	}
	if err := o.change.fits(r, tg); err != nil {
		return nil, err
	}
	return &factsPlan{op: o, tg: tg, t: timeOr(o.at, o.now)}, nil
}

// fits refuses a change that would give the target's profile more than
// MaxProfileTraits trait names or MaxProfileTags tags.
func (c *factsChange) fits(r store.Reader, tg target) error {
	if tg.profile == 0 || len(c.traits) == 0 && len(c.tags) == 0 {
		return nil
	}
	pr, err := r.Profile(tg.profile)
	if err != nil {
		return err
	}
	traits, tags := len(pr.Traits), len(pr.Tags)
	for _, t := range c.traits {
		if _, ok := pr.Traits[t.Name]; !ok {
			traits++
		}
	}
	for _, t := range c.tags {
		if _, ok := pr.Tags[t]; !ok {
			tags++
		}
	}
	switch {
	case traits > MaxProfileTraits:
		return graph.Errorf(graph.TooLarge, "", "a profile holds at most %d traits; this one would hold %d", MaxProfileTraits, traits)
	case tags > MaxProfileTags:
		return graph.Errorf(graph.TooLarge, "", "a profile holds at most %d tags; this one would hold %d", MaxProfileTags, tags)
	}
	return nil
}

func (p *factsPlan) Apply(tx *writer.Tx) (any, error) {
	a := p.op.db.applier(tx)
	n, prof := a.ensure(p.tg, p.op.now)
	a.sayFacts(n, prof, &p.op.change, p.t)
	return Result{Profile: prof}, a.err
}

// ensure returns the target's node and profile, creating both when the
// identifier is new.
func (a *applier) ensure(tg target, now int64) (uint32, uint32) {
	if tg.node != 0 {
		return tg.node, tg.profile
	}
	n := a.newNode(tg.id)
	g := &ingest{a: a, now: now}
	return n, g.Create(n, tg.code)
}

// sayFacts records what a call said of node n, in profile p, at time t.
func (a *applier) sayFacts(n, p uint32, c *factsChange, t int64) {
	add := c.facts(graph.Stamp{T: t, S: a.nextSeq()})
	f, err := a.tx.Facts(n)
	a.fail(err)
	f.Add(add)
	a.tx.PutFacts(n, f)
	pr := a.profile(p)
	pr.Facts.Add(add)
	a.tx.PutProfile(p, pr)
	a.touch(p)
}

func parseProfileID(raw string) (uint32, error) {
	v := strings.TrimPrefix(raw, ProfileType+":")
	var id uint64
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < '0' || c > '9' || id > (1<<32-1)/10 {
			return 0, graph.Errorf(graph.BadID, raw, "%q: a profile id is a positive integer", graph.Clip(raw))
		}
		id = id*10 + uint64(c-'0')
	}
	if v == "" || id == 0 || id > 1<<32-1 {
		return 0, graph.Errorf(graph.BadID, raw, "%q: a profile id is a positive integer", graph.Clip(raw))
	}
	return uint32(id), nil
}
