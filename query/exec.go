package query

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/idgraph/idgraph/engine"
	"github.com/idgraph/idgraph/index"
)

// Executor runs statements against an engine. One executor serves the
// server, the shell and embedded callers; it is safe for concurrent use.
type Executor struct {
	db  *engine.DB
	now func() time.Time

	mu    sync.Mutex
	cache segCache // saved segments evaluated at one index version and second
}

type segCache struct {
	version uint64
	second  int64
	bitmaps map[string]*roaring.Bitmap
}

// NewExecutor returns an executor over db.
func NewExecutor(db *engine.DB) *Executor {
	return &Executor{db: db, now: time.Now}
}

// SetClock replaces the clock that defines "now" for segments (tests).
func (x *Executor) SetClock(now func() time.Time) { x.now = now }

// Limits of replies.
const (
	DefaultSegmentLimit = 1000
	maxSegmentDepth     = 16 // nested IN
)

// ExecLine splits a typed line into words and runs it.
func (x *Executor) ExecLine(ctx context.Context, s *Session, line string) (Value, error) {
	words, err := SplitLine(line)
	if err != nil {
		return Value{}, err
	}
	return x.Exec(ctx, s, words)
}

// Exec parses and runs one statement given as words.
func (x *Executor) Exec(ctx context.Context, s *Session, args []string) (Value, error) {
	if s == nil {
		s = &Session{}
	}
	st, err := Parse(args)
	if err != nil {
		return Value{}, err
	}
	if s.ReadOnly && IsWrite(st) {
		return Value{}, Errorf(CodeReadOnly, 0, "this user may only read")
	}
	v, err := x.run(ctx, s, st, args)
	if err != nil {
		return Value{}, x.wrap(err, args)
	}
	return v, nil
}

// wrap turns engine errors into coded errors, pointing at the word the
// message quotes when there is one.
func (x *Executor) wrap(err error, args []string) error {
	var qe *Error
	if errors.As(err, &qe) {
		return qe
	}
	code := CodeGeneric
	switch {
	case errors.Is(err, engine.ErrTooLarge):
		code = CodeTooLarge
	case errors.Is(err, engine.ErrBadID):
		code = CodeBadID
	case errors.Is(err, engine.ErrNotFound):
		code = CodeNotFound
	case errors.Is(err, engine.ErrInvalid):
		code = CodeSyntax
	}
	msg := err.Error()
	for _, prefix := range []string{"invalid input: bad identifier: ", "invalid input: too large: ", "invalid input: ", "not found: "} {
		msg = strings.TrimPrefix(msg, prefix)
	}
	pos := 0
	for i, a := range args {
		if i > 0 && len(a) > 2 && strings.Contains(msg, fmt.Sprintf("%q", clipWord(a))) {
			pos = i + 1
			break
		}
	}
	return &Error{Code: code, Pos: pos, Msg: msg}
}

func clipWord(s string) string {
	if len(s) > 64 {
		return s[:64]
	}
	return s
}

func (x *Executor) source(s *Session, from string) string {
	if from != "" {
		return from
	}
	if s.Name != "" {
		return s.Name
	}
	return engine.DefaultSource
}

