package query

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/idgraph/idgraph/engine"
	"github.com/idgraph/idgraph/index"
)

// evaluator evaluates segment expressions on one pinned index view, at one
// "now". Each saved segment an expression uses (IN) is evaluated once per
// evaluator, however often it is referenced, so nested segments cost their
// size, not fan-out to the power of depth.
type evaluator struct {
	db    *engine.DB
	v     *index.View         // bitmaps (nil when only profiles are asked)
	pv    index.ProfileReader // one profile at a time: v, or an overlay
	now   time.Time
	args  []string // the statement's words, for error positions; nil inside saved segments
	saved map[string]string
	memo  map[string]*roaring.Bitmap // saved segment → members at this moment
	holds map[string]bool            // saved segment → holds for the profile asked
	stack map[string]bool            // saved segments being expanded, to refuse cycles
	depth int

	set *computedSet // the computed traits defined

	// until is the first moment (Unix ms) at which what holdsFor and the
	// computed values decided so far could change with the clock alone,
	// without a write (math.MaxInt64: never); see bound. WHO stamps its
	// reply with it.
	until int64
}

func (x *Executor) evaluator(v *index.View, now time.Time, args []string) *evaluator {
	return newEvaluator(x.db, v, v, now, args, x.db.SegmentDefs())
}

func newEvaluator(db *engine.DB, v *index.View, pv index.ProfileReader, now time.Time, args []string, saved map[string]string) *evaluator {
	return &evaluator{db: db, v: v, pv: pv, now: now, args: args, saved: saved, set: computedSetOf(db), until: math.MaxInt64}
}

// segment runs f with an evaluator on a pinned view at now or asOf.
func (x *Executor) segment(ctx context.Context, e Expr, asOf *time.Time, args []string, f func(*evaluator) error) error {
	now := x.clock(ctx)
	if asOf != nil {
		now = *asOf
	}
	// Property paths are indexed before the view is pinned: indexing one
	// is a write, and a pinned view holds writers off.
	need := map[string][]string{}
	x.exprPaths(e, need, map[string]bool{})
	if err := x.registerPaths(ctx, need); err != nil {
		return err
	}
	v := x.db.Index().View()
	defer v.Close()
	return f(x.evaluator(v, now, args))
}

// top evaluates the statement's own expression.
func (e *evaluator) top(expr Expr) (*roaring.Bitmap, error) { return e.eval(expr) }

// eval computes the profiles an expression holds for, bottom-up on bitmaps.
// The result belongs to the caller.
func (e *evaluator) eval(expr Expr) (*roaring.Bitmap, error) {
	switch ex := expr.(type) {
	case *Or:
		l, err := e.eval(ex.L)
		if err != nil {
			return nil, err
		}
		r, err := e.eval(ex.R)
		if err != nil {
			return nil, err
		}
		l.Or(r)
		return l, nil
	case *And:
		// x AND NOT y is x minus y: no need to complement y against every
		// live profile first.
		left, right := ex.L, ex.R
		if _, ok := left.(*Not); ok {
			if _, ok := right.(*Not); !ok {
				left, right = right, left
			}
		}
		l, err := e.eval(left)
		if err != nil {
			return nil, err
		}
		if n, ok := right.(*Not); ok {
			r, err := e.eval(n.X)
			if err != nil {
				return nil, err
			}
			l.AndNot(r)
			return l, nil
		}
		r, err := e.eval(right)
		if err != nil {
			return nil, err
		}
		l.And(r)
		return l, nil
	case *Not:
		inner, err := e.eval(ex.X)
		if err != nil {
			return nil, err
		}
		all := e.v.All()
		all.AndNot(inner)
		return all, nil
	case *Did:
		return e.v.Did(e.didQuery(ex)), nil
	case *Has:
		if err := e.knownType(ex.Type); err != nil {
			return nil, err
		}
		return e.v.Has(ex.Type), nil
	case *TraitCmp:
		if a, ok := e.set.byName[ex.Name]; ok {
			if err := e.checkComputed(ex, a); err != nil {
				return nil, err
			}
			return e.v.AggregateMatch(e.aggQuery(a), ex.Op, ex.Value), nil
		}
		return e.v.Trait(ex.Name, ex.Op, ex.Value), nil
	case *ConsentIs:
		return e.v.Consent(ex.Purpose), nil
	case *Tagged:
		return e.v.Tagged(ex.Tag), nil
	case *In:
		b, err := e.in(ex.Name)
		if err != nil {
			return nil, err
		}
		return b.Clone(), nil
	}
	return nil, fmt.Errorf("unknown expression %T", expr)
}

