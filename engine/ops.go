package engine

import (
	"context"
	"time"

	"github.com/idgraph/idgraph/engine/internal/graph"
	"github.com/idgraph/idgraph/engine/internal/writer"
)

// Event is one thing that happened, carrying the identifiers seen together.
type Event struct {
	Name   string
	IDs    []string  // "type:value"
	Time   time.Time // when it happened; zero means now
	Source string    // channel; empty means DefaultSource
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

// Moved is an exclusive identifier (a device, a push token) that left its
// profile for the call's.
type Moved struct {
	ID   string
	From uint32 // the profile it left
}

// Result is what a write did.
type Result struct {
	Profile    uint32    // the profile holding the anchor (or the addressed identifier)
	Dropped    []string  // identifiers dropped as junk (the block list)
	Suppressed []string  // identifiers dropped because they were forgotten with SUPPRESS
	Refused    []Refusal // links the rules refused
	Moved      []Moved   // exclusive identifiers that moved to Profile
	// Unlink and Forget only:
	Removed  int      // link records changed (UNLINK) or identifiers erased (FORGET)
	Events   int      // events erased (FORGET)
	Profiles []uint32 // profiles of the two identifiers afterwards (UNLINK)
	// Duplicate reports a Record whose MessageID was already applied within
	// Options.DedupWindow: it was acknowledged and not applied again.
	Duplicate bool
}

// Op is one write for Apply. Build it with TrackOp, MergeOp, SetOp,
// ConsentOp, TagOp, UnlinkOp, ForgetOp or RecordOp.
type Op struct {
	build func(db *DB, now int64) writer.Op
}

// submit hands operations to the writer and waits for their commit.
func (db *DB) submit(ctx context.Context, ops []writer.Op) ([]Result, []error, error) {
	if db.w == nil {
		if db.space.readOnly {
			return nil, nil, db.space.err(db.opts.DiskReserve)
		}
		return nil, nil, invalid("", "the store is open read-only")
	}
	if db.space.full.Load() {
		return nil, nil, db.space.err(db.opts.DiskReserve)
	}
	res, errs, err := db.w.Submit(ctx, ops)
	if err != nil {
		return nil, nil, err
	}
	db.batches.Add(1)
	db.ops.Add(uint64(len(ops)))
	out := make([]Result, len(res))
	for i, r := range res {
		if r != nil {
			out[i] = r.(Result)
		}
	}
	return out, errs, nil
}

func (db *DB) submitOne(ctx context.Context, o writer.Op) (Result, error) {
	res, errs, err := db.submit(ctx, []writer.Op{o})
	if err != nil {
		return Result{}, err
	}
	return res[0], errs[0]
}

// Apply performs ops in order in as few group commits as possible and
// returns each one's result and error. Each op is atomic; a failed op
// changes nothing and does not stop the others. Bulk loads use it.
func (db *DB) Apply(ctx context.Context, ops []Op) ([]Result, []error, error) {
	now := db.nowFrom(ctx)
	os := make([]writer.Op, len(ops))
	for i := range ops {
		os[i] = ops[i].build(db, now)
	}
	return db.submit(ctx, os)
}

// now is the time a write without an explicit time is stamped with: the
// clock when the call is made, fixed before the writer sees it, so that
// the operation applies the same wherever and however often it runs.
func (db *DB) now() int64 { return db.opts.Now().UnixMilli() }

type nowKey struct{}

// WithNow returns a context under which writes take t as "now" instead of
// the clock: the time of writes without an explicit time, the start of a
// message id's de-duplication window, the creation of profiles. A
// replicated log decides "now" once, when an entry is written, and every
// node applies the entry under it, so that all apply the same thing.
func WithNow(ctx context.Context, t time.Time) context.Context {
	return context.WithValue(ctx, nowKey{}, t)
}

// NowFrom returns the time WithNow put in ctx, or false.
func NowFrom(ctx context.Context) (time.Time, bool) {
	t, ok := ctx.Value(nowKey{}).(time.Time)
	return t, ok
}

func (db *DB) nowFrom(ctx context.Context) int64 {
	if t, ok := NowFrom(ctx); ok {
		return t.UnixMilli()
	}
	return db.now()
}

func timeOr(t time.Time, now int64) int64 {
	if t.IsZero() {
		return now
	}
	return t.UnixMilli()
}

// Track records an event and resolves its identifiers (SPEC.md §3).
func (db *DB) Track(ctx context.Context, ev Event) (Result, error) {
	return db.submitOne(ctx, db.trackOpAt(ev, db.nowFrom(ctx)))
}

// Merge links identifiers explicitly (an alias or identify call), under
// the same rules as an event; at is when (zero: now).
func (db *DB) Merge(ctx context.Context, ids []string, source string, at time.Time) (Result, error) {
	return db.submitOne(ctx, db.mergeOpAt(ids, source, at, db.nowFrom(ctx)))
}

// SetTraits sets traits on the profile holding id (created if new). On
// conflict the value with the later time wins.
func (db *DB) SetTraits(ctx context.Context, id string, traits []Trait, at time.Time) (Result, error) {
	return db.submitOne(ctx, db.factsOpAt(id, factsChange{traits: traits}, at, db.nowFrom(ctx)))
}

// Consent records a consent decision for a purpose; the later decision wins.
func (db *DB) Consent(ctx context.Context, id, purpose string, grant bool, at time.Time) (Result, error) {
	return db.submitOne(ctx, db.factsOpAt(id, factsChange{consent: map[string]bool{purpose: grant}}, at, db.nowFrom(ctx)))
}

// Tag puts tags on (on = true) or takes them off the profile holding id;
// per tag the later decision wins (SPEC.md §4.2).
func (db *DB) Tag(ctx context.Context, id string, tags []string, on bool, at time.Time) (Result, error) {
	return db.submitOne(ctx, db.factsOpAt(id, factsChange{tags: tags, tagOn: on}, at, db.nowFrom(ctx)))
}

// Unlink removes the pair a–b from every link record and re-resolves.
func (db *DB) Unlink(ctx context.Context, a, b string) (Result, error) {
	return db.submitOne(ctx, &unlinkOp{db: db, a: a, b: b, now: db.nowFrom(ctx)})
}

// Forget erases the profile holding id: its identifiers, their links, the
// events anchored on them, traits, consent and tags, and its index bits.
// With suppress, a salted hash of each identifier is kept and later calls
// drop it.
func (db *DB) Forget(ctx context.Context, id string, suppress bool) (Result, error) {
	return db.submitOne(ctx, &forgetOp{db: db, id: id, suppress: suppress, now: db.nowFrom(ctx)})
}

// TrackOp builds an event for Apply.
func TrackOp(ev Event) Op {
	return Op{func(db *DB, now int64) writer.Op { return db.trackOpAt(ev, now) }}
}

// MergeOp builds a link for Apply.
func MergeOp(ids []string, source string, at time.Time) Op {
	return Op{func(db *DB, now int64) writer.Op { return db.mergeOpAt(ids, source, at, now) }}
}

// SetOp builds a SET for Apply.
func SetOp(id string, traits []Trait, at time.Time) Op {
	return Op{func(db *DB, now int64) writer.Op { return db.factsOpAt(id, factsChange{traits: traits}, at, now) }}
}

// ConsentOp builds a CONSENT for Apply.
func ConsentOp(id, purpose string, grant bool, at time.Time) Op {
	c := factsChange{consent: map[string]bool{purpose: grant}}
	return Op{func(db *DB, now int64) writer.Op { return db.factsOpAt(id, c, at, now) }}
}

// TagOp builds a TAG (on) or UNTAG for Apply.
func TagOp(id string, tags []string, on bool, at time.Time) Op {
	c := factsChange{tags: tags, tagOn: on}
	return Op{func(db *DB, now int64) writer.Op { return db.factsOpAt(id, c, at, now) }}
}

// UnlinkOp builds an UNLINK for Apply.
func UnlinkOp(a, b string) Op {
	return Op{func(db *DB, now int64) writer.Op { return &unlinkOp{db: db, a: a, b: b, now: now} }}
}

// ForgetOp builds a FORGET for Apply.
func ForgetOp(id string, suppress bool) Op {
	return Op{func(db *DB, now int64) writer.Op { return &forgetOp{db: db, id: id, suppress: suppress, now: now} }}
}

// Record is one line of a bulk load or one call of the tracking API: an
// event (or a link of its identifiers), and traits, consent and tags said
// of the profile it lands in.
type Record struct {
	Event   string // "" = no event: the identifiers are linked as by MERGE
	IDs     []string
	Time    time.Time
	Source  string
	Props   []byte
	Traits  []Trait
	Consent map[string]bool
	Tags    []string
	// MessageID, when set, makes the record idempotent: a record whose
	// MessageID was applied within Options.DedupWindow is acknowledged with
	// Result.Duplicate and changes nothing (SDK retries never double-count).
	// The remembered ids are durable: they are written in the same commit.
	MessageID string
}

// RecordOp applies a Record as one atomic operation: all of it or, on any
// error, nothing. Traits, consent and tags go to the anchor, the
// highest-priority identifier that is not dropped.
func RecordOp(r Record) Op {
	return Op{func(db *DB, now int64) writer.Op { return &recordOp{db: db, r: r, now: now} }}
}

// CheckRecord validates a record as RecordOp would, without writing: an
// error here is the error Apply would return for it (except NotFound and
// the ones that depend on what is stored, such as suppression).
func (db *DB) CheckRecord(r Record) error {
	tt := db.types.Load()
	p, err := (&recordOp{db: db, r: r, now: db.now()}).check(tt)
	if err == nil && p.link != nil {
		_, err = db.parseIDs(tt, r.IDs, nil)
	} else if err == nil && len(r.IDs) == 1 {
		_, _, blocked, perr := tt.ParseID(r.IDs[0], db.bl)
		if err = perr; err == nil && blocked {
			err = graph.Errorf(graph.BadID, r.IDs[0], "%q is a blocked value", graph.Clip(r.IDs[0]))
		}
	}
	return err
}
