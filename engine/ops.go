package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/idgraph/idgraph/index"
	"github.com/vmihailenco/msgpack/v5"
)

// Limits on one call, besides Options.MaxIDs.
const (
	MaxNameLen   = 128     // event names, sources, trait names, purposes
	MaxTraitLen  = 1024    // one trait value
	MaxTraits    = 64      // traits in one SET
	MaxPropsLen  = 1 << 16 // PROPS of one event, bytes of JSON
	DefaultSouce = "default"
)

type opKind uint8

const (
	opTrack opKind = iota + 1
	opMerge
	opSet
	opConsent
	opUnlink
	opForget
	opDeclare
	opSaveSegment
	opDropSegment
	opRecord
)

type op struct {
	kind     opKind
	event    string
	ids      []string
	at       time.Time
	source   string
	props    []byte
	traits   []Trait
	purpose  string
	grant    bool
	suppress bool
	spec     TypeSpec
	consent  map[string]bool
	name     string
	expr     string
	msgID    string
}

// Event is one thing that happened, carrying the identifiers seen together.
type Event struct {
	Name   string
	IDs    []string  // "type:value"
	Time   time.Time // when it happened; zero means now
	Source string    // channel; empty means "default"
	Props  []byte    // a JSON object, or nil
}

// Trait is one profile attribute. An empty value removes the trait.
type Trait struct {
	Name, Value string
}

// Refusal is a link the rules refused: the identifier stayed where it was.
type Refusal struct {
	ID   string
	Rule string // e.g. "limit user=1"
}

// Result is what a write did.
type Result struct {
	Profile uint32    // the profile holding the anchor (or the addressed identifier)
	Dropped []string  // identifiers dropped as blocked or suppressed
	Refused []Refusal // links the rules refused
	// Unlink and Forget only:
	Removed  int      // link records changed (UNLINK) or identifiers erased (FORGET)
	Events   int      // events erased (FORGET)
	Profiles []uint32 // profiles of the two identifiers afterwards (UNLINK)
	// Duplicate reports a Record whose MessageID was already applied within
	// Options.DedupWindow: it was acknowledged and not applied again.
	Duplicate bool
}

// Track records an event and resolves its identifiers (SPEC.md §3).
func (db *DB) Track(ctx context.Context, ev Event) (Result, error) {
	return db.submitOne(ctx, trackOp(ev))
}

func trackOp(ev Event) op {
	return op{kind: opTrack, event: ev.Name, ids: ev.IDs, at: ev.Time, source: ev.Source, props: ev.Props}
}

// Merge links identifiers explicitly, under the same rules as an event.
func (db *DB) Merge(ctx context.Context, ids []string, source string, at time.Time) (Result, error) {
	return db.submitOne(ctx, op{kind: opMerge, ids: ids, source: source, at: at})
}

// SetTraits sets traits on the profile holding id (created if new). On
// conflict the value with the later time wins.
func (db *DB) SetTraits(ctx context.Context, id string, traits []Trait, at time.Time) (Result, error) {
	return db.submitOne(ctx, op{kind: opSet, ids: []string{id}, traits: traits, at: at})
}

// Consent records a consent decision for a purpose; the later decision wins.
func (db *DB) Consent(ctx context.Context, id, purpose string, grant bool, at time.Time) (Result, error) {
	return db.submitOne(ctx, op{kind: opConsent, ids: []string{id}, purpose: purpose, grant: grant, at: at})
}

// Unlink removes the pair a–b from every link record and re-resolves.
func (db *DB) Unlink(ctx context.Context, a, b string) (Result, error) {
	return db.submitOne(ctx, op{kind: opUnlink, ids: []string{a, b}})
}

// Forget erases the profile holding id: its identifiers, their links, the
// events anchored on them, traits and consent, and its index bits. With
// suppress, a salted hash of each identifier is kept and later calls drop it.
func (db *DB) Forget(ctx context.Context, id string, suppress bool) (Result, error) {
	return db.submitOne(ctx, op{kind: opForget, ids: []string{id}, suppress: suppress})
}

// DeclareType adds an identifier type. Declaring an existing custom type
// again with the same rules is a no-op; built-in types cannot be changed.
func (db *DB) DeclareType(ctx context.Context, t TypeSpec) error {
	_, err := db.submitOne(ctx, op{kind: opDeclare, spec: t})
	return err
}

