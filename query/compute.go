package query

import (
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/idgraph/idgraph/index"
)

// Computed traits (SPEC.md §4.1): values derived from the events that count
// for a profile now. A definition is kept as the text of its aggregate and
// evaluated from the index on every read — WHO, TRAIT, SEGMENT EXPORT — so
// a value is exact through merges, moves, splits and forgets by
// construction, a window rolls with the clock, and a new definition covers
// the whole history at once (the only backfill is indexing the property
// paths it reads, once per event name and path).

// Limits of computed traits.
const (
	maxComputed   = 100 // COMPUTE refuses more definitions
	maxScoreTerms = 32  // SCORE <n> <event> + ...
	maxPoints     = 1e9 // |points| of a SCORE term
	computedKinds = "COUNT, SUM, MIN, MAX, AVG, FIRST, LAST, DISTINCT or SCORE"
)

// aggregateKinds are the aggregates, as written.
var aggregateKinds = []string{"COUNT", "SUM", "MIN", "MAX", "AVG", "FIRST", "LAST", "DISTINCT", "SCORE"}

// Compute is COMPUTE <name> AS <aggregate> [<window>].
type Compute struct {
	Name string
	Agg  Aggregate
}

// ComputeDrop is COMPUTE DROP <name>.
type ComputeDrop struct{ Name string }

// ComputeList is COMPUTE LIST.
type ComputeList struct{}

// Aggregate is the definition of a computed trait.
type Aggregate struct {
	// Kind is one of aggregateKinds.
	Kind string
	// Property is the path SUM, MIN, MAX, AVG, FIRST, LAST and DISTINCT read.
	Property string
	// Event, Source and Where select the events of every kind but SCORE.
	Event, Source string
	Where         []Cond
	// Terms are SCORE's points per event.
	Terms  []ScoreTerm
	Window Window
}

// ScoreTerm is <points> <event> [FROM <source>] [WHERE <cond> ...] of a SCORE.
type ScoreTerm struct {
	Points float64
	Event  string
	Source string
	Where  []Cond
}

// Numeric reports whether the aggregate's value is always a number (all
// but FIRST and LAST, which take the property's value as it is).
func (a *Aggregate) Numeric() bool { return a.Kind != "FIRST" && a.Kind != "LAST" }

func (*Compute) Command() string     { return "COMPUTE" }
func (*ComputeDrop) Command() string { return "COMPUTE DROP" }
func (*ComputeList) Command() string { return "COMPUTE LIST" }

func (s *Compute) String() string {
	var p printer
	p.raw("COMPUTE")
	p.word(s.Name)
	p.raw("AS")
	p.aggregate(&s.Agg)
	return p.b.String()
}

func (s *ComputeDrop) String() string { return "COMPUTE DROP " + quoteWord(s.Name) }

func (*ComputeList) String() string { return "COMPUTE LIST" }

// String prints the aggregate as COMPUTE ... AS reads it (the text a
// definition is stored as).
func (a *Aggregate) String() string {
	var p printer
	p.aggregate(a)
	return p.b.String()
}

func (p *printer) aggregate(a *Aggregate) {
	p.raw(a.Kind)
	selection := func(event, source string, where []Cond) {
		p.word(event)
		if source != "" {
			p.raw("FROM")
			p.word(source)
		}
		p.where(where)
	}
	switch a.Kind {
	case "COUNT":
		selection(a.Event, a.Source, a.Where)
	case "SCORE":
		for i, t := range a.Terms {
			if i > 0 {
				p.raw("+")
			}
			p.raw(formatPoints(t.Points))
			selection(t.Event, t.Source, t.Where)
		}
	default:
		p.word(a.Property)
		p.raw("OF")
		selection(a.Event, a.Source, a.Where)
	}
	p.window(a.Window)
}