func timeOr(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

func (x *Executor) run(ctx context.Context, s *Session, st Statement, args []string) (Value, error) {
	switch st := st.(type) {
	case *Track:
		var props []byte
		if st.Props != "" {
			props = []byte(st.Props)
		}
		r, err := x.db.Track(ctx, engine.Event{Name: st.Event, IDs: st.IDs, Time: timeOr(st.At), Source: x.source(s, st.From), Props: props})
		if err != nil {
			return Value{}, err
		}
		return linkReply(r), nil
	case *Merge:
		r, err := x.db.Merge(ctx, st.IDs, x.source(s, st.From), time.Time{})
		if err != nil {
			return Value{}, err
		}
		return linkReply(r), nil
	case *Set:
		traits := make([]engine.Trait, len(st.Traits))
		for i, t := range st.Traits {
			traits[i] = engine.Trait{Name: t.Name, Value: t.Value}
		}
		r, err := x.db.SetTraits(ctx, st.ID, traits, timeOr(st.At))
		if err != nil {
			return Value{}, err
		}
		return Map(Pair{"profile", Int(int64(r.Profile))}), nil
	case *Consent:
		r, err := x.db.Consent(ctx, st.ID, st.Purpose, st.Grant, timeOr(st.At))
		if err != nil {
			return Value{}, err
		}
		return Map(Pair{"profile", Int(int64(r.Profile))}), nil
	case *Who:
		p, err := x.db.Who(st.ID)
		if errors.Is(err, engine.ErrNotFound) {
			return Nil(), nil
		}
		if err != nil {
			return Value{}, err
		}
		segs, err := x.segmentsOf(p.ID)
		if err != nil {
			return Value{}, err
		}
		return profileReply(p, segs), nil
	case *Why:
		w, err := x.db.Why(st.A, st.B)
		if err != nil {
			return Value{}, err
		}
		return whyReply(w), nil
	case *Timeline:
		evs, err := x.db.Timeline(st.ID, engine.TimelinePage{Limit: st.Limit, Before: timeOr(st.Before)})
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
				Pair{"source", String(e.Source)}, Pair{"ids", Strings(e.IDs)}, Pair{"props", String(props)})
		}
		return Array(out...), nil
	case *Unlink:
		r, err := x.db.Unlink(ctx, st.A, st.B)
		if err != nil {
			return Value{}, err
		}
		ps := make([]Value, len(r.Profiles))
		for i, p := range r.Profiles {
			ps[i] = Int(int64(p))
		}
		return Map(Pair{"removed", Int(int64(r.Removed))}, Pair{"profiles", Array(ps...)}), nil
	case *Forget:
		r, err := x.db.Forget(ctx, st.ID, st.Suppress)
		if err != nil {
			return Value{}, err
		}
		return Map(Pair{"profile", Int(int64(r.Profile))}, Pair{"ids", Int(int64(r.Removed))}, Pair{"events", Int(int64(r.Events))}), nil
	case *SegmentCount:
		b, err := x.evalTop(st.Expr, st.AsOf, args)
		if err != nil {
			return Value{}, err
		}
		return Int(int64(b.GetCardinality())), nil
	case *SegmentIDs:
		b, err := x.evalTop(st.Expr, st.AsOf, args)
		if err != nil {
			return Value{}, err
		}
		limit := st.Limit
		if limit <= 0 {
			limit = DefaultSegmentLimit
		}
		it := b.Iterator()
		if st.After > 0 {
			if st.After == math.MaxUint32 {
				return Array(), nil
			}
			it.AdvanceIfNeeded(st.After + 1)
		}
		var out []Value
		for it.HasNext() && len(out) < limit {
			out = append(out, Int(int64(it.Next())))
		}
		return Array(out...), nil
	case *SegmentSave:
		if _, err := x.eval(st.Expr, x.now(), args, map[string]bool{st.Name: true}, 0); err != nil {
			return Value{}, err
		}
		if err := x.db.SaveSegment(ctx, st.Name, st.Expr.String(), nil); err != nil {
			return Value{}, err
		}
		return Status("OK"), nil
	case *SegmentDrop:
		ok, err := x.db.DropSegment(ctx, st.Name, nil)
		if err != nil {
			return Value{}, err
		}
		if ok {
			return Int(1), nil
		}
		return Int(0), nil
	case *SegmentList:
		segs := x.db.Segments()
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
	case *Types:
		var out []Value
		for _, t := range x.db.Types() {
			out = append(out, Map(Pair{"type", String(t.Name)}, Pair{"limit", Int(int64(t.Limit))},
				Pair{"priority", Int(int64(t.Priority))}, Pair{"exclusive", Bool(t.Exclusive)},
				Pair{"normalize", String(t.Normalize)}))
		}
		return Array(out...), nil
	case *TypesDeclare:
		err := x.db.DeclareType(ctx, engine.TypeSpec{Name: st.Name, Limit: st.Limit, Priority: st.Priority,
			Exclusive: st.Exclusive, Normalize: st.Normalize})
		if err != nil {
			return Value{}, err
		}
		return Status("OK"), nil
	case *Hubs:
		min, limit := st.Min, st.Limit
		if min <= 0 {
			min = defaultHubsMin
		}
		if limit <= 0 {
			limit = 100
		}
		hubs, err := x.db.Hubs(min, limit)
		if err != nil {
			return Value{}, err
		}
		out := make([]Value, len(hubs))
		for i, h := range hubs {
			out[i] = Map(Pair{"id", String(h.ID)}, Pair{"profiles", Int(int64(h.Profiles))}, Pair{"refused", Int(int64(h.Refused))})
		}
		return Array(out...), nil
	case *Backup:
		path, n, err := x.db.BackupToDir()
		if err != nil {
			return Value{}, err
		}
		return Map(Pair{"path", String(path)}, Pair{"bytes", Int(n)}), nil
	case *Info:
		return String(x.Info()), nil
	case *Ping:
		if st.Msg != "" {
			return String(st.Msg), nil
		}
		return Status("PONG"), nil
	}
	return Value{}, Errorf(CodeSyntax, 1, "statement %q is not supported here", args[0])
}