// Op is one write for Apply.
type Op struct{ o op }

// TrackOp, MergeOp, SetOp and ConsentOp build operations for Apply.
func TrackOp(ev Event) Op { return Op{trackOp(ev)} }

// MergeOp links identifiers.
func MergeOp(ids []string, source string, at time.Time) Op {
	return Op{op{kind: opMerge, ids: ids, source: source, at: at}}
}

// SetOp sets traits.
func SetOp(id string, traits []Trait, at time.Time) Op {
	return Op{op{kind: opSet, ids: []string{id}, traits: traits, at: at}}
}

// UnlinkOp removes the pair a–b from every link record.
func UnlinkOp(a, b string) Op { return Op{op{kind: opUnlink, ids: []string{a, b}}} }

// ForgetOp erases the profile holding id.
func ForgetOp(id string, suppress bool) Op {
	return Op{op{kind: opForget, ids: []string{id}, suppress: suppress}}
}

// ConsentOp records consent.
func ConsentOp(id, purpose string, grant bool, at time.Time) Op {
	return Op{op{kind: opConsent, ids: []string{id}, purpose: purpose, grant: grant, at: at}}
}

// Apply performs ops in order in as few group commits as possible and
// returns each one's result and error. Each op is atomic; a failed op
// changes nothing and does not stop the others. Bulk loads use it.
func (db *DB) Apply(ctx context.Context, ops []Op) ([]Result, []error, error) {
	os := make([]op, len(ops))
	for i := range ops {
		os[i] = ops[i].o
	}
	return db.submit(ctx, os)
}

// apply performs one operation inside the writer's transaction.
func (w *writer) apply(o *op) (Result, error) {
	w.now = w.db.opts.Now().UnixMilli()
	clear(w.fresh)
	clear(w.born)
	var (
		res Result
		err error
	)
	switch o.kind {
	case opTrack, opMerge:
		res, err = w.link(o)
	case opSet, opConsent:
		res, err = w.setFacts(o)
	case opRecord:
		res, err = w.record(o)
	case opUnlink:
		res, err = w.unlink(o)
	case opForget:
		res, err = w.forget(o)
	case opDeclare:
		err = w.declare(o.spec)
	case opSaveSegment:
		err = w.setRaw(segmentKey(o.name), []byte(o.expr))
		name, expr := o.name, o.expr
		w.after(func() { w.db.setSegment(name, expr, true) })
	case opDropSegment:
		err = w.del(segmentKey(o.name))
		name := o.name
		w.after(func() { w.db.setSegment(name, "", false) })
	default:
		err = invalid("unknown operation")
	}
	if err != nil {
		clear(w.touched)
		return Result{}, err
	}
	w.flushAttrs()
	return res, nil
}

func (w *writer) timeOf(t time.Time) int64 {
	if t.IsZero() {
		return w.now
	}
	return t.UnixMilli()
}

// parsed is a call's identifiers after normalisation.
type parsed struct {
	ids     []ID
	codes   []int
	dropped []string
}

func (w *writer) parseIDs(raw []string) (parsed, error) {
	var p parsed
	if len(raw) == 0 {
		return p, invalid("no identifier given")
	}
	if len(raw) > w.db.opts.MaxIDs {
		return p, fmt.Errorf("%w: %d identifiers in one call; the most is %d", ErrTooLarge, len(raw), w.db.opts.MaxIDs)
	}
	seen := make(map[ID]bool, len(raw))
	for _, s := range raw {
		id, code, blocked, err := w.tt.parseID(s, w.db.bl)
		if err != nil {
			return p, err
		}
		if blocked || w.suppressed(id) {
			p.dropped = append(p.dropped, s)
			continue
		}
		if seen[id] {
			continue
		}
		seen[id] = true
		p.ids = append(p.ids, id)
		p.codes = append(p.codes, code)
	}
	if len(p.ids) == 0 {
		return p, fmt.Errorf("%w: no identifier left after dropping %s", ErrBadID, strings.Join(p.dropped, ", "))
	}
	return p, nil
}

