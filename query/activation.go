package query

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/idgraph/idgraph/engine"
	"github.com/idgraph/idgraph/index"
)

// Activation (SPEC.md §4.3): SEGMENT EXPORT, the members of a segment with
// the fields a mailer or an ad platform needs, and CHANGES, the change
// feed.

// Limits of activation statements.
const (
	maxFields          = 64
	maxChangesPage     = 10000
	defaultChangesPage = 100
	maxBlock           = 300000 // ms
	maxSnapshots       = 16
	snapshotIdle       = 10 * time.Minute
)

// SegmentExport is SEGMENT EXPORT <expr | name> [ASOF <time>] [FIELDS
// <field> ...] [LIMIT <n>] [AFTER <profile id>] [SNAPSHOT <token>].
type SegmentExport struct {
	Expr     Expr // a saved segment's name is read as IN <name>
	AsOf     *time.Time
	Fields   []string
	Limit    int
	After    uint32
	Snapshot string // "": each page reads the moment it runs at
}

// Changes is CHANGES [AFTER <cursor> | AFTER $] [LIMIT <n>] [BLOCK <ms>]
// [KINDS <kind> ...] [SEGMENTS <name> ...] [FIELDS <field> ...].
type Changes struct {
	After    uint64
	HasAfter bool
	Latest   bool // AFTER $: only entries after the latest
	Limit    int
	Block    int // ms; 0: do not wait
	Kinds    []string
	Segments []string
	Fields   []string
}

func (*SegmentExport) Command() string { return "SEGMENT EXPORT" }
func (*Changes) Command() string       { return "CHANGES" }

func (s *SegmentExport) String() string {
	var p printer
	p.raw("SEGMENT")
	p.raw("EXPORT")
	p.expr(s.Expr, 0)
	if s.AsOf != nil {
		p.raw("ASOF")
		p.time(*s.AsOf)
	}
	p.list("FIELDS", s.Fields)
	if s.Limit != 0 {
		p.raw("LIMIT")
		p.int(int64(s.Limit))
	}
	if s.After != 0 {
		p.raw("AFTER")
		p.int(int64(s.After))
	}
	if s.Snapshot != "" {
		p.raw("SNAPSHOT")
		p.word(s.Snapshot)
	}
	return p.b.String()
}

func (s *Changes) String() string {
	var p printer
	p.raw("CHANGES")
	switch {
	case s.Latest:
		p.raw("AFTER")
		p.raw("$")
	case s.HasAfter:
		p.raw("AFTER")
		p.raw(strconv.FormatUint(s.After, 10))
	}
	if s.Limit != 0 {
		p.raw("LIMIT")
		p.int(int64(s.Limit))
	}
	if s.Block != 0 {
		p.raw("BLOCK")
		p.int(int64(s.Block))
	}
	p.list("KINDS", s.Kinds)
	p.list("SEGMENTS", s.Segments)
	p.list("FIELDS", s.Fields)
	return p.b.String()
}

func (p *printer) list(kw string, words []string) {
	if len(words) == 0 {
		return
	}
	p.raw(kw)
	for _, w := range words {
		p.word(w)
	}
}

// changesWords are CHANGES's clause keywords: a list ends at one.
var changesWords = []string{"AFTER", "LIMIT", "BLOCK", "KINDS", "SEGMENTS", "FIELDS"}

