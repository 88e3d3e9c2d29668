package index

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
)

// ProfileReader answers questions about one profile at a time. A View
// answers them for the index as it is; an Overlay for the index as it will
// be once some deltas are applied.
type ProfileReader interface {
	Live(p uint32) bool
	DidHolds(q DidQuery, p uint32) bool
	HasType(typ string, p uint32) bool
	TraitHolds(name, op, value string, p uint32) bool
	Granted(purpose string, p uint32) bool
	HasTag(tag string, p uint32) bool
	AggregateFor(q AggQuery, p uint32) AggValue
	AggregatesFor(qs []AggQuery, p uint32) []AggValue
}

// Overlay is a View with deltas not yet applied laid over it: it answers
// the per-profile questions of ProfileReader as the index will after
// Apply(ds), without changing the index. The engine uses it to decide,
// before a commit, which saved segments the profiles it changes enter or
// leave, so that those entries are written in the same commit.
//
// It assumes, as Apply does, that every event a delta removes or moves is
// held by the profile it is taken from.
type Overlay struct {
	v     *View
	state map[uint32]*pending
}

// pending is one profile's change.
type pending struct {
	live    bool
	attrs   *Attrs // nil: as in the index
	added   []Event
	removed []Event // events of the index taken away
}

// Overlay lays ds over the view. ds are not retained beyond the call's
// results; the view must stay open while the overlay is used.
func (v *View) Overlay(ds []Delta) *Overlay {
	o := &Overlay{v: v, state: map[uint32]*pending{}}
	for i := range ds {
		d := &ds[i]
		switch d.Kind {
		case DeltaAdd:
			s := o.of(d.P)
			s.live = true
			s.added = append(s.added, d.Events...)
		case DeltaRemove:
			s := o.of(d.P)
			for _, ev := range d.Events {
				s.take(ev)
			}
		case DeltaMove:
			to := o.of(d.To)
			to.live = true
			if d.P == d.To {
				continue
			}
			from := o.of(d.P)
			for _, ev := range d.Events {
				from.take(ev)
				to.added = append(to.added, ev)
			}
		case DeltaSetAttrs:
			s := o.of(d.P)
			s.live = true
			a := d.Attrs
			s.attrs = &a
		case DeltaDrop:
			s := o.of(d.P)
			s.live = false
			s.attrs = &Attrs{}
		}
	}
	return o
}

func (o *Overlay) of(p uint32) *pending {
	s := o.state[p]
	if s == nil {
		s = &pending{live: o.v.x.live.Contains(p)}
		o.state[p] = s
	}
	return s
}

// take removes one occurrence of ev: one added in the same deltas if there
// is one, else one of the index's.
func (s *pending) take(ev Event) {
	for i, a := range s.added {
		if sameEvent(a, ev) {
			s.added = slices.Delete(s.added, i, i+1)
			return
		}
	}
	s.removed = append(s.removed, ev)
}

func sameEvent(a, b Event) bool {
	return a.Name == b.Name && a.Source == b.Source && a.Time == b.Time && bytes.Equal(a.Props, b.Props)
}