func validProps(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	if len(b) > MaxPropsLen {
		return fmt.Errorf("%w: PROPS of %d bytes; the most is %d", ErrTooLarge, len(b), MaxPropsLen)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil || m == nil {
		return invalid("PROPS must be a JSON object")
	}
	return nil
}

// link performs TRACK and MERGE.
func (w *writer) link(o *op) (Result, error) {
	if o.kind == opTrack {
		if err := validName("event name", o.event, MaxNameLen); err != nil {
			return Result{}, err
		}
		if err := validProps(o.props); err != nil {
			return Result{}, err
		}
	} else if len(o.ids) < 2 {
		return Result{}, invalid("MERGE needs at least two identifiers")
	}
	src := o.source
	if src == "" {
		src = DefaultSouce
	}
	if err := validName("source", src, MaxNameLen); err != nil {
		return Result{}, err
	}
	p, err := w.parseIDs(o.ids)
	if err != nil {
		return Result{}, err
	}
	t := w.timeOf(o.at)
	// Nothing has changed so far; from here on errors abort the batch.
	ms := make([]member, len(p.ids))
	for i, id := range p.ids {
		n, err := w.lookup(id)
		if err != nil {
			return Result{}, err
		}
		if n == 0 {
			if n, err = w.newNode(id); err != nil {
				return Result{}, err
			}
		}
		ms[i] = member{node: n, typ: p.codes[i]}
	}
	orderMembers(w.tt, ms)
	w.anchor = ms[0].node
	w.meta.Seq++
	w.seq = w.meta.Seq
	g := &ingest{w: w}
	prof, decisions := resolve(g, w.tt, ms)
	if g.err != nil {
		return Result{}, g.err
	}
	res := Result{Profile: prof, Dropped: p.dropped}
	nodes := make([]uint32, len(ms))
	rules := make([]string, len(ms))
	for i, m := range ms {
		nodes[i] = m.node
	}
	for i, d := range decisions {
		rules[i+1] = d.rule
		if d.rule != "" {
			rec, _ := w.node(d.node)
			res.Refused = append(res.Refused, Refusal{ID: rec.Type + ":" + rec.Value, Rule: d.rule})
		}
	}
	if len(ms) > 1 {
		gr := groupRec{Time: t, Source: src, Sets: [][]uint32{nodes}, Rules: [][]string{rules}}
		if o.kind == opTrack {
			gr.Anchor = ms[0].node
		}
		if err := w.put(groupKey(w.seq), &gr); err != nil {
			return Result{}, err
		}
		for i, n := range nodes {
			if i == 0 && o.kind == opTrack {
				continue // the anchor finds this group through its event
			}
			if err := w.addNodeGroup(n, w.seq); err != nil {
				return Result{}, err
			}
		}
	}
	if o.kind == opTrack {
		er := eventRec{Name: o.event, Source: src, IDs: nodes, Props: compactJSON(o.props)}
		b, err := msgpack.Marshal(&er)
		if err != nil {
			return Result{}, err
		}
		ev := index.Event{Name: o.event, Source: src, Time: t}
		if err := w.addEvent(anchored{key: eventKey(ms[0].node, t, w.seq, len(ms) > 1), ev: ev}, b); err != nil {
			return Result{}, err
		}
		pr, err := w.prof(prof)
		if err != nil {
			return Result{}, err
		}
		pr.rec.First, pr.rec.Last = spanUnion(pr.rec.Events, pr.rec.First, pr.rec.Last, 1, t, t)
		pr.rec.Events++
		w.dirtyProfs[prof] = true
		w.index(func(x *index.Index) { x.Add(prof, ev) })
	}
	return res, nil
}

func compactJSON(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return append([]byte(nil), b...)
	}
	return buf.Bytes()
}