func (p *parser) changes() (Statement, *Error) {
	s := &Changes{}
	seen := map[string]bool{}
	for {
		t, ok := p.next()
		if !ok {
			return s, nil
		}
		kw := strings.ToUpper(t.text)
		if !slices.Contains(changesWords, kw) {
			return nil, p.errAt(t, ok, "expected AFTER, LIMIT, BLOCK, KINDS, SEGMENTS or FIELDS, found %s%s", describe(t, ok), suggest(t.text, changesWords...))
		}
		if seen[kw] {
			return nil, p.errAt(t, ok, "%s is given twice", kw)
		}
		seen[kw] = true
		var err *Error
		switch kw {
		case "AFTER":
			c, ok := p.next()
			switch {
			case ok && c.text == "$":
				s.Latest = true
			case ok && allDigits(c.text) && len(c.text) <= 20:
				n, perr := strconv.ParseUint(c.text, 10, 64)
				if perr != nil {
					return nil, p.errAt(c, ok, "cursor %s is too large", c.text)
				}
				s.After, s.HasAfter = n, true
			default:
				return nil, p.errAt(c, ok, "expected a cursor after AFTER (the cursor of an entry, or $ for only new entries), found %s", describe(c, ok))
			}
		case "LIMIT":
			var n int64
			n, err = p.number("LIMIT", 1, maxChangesPage, CodeTooLarge)
			s.Limit = int(n)
		case "BLOCK":
			var n int64
			n, err = p.number("BLOCK", 1, maxBlock, CodeSyntax)
			s.Block = int(n)
		case "KINDS":
			s.Kinds, err = p.wordList("KINDS", func(t token) *Error {
				if !slices.Contains(engine.ChangeKinds, t.text) {
					return Errorf(CodeSyntax, t.pos, "unknown kind %s: the kinds are %s", describe(t, true), strings.Join(engine.ChangeKinds, ", "))
				}
				return nil
			})
		case "SEGMENTS":
			s.Segments, err = p.wordList("SEGMENTS", func(t token) *Error { return p.checkName("segment name", t) })
		case "FIELDS":
			s.Fields, err = p.fields()
		}
		if err != nil {
			return nil, err
		}
	}
}

// words reads one or more words up to the end or the next clause keyword
// of CHANGES or SEGMENT EXPORT, each checked by check.
func (p *parser) wordList(kw string, check func(token) *Error) ([]string, *Error) {
	var out []string
	for {
		t, ok := p.peek()
		if !ok || slices.Contains(changesWords, strings.ToUpper(t.text)) || slices.Contains(exportWords, strings.ToUpper(t.text)) {
			break
		}
		p.i++
		if err := check(t); err != nil {
			return nil, err
		}
		if len(out) == maxFields {
			return nil, Errorf(CodeTooLarge, t.pos, "%s takes at most %d words", kw, maxFields)
		}
		out = append(out, t.text)
	}
	if len(out) == 0 {
		t, ok := p.peek()
		return nil, p.errAt(t, ok, "expected at least one word after %s, found %s", kw, describe(t, ok))
	}
	return out, nil
}

// fields reads FIELDS' list: identifier types, trait:<name>,
// computed:<name>, consent:<purpose> and tags.
func (p *parser) fields() ([]string, *Error) {
	return p.wordList("FIELDS", func(t token) *Error {
		kind, name, ok := strings.Cut(t.text, ":")
		switch {
		case !ok && t.text == "tags":
			return nil
		case !ok && validType(t.text):
			return nil
		case ok && (kind == "trait" || kind == "computed" || kind == "consent"):
			what := map[string]string{"trait": "trait name", "computed": "computed trait name", "consent": "purpose"}[kind]
			return p.checkName(what, token{kind: tokWord, text: name, pos: t.pos})
		}
		return Errorf(CodeSyntax, t.pos, "unknown field %s: a field is an identifier type (email), trait:<name>, computed:<name>, consent:<purpose> or tags", describe(t, true))
	})
}

// exportWords are SEGMENT EXPORT's clauses after the expression.
var exportWords = []string{"ASOF", "FIELDS", "LIMIT", "AFTER", "SNAPSHOT"}

// segmentExport parses what follows SEGMENT EXPORT.
func (p *parser) segmentExport() (Statement, *Error) {
	s := &SegmentExport{}
	p.follow = exportWords
	// A single word that starts no atom names a saved segment.
	if t, ok := p.peek(); ok && t.kind == tokWord && !slices.Contains(exprKeywords, strings.ToUpper(t.text)) && !strings.ContainsAny(t.text, "()") {
		p.i++
		if err := p.checkName("segment name", t); err != nil {
			return nil, err
		}
		s.Expr = &In{Name: t.text}
	} else {
		var err *Error
		if s.Expr, err = p.exprHere(); err != nil {
			return nil, err
		}
	}
	seen := map[string]bool{}
	for t, ok := p.next(); ok; t, ok = p.next() {
		kw := strings.ToUpper(t.text)
		if !slices.Contains(exportWords, kw) {
			p.i--
			return nil, p.afterExpr(false)
		}
		if seen[kw] {
			return nil, p.errAt(t, ok, "%s is given twice", kw)
		}
		seen[kw] = true
		var err *Error
		switch kw {
		case "ASOF":
			s.AsOf, err = p.time("ASOF")
		case "FIELDS":
			s.Fields, err = p.fields()
		case "LIMIT":
			var n int64
			n, err = p.number("LIMIT", 1, maxSegmentPage, CodeTooLarge)
			s.Limit = int(n)
		case "AFTER":
			var n int64
			n, err = p.number("AFTER", 0, math.MaxUint32, CodeSyntax)
			s.After = uint32(n)
		case "SNAPSHOT":
			tok, ok := p.next()
			if !ok || tok.text == "" || len(tok.text) > 64 {
				return nil, p.errAt(tok, ok, "expected a token after SNAPSHOT (1 to 64 bytes, the same on every page of one export), found %s", describe(tok, ok))
			}
			s.Snapshot = tok.text
		}
		if err != nil {
			return nil, err
		}
	}
	return s, nil
}

