package query

import (
	"errors"
	"math"
	"sort"

	"github.com/idgraph/idgraph/engine"
	"github.com/idgraph/idgraph/load"
)

// The exec functions of the command table, one per statement.

// The simple writes build an engine.Op and a reply for its result, so that
// ExecBatch can apply a run of them in one group commit; execWrite runs
// one alone.

func opTrack(c *call) (engine.Op, func(engine.Result) Value, error) {
	st := c.st.(*Track)
	var props []byte
	if st.Props != "" {
		props = []byte(st.Props)
	}
	return engine.TrackOp(engine.Event{Name: st.Event, IDs: st.IDs, Time: timeOr(st.At), Source: c.source(st.From), Props: props}), linkReply, nil
}

func opMerge(c *call) (engine.Op, func(engine.Result) Value, error) {
	st := c.st.(*Merge)
	return engine.MergeOp(st.IDs, c.source(st.From), timeOr(st.At)), linkReply, nil
}

func opRecord(c *call) (engine.Op, func(engine.Result) Value, error) {
	st := c.st.(*Record)
	rec, err := load.ParseRecord([]byte(st.JSON))
	if err != nil {
		var le *load.LineError
		if errors.As(err, &le) {
			return engine.Op{}, nil, Errorf(CodeSyntax, 2, "%s", le.Reason)
		}
		return engine.Op{}, nil, err
	}
	er := rec.EngineRecord()
	er.Source = c.source(er.Source)
	return engine.RecordOp(er), linkReply, nil
}

func opSet(c *call) (engine.Op, func(engine.Result) Value, error) {
	st := c.st.(*Set)
	traits := make([]engine.Trait, len(st.Traits))
	for i, t := range st.Traits {
		traits[i] = engine.Trait{Name: t.Name, Value: t.Value}
	}
	return engine.SetOp(st.ID, traits, timeOr(st.At)), profileIDReply, nil
}

func opConsent(c *call) (engine.Op, func(engine.Result) Value, error) {
	st := c.st.(*Consent)
	return engine.ConsentOp(st.ID, st.Purpose, st.Grant, timeOr(st.At)), profileIDReply, nil
}

func opTag(c *call) (engine.Op, func(engine.Result) Value, error) {
	st := c.st.(*Tag)
	return engine.TagOp(st.ID, st.Tags, st.On, timeOr(st.At)), profileIDReply, nil
}

func profileIDReply(r engine.Result) Value { return Map(Pair{"profile", Int(int64(r.Profile))}) }

// execWrite runs a simple write alone.
func execWrite(c *call, build func(c *call) (engine.Op, func(engine.Result) Value, error)) (Value, error) {
	op, reply, err := build(c)
	if err != nil {
		return Value{}, err
	}
	res, errs, err := c.x.db.Apply(c.ctx, []engine.Op{op})
	if err != nil {
		return Value{}, err
	}
	if errs[0] != nil {
		return Value{}, errs[0]
	}
	return reply(res[0]), nil
}

func execWho(c *call) (Value, error) {
	v, _, err := c.x.who(c)
	return v, err
}

// who answers WHO with the stamp of its reply (a zero Stamp for none).
func (x *Executor) who(c *call) (Value, Stamp, error) {
	st := c.st.(*Who)
	defs := x.db.DefsVersion() // before the definitions are read: see Stamp
	var out Value
	var stamp Stamp
	err := x.db.Read(func(r *engine.Reader) error {
		p, err := r.Who(st.ID)
		if errors.Is(err, engine.ErrNotFound) {
			out = Nil()
			return nil
		}
		if err != nil {
			return err
		}
		e := x.evaluator(r.Index(), x.clock(c.ctx), nil)
		segs, err := e.savedHolding(p.ID)
		if err != nil {
			return err
		}
		out = profileReply(p, segs, e.set.byName != nil, x.computedValues(e, p.ID))
		if now := e.now.UnixMilli(); e.until > now {
			stamp = Stamp{ok: true, gen: r.Gen(), defs: defs, from: now, until: e.until}
		}
		return nil
	})
	return out, stamp, err
}

func execWhy(c *call) (Value, error) {
	st := c.st.(*Why)
	w, err := c.x.db.Why(st.A, st.B)
	if err != nil {
		return Value{}, err
	}
	return whyReply(w), nil
}

func execGraph(c *call) (Value, error) {
	g, err := c.x.db.Graph(c.st.(*Graph).ID)
	if err != nil {
		return Value{}, err
	}
	return graphReply(g), nil
}

func execTimeline(c *call) (Value, error) {
	st := c.st.(*Timeline)
	evs, err := c.x.db.Timeline(st.ID, engine.TimelinePage{Limit: st.Limit, Before: timeOr(st.Before), After: st.After})
	if err != nil {
		return Value{}, err
	}
	out := make([]Value, len(evs))
	for i, e := range evs {
		props := "{}"
		if len(e.Props) > 0 {
			props = string(e.Props)
		}
		out[i] = Map(Pair{"time", String(fmtTime(e.Time))}, Pair{"event", String(e.Name)},
			Pair{"source", String(e.Source)}, Pair{"ids", Strings(e.IDs)}, Pair{"props", String(props)},
			Pair{"cursor", String(e.Cursor)})
	}
	return Array(out...), nil
}

func execUnlink(c *call) (Value, error) {
	st := c.st.(*Unlink)
	r, err := c.x.db.Unlink(c.ctx, st.A, st.B)
	if err != nil {
		return Value{}, err
	}
	ps := make([]Value, len(r.Profiles))
	for i, p := range r.Profiles {
		ps[i] = Int(int64(p))
	}
	return Map(Pair{"removed", Int(int64(r.Removed))}, Pair{"profiles", Array(ps...)}), nil
}