// target finds the node a SET or CONSENT addresses, creating it (with a
// profile of its own) when the identifier is new. profile:<id> addresses
// the profile's highest-priority identifier.
func (w *writer) target(raw string) (uint32, uint32, error) {
	if strings.HasPrefix(raw, ProfileType+":") {
		id, err := parseProfileID(raw)
		if err != nil {
			return 0, 0, err
		}
		p, err := w.live(id)
		if err != nil {
			return 0, 0, err
		}
		if p == 0 {
			return 0, 0, fmt.Errorf("%w: no profile %d", ErrNotFound, id)
		}
		ms, err := w.members(p)
		if err != nil {
			return 0, 0, err
		}
		best, bestPri := uint32(0), 0
		for _, n := range ms {
			rec, err := w.node(n)
			if err != nil {
				return 0, 0, err
			}
			pri := w.tt.specs[w.tt.byName[rec.Type]].Priority
			if best == 0 || pri < bestPri || pri == bestPri && n < best {
				best, bestPri = n, pri
			}
		}
		return best, p, nil
	}
	pp, err := w.parseIDs([]string{raw})
	if err != nil {
		return 0, 0, err
	}
	n, err := w.lookup(pp.ids[0])
	if err != nil {
		return 0, 0, err
	}
	if n == 0 {
		if n, err = w.newNode(pp.ids[0]); err != nil {
			return 0, 0, err
		}
		g := &ingest{w: w}
		p := g.create(n, pp.codes[0])
		return n, p, g.err
	}
	rec, err := w.node(n)
	if err != nil {
		return 0, 0, err
	}
	return n, rec.Profile, nil
}

func parseProfileID(raw string) (uint32, error) {
	v := strings.TrimPrefix(raw, ProfileType+":")
	id, err := strconv.ParseUint(v, 10, 32)
	if err != nil || id == 0 {
		return 0, badID("%q: a profile id is a positive integer", clip(raw))
	}
	return uint32(id), nil
}

// setFacts performs SET and CONSENT.
func (w *writer) setFacts(o *op) (Result, error) {
	if o.kind == opSet {
		if len(o.traits) == 0 {
			return Result{}, invalid("SET needs at least one name=value")
		}
		if err := validTraits(o.traits); err != nil {
			return Result{}, err
		}
	} else if err := validName("purpose", o.purpose, MaxNameLen); err != nil {
		return Result{}, err
	}
	if len(o.ids) != 1 {
		return Result{}, invalid("one identifier expected")
	}
	if err := w.validTarget(o.ids[0]); err != nil {
		return Result{}, err
	}
	n, p, err := w.target(o.ids[0])
	if err != nil {
		return Result{}, err
	}
	var consent map[string]bool
	if o.kind == opConsent {
		consent = map[string]bool{o.purpose: o.grant}
	}
	if err := w.applyFacts(n, p, o.traits, consent, w.timeOf(o.at)); err != nil {
		return Result{}, err
	}
	return Result{Profile: p}, nil
}

func validTraits(traits []Trait) error {
	if len(traits) > MaxTraits {
		return fmt.Errorf("%w: %d traits in one call; the most is %d", ErrTooLarge, len(traits), MaxTraits)
	}
	for _, t := range traits {
		if err := validName("trait name", t.Name, MaxNameLen); err != nil {
			return err
		}
		if len(t.Value) > MaxTraitLen {
			return fmt.Errorf("%w: trait %s of %d bytes; the most is %d", ErrTooLarge, t.Name, len(t.Value), MaxTraitLen)
		}
		if err := validValue(t.Value); err != nil {
			return err
		}
	}
	return nil
}

// validTarget checks the identifier a SET or CONSENT addresses.
func (w *writer) validTarget(raw string) error {
	if strings.HasPrefix(raw, ProfileType+":") {
		_, err := parseProfileID(raw)
		return err
	}
	_, _, blocked, err := w.tt.parseID(raw, w.db.bl)
	if err != nil {
		return err
	}
	if blocked {
		return fmt.Errorf("%w: %q is a blocked value", ErrBadID, clip(raw))
	}
	return nil
}