// Touched returns the profiles the deltas change, ascending.
func (o *Overlay) Touched() []uint32 {
	out := make([]uint32, 0, len(o.state))
	for p := range o.state {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// Live reports whether p will be live.
func (o *Overlay) Live(p uint32) bool {
	if s := o.state[p]; s != nil {
		return s.live
	}
	return o.v.Live(p)
}

// DidHolds is View.DidHolds after the deltas.
func (o *Overlay) DidHolds(q DidQuery, p uint32) bool {
	s := o.state[p]
	if s == nil {
		return o.v.DidHolds(q, p)
	}
	if !s.live {
		return false
	}
	kind, pred := classify(q.Cmp, q.N)
	switch kind {
	case kindNone:
		return false
	case kindAll:
		return true
	}
	n := o.v.x.countFor(q, p, 0)
	for _, ev := range s.removed {
		if o.matches(q, ev) {
			n--
		}
	}
	for _, ev := range s.added {
		if o.matches(q, ev) {
			n++
		}
	}
	switch kind {
	case kindExists:
		return n > 0
	case kindNotExists:
		return n == 0
	}
	return pred(n)
}

// matches reports whether event ev is one q selects (name, source, window
// and conditions).
func (o *Overlay) matches(q DidQuery, ev Event) bool {
	if q.Name != "" && ev.Name != q.Name || q.Source != "" && ev.Source != q.Source || ev.Time < q.From || ev.Time > q.To {
		return false
	}
	return o.condsHold(ev, q.Where)
}

// condsHold decides conditions on an event's properties as the index
// does: only on the paths registered for its name.
func (o *Overlay) condsHold(ev Event, conds []Cond) bool {
	if len(conds) == 0 {
		return true
	}
	s := o.v.x.series[ev.Name]
	if s == nil || s.props == nil {
		return false
	}
	m := newMatcher(s.props, conds)
	if !m.ok {
		return false
	}
	vals := propsOf(s.props.paths, ev.Props)
	for i := range m.conds {
		if !m.conds[i].holds(vals[m.conds[i].path]) {
			return false
		}
	}
	return true
}

// propsOf returns the values of paths in props, as the index interns them.
func propsOf(paths []string, props []byte) []propValue {
	out := make([]propValue, len(paths))
	if len(props) == 0 || len(paths) == 0 {
		return out
	}
	var obj map[string]any
	d := json.NewDecoder(bytes.NewReader(props))
	d.UseNumber()
	if d.Decode(&obj) != nil {
		return out
	}
	for i, p := range paths {
		out[i] = lookup(obj, p)
	}
	return out
}

// tupleKey identifies an event within its series: time, source and the
// values of the registered paths.
func tupleKey(t int64, source string, vals []propValue) string {
	var b strings.Builder
	b.WriteString(strconv.FormatInt(t, 10))
	b.WriteByte(0)
	b.WriteString(source)
	for _, v := range vals {
		b.WriteByte(0)
		b.WriteByte(byte(v.kind))
		b.WriteString(v.str)
	}
	return b.String()
}

func (o *Overlay) attrs(p uint32) (*Attrs, bool) {
	if s := o.state[p]; s != nil && s.attrs != nil {
		return s.attrs, true
	}
	return nil, false
}

// HasType is View.HasType after the deltas.
func (o *Overlay) HasType(typ string, p uint32) bool {
	if a, ok := o.attrs(p); ok {
		return slices.Contains(a.Types, typ)
	}
	return o.v.HasType(typ, p)
}

// Granted is View.Granted after the deltas.
func (o *Overlay) Granted(purpose string, p uint32) bool {
	if a, ok := o.attrs(p); ok {
		return a.Consent[purpose]
	}
	return o.v.Granted(purpose, p)
}

// HasTag is View.HasTag after the deltas.
func (o *Overlay) HasTag(tag string, p uint32) bool {
	if a, ok := o.attrs(p); ok {
		return slices.Contains(a.Tags, tag)
	}
	return o.v.HasTag(tag, p)
}

// TraitHolds is View.TraitHolds after the deltas.
func (o *Overlay) TraitHolds(name, op, value string, p uint32) bool {
	a, ok := o.attrs(p)
	if !ok {
		return o.v.TraitHolds(name, op, value, p)
	}
	match, ok := traitPred(op)
	if !ok {
		return false
	}
	s, ok := a.Traits[name]
	if !ok {
		return false
	}
	tv := &traitValue{s: s}
	tv.num, tv.isNum = parseNum(s)
	return match(compareTrait(tv, value))
}

// AggregatesFor is View.AggregatesFor after the deltas.
func (o *Overlay) AggregatesFor(qs []AggQuery, p uint32) []AggValue {
	if o.state[p] == nil {
		return o.v.AggregatesFor(qs, p)
	}
	out := make([]AggValue, len(qs))
	for i, q := range qs {
		out[i] = o.AggregateFor(q, p)
	}
	return out
}

// AggregateFor is View.AggregateFor after the deltas.
func (o *Overlay) AggregateFor(q AggQuery, p uint32) AggValue {
	s := o.state[p]
	if s == nil {
		return o.v.AggregateFor(q, p)
	}
	a := newAgg()
	if q.From > q.To {
		return a.value(q.Kind)
	}
	x := o.v.x
	for _, term := range termsOf(q) {
		sr := x.series[term.Event]
		var paths []string
		if sr != nil && sr.props != nil {
			paths = sr.props.paths
		}
		// The index's events of p, less those the deltas take away.
		gone := map[string]int{}
		for _, ev := range s.removed {
			if ev.Name == term.Event {
				gone[tupleKey(ev.Time, ev.Source, propsOf(paths, ev.Props))]++
			}
		}
		pi := -1
		if sr != nil {
			pi = pathIndex(sr, q.Path)
		}
		tq := AggQuery{DidQuery: DidQuery{From: q.From, To: q.To}, Kind: "score", Terms: []ScoreTerm{term}}
		x.scanAggEntries(tq, p, nil, func(sr *series, _ ScoreTerm, t int64, e entry) {
			var vals []propValue
			if sr.props != nil && int(e.tup) < len(sr.props.tuples) {
				vals = sr.props.tuples[e.tup]
			}
			if len(gone) > 0 {
				k := tupleKey(t, x.sources[e.src], vals)
				if gone[k] > 0 {
					gone[k]--
					return
				}
			}
			var v propValue
			if pi >= 0 && pi < len(vals) {
				v = vals[pi]
			}
			a.add(q.Kind, t, v, term.Points)
		})
		// And the events the deltas bring.
		for _, ev := range s.added {
			if ev.Name != term.Event || term.Source != "" && ev.Source != term.Source || ev.Time < q.From || ev.Time > q.To || !o.condsHold(ev, term.Where) {
				continue
			}
			var v propValue
			if pi >= 0 {
				v = propsOf(paths, ev.Props)[pi]
			}
			a.add(q.Kind, ev.Time, v, term.Points)
		}
	}
	return a.value(q.Kind)
}