func execForget(c *call) (Value, error) {
	st := c.st.(*Forget)
	r, err := c.x.db.Forget(c.ctx, st.ID, st.Suppress)
	if err != nil {
		return Value{}, err
	}
	return Map(Pair{"profile", Int(int64(r.Profile))}, Pair{"ids", Int(int64(r.Removed))}, Pair{"events", Int(int64(r.Events))}), nil
}

func execSegmentCount(c *call) (Value, error) {
	st := c.st.(*SegmentCount)
	c.warnUnknownEvents(st.Expr)
	var n uint64
	err := c.x.segment(c.ctx, st.Expr, st.AsOf, c.args, func(e *evaluator) error {
		b, err := e.top(st.Expr)
		if err == nil {
			n = b.GetCardinality()
		}
		return err
	})
	return Int(int64(n)), err
}

func execSegmentIDs(c *call) (Value, error) {
	st := c.st.(*SegmentIDs)
	c.warnUnknownEvents(st.Expr)
	limit := st.Limit
	if limit <= 0 {
		limit = DefaultSegmentLimit
	}
	var out []Value
	err := c.x.segment(c.ctx, st.Expr, st.AsOf, c.args, func(e *evaluator) error {
		b, err := e.top(st.Expr)
		if err != nil {
			return err
		}
		if st.After == math.MaxUint32 {
			return nil
		}
		it := b.Iterator()
		if st.After > 0 {
			it.AdvanceIfNeeded(st.After + 1)
		}
		for it.HasNext() && len(out) < limit {
			out = append(out, Int(int64(it.Next())))
		}
		return nil
	})
	return Array(out...), err
}

func execSegmentSave(c *call) (Value, error) {
	st := c.st.(*SegmentSave)
	c.warnUnknownEvents(st.Expr)
	// The expression must evaluate now (known types, existing segments),
	// and, checked again in the writer against the segments saved at that
	// moment, must not make a cycle or nest too deep.
	err := c.x.segment(c.ctx, st.Expr, nil, c.args, func(e *evaluator) error {
		e.push(st.Name)
		_, err := e.top(st.Expr)
		return err
	})
	if err != nil {
		return Value{}, err
	}
	text := st.Expr.String()
	err = c.x.db.SaveSegment(c.ctx, st.Name, text, func(saved map[string]string) error {
		if _, ok := saved[st.Name]; !ok && len(saved) >= maxSavedSegments {
			return Errorf(CodeTooLarge, 0, "at most %d segments can be saved", maxSavedSegments)
		}
		saved[st.Name] = text
		return checkNesting(saved, st.Name, c.args)
	})
	if err != nil {
		return Value{}, err
	}
	return Status("OK"), nil
}

func execSegmentDrop(c *call) (Value, error) {
	st := c.st.(*SegmentDrop)
	ok, err := c.x.db.DropSegment(c.ctx, st.Name, func(saved map[string]string) error {
		if users := usersOf(saved, st.Name); len(users) > 0 {
			return Errorf(CodeConflict, 3, "segment %s is used by %s; drop or change those first", st.Name, joinNames(users))
		}
		return nil
	})
	if err != nil {
		return Value{}, err
	}
	if ok {
		return Int(1), nil
	}
	return Int(0), nil
}

func execSegmentList(c *call) (Value, error) {
	segs := c.x.db.Segments()
	names := make([]string, 0, len(segs))
	for n := range segs {
		names = append(names, n)
	}
	sort.Strings(names)
	ps := make([]Pair, len(names))
	for i, n := range names {
		ps[i] = Pair{n, String(segs[n])}
	}
	return Map(ps...), nil
}

func execTypes(c *call) (Value, error) {
	var out []Value
	for _, t := range c.x.db.Types() {
		out = append(out, Map(Pair{"type", String(t.Name)}, Pair{"limit", Int(int64(t.Limit))},
			Pair{"priority", Int(int64(t.Priority))}, Pair{"exclusive", Bool(t.Exclusive)},
			Pair{"normalize", String(t.Normalize)}))
	}
	return Array(out...), nil
}

func execTypesDeclare(c *call) (Value, error) {
	st := c.st.(*TypesDeclare)
	err := c.x.db.DeclareType(c.ctx, engine.TypeSpec{Name: st.Name, Limit: st.Limit, Priority: st.Priority,
		Exclusive: st.Exclusive, Normalize: st.Normalize})
	if err != nil {
		return Value{}, err
	}
	return Status("OK"), nil
}

func execHubs(c *call) (Value, error) {
	st := c.st.(*Hubs)
	min, limit := st.Min, st.Limit
	if min <= 0 {
		min = defaultHubsMin
	}
	if limit <= 0 {
		limit = 100
	}
	hubs, err := c.x.db.Hubs(min, limit)
	if err != nil {
		return Value{}, err
	}
	out := make([]Value, len(hubs))
	for i, h := range hubs {
		out[i] = Map(Pair{"id", String(h.ID)}, Pair{"profiles", Int(int64(h.Profiles))}, Pair{"refused", Int(int64(h.Refused))})
	}
	return Array(out...), nil
}

func execBackup(c *call) (Value, error) {
	path, n, err := c.x.db.BackupToDir()
	if err != nil {
		return Value{}, err
	}
	return Map(Pair{"path", String(path)}, Pair{"bytes", Int(n)}), nil
}

func execInfo(c *call) (Value, error) { return String(c.x.Info()), nil }

func execPing(c *call) (Value, error) {
	if st := c.st.(*Ping); st.Msg != "" {
		return String(st.Msg), nil
	}
	return Status("PONG"), nil
}