// --- execution ---

// snapshots hold the moments of exports read over several pages.
type snapshots struct {
	mu sync.Mutex
	m  map[string]*exportMoment
}

// exportMoment is one export's members and the store at their moment.
type exportMoment struct {
	key      string // the statement's expression and ASOF
	members  *roaring.Bitmap
	computed map[string]map[uint32]index.AggValue // computed field → member → value
	moment   *engine.Moment
	used     time.Time
	inUse    int
}

func (s *snapshots) get(token string) *exportMoment {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expire()
	m := s.m[token]
	if m != nil {
		m.used = time.Now()
		m.inUse++
	}
	return m
}

func (s *snapshots) put(token string, m *exportMoment) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expire()
	if s.m == nil {
		s.m = map[string]*exportMoment{}
	}
	if old := s.m[token]; old != nil && old.inUse == 0 {
		old.moment.Close()
	}
	if len(s.m) >= maxSnapshots { // drop the least recently used idle one
		var lru string
		for k, v := range s.m {
			if v.inUse == 0 && (lru == "" || v.used.Before(s.m[lru].used)) {
				lru = k
			}
		}
		if lru != "" {
			s.m[lru].moment.Close()
			delete(s.m, lru)
		}
	}
	m.used = time.Now()
	m.inUse = 1
	s.m[token] = m
}

func (s *snapshots) release(m *exportMoment) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m.inUse--
}

func (s *snapshots) expire() {
	for k, v := range s.m {
		if v.inUse == 0 && time.Since(v.used) > snapshotIdle {
			v.moment.Close()
			delete(s.m, k)
		}
	}
}

// Close releases every held export moment.
func (x *Executor) Close() {
	x.exports.mu.Lock()
	defer x.exports.mu.Unlock()
	for k, v := range x.exports.m {
		v.moment.Close()
		delete(x.exports.m, k)
	}
}

func execSegmentExport(c *call) (Value, error) {
	st := c.st.(*SegmentExport)
	if err := c.checkFields(st.Fields); err != nil {
		return Value{}, err
	}
	c.warnUnknownEvents(st.Expr)
	limit := st.Limit
	if limit <= 0 {
		limit = DefaultSegmentLimit
	}
	key := st.Expr.String()
	if st.AsOf != nil {
		key += " ASOF " + formatTime(*st.AsOf)
	}
	var m *exportMoment
	if st.Snapshot != "" {
		if m = c.x.exports.get(st.Snapshot); m != nil && m.key != key {
			c.x.exports.release(m)
			return Value{}, Errorf(CodeConflict, 0, "snapshot %s belongs to another export (%s); pick another token", quoteWord(st.Snapshot), m.key)
		}
		if m == nil && st.After != 0 {
			return Value{}, Errorf(CodeNotFound, 0, "snapshot %s is gone (idle for %v, or the server restarted): start the export again without AFTER", quoteWord(st.Snapshot), snapshotIdle)
		}
	}
	if m == nil {
		var err error
		if m, err = c.x.exportMoment(c.ctx, st, key, c.args); err != nil {
			return Value{}, err
		}
		if st.Snapshot != "" {
			c.x.exports.put(st.Snapshot, m)
		}
	}
	if st.Snapshot != "" {
		defer c.x.exports.release(m)
	} else {
		defer m.moment.Close()
	}
	var out []Value
	it := m.members.Iterator()
	if st.After > 0 {
		if st.After == math.MaxUint32 {
			return Array(), nil
		}
		it.AdvanceIfNeeded(st.After + 1)
	}
	for it.HasNext() && len(out) < limit {
		p := it.Next()
		prof, err := m.moment.Profile(p)
		if err != nil {
			return Value{}, err
		}
		pairs := []Pair{{"profile", Int(int64(p))}}
		out = append(out, Map(append(pairs, fieldValues(st.Fields, prof, func(name string) (index.AggValue, bool) {
			v, ok := m.computed[name][p]
			return v, ok
		})...)...))
	}
	return Array(out...), nil
}