// in evaluates a saved segment once per evaluator.
func (e *evaluator) in(name string) (*roaring.Bitmap, error) {
	if b, ok := e.memo[name]; ok {
		return b, nil
	}
	inner, err := e.expand(name)
	if err != nil {
		return nil, err
	}
	e.push(name)
	e.depth++
	args := e.args
	e.args = nil
	b, err := e.eval(inner)
	e.args = args
	e.depth--
	delete(e.stack, name)
	if err != nil {
		return nil, err
	}
	if e.memo == nil {
		e.memo = map[string]*roaring.Bitmap{}
	}
	e.memo[name] = b
	return b, nil
}

// expand checks a reference to a saved segment and parses it.
func (e *evaluator) expand(name string) (Expr, error) {
	pos := wordAfter(e.args, "IN", name)
	if e.stack[name] {
		return nil, Errorf(CodeSyntax, pos, "segment %q refers to itself", name)
	}
	if e.depth >= maxSegmentDepth {
		return nil, Errorf(CodeSyntax, pos, "segments nested deeper than %d", maxSegmentDepth)
	}
	text, ok := e.saved[name]
	if !ok {
		return nil, Errorf(CodeNotFound, pos, "no segment named %q (see SEGMENT LIST)", name)
	}
	inner, err := parseSaved(text)
	if err != nil {
		return nil, fmt.Errorf("saved segment %s: %w", name, err)
	}
	return inner, nil
}

// holdsFor reports whether expr holds for live profile p, looking at p only.
func (e *evaluator) holdsFor(expr Expr, p uint32) (bool, error) {
	switch ex := expr.(type) {
	case *Or:
		l, err := e.holdsFor(ex.L, p)
		if err != nil || l {
			return l, err
		}
		return e.holdsFor(ex.R, p)
	case *And:
		l, err := e.holdsFor(ex.L, p)
		if err != nil || !l {
			return false, err
		}
		return e.holdsFor(ex.R, p)
	case *Not:
		x, err := e.holdsFor(ex.X, p)
		return !x && e.pv.Live(p), err
	case *Did:
		e.bound(ex.Window)
		return e.pv.DidHolds(e.didQuery(ex), p), nil
	case *Has:
		return e.pv.HasType(ex.Type, p), nil
	case *TraitCmp:
		if a, ok := e.set.byName[ex.Name]; ok {
			// No bound here: WHO's reply carries every computed trait's
			// value, whose own bound (keptOrComputed) is the exact one.
			return e.pv.AggregateFor(e.aggQuery(a), p).Holds(ex.Op, ex.Value), nil
		}
		return e.pv.TraitHolds(ex.Name, ex.Op, ex.Value, p), nil
	case *ConsentIs:
		return e.pv.Granted(ex.Purpose, p), nil
	case *Tagged:
		return e.pv.HasTag(ex.Tag, p), nil
	case *In:
		if h, ok := e.holds[ex.Name]; ok {
			return h, nil
		}
		inner, err := e.expand(ex.Name)
		if err != nil {
			return false, err
		}
		e.push(ex.Name)
		e.depth++
		h, err := e.holdsFor(inner, p)
		e.depth--
		delete(e.stack, ex.Name)
		if err != nil {
			return false, err
		}
		e.holds[ex.Name] = h
		return h, nil
	}
	return false, fmt.Errorf("unknown expression %T", expr)
}