// Info renders store figures in the Redis INFO format.
func (x *Executor) Info() string {
	var b strings.Builder
	for _, p := range x.StoreInfo() {
		fmt.Fprintf(&b, "%s:%s\r\n", p.Key, p.Val.Str)
	}
	return "# Store\r\n" + b.String()
}

// StoreInfo returns the store's figures as key/value pairs.
func (x *Executor) StoreInfo() []Pair {
	st := x.db.Stats()
	is := x.db.Index().Stats()
	kv := func(k string, v any) Pair { return Pair{k, String(fmt.Sprint(v))} }
	return []Pair{
		kv("identifiers_allocated", st.Nodes), kv("profiles_allocated", st.Profiles),
		kv("profiles_live", x.db.Index().All().GetCardinality()),
		kv("link_records", st.Seq), kv("group_commits", st.Batches), kv("writes", st.Ops),
		kv("lsm_bytes", st.LSMBytes), kv("vlog_bytes", st.VlogBytes),
		kv("index_events", is.Events), kv("index_bytes", is.Bytes),
	}
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

func linkReply(r engine.Result) Value {
	refused := make([]Value, len(r.Refused))
	for i, rf := range r.Refused {
		refused[i] = Map(Pair{"id", String(rf.ID)}, Pair{"rule", String(rf.Rule)})
	}
	return Map(Pair{"profile", Int(int64(r.Profile))}, Pair{"dropped", Strings(orEmpty(r.Dropped))}, Pair{"refused", Array(refused...)})
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func profileReply(p *engine.Profile, segs []string) Value {
	traits := sortedPairs(p.Traits, func(v string) Value { return String(v) })
	consent := make([]Pair, 0, len(p.Consent))
	for k, v := range p.Consent {
		d := "deny"
		if v {
			d = "grant"
		}
		consent = append(consent, Pair{k, String(d)})
	}
	sort.Slice(consent, func(i, j int) bool { return consent[i].Key < consent[j].Key })
	return Map(
		Pair{"profile", Int(int64(p.ID))},
		Pair{"ids", Strings(p.IDs)},
		Pair{"traits", Map(traits...)},
		Pair{"consent", Map(consent...)},
		Pair{"segments", Strings(orEmpty(segs))},
		Pair{"first_seen", String(fmtTime(p.FirstSeen))},
		Pair{"last_seen", String(fmtTime(p.LastSeen))},
		Pair{"events", Int(p.Events)},
	)
}

func sortedPairs(m map[string]string, f func(string) Value) []Pair {
	out := make([]Pair, 0, len(m))
	for k, v := range m {
		out = append(out, Pair{k, f(v)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

func whyReply(w *engine.Why) Value {
	path := make([]Value, len(w.Path))
	for i, e := range w.Path {
		status := "linked"
		if !e.Linked {
			status = "refused"
		}
		path[i] = Map(Pair{"from", String(e.From)}, Pair{"to", String(e.To)}, Pair{"status", String(status)},
			Pair{"rule", String(e.Rule)}, Pair{"count", Int(int64(e.Count))},
			Pair{"first_seen", String(fmtTime(e.First))}, Pair{"last_seen", String(fmtTime(e.Last))},
			Pair{"source", String(e.Source)})
	}
	return Map(Pair{"linked", Bool(w.Linked)}, Pair{"path", Array(path...)}, Pair{"reason", String(w.Reason)})
}

// --- segments ---

const dayMs = int64(24 * time.Hour / time.Millisecond)

func (x *Executor) evalTop(e Expr, asOf *time.Time, args []string) (*roaring.Bitmap, error) {
	now := x.now()
	if asOf != nil {
		now = *asOf
	}
	return x.eval(e, now, args, map[string]bool{}, 0)
}

// eval computes the profiles an expression holds for, bottom-up on bitmaps.
// seen holds the saved segments being expanded, to refuse cycles.
func (x *Executor) eval(e Expr, now time.Time, args []string, seen map[string]bool, depth int) (*roaring.Bitmap, error) {
	idx := x.db.Index()
	nowMs := now.UnixMilli()
	switch e := e.(type) {
	case *Or:
		l, err := x.eval(e.L, now, args, seen, depth)
		if err != nil {
			return nil, err
		}
		r, err := x.eval(e.R, now, args, seen, depth)
		if err != nil {
			return nil, err
		}
		l.Or(r)
		return l, nil
	case *And:
		// x AND NOT y is x minus y: no need to complement y against every
		// live profile first.
		left, right := e.L, e.R
		if _, ok := left.(*Not); ok {
			if _, ok := right.(*Not); !ok {
				left, right = right, left
			}
		}
		l, err := x.eval(left, now, args, seen, depth)
		if err != nil {
			return nil, err
		}
		if n, ok := right.(*Not); ok {
			r, err := x.eval(n.X, now, args, seen, depth)
			if err != nil {
				return nil, err
			}
			l.AndNot(r)
			return l, nil
		}
		r, err := x.eval(right, now, args, seen, depth)
		if err != nil {
			return nil, err
		}
		l.And(r)
		return l, nil
	case *Not:
		inner, err := x.eval(e.X, now, args, seen, depth)
		if err != nil {
			return nil, err
		}
		all := idx.All()
		all.AndNot(inner)
		return all, nil
	case *Did:
		q := index.DidQuery{Name: e.Event, Source: e.Source, Cmp: e.Cmp, N: e.N, From: math.MinInt64, To: nowMs}
		switch e.Window.Kind {
		case WindowWithin:
			day := floorDiv(nowMs, dayMs)
			q.From = (day - int64(e.Window.Days-1)) * dayMs
		case WindowSince:
			q.From = e.Window.From.UnixMilli()
		case WindowBetween:
			q.From = e.Window.From.UnixMilli()
			q.To = min(e.Window.To.UnixMilli(), nowMs)
		}
		return idx.Did(q), nil
	case *Has:
		known := false
		for _, t := range x.db.Types() {
			known = known || t.Name == e.Type
		}
		if !known {
			return nil, Errorf(CodeSyntax, wordAfter(args, "HAS", e.Type), "unknown identifier type %q (see TYPES)", e.Type)
		}
		return idx.Has(e.Type), nil
	case *TraitCmp:
		return idx.Trait(e.Name, e.Op, e.Value), nil
	case *ConsentIs:
		return idx.Consent(e.Purpose), nil
	case *In:
		if seen[e.Name] {
			return nil, Errorf(CodeSyntax, wordAfter(args, "IN", e.Name), "segment %q refers to itself", e.Name)
		}
		if depth >= maxSegmentDepth {
			return nil, Errorf(CodeSyntax, wordAfter(args, "IN", e.Name), "segments nested deeper than %d", maxSegmentDepth)
		}
		text, ok := x.db.Segment(e.Name)
		if !ok {
			return nil, Errorf(CodeNotFound, wordAfter(args, "IN", e.Name), "no segment named %q (see SEGMENT LIST)", e.Name)
		}
		inner, err := ParseExprString(text)
		if err != nil {
			return nil, fmt.Errorf("saved segment %s: %w", e.Name, err)
		}
		seen[e.Name] = true
		defer delete(seen, e.Name)
		return x.eval(inner, now, nil, seen, depth+1)
	}
	return nil, fmt.Errorf("unknown expression %T", e)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// wordAfter finds the 1-based position of value following keyword in args.
func wordAfter(args []string, keyword, value string) int {
	for i := 1; i < len(args); i++ {
		if strings.EqualFold(strings.Trim(args[i-1], "()"), keyword) && strings.Trim(args[i], "()") == value {
			return i + 1
		}
	}
	return 0
}

// segmentsOf lists the saved segments profile p is in now. Evaluations are
// cached per index version and second, so a burst of WHO pays once.
func (x *Executor) segmentsOf(p uint32) ([]string, error) {
	segs := x.db.Segments()
	if len(segs) == 0 {
		return nil, nil
	}
	now := x.now()
	x.mu.Lock()
	defer x.mu.Unlock()
	v := x.db.Index().Version()
	if x.cache.bitmaps == nil || x.cache.version != v || x.cache.second != now.Unix() {
		x.cache = segCache{version: v, second: now.Unix(), bitmaps: map[string]*roaring.Bitmap{}}
	}
	var out []string
	for name, text := range segs {
		b, ok := x.cache.bitmaps[name]
		if !ok {
			e, err := ParseExprString(text)
			if err != nil {
				continue
			}
			if b, err = x.eval(e, now, nil, map[string]bool{name: true}, 0); err != nil {
				continue
			}
			x.cache.bitmaps[name] = b
		}
		if b.Contains(p) {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out, nil
}