// applyFacts records traits and consent decisions said of node n, in
// profile p, at time t.
func (w *writer) applyFacts(n, p uint32, traits []Trait, consent map[string]bool, t int64) error {
	w.meta.Seq++
	w.seq = w.meta.Seq
	f, err := w.facts(n)
	if err != nil {
		return err
	}
	pr, err := w.prof(p)
	if err != nil {
		return err
	}
	if len(traits) > 0 {
		add := map[string]stamped{}
		for _, tr := range traits {
			add[tr.Name] = stamped{V: tr.Value, T: t, S: w.seq}
		}
		f.Traits = mergeTraits(f.Traits, add)
		pr.rec.Traits = mergeTraits(pr.rec.Traits, add)
	}
	if len(consent) > 0 {
		add := map[string]consentVal{}
		for purpose, grant := range consent {
			add[purpose] = consentVal{Grant: grant, T: t, S: w.seq}
		}
		f.Consent = mergeConsent(f.Consent, add)
		pr.rec.Consent = mergeConsent(pr.rec.Consent, add)
	}
	if err := w.put(factsKey(n), f); err != nil {
		return err
	}
	w.dirtyProfs[p] = true
	w.touched[p] = true
	return nil
}

// Record is one line of a bulk load: an event (or a link of its
// identifiers), and traits and consent said of the profile it lands in.
type Record struct {
	Event   string // "" = no event: the identifiers are linked as by MERGE
	IDs     []string
	Time    time.Time
	Source  string
	Props   []byte
	Traits  []Trait
	Consent map[string]bool
	// MessageID, when set, makes the record idempotent: a record whose
	// MessageID was applied within Options.DedupWindow is acknowledged with
	// Result.Duplicate and changes nothing (SDK retries never double-count).
	// The remembered ids are durable: they are written in the same commit.
	MessageID string
}

// RecordOp applies a Record as one atomic operation: all of it or, on any
// error, nothing. Traits and consent go to the anchor, the highest-priority
// identifier that is not blocked.
func RecordOp(r Record) Op {
	return Op{op{kind: opRecord, event: r.Event, ids: r.IDs, at: r.Time, source: r.Source, props: r.Props,
		traits: r.Traits, consent: r.Consent, msgID: r.MessageID}}
}

// record performs a RecordOp.
func (w *writer) record(o *op) (Result, error) {
	if o.msgID != "" {
		dup, err := w.seenMessage(o.msgID)
		if err != nil || dup {
			return Result{Duplicate: dup}, err
		}
	}
	if err := validTraits(o.traits); err != nil {
		return Result{}, err
	}
	for purpose := range o.consent {
		if err := validName("purpose", purpose, MaxNameLen); err != nil {
			return Result{}, err
		}
	}
	var (
		res  Result
		n, p uint32
		err  error
	)
	switch {
	case o.event != "" || len(o.ids) >= 2:
		link := *o
		link.kind = opMerge
		if o.event != "" {
			link.kind = opTrack
		}
		if res, err = w.link(&link); err != nil {
			return Result{}, err
		}
		n, p = w.anchor, res.Profile
	case len(o.ids) == 1:
		if err := w.validTarget(o.ids[0]); err != nil {
			return Result{}, err
		}
		if n, p, err = w.target(o.ids[0]); err != nil {
			return Result{}, err
		}
		res.Profile = p
	default:
		return Result{}, invalid("no identifier given")
	}
	if len(o.traits) > 0 || len(o.consent) > 0 {
		if err := w.applyFacts(n, p, o.traits, o.consent, w.timeOf(o.at)); err != nil {
			return Result{}, err
		}
	}
	if o.msgID != "" {
		if err := w.rememberMessage(o.msgID); err != nil {
			return Result{}, err
		}
	}
	return res, nil
}

func validValue(s string) error {
	for _, r := range s {
		if r == 0 {
			return invalid("a trait value cannot contain NUL")
		}
	}
	if !utf8.ValidString(s) {
		return invalid("a trait value must be valid UTF-8")
	}
	return nil
}

func (w *writer) declare(t TypeSpec) error {
	if t.Normalize == "" {
		t.Normalize = NormTrim
	}
	if err := t.validate(); err != nil {
		return err
	}
	if c, ok := w.tt.byName[t.Name]; ok {
		if w.tt.specs[c] == t && !containsType(BuiltinTypes(), t.Name) {
			return nil
		}
		return invalid("type %s already exists with other rules; types cannot be changed once declared", t.Name)
	}
	tt, err := w.tt.with(t)
	if err != nil {
		return err
	}
	if err := w.put(typeKey(t.Name), &t); err != nil {
		return err
	}
	// The writer uses the new type at once; readers see it after the commit.
	w.tt = tt
	w.after(func() { w.db.types.Store(tt) })
	return nil
}