// savedHolding lists the saved segments live profile p is in now (for
// WHO), each decided from p's own index entries.
func (e *evaluator) savedHolding(p uint32) ([]string, error) {
	if len(e.saved) == 0 {
		return nil, nil
	}
	e.holds = map[string]bool{}
	var out []string
	for name := range e.saved {
		h, ok := e.holds[name]
		if !ok {
			inner, err := e.expand(name)
			if err != nil {
				continue // a damaged saved segment does not fail WHO
			}
			e.push(name)
			h, err = e.holdsFor(inner, p)
			delete(e.stack, name)
			if err != nil {
				continue
			}
			e.holds[name] = h
		}
		if h {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out, nil
}

const dayMs = int64(24 * time.Hour / time.Millisecond)

func (e *evaluator) didQuery(d *Did) index.DidQuery {
	from, to := e.span(d.Window)
	return index.DidQuery{Name: d.Event, Source: d.Source, Cmp: d.Cmp, N: d.N, From: from, To: to, Where: indexConds(d.Where)}
}

const hourMs = int64(time.Hour / time.Millisecond)

// span returns the first and last millisecond a window covers at the
// evaluator's now: WITHIN <n>d from the start of the UTC day n-1 days
// before now's; WITHIN <n>h from exactly n hours before now (included, as
// SQL's time >= now() - interval reads); events after now never count.
func (e *evaluator) span(w Window) (from, to int64) {
	nowMs := e.now.UnixMilli()
	from, to = math.MinInt64, nowMs
	switch w.Kind {
	case WindowWithin:
		day := floorDiv(nowMs, dayMs)
		from = (day - int64(w.Days-1)) * dayMs
	case WindowHours:
		from = nowMs - int64(w.Hours)*hourMs
	case WindowSince:
		from = w.From.UnixMilli()
	case WindowBetween:
		from = w.From.UnixMilli()
		to = min(w.To.UnixMilli(), nowMs)
	}
	return from, to
}

// bound lowers e.until to the first moment at which w's span (see span)
// could take in or drop an event as the clock moves on, with no write: for
// WITHIN <n>d the next UTC midnight, when its first day moves; for WITHIN
// <n>h the next millisecond (its start moves with every one); for a span
// that ends at now, the next millisecond too when the index holds an event
// stamped after now (it comes in when the clock reaches it), else never.
// A BETWEEN that ended by now never moves.
func (e *evaluator) bound(w Window) {
	now := e.now.UnixMilli()
	if w.Kind == WindowBetween && w.To.UnixMilli() <= now {
		return
	}
	at := int64(math.MaxInt64)
	switch w.Kind {
	case WindowWithin:
		at = (floorDiv(now, dayMs) + 1) * dayMs
	case WindowHours:
		at = now + 1
	}
	if e.v == nil || e.v.Latest() > now {
		at = now + 1
	}
	e.until = min(e.until, at)
}

// checkComputed refuses, in the statement's own text, a comparison of a
// computed trait that is always a number with something that is not.
func (e *evaluator) checkComputed(t *TraitCmp, a *Aggregate) error {
	if e.args == nil || !a.Numeric() || isNumber(t.Value) {
		return nil
	}
	// The value's word: within three words of TRAIT <name...>.
	pos := 0
	for i := 1; i < len(e.args) && pos == 0; i++ {
		if !strings.EqualFold(strings.Trim(e.args[i-1], "()"), "TRAIT") || !strings.HasPrefix(strings.Trim(e.args[i], "("), t.Name) {
			continue
		}
		for j := i; j < len(e.args) && j <= i+2; j++ {
			if strings.HasSuffix(strings.TrimRight(e.args[j], ")"), t.Value) {
				pos = j + 1
				break
			}
		}
	}
	return Errorf(CodeSyntax, pos, "computed trait %s is a number (%s); compare it with a number, not %s",
		quoteWord(t.Name), a.Kind, quoteWord(t.Value))
}

// exprPaths collects the property paths an expression needs indexed, per
// event name: its WHERE conditions', and those of the computed traits and
// saved segments it uses.
func (x *Executor) exprPaths(e Expr, need map[string][]string, seen map[string]bool) {
	var comps map[string]*Aggregate
	walk(e, func(ex Expr) {
		switch ex := ex.(type) {
		case *Did:
			for _, c := range ex.Where {
				if !slices.Contains(need[ex.Event], c.Path) {
					need[ex.Event] = append(need[ex.Event], c.Path)
				}
			}
		case *TraitCmp:
			if comps == nil {
				comps = x.computed()
			}
			if a, ok := comps[ex.Name]; ok {
				a.paths(need)
			}
		case *In:
			if seen[ex.Name] {
				return
			}
			seen[ex.Name] = true
			if text, ok := x.db.Segment(ex.Name); ok {
				if inner, err := ParseExprString(text); err == nil {
					x.exprPaths(inner, need, seen)
				}
			}
		}
	})
}

// registerPaths makes the index keep the values of the paths, per event.
func (x *Executor) registerPaths(ctx context.Context, need map[string][]string) error {
	for _, ev := range sortedKeys(need) {
		if err := x.db.RegisterPaths(ctx, ev, need[ev]); err != nil {
			return err
		}
	}
	return nil
}

func (e *evaluator) knownType(typ string) error {
	for _, t := range e.db.Types() {
		if t.Name == typ {
			return nil
		}
	}
	return Errorf(CodeSyntax, wordAfter(e.args, "HAS", typ), "unknown identifier type %q (see TYPES)", typ)
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

// refs returns the saved segments an expression names with IN.
func refs(e Expr, out map[string]bool) {
	switch ex := e.(type) {
	case *Or:
		refs(ex.L, out)
		refs(ex.R, out)
	case *And:
		refs(ex.L, out)
		refs(ex.R, out)
	case *Not:
		refs(ex.X, out)
	case *In:
		out[ex.Name] = true
	}
}

// checkNesting refuses saved segments that, with name saved, refer to
// themselves or to a missing segment, or nest deeper than maxSegmentDepth.
func checkNesting(saved map[string]string, name string, args []string) error {
	var depthOf func(n string, path map[string]bool) (int, error)
	depthOf = func(n string, path map[string]bool) (int, error) {
		if path[n] {
			return 0, Errorf(CodeSyntax, 0, "segment %q would refer to itself through IN", name)
		}
		text, ok := saved[n]
		if !ok {
			return 0, Errorf(CodeNotFound, wordAfter(args, "IN", n), "no segment named %q (see SEGMENT LIST)", n)
		}
		e, err := ParseExprString(text)
		if err != nil {
			return 0, err
		}
		r := map[string]bool{}
		refs(e, r)
		path[n] = true
		defer delete(path, n)
		d := 0
		for m := range r {
			dm, err := depthOf(m, path)
			if err != nil {
				return 0, err
			}
			d = max(d, dm+1)
		}
		// IN n expands n and the d segments below it: at most
		// maxSegmentDepth expansions, as the evaluator allows.
		if d >= maxSegmentDepth {
			return 0, Errorf(CodeSyntax, 0, "segments nested deeper than %d", maxSegmentDepth)
		}
		return d, nil
	}
	// Every saved segment that reaches name is checked, so a replaced
	// definition cannot close a cycle through another one.
	for n := range saved {
		if _, err := depthOf(n, map[string]bool{}); err != nil {
			return err
		}
	}
	return nil
}

// usersOf returns the saved segments other than name that use it with IN.
func usersOf(saved map[string]string, name string) []string {
	var out []string
	for n, text := range saved {
		if n == name {
			continue
		}
		e, err := ParseExprString(text)
		if err != nil {
			continue
		}
		r := map[string]bool{}
		refs(e, r)
		if r[name] {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

func joinNames(ns []string) string {
	q := make([]string, len(ns))
	for i, n := range ns {
		q[i] = quoteWord(n)
	}
	return strings.Join(q, ", ")
}

// Watcher decides saved segments' membership for the engine's change feed
// (engine.Options.Watch): the same evaluation as SEGMENT and WHO.
type Watcher struct{}

// Members evaluates saved segment name on v at now.
func (Watcher) Members(db *engine.DB, v *index.View, name string, segments map[string]string, now time.Time) (*roaring.Bitmap, error) {
	b, err := newEvaluator(db, v, v, now, nil, segments).in(name)
	if err != nil {
		return nil, err
	}
	return b.Clone(), nil
}

// Holds decides saved segment name for profile p, reading it through r.
func (Watcher) Holds(db *engine.DB, r index.ProfileReader, name string, segments map[string]string, p uint32, now time.Time) (bool, error) {
	e := newEvaluator(db, nil, r, now, nil, segments)
	e.holds = map[string]bool{}
	return e.holdsFor(&In{Name: name}, p)
}

// push marks a saved segment as being expanded; delete(e.stack, name)
// pops it.
func (e *evaluator) push(name string) {
	if e.stack == nil {
		e.stack = map[string]bool{}
	}
	e.stack[name] = true
}