func formatPoints(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// compute parses COMPUTE <name> AS <aggregate> [<window>], COMPUTE DROP
// <name> and COMPUTE LIST. A third word AS makes a definition, so a trait
// may be named drop or list.
func (p *parser) compute() (Statement, *Error) {
	t, ok := p.peek()
	if !ok {
		return nil, p.errAt(t, ok, "expected a name, DROP or LIST after COMPUTE, found %s", endOfStatement)
	}
	definition := p.i+1 < len(p.toks) && p.toks[p.i+1].is("AS")
	switch {
	case !definition && t.is("DROP"):
		p.i++
		name, err := p.name("computed trait name", "COMPUTE DROP")
		if err != nil {
			return nil, err
		}
		return &ComputeDrop{Name: name}, p.expectEnd("COMPUTE DROP")
	case !definition && t.is("LIST"):
		p.i++
		return &ComputeList{}, p.expectEnd("COMPUTE LIST")
	}
	name, err := p.name("computed trait name", "COMPUTE")
	if err != nil {
		return nil, err
	}
	if at, ok := p.next(); !ok || !at.is("AS") {
		return nil, p.errAt(at, ok, "expected AS after COMPUTE %s, found %s%s", quoteWord(name), describe(at, ok), suggestion(at, ok, "AS"))
	}
	s := &Compute{Name: name}
	if err := p.aggregate(&s.Agg); err != nil {
		return nil, err
	}
	if s.Agg.Window, err = p.window(); err != nil {
		return nil, err
	}
	if t, ok := p.peek(); ok {
		want := "a window (WITHIN, SINCE, BETWEEN) or the end of the statement"
		if s.Agg.Window.Kind != WindowNone {
			want = endOfStatement
		}
		return nil, p.errAt(t, ok, "expected %s, found %s%s", want, describe(t, ok), suggest(t.text, "WITHIN", "SINCE", "BETWEEN", "WHERE", "FROM"))
	}
	return s, nil
}

// aggregate reads an aggregate, without its window.
func (p *parser) aggregate(a *Aggregate) *Error {
	t, ok := p.next()
	if !ok {
		return p.errAt(t, ok, "expected an aggregate (%s) after AS, found %s", computedKinds, endOfStatement)
	}
	a.Kind = strings.ToUpper(t.text)
	if !slices.Contains(aggregateKinds, a.Kind) {
		return p.errAt(t, ok, "unknown aggregate %s: use %s%s", describe(t, ok), computedKinds, suggest(t.text, aggregateKinds...))
	}
	var err *Error
	switch a.Kind {
	case "COUNT":
		a.Event, a.Source, a.Where, err = p.selection("COUNT")
		return err
	case "SCORE":
		for {
			pt, ok := p.next()
			points, good, why := parsePoints(pt, ok)
			if !good {
				return p.errAt(pt, ok, "expected the points of a SCORE term, a number like 5 or 0.5, found %s%s", describe(pt, ok), why)
			}
			if len(a.Terms) == maxScoreTerms {
				return Errorf(CodeSyntax, pt.pos, "a SCORE has at most %d terms", maxScoreTerms)
			}
			var st ScoreTerm
			st.Points = points
			if st.Event, st.Source, st.Where, err = p.selection("SCORE " + pt.text); err != nil {
				return err
			}
			a.Terms = append(a.Terms, st)
			if !p.at("+") {
				return nil
			}
			p.i++
		}
	}
	prop, ok := p.next()
	if !ok || prop.kind != tokWord {
		return p.errAt(prop, ok, "expected a property after %s, found %s", a.Kind, describe(prop, ok))
	}
	if msg := checkPath(prop.text); msg != "" {
		return Errorf(CodeSyntax, prop.pos, "%s", msg)
	}
	a.Property = prop.text
	if of, ok := p.next(); !ok || !of.is("OF") {
		return p.errAt(of, ok, "expected OF after %s %s (like %s total OF purchase), found %s%s",
			a.Kind, quoteWord(a.Property), a.Kind, describe(of, ok), suggestion(of, ok, "OF"))
	}
	a.Event, a.Source, a.Where, err = p.selection(a.Kind + " " + a.Property + " OF")
	return err
}

// selection reads <event> [FROM <source>] [WHERE <cond> {AND <cond>}].
func (p *parser) selection(after string) (event, source string, where []Cond, err *Error) {
	if event, err = p.name("event name", after); err != nil {
		return
	}
	if p.at("FROM") {
		p.i++
		if source, err = p.source(); err != nil {
			return
		}
	}
	if p.at("WHERE") {
		p.i++
		where, err = p.conds()
	}
	return
}

// parsePoints reads the points of a SCORE term: a finite decimal number,
// at most maxPoints in size; why explains some refusals.
func parsePoints(t token, ok bool) (points float64, good bool, why string) {
	if !ok || t.kind != tokWord || t.text == "" || strings.ContainsAny(t.text, "xXpP_") {
		return 0, false, ""
	}
	f, err := strconv.ParseFloat(t.text, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false, ""
	}
	if math.Abs(f) > maxPoints {
		return 0, false, " (at most 1000000000 points)"
	}
	return f, true, ""
}

// paths returns the property paths the aggregate reads, per event name.
func (a *Aggregate) paths(out map[string][]string) {
	add := func(event string, paths ...string) {
		for _, p := range paths {
			if !slices.Contains(out[event], p) {
				out[event] = append(out[event], p)
			}
		}
	}
	condPaths := func(event string, cs []Cond) {
		for _, c := range cs {
			add(event, c.Path)
		}
	}
	if a.Kind == "SCORE" {
		for _, t := range a.Terms {
			condPaths(t.Event, t.Where)
		}
		return
	}
	if a.Property != "" {
		add(a.Event, a.Property)
	}
	condPaths(a.Event, a.Where)
}

// query is the index's form of the aggregate at the evaluator's now.
func (e *evaluator) aggQuery(a *Aggregate) index.AggQuery {
	from, to := e.span(a.Window)
	q := index.AggQuery{
		DidQuery: index.DidQuery{Name: a.Event, Source: a.Source, From: from, To: to, Where: indexConds(a.Where)},
		Kind:     strings.ToLower(a.Kind),
		Path:     a.Property,
	}
	for _, t := range a.Terms {
		q.Terms = append(q.Terms, index.ScoreTerm{Event: t.Event, Source: t.Source, Where: indexConds(t.Where), Points: t.Points})
	}
	return q
}

func indexConds(cs []Cond) []index.Cond {
	if len(cs) == 0 {
		return nil
	}
	out := make([]index.Cond, len(cs))
	for i, c := range cs {
		out[i] = index.Cond{Path: c.Path, Op: c.Op, Value: c.Value}
	}
	return out
}

// parseAggregate parses a stored definition.
func parseAggregate(text string) (*Aggregate, error) {
	words, err := SplitLine(text)
	if err != nil {
		return nil, err
	}
	p := &parser{words: words, toks: wordTokens(words, 1), endPos: len(words) + 1}
	a := &Aggregate{}
	var perr *Error
	if perr = p.aggregate(a); perr == nil {
		if a.Window, perr = p.window(); perr == nil {
			perr = p.expectEnd("a computed trait")
		}
	}
	if perr != nil {
		return nil, perr
	}
	return a, nil
}

// parsed caches what is parsed again and again — computed traits'
// definitions and saved segments' expressions, on every WHO, segment and
// commit that uses them — by their text.
var parsed struct {
	mu    sync.Mutex
	aggs  map[string]*Aggregate
	exprs map[string]Expr
}

// maxParsed bounds each cache; past it a cache starts afresh.
const maxParsed = 4096

// parsedAggregate parses a computed trait's definition, once per text.
// The result is shared: callers must not change it.
func parsedAggregate(text string) (*Aggregate, error) {
	parsed.mu.Lock()
	defer parsed.mu.Unlock()
	if parsed.aggs == nil || len(parsed.aggs) > maxParsed {
		parsed.aggs = map[string]*Aggregate{}
	}
	if a, ok := parsed.aggs[text]; ok {
		return a, nil
	}
	a, err := parseAggregate(text)
	if err != nil {
		return nil, err
	}
	parsed.aggs[text] = a
	return a, nil
}

// parseSaved parses a saved segment's expression, once per text. The
// result is shared: callers must not change it.
func parseSaved(text string) (Expr, error) {
	parsed.mu.Lock()
	e, ok := parsed.exprs[text]
	parsed.mu.Unlock()
	if ok {
		return e, nil
	}
	e, err := ParseExprString(text)
	if err != nil {
		return nil, err
	}
	parsed.mu.Lock()
	if parsed.exprs == nil || len(parsed.exprs) > maxParsed {
		parsed.exprs = map[string]Expr{}
	}
	parsed.exprs[text] = e
	parsed.mu.Unlock()
	return e, nil
}

func (x *Executor) computed() map[string]*Aggregate { return computedSetOf(x.db).byName }

func execCompute(c *call) (Value, error) {
	st := c.st.(*Compute)
	need := map[string][]string{}
	st.Agg.paths(need)
	if err := c.x.registerPaths(c.ctx, need); err != nil {
		return Value{}, err
	}
	text := st.Agg.String()
	err := c.x.db.SaveComputed(c.ctx, st.Name, text, func(defs map[string]string) error {
		if _, ok := defs[st.Name]; ok {
			return Errorf(CodeConflict, 2, "computed trait %s already exists (COMPUTE LIST shows it); COMPUTE DROP it first", quoteWord(st.Name))
		}
		if len(defs) >= maxComputed {
			return Errorf(CodeTooLarge, 0, "at most %d computed traits can be defined", maxComputed)
		}
		if !st.Agg.Numeric() {
			return nil
		}
		// A saved segment that compares a trait of this name with text
		// would compare a number with text from now on.
		for _, seg := range sortedKeys(c.x.db.Segments()) {
			if cmp := textComparison(c.x, seg, st.Name); cmp != "" {
				return Errorf(CodeConflict, 2, "saved segment %s compares %s with %s, but %s would be a number; change the segment first",
					quoteWord(seg), quoteWord(st.Name), quoteWord(cmp), quoteWord(st.Name))
			}
		}
		return nil
	})
	if err != nil {
		return Value{}, err
	}
	c.x.warmKept(c.ctx)
	return Status("OK"), nil
}

// textComparison returns the text a saved segment compares trait name
// with, when it compares it with something that is not a number.
func textComparison(x *Executor, seg, name string) string {
	text, ok := x.db.Segment(seg)
	if !ok {
		return ""
	}
	e, err := ParseExprString(text)
	if err != nil {
		return ""
	}
	var found string
	walk(e, func(ex Expr) {
		if t, ok := ex.(*TraitCmp); ok && t.Name == name && !isNumber(t.Value) && found == "" {
			found = t.Value
		}
	})
	return found
}

func execComputeDrop(c *call) (Value, error) {
	st := c.st.(*ComputeDrop)
	ok, err := c.x.db.DropComputed(c.ctx, st.Name, func(map[string]string) error {
		var users []string
		for _, seg := range sortedKeys(c.x.db.Segments()) {
			if usesTrait(c.x, seg, st.Name) {
				users = append(users, seg)
			}
		}
		if len(users) > 0 {
			return Errorf(CodeConflict, 3, "computed trait %s is used by segment %s; drop or change those first", quoteWord(st.Name), joinNames(users))
		}
		return nil
	})
	if err != nil {
		return Value{}, err
	}
	if ok {
		c.x.warmKept(c.ctx)
		return Int(1), nil
	}
	return Int(0), nil
}

// usesTrait reports whether saved segment seg compares trait name.
func usesTrait(x *Executor, seg, name string) bool {
	text, _ := x.db.Segment(seg)
	e, err := ParseExprString(text)
	if err != nil {
		return false
	}
	used := false
	walk(e, func(ex Expr) {
		if t, ok := ex.(*TraitCmp); ok && t.Name == name {
			used = true
		}
	})
	return used
}

func execComputeList(c *call) (Value, error) {
	defs := c.x.db.Computed()
	ps := make([]Pair, 0, len(defs))
	for _, n := range sortedKeys(defs) {
		ps = append(ps, Pair{n, String(defs[n])})
	}
	return Map(ps...), nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// walk calls f on every node of an expression.
func walk(e Expr, f func(Expr)) {
	f(e)
	switch ex := e.(type) {
	case *Or:
		walk(ex.L, f)
		walk(ex.R, f)
	case *And:
		walk(ex.L, f)
		walk(ex.R, f)
	case *Not:
		walk(ex.X, f)
	}
}

func isNumber(s string) bool {
	f, err := strconv.ParseFloat(s, 64)
	return err == nil && !math.IsNaN(f)
}