// exportMoment evaluates an export's segment and the computed fields it
// asks for, then holds the store at that moment.
func (x *Executor) exportMoment(ctx context.Context, st *SegmentExport, key string, args []string) (*exportMoment, error) {
	now := x.clock(ctx)
	if st.AsOf != nil {
		now = *st.AsOf
	}
	need := map[string][]string{}
	x.exprPaths(st.Expr, need, map[string]bool{})
	comps := x.computed()
	for _, f := range st.Fields {
		if name, ok := strings.CutPrefix(f, "computed:"); ok {
			if a := comps[name]; a != nil {
				a.paths(need)
			}
		}
	}
	if err := x.registerPaths(ctx, need); err != nil {
		return nil, err
	}
	em := &exportMoment{key: key, computed: map[string]map[uint32]index.AggValue{}}
	moment, err := x.db.Moment(func(v *index.View) error {
		e := x.evaluator(v, now, args)
		members, err := e.top(st.Expr)
		if err != nil {
			return err
		}
		em.members = members
		for _, f := range st.Fields {
			name, ok := strings.CutPrefix(f, "computed:")
			if a := e.set.byName[name]; ok && a != nil && em.computed[name] == nil {
				em.computed[name] = v.AggregateAll(e.aggQuery(a), members)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	em.moment = moment
	return em, nil
}

// fieldValues are a profile's values of the fields asked for: an
// identifier type gives the list of its values, trait:, consent: and
// computed: a value or nil, tags the list.
func fieldValues(fields []string, p *engine.Profile, computed func(name string) (index.AggValue, bool)) []Pair {
	out := make([]Pair, 0, len(fields))
	for _, f := range fields {
		kind, name, _ := strings.Cut(f, ":")
		switch {
		case f == "tags":
			out = append(out, Pair{f, Strings(orEmpty(p.Tags))})
		case kind == "trait":
			v := Nil()
			if s, ok := p.Traits[name]; ok {
				v = String(s)
			}
			out = append(out, Pair{f, v})
		case kind == "consent":
			v := Nil()
			if g, ok := p.Consent[name]; ok {
				v = String(map[bool]string{true: "grant", false: "deny"}[g])
			}
			out = append(out, Pair{f, v})
		case kind == "computed":
			v := Nil()
			if c, ok := computed(name); ok && c.Set {
				if c.IsNum {
					v = Double(c.Num)
				} else {
					v = String(c.Str)
				}
			}
			out = append(out, Pair{f, v})
		default: // an identifier type
			var vals []string
			for _, id := range p.IDs {
				if t, val, _ := strings.Cut(id, ":"); t == f {
					vals = append(vals, val)
				}
			}
			out = append(out, Pair{f, Strings(orEmpty(vals))})
		}
	}
	return out
}

func execChanges(c *call) (Value, error) {
	st := c.st.(*Changes)
	if err := c.checkFields(st.Fields); err != nil {
		return Value{}, err
	}
	page := engine.ChangePage{After: st.After, Latest: st.Latest, Start: !st.HasAfter && !st.Latest, Limit: st.Limit,
		Kinds: st.Kinds, Segments: st.Segments}
	if page.Limit <= 0 {
		page.Limit = defaultChangesPage
	}
	var deadline <-chan time.Time
	if st.Block > 0 {
		t := time.NewTimer(time.Duration(st.Block) * time.Millisecond)
		defer t.Stop()
		deadline = t.C
	}
	for {
		wake := c.x.db.ChangesWake()
		entries, last, err := c.x.db.Changes(page)
		if err != nil {
			return Value{}, err
		}
		if len(entries) > 0 {
			return c.x.changesReply(c.ctx, entries, st.Fields)
		}
		// Entries were read but none passed the filters: read on from
		// there at once, to the end of the feed.
		if last > page.After || page.Latest || page.Start {
			scanned := last > page.After
			page.After, page.Latest, page.Start = last, false, false
			if scanned {
				continue
			}
		}
		if deadline == nil {
			return Array(), nil
		}
		// Nothing yet: wait for a commit with entries.
		select {
		case <-wake:
		case <-deadline:
			return Array(), nil
		case <-c.ctx.Done():
			return Value{}, c.ctx.Err()
		}
	}
}

// changesReply renders entries, with the fields of their profiles as they
// are now (none for a profile that no longer exists).
func (x *Executor) changesReply(ctx context.Context, entries []engine.Change, fields []string) (Value, error) {
	out := make([]Value, len(entries))
	err := x.db.Read(func(r *engine.Reader) error {
		var e *evaluator
		for i, ch := range entries {
			ps := []Pair{{"cursor", Int(int64(ch.Cursor))}, {"time", String(fmtTime(ch.Time))}, {"kind", String(ch.Kind)},
				{"profile", Int(int64(ch.Profile))}}
			switch ch.Kind {
			case engine.ChangeEntered, engine.ChangeLeft:
				ps = append(ps, Pair{"segment", String(ch.Segment)}, Pair{"reason", String(ch.Reason)})
			case engine.ChangeMerged:
				ps = append(ps, Pair{"from", Int(int64(ch.From))})
			case engine.ChangeSplit:
				into := make([]Value, len(ch.Into))
				for j, p := range ch.Into {
					into[j] = Int(int64(p))
				}
				ps = append(ps, Pair{"into", Array(into...)})
			case engine.ChangeMoved:
				ps = append(ps, Pair{"id", String(ch.ID)}, Pair{"from", Int(int64(ch.From))})
			}
			if len(fields) > 0 {
				if p, err := r.Who(fmt.Sprintf("profile:%d", ch.Profile)); err == nil && p.ID == ch.Profile {
					if e == nil {
						e = x.evaluator(r.Index(), x.clock(ctx), nil)
					}
					ps = append(ps, fieldValues(fields, p, func(name string) (index.AggValue, bool) {
						a := e.set.byName[name]
						if a == nil {
							return index.AggValue{}, false
						}
						return e.v.AggregateFor(e.aggQuery(a), p.ID), true
					})...)
				}
			}
			out[i] = Map(ps...)
		}
		return nil
	})
	return Array(out...), err
}

// checkFields refuses an identifier type the store does not know.
func (c *call) checkFields(fields []string) error {
	for _, f := range fields {
		if f == "tags" || strings.Contains(f, ":") {
			continue
		}
		known := false
		for _, t := range c.x.db.Types() {
			known = known || t.Name == f
		}
		if !known {
			return Errorf(CodeSyntax, wordOf(f, c.args), "unknown field %s: no identifier type of that name (see TYPES); a field is an identifier type, trait:<name>, computed:<name>, consent:<purpose> or tags", quoteWord(f))
		}
	}
	return nil
}

// warnUnknownEvents adds a warning to the session for each DID of the
// statement's own expression on an event name never recorded: it matches
// nobody, and a near miss (case) is likely a typo.
func (c *call) warnUnknownEvents(e Expr) {
	idx := c.x.db.Index()
	var names []string
	walk(e, func(ex Expr) {
		d, ok := ex.(*Did)
		if !ok || idx.HasEvent(d.Event) || slices.Contains(names, d.Event) {
			return
		}
		names = append(names, d.Event)
		msg := fmt.Sprintf("no event %s was ever recorded: DID %s matches nobody (event names are case-sensitive)", quoteWord(d.Event), quoteWord(d.Event))
		for _, known := range idx.EventNames() {
			if strings.EqualFold(known, d.Event) {
				msg = fmt.Sprintf("no event %s was ever recorded: did you mean %s? (event names are case-sensitive)", quoteWord(d.Event), quoteWord(known))
				break
			}
		}
		c.s.Warnings = append(c.s.Warnings, msg)
	})
}
