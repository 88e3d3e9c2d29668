package query

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/idgraph/idgraph/engine"
)

// Limits of the language.
const (
	maxDepth            = 100    // nesting of NOT and parentheses in an expression
	maxTimelinePage     = 10000  // TIMELINE ... LIMIT
	maxSegmentPage      = 100000 // SEGMENT IDS ... LIMIT
	maxTypeLimit        = 100000 // TYPES DECLARE ... LIMIT
	maxPriority         = 1000   // TYPES DECLARE ... PRIORITY
	maxWithinDays       = 3650   // DID ... WITHIN <n>d
	maxWithinHours      = 87600  // DID ... WITHIN <n>h
	maxConds            = 16     // DID ... WHERE <cond> AND ...
	maxTagsPerStatement = 100    // TAG <id> <tag> ...
	maxPathDepth        = 8      // keys of a dotted property path
	maxPathBytes        = 256
	maxTimes            = 1000000000 // DID ... <cmp> <n> TIMES
	endOfStatement      = "the end of the statement"
	typeRule            = "a lower-case letter then up to 31 lower-case letters, digits or _"
)

// ParseLine parses one typed line: SplitLine, then Parse.
func ParseLine(line string) (Statement, error) {
	words, err := SplitLine(line)
	if err != nil {
		return nil, err
	}
	return Parse(words)
}

// Parse parses one statement given as words (over RESP each argument is one
// word). Keywords are case-insensitive. Every error is an *Error, with
// CodeSyntax (CodeTooLarge for a page LIMIT above its maximum) and Pos the
// 1-based number of the offending word, or len(words)+1 when a word is
// missing at the end.
func Parse(words []string) (Statement, error) {
	p := &parser{words: words, toks: wordTokens(words, 1), endPos: len(words) + 1}
	s, err := p.statement()
	if err != nil {
		return nil, err
	}
	return s, nil
}

// ParseExpr parses a segment expression given as words, as stored for a
// named segment.
func ParseExpr(words []string) (Expr, error) {
	p := &parser{words: words, toks: exprTokens(words, 1), endPos: len(words) + 1}
	e, err := p.expr()
	if err != nil {
		return nil, err
	}
	if _, ok := p.peek(); ok {
		return nil, p.afterExpr(false)
	}
	return e, nil
}

// ParseExprString parses a segment expression written as a line.
func ParseExprString(s string) (Expr, error) {
	words, err := SplitLine(s)
	if err != nil {
		return nil, err
	}
	return ParseExpr(words)
}

// parser is a recursive-descent parser over tokens. Outside an expression a
// token is a word; where an expression starts, the remaining words are split
// into expression tokens (see exprTokens).
type parser struct {
	words  []string
	toks   []token
	i      int // the next token
	endPos int // the position reported when a word is missing at the end
	depth  int // nesting of the factor being parsed

	follow  []string // keywords that may follow the expression of this statement
	lastDid *Did     // the atom just parsed when it is a DID, for suggestions
}

func (p *parser) peek() (token, bool) {
	if p.i >= len(p.toks) {
		return token{}, false
	}
	return p.toks[p.i], true
}

func (p *parser) next() (token, bool) {
	t, ok := p.peek()
	if ok {
		p.i++
	}
	return t, ok
}

// at reports whether the next token is the keyword kw.
func (p *parser) at(kw string) bool {
	t, ok := p.peek()
	return ok && t.is(kw)
}

// errAt is a syntax error at t, or at the end when ok is false.
func (p *parser) errAt(t token, ok bool, format string, args ...any) *Error {
	if !ok {
		return Errorf(CodeSyntax, p.endPos, format, args...)
	}
	return Errorf(CodeSyntax, t.pos, format, args...)
}

// describe names a token in a message: keywords and parentheses as they
// are, other words quoted (and shortened when long).
func describe(t token, ok bool) string {
	switch {
	case !ok:
		return endOfStatement
	case t.kind != tokWord:
		return t.text
	case isKeyword(t.text):
		return strings.ToUpper(t.text)
	case len(t.text) > 40:
		return strconv.Quote(t.text[:40]) + "..."
	}
	return strconv.Quote(t.text)
}

// suggestion is suggest for a token that may be missing.
func suggestion(t token, ok bool, candidates ...string) string {
	if !ok || t.kind != tokWord {
		return ""
	}
	return suggest(t.text, candidates...)
}

// expectEnd fails unless every word has been read.
func (p *parser) expectEnd(cmd string) *Error {
	if t, ok := p.peek(); ok {
		return p.errAt(t, ok, "unexpected %s at the end of %s", describe(t, ok), cmd)
	}
	return nil
}

func (p *parser) statement() (Statement, *Error) {
	t, ok := p.next()
	if !ok {
		return nil, Errorf(CodeSyntax, 1, "empty statement")
	}
	cmd := strings.ToUpper(t.text)
	if parse := parserFor(cmd); parse != nil {
		return parse(p)
	}
	for _, c := range serverCommands {
		if cmd == c {
			return nil, p.errAt(t, ok, "%s is handled by the server, not by the query language", cmd)
		}
	}
	return nil, p.errAt(t, ok, "unknown command %s%s", strconv.Quote(t.text), suggest(t.text, commandNames()...))
}

func (p *parser) who() (Statement, *Error) {
	id, err := p.id("WHO")
	if err != nil {
		return nil, err
	}
	return &Who{ID: id}, p.expectEnd("WHO")
}

func (p *parser) why() (Statement, *Error) {
	a, b, err := p.idPair("WHY")
	if err != nil {
		return nil, err
	}
	return &Why{A: a, B: b}, nil
}

func (p *parser) graph() (Statement, *Error) {
	id, err := p.id("GRAPH")
	if err != nil {
		return nil, err
	}
	return &Graph{ID: id}, p.expectEnd("GRAPH")
}

func (p *parser) unlink() (Statement, *Error) {
	a, b, err := p.idPair("UNLINK")
	if err != nil {
		return nil, err
	}
	return &Unlink{A: a, B: b}, nil
}

func (p *parser) idPair(cmd string) (string, string, *Error) {
	a, err := p.id(cmd)
	if err != nil {
		return "", "", err
	}
	b, err := p.id(cmd)
	if err != nil {
		return "", "", err
	}
	return a, b, p.expectEnd(cmd)
}

func (p *parser) backup() (Statement, *Error) { return &Backup{}, p.expectEnd("BACKUP") }

func (p *parser) info() (Statement, *Error) {
	s := &Info{}
	if t, ok := p.next(); ok {
		s.Section = t.text
	}
	return s, p.expectEnd("INFO")
}

func (p *parser) ping() (Statement, *Error) {
	s := &Ping{}
	if t, ok := p.next(); ok {
		s.Msg = t.text
	}
	return s, p.expectEnd("PING")
}

// id reads an identifier: a word with a colon.
func (p *parser) id(cmd string) (string, *Error) {
	t, ok := p.next()
	if !ok {
		return "", p.errAt(t, ok, "%s expects an identifier type:value, found %s", cmd, describe(t, ok))
	}
	if !strings.Contains(t.text, ":") {
		return "", Errorf(CodeBadID, t.pos, "%s expects an identifier type:value, found %s", cmd, describe(t, ok))
	}
	return t.text, nil
}

// idList reads identifiers up to the end or a word that is one of stops.
func (p *parser) idList(stops ...string) ([]string, *Error) {
	var ids []string
	for {
		t, ok := p.peek()
		if !ok {
			return ids, nil
		}
		for _, s := range stops {
			if t.is(s) {
				return ids, nil
			}
		}
		if !strings.Contains(t.text, ":") {
			if hint := suggest(t.text, stops...); hint != "" {
				return nil, p.errAt(t, ok, "expected an identifier type:value, found %s%s", describe(t, ok), hint)
			}
			return nil, Errorf(CodeBadID, t.pos, "expected an identifier type:value, found %s", describe(t, ok))
		}
		ids = append(ids, t.text)
		p.i++
	}
}

func (p *parser) track() (Statement, *Error) {
	ev, ok := p.next()
	if !ok || ev.text == "" {
		return nil, p.errAt(ev, ok, "expected an event name after TRACK, found %s", describe(ev, ok))
	}
	if err := p.checkName("event name", ev); err != nil {
		return nil, err
	}
	s := &Track{Event: ev.text}
	var err *Error
	if s.IDs, err = p.idList("AT", "FROM", "PROPS"); err != nil {
		return nil, err
	}
	if len(s.IDs) == 0 {
		t, ok := p.peek()
		return nil, p.errAt(t, ok, "TRACK needs at least one identifier type:value after the event name, found %s", describe(t, ok))
	}
	seen := map[string]bool{}
	for {
		t, ok := p.next()
		if !ok {
			return s, nil
		}
		kw := strings.ToUpper(t.text)
		if seen[kw] {
			return nil, p.errAt(t, ok, "%s is given twice", kw)
		}
		seen[kw] = true
		switch {
		case t.is("AT"):
			if s.At, err = p.time("AT"); err != nil {
				return nil, err
			}
		case t.is("FROM"):
			if s.From, err = p.source(); err != nil {
				return nil, err
			}
		case t.is("PROPS"):
			if s.Props, err = p.props(); err != nil {
				return nil, err
			}
		default:
			return nil, p.errAt(t, ok, "expected AT, FROM or PROPS, found %s%s",
				describe(t, ok), suggest(t.text, "AT", "FROM", "PROPS"))
		}
	}
}

func (p *parser) merge() (Statement, *Error) {
	s := &Merge{}
	var err *Error
	if s.IDs, err = p.idList("AT", "FROM"); err != nil {
		return nil, err
	}
	if len(s.IDs) < 2 {
		t, ok := p.peek()
		return nil, p.errAt(t, ok, "MERGE needs at least two identifiers type:value, found %s", describe(t, ok))
	}
	seen := map[string]bool{}
	for {
		t, ok := p.next()
		if !ok {
			return s, nil
		}
		kw := strings.ToUpper(t.text)
		if seen[kw] {
			return nil, p.errAt(t, ok, "%s is given twice", kw)
		}
		seen[kw] = true
		switch {
		case t.is("AT"):
			if s.At, err = p.time("AT"); err != nil {
				return nil, err
			}
		case t.is("FROM"):
			if s.From, err = p.source(); err != nil {
				return nil, err
			}
		default:
			return nil, p.errAt(t, ok, "expected AT, FROM or the end of the statement, found %s%s",
				describe(t, ok), suggest(t.text, "AT", "FROM"))
		}
	}
}

// source reads the word after FROM.
func (p *parser) source() (string, *Error) {
	t, ok := p.next()
	if !ok || t.kind != tokWord || t.text == "" {
		return "", p.errAt(t, ok, "expected a source after FROM, found %s", describe(t, ok))
	}
	return t.text, p.checkName("source", t)
}

// props reads the JSON object after PROPS and compacts it.
func (p *parser) props() (string, *Error) {
	t, ok := p.next()
	if !ok {
		return "", p.errAt(t, ok, "expected a JSON object after PROPS, found %s", endOfStatement)
	}
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(t.text)); err != nil {
		return "", p.errAt(t, ok, "PROPS is not valid JSON (%v); quote it: PROPS '{\"key\":\"value\"}'", err)
	}
	if b.Len() == 0 || b.Bytes()[0] != '{' {
		return "", p.errAt(t, ok, "PROPS must be a JSON object {...}, found %s", describe(t, ok))
	}
	return b.String(), nil
}

func (p *parser) record() (Statement, *Error) {
	t, ok := p.next()
	if !ok {
		return nil, p.errAt(t, ok, "expected a JSON object after RECORD, found %s", endOfStatement)
	}
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(t.text)); err != nil || b.Len() == 0 || b.Bytes()[0] != '{' {
		return nil, p.errAt(t, ok, "RECORD takes one JSON object of idgraph's load shape, quoted: RECORD '{\"event\":\"view\",\"ids\":[\"cookie:a\"]}'")
	}
	return &Record{JSON: b.String()}, p.expectEnd("RECORD")
}

func (p *parser) set() (Statement, *Error) {
	id, err := p.id("SET")
	if err != nil {
		return nil, err
	}
	s := &Set{ID: id}
	for {
		t, ok := p.next()
		if ok && t.is("AT") && len(s.Traits) > 0 {
			if s.At, err = p.time("AT"); err != nil {
				return nil, err
			}
			return s, p.expectEnd("SET")
		}
		if !ok && len(s.Traits) > 0 {
			return s, nil
		}
		eq := strings.IndexByte(t.text, '=')
		if !ok || eq < 0 {
			return nil, p.errAt(t, ok, "expected a trait name=value, found %s%s", describe(t, ok), suggestion(t, ok, "AT"))
		}
		name := t.text[:eq]
		if err := p.checkName("trait name", token{kind: tokWord, text: name, pos: t.pos}); err != nil {
			return nil, err
		}
		s.Traits = append(s.Traits, Trait{Name: name, Value: t.text[eq+1:]})
	}
}

// tag reads TAG or UNTAG: <id> <tag> [<tag> ...] [AT <time>].
func (p *parser) tag() (Statement, *Error) {
	s := &Tag{On: p.toks[p.i-1].is("TAG")}
	cmd := s.Command()
	id, err := p.id(cmd)
	if err != nil {
		return nil, err
	}
	s.ID = id
	for {
		t, ok := p.next()
		if ok && t.is("AT") && len(s.Tags) > 0 {
			if s.At, err = p.time("AT"); err != nil {
				return nil, err
			}
			return s, p.expectEnd(cmd)
		}
		if !ok {
			if len(s.Tags) == 0 {
				return nil, p.errAt(t, ok, "%s needs at least one tag after the identifier, found %s", cmd, endOfStatement)
			}
			return s, nil
		}
		if err := p.checkName("tag", t); err != nil {
			return nil, err
		}
		if len(s.Tags) == maxTagsPerStatement {
			return nil, Errorf(CodeTooLarge, t.pos, "%s takes at most %d tags", cmd, maxTagsPerStatement)
		}
		s.Tags = append(s.Tags, t.text)
	}
}

func (p *parser) consent() (Statement, *Error) {
	id, err := p.id("CONSENT")
	if err != nil {
		return nil, err
	}
	s := &Consent{ID: id}
	if s.Purpose, err = p.name("purpose", "CONSENT <id>"); err != nil {
		return nil, err
	}
	t, ok := p.next()
	switch {
	case ok && t.is("GRANT"):
		s.Grant = true
	case ok && t.is("DENY"):
	default:
		return nil, p.errAt(t, ok, "expected GRANT or DENY, found %s%s", describe(t, ok), suggestion(t, ok, "GRANT", "DENY"))
	}
	if t, ok := p.next(); ok {
		if !t.is("AT") {
			return nil, p.errAt(t, ok, "expected AT or the end of the statement, found %s%s", describe(t, ok), suggest(t.text, "AT"))
		}
		if s.At, err = p.time("AT"); err != nil {
			return nil, err
		}
	}
	return s, p.expectEnd("CONSENT")
}

func (p *parser) timeline() (Statement, *Error) {
	id, err := p.id("TIMELINE")
	if err != nil {
		return nil, err
	}
	s := &Timeline{ID: id}
	seen := map[string]bool{}
	for {
		t, ok := p.next()
		if !ok {
			return s, nil
		}
		kw := strings.ToUpper(t.text)
		if seen[kw] {
			return nil, p.errAt(t, ok, "%s is given twice", kw)
		}
		seen[kw] = true
		switch {
		case t.is("LIMIT"):
			n, err := p.number("LIMIT", 1, maxTimelinePage, CodeTooLarge)
			if err != nil {
				return nil, err
			}
			s.Limit = int(n)
		case t.is("BEFORE"):
			if s.Before, err = p.time("BEFORE"); err != nil {
				return nil, err
			}
		case t.is("AFTER"):
			c, ok := p.next()
			if !ok || !isCursor(c.text) {
				return nil, p.errAt(c, ok, "expected a cursor after AFTER (the cursor field of a TIMELINE entry, like 1764000000000-42), found %s", describe(c, ok))
			}
			s.After = c.text
		default:
			return nil, p.errAt(t, ok, "expected LIMIT, BEFORE or AFTER, found %s%s", describe(t, ok), suggest(t.text, "LIMIT", "BEFORE", "AFTER"))
		}
	}
}

// Limits of HUBS.
const (
	maxHubsPage    = 10000
	defaultHubsMin = 100
)

func (p *parser) hubs() (Statement, *Error) {
	s := &Hubs{}
	seen := map[string]bool{}
	for {
		t, ok := p.next()
		if !ok {
			return s, nil
		}
		kw := strings.ToUpper(t.text)
		if seen[kw] {
			return nil, p.errAt(t, ok, "%s is given twice", kw)
		}
		seen[kw] = true
		switch {
		case t.is("MIN"):
			n, err := p.number("MIN", 1, 1<<31-1, CodeSyntax)
			if err != nil {
				return nil, err
			}
			s.Min = int(n)
		case t.is("LIMIT"):
			n, err := p.number("LIMIT", 1, maxHubsPage, CodeTooLarge)
			if err != nil {
				return nil, err
			}
			s.Limit = int(n)
		default:
			return nil, p.errAt(t, ok, "expected MIN or LIMIT, found %s%s", describe(t, ok), suggest(t.text, "MIN", "LIMIT"))
		}
	}
}

func (p *parser) forget() (Statement, *Error) {
	id, err := p.id("FORGET")
	if err != nil {
		return nil, err
	}
	s := &Forget{ID: id}
	if t, ok := p.next(); ok {
		if !t.is("SUPPRESS") {
			return nil, p.errAt(t, ok, "expected SUPPRESS or the end of the statement, found %s%s", describe(t, ok), suggest(t.text, "SUPPRESS"))
		}
		s.Suppress = true
	}
	return s, p.expectEnd("FORGET")
}

func (p *parser) segment() (Statement, *Error) {
	t, ok := p.next()
	verb := strings.ToUpper(t.text)
	switch {
	case !ok:
		return nil, p.errAt(t, ok, "expected COUNT, IDS, EXPORT, SAVE, DROP or LIST after SEGMENT, found %s", endOfStatement)
	case verb == "COUNT":
		s := &SegmentCount{}
		p.follow = []string{"ASOF"}
		var err *Error
		if s.Expr, err = p.exprHere(); err != nil {
			return nil, err
		}
		for t, ok := p.next(); ok; t, ok = p.next() {
			if !t.is("ASOF") {
				p.i--
				return nil, p.afterExpr(false)
			}
			if s.AsOf != nil {
				return nil, p.errAt(t, ok, "ASOF is given twice")
			}
			if s.AsOf, err = p.time("ASOF"); err != nil {
				return nil, err
			}
		}
		return s, nil
	case verb == "IDS":
		s := &SegmentIDs{}
		p.follow = []string{"ASOF", "LIMIT", "AFTER"}
		var err *Error
		if s.Expr, err = p.exprHere(); err != nil {
			return nil, err
		}
		seen := map[string]bool{}
		for t, ok := p.next(); ok; t, ok = p.next() {
			kw := strings.ToUpper(t.text)
			if seen[kw] {
				return nil, p.errAt(t, ok, "%s is given twice", kw)
			}
			seen[kw] = true
			switch {
			case t.is("ASOF"):
				s.AsOf, err = p.time("ASOF")
			case t.is("LIMIT"):
				var n int64
				n, err = p.number("LIMIT", 1, maxSegmentPage, CodeTooLarge)
				s.Limit = int(n)
			case t.is("AFTER"):
				var n int64
				n, err = p.number("AFTER", 0, math.MaxUint32, CodeSyntax)
				s.After = uint32(n)
			default:
				p.i--
				return nil, p.afterExpr(false)
			}
			if err != nil {
				return nil, err
			}
		}
		return s, nil
	case verb == "SAVE":
		s := &SegmentSave{}
		var err *Error
		if s.Name, err = p.name("segment name", "SEGMENT SAVE"); err != nil {
			return nil, err
		}
		if s.Expr, err = p.exprHere(); err != nil {
			return nil, err
		}
		if _, ok := p.peek(); ok {
			return nil, p.afterExpr(false)
		}
		return s, nil
	case verb == "EXPORT":
		return p.segmentExport()
	case verb == "DROP":
		name, err := p.name("segment name", "SEGMENT DROP")
		if err != nil {
			return nil, err
		}
		return &SegmentDrop{Name: name}, p.expectEnd("SEGMENT DROP")
	case verb == "LIST":
		return &SegmentList{}, p.expectEnd("SEGMENT LIST")
	}
	return nil, p.errAt(t, ok, "unknown SEGMENT command %s: expected COUNT, IDS, EXPORT, SAVE, DROP or LIST%s",
		strconv.Quote(t.text), suggest(t.text, subWords("SEGMENT")...))
}

// exprHere parses an expression from the next word on: the remaining words
// are split into expression tokens first.
func (p *parser) exprHere() (Expr, *Error) {
	p.toks = append(p.toks[:p.i:p.i], exprTokens(p.words[p.i:], p.i+1)...)
	return p.expr()
}

func (p *parser) types() (Statement, *Error) {
	t, ok := p.next()
	if !ok {
		return &Types{}, nil
	}
	if !t.is("DECLARE") {
		return nil, p.errAt(t, ok, "expected DECLARE or the end of the statement after TYPES, found %s%s",
			describe(t, ok), suggest(t.text, "DECLARE"))
	}
	nt, ok := p.next()
	if !ok || !validType(nt.text) {
		return nil, p.errAt(nt, ok, "expected a type name after TYPES DECLARE, found %s: a type is %s", describe(nt, ok), typeRule)
	}
	s := &TypesDeclare{Name: nt.text, Normalize: "trim"}
	seen := map[string]bool{}
	var err *Error
	for {
		t, ok := p.next()
		if !ok {
			break
		}
		kw := strings.ToUpper(t.text)
		if seen[kw] {
			return nil, p.errAt(t, ok, "%s is given twice", kw)
		}
		seen[kw] = true
		switch {
		case t.is("LIMIT"):
			var n int64
			n, err = p.number("LIMIT", 1, maxTypeLimit, CodeSyntax)
			s.Limit = int(n)
		case t.is("PRIORITY"):
			var n int64
			n, err = p.number("PRIORITY", 1, maxPriority, CodeSyntax)
			s.Priority = int(n)
		case t.is("EXCLUSIVE"):
			s.Exclusive = true
		case t.is("NORMALIZE"):
			n, ok := p.next()
			s.Normalize = strings.ToLower(n.text)
			switch s.Normalize {
			case "trim", "lower", "upper", "phone":
			default:
				return nil, p.errAt(n, ok, "expected trim, lower, upper or phone after NORMALIZE, found %s", describe(n, ok))
			}
		default:
			return nil, p.errAt(t, ok, "expected LIMIT, PRIORITY, EXCLUSIVE or NORMALIZE, found %s%s",
				describe(t, ok), suggest(t.text, "LIMIT", "PRIORITY", "EXCLUSIVE", "NORMALIZE"))
		}
		if err != nil {
			return nil, err
		}
	}
	switch {
	case s.Limit == 0:
		return nil, Errorf(CodeSyntax, p.endPos, "TYPES DECLARE needs LIMIT <n>, the most identifiers of the type a profile may hold")
	case s.Priority == 0:
		return nil, Errorf(CodeSyntax, p.endPos, "TYPES DECLARE needs PRIORITY <n>, the type's rank when choosing an event's anchor")
	}
	return s, nil
}

// name reads a name of the given kind ("purpose", "segment name", "trait
// name", "event name", "source", "tag"): the engine's rule, 1 to 128 bytes
// of UTF-8 without control characters, so whatever the engine stores the
// language can address (quote a name that holds spaces).
func (p *parser) name(kind, after string) (string, *Error) {
	t, ok := p.next()
	if !ok || t.kind != tokWord {
		return "", p.errAt(t, ok, "expected %s %s after %s, found %s", article(kind), kind, after, describe(t, ok))
	}
	return t.text, p.checkName(kind, t)
}

// checkName checks a word as a name of the given kind.
func (p *parser) checkName(kind string, t token) *Error {
	if err := engine.CheckName(kind, t.text); err != nil {
		return Errorf(CodeSyntax, t.pos, "%s", err.Error())
	}
	return nil
}

func article(kind string) string {
	if strings.ContainsRune("aeiou", rune(kind[0])) {
		return "an"
	}
	return "a"
}

// number reads a decimal integer from lo to hi; above hi is an error with
// code over.
func (p *parser) number(kw string, lo, hi int64, over string) (int64, *Error) {
	t, ok := p.next()
	if !ok || !allDigits(t.text) {
		return 0, p.errAt(t, ok, "expected a number after %s, found %s", kw, describe(t, ok))
	}
	n, err := strconv.ParseUint(t.text, 10, 64)
	if err != nil || n > uint64(hi) {
		return 0, Errorf(over, t.pos, "%s must be from %d to %d, found %s", kw, lo, hi, t.text)
	}
	if n < uint64(lo) {
		return 0, Errorf(CodeSyntax, t.pos, "%s must be from %d to %d, found %s", kw, lo, hi, t.text)
	}
	return int64(n), nil
}

// time reads the time after kw.
func (p *parser) time(kw string) (*time.Time, *Error) {
	t, ok := p.next()
	if !ok {
		return nil, p.errAt(t, ok, "expected a time after %s, found %s", kw, endOfStatement)
	}
	tm, err := parseTime(t)
	if err != nil {
		return nil, err
	}
	return &tm, nil
}

// parseTime reads a time with the engine's rule (engine.ParseTime): RFC
// 3339 or Unix milliseconds, 1970 to 9999, in UTC to the millisecond.
func parseTime(t token) (time.Time, *Error) {
	tm, err := engine.ParseTime(t.text)
	if err != nil {
		var ee *engine.Error
		if errors.As(err, &ee) {
			return time.Time{}, Errorf(CodeSyntax, t.pos, "%s", ee.Msg)
		}
		return time.Time{}, Errorf(CodeSyntax, t.pos, "%v", err)
	}
	return tm, nil
}

// isCursor reports a timeline cursor: <ms>-<seq>.
func isCursor(s string) bool {
	t, seq, ok := strings.Cut(s, "-")
	return ok && allDigits(t) && allDigits(seq) && len(t) <= 19 && len(seq) <= 20
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// validType reports whether s is [a-z][a-z0-9_]{0,31}: an identifier type.
func validType(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z':
		case i > 0 && ('0' <= c && c <= '9' || c == '_'):
		default:
			return false
		}
	}
	return true
}

// Expressions.

func (p *parser) expr() (Expr, *Error) {
	l, err := p.term()
	if err != nil {
		return nil, err
	}
	for p.at("OR") {
		p.i++
		r, err := p.term()
		if err != nil {
			return nil, err
		}
		l = &Or{L: l, R: r}
	}
	return l, nil
}

func (p *parser) term() (Expr, *Error) {
	l, err := p.factor()
	if err != nil {
		return nil, err
	}
	for p.at("AND") {
		p.i++
		r, err := p.factor()
		if err != nil {
			return nil, err
		}
		l = &And{L: l, R: r}
	}
	return l, nil
}

func (p *parser) factor() (Expr, *Error) {
	t, ok := p.peek()
	p.lastDid = nil
	if ok && (t.kind == tokLParen || t.is("NOT")) {
		if p.depth >= maxDepth {
			return nil, p.errAt(t, ok, "the expression is nested too deeply: at most %d levels of NOT and parentheses", maxDepth)
		}
		p.depth++
		defer func() { p.depth-- }()
		p.i++
		if t.kind == tokLParen {
			e, err := p.expr()
			if err != nil {
				return nil, err
			}
			c, ok := p.peek()
			if !ok || c.kind != tokRParen {
				return nil, p.afterExpr(true)
			}
			p.i++
			p.lastDid = nil
			return e, nil
		}
		x, err := p.factor()
		if err != nil {
			return nil, err
		}
		return &Not{X: x}, nil
	}
	if ok {
		switch {
		case t.is("DID"):
			p.i++
			return p.did()
		case t.is("HAS"):
			p.i++
			ty, ok := p.next()
			if !ok || ty.kind != tokWord || !validType(ty.text) {
				return nil, p.errAt(ty, ok, "expected a type after HAS, found %s: a type is %s", describe(ty, ok), typeRule)
			}
			return &Has{Type: ty.text}, nil
		case t.is("TRAIT"):
			p.i++
			return p.trait()
		case t.is("CONSENT"):
			p.i++
			purpose, err := p.name("purpose", "CONSENT")
			if err != nil {
				return nil, err
			}
			return &ConsentIs{Purpose: purpose}, nil
		case t.is("IN"):
			p.i++
			name, err := p.name("segment name", "IN")
			if err != nil {
				return nil, err
			}
			return &In{Name: name}, nil
		case t.is("TAGGED"):
			p.i++
			tag, err := p.name("tag", "TAGGED")
			if err != nil {
				return nil, err
			}
			return &Tagged{Tag: tag}, nil
		}
	}
	after := ""
	if p.i > 0 {
		if prev := p.toks[p.i-1]; prev.kind != tokWord || isKeyword(prev.text) {
			after = " after " + describe(prev, true)
		}
	}
	hint := suggestion(t, ok, exprKeywords...)
	switch {
	case hint != "" || !ok || t.kind != tokWord || isKeyword(t.text):
	case hasSpace(t.text):
		hint = " (a quoted word is one token: write the expression without quotes)"
	default:
		hint = " (an atom starts with DID, HAS, TRAIT, CONSENT, TAGGED, IN, NOT or a parenthesis)"
	}
	return nil, p.errAt(t, ok, "expected an atom%s, found %s%s", after, describe(t, ok), hint)
}

// afterExpr is the error for a token that cannot follow a complete
// expression (or one in parentheses, when closing).
func (p *parser) afterExpr(closing bool) *Error {
	t, ok := p.peek()
	cands := []string{"AND", "OR"}
	if d := p.lastDid; d != nil && d.Window.Kind == WindowNone {
		if d.Source == "" && d.Cmp == "" && d.Where == nil {
			cands = append(cands, "FROM")
		}
		if d.Cmp == "" && d.Where == nil {
			cands = append(cands, "WHERE")
		}
		if d.Cmp == "" {
			cands = append(cands, "TIMES")
		}
		cands = append(cands, "WITHIN", "SINCE", "BETWEEN")
	}
	want := "AND, OR or the end of the statement"
	if closing {
		want = "AND, OR or ) to close a parenthesis"
	} else {
		if len(p.follow) > 0 {
			want = "AND, OR, " + strings.Join(p.follow, ", ") + " or the end of the statement"
		}
		cands = append(cands, p.follow...)
	}
	if ok && t.kind == tokRParen && !closing {
		return p.errAt(t, ok, "found ) without a matching (")
	}
	hint := suggestion(t, ok, cands...)
	if hint == "" && ok && p.lastDid != nil && p.lastDid.Window.Kind == WindowNone && isDays(t.text) {
		hint = " (did you mean WITHIN " + t.text + "?)"
	}
	return p.errAt(t, ok, "expected %s, found %s%s", want, describe(t, ok), hint)
}

func isDays(s string) bool {
	return len(s) > 1 && (s[len(s)-1] == 'd' || s[len(s)-1] == 'D') && allDigits(s[:len(s)-1])
}

// cmpOps are the comparisons of DID ... TIMES, longest first.
var cmpOps = []string{">=", "<=", ">", "<", "="}

// traitOps are the comparisons of TRAIT, longest first.
var traitOps = []string{"!=", ">=", "<=", ">", "<", "="}

// opPrefix splits s into the longest op of ops it starts with and the rest.
func opPrefix(s string, ops []string) (op, rest string, ok bool) {
	for _, o := range ops {
		if strings.HasPrefix(s, o) {
			return o, s[len(o):], true
		}
	}
	return "", "", false
}

func (p *parser) did() (Expr, *Error) {
	ev, ok := p.next()
	if !ok || ev.kind != tokWord || ev.text == "" {
		return nil, p.errAt(ev, ok, "expected an event name after DID, found %s", describe(ev, ok))
	}
	if err := p.checkName("event name", ev); err != nil {
		return nil, err
	}
	d := &Did{Event: ev.text}
	var err *Error
	if p.at("FROM") {
		p.i++
		if d.Source, err = p.source(); err != nil {
			return nil, err
		}
	}
	if p.at("WHERE") {
		p.i++
		if d.Where, err = p.conds(); err != nil {
			return nil, err
		}
	}
	if t, ok := p.peek(); ok && t.kind == tokWord {
		// ">= 2" or ">=2"
		if op, rest, isOp := opPrefix(t.text, cmpOps); isOp && (rest == "" || allDigits(rest)) {
			p.i++
			nt, ok := t, true
			if rest == "" {
				nt, ok = p.next()
			} else {
				nt.text = rest
			}
			if !ok || !allDigits(nt.text) {
				return nil, p.errAt(nt, ok, "expected a number after DID %s %s, found %s", ev.text, op, describe(nt, ok))
			}
			n, perr := strconv.ParseUint(nt.text, 10, 64)
			if perr != nil || n > maxTimes {
				return nil, p.errAt(nt, ok, "the number of TIMES must be from 0 to %d, found %s", maxTimes, nt.text)
			}
			d.Cmp, d.N = op, int(n)
			if tt, ok := p.next(); !ok || !tt.is("TIMES") {
				return nil, p.errAt(tt, ok, "expected TIMES after %s %d, found %s%s", op, n, describe(tt, ok), suggestion(tt, ok, "TIMES"))
			}
		}
	}
	if d.Window, err = p.window(); err != nil {
		return nil, err
	}
	p.lastDid = d
	return d, nil
}

// window reads an optional window: WITHIN <n>d, WITHIN <n>h, SINCE <time>
// or BETWEEN <time> AND <time>.
func (p *parser) window() (Window, *Error) {
	t, ok := p.peek()
	switch {
	case ok && t.is("WITHIN"):
		p.i++
		nt, ok := p.next()
		unit := byte(0)
		if ok && len(nt.text) > 1 && allDigits(nt.text[:len(nt.text)-1]) {
			unit = nt.text[len(nt.text)-1] | 0x20
		}
		if unit != 'd' && unit != 'h' {
			return Window{}, p.errAt(nt, ok, "expected a number of days like 30d or of hours like 24h after WITHIN, found %s", describe(nt, ok))
		}
		n, perr := strconv.ParseUint(nt.text[:len(nt.text)-1], 10, 64)
		if unit == 'h' {
			if perr != nil || n < 1 || n > maxWithinHours {
				return Window{}, p.errAt(nt, ok, "WITHIN must be from 1h to %dh, found %s", maxWithinHours, nt.text)
			}
			return Window{Kind: WindowHours, Hours: int(n)}, nil
		}
		if perr != nil || n < 1 || n > maxWithinDays {
			return Window{}, p.errAt(nt, ok, "WITHIN must be from 1d to %dd, found %s", maxWithinDays, nt.text)
		}
		return Window{Kind: WindowWithin, Days: int(n)}, nil
	case ok && t.is("SINCE"):
		p.i++
		from, err := p.time("SINCE")
		if err != nil {
			return Window{}, err
		}
		return Window{Kind: WindowSince, From: *from}, nil
	case ok && t.is("BETWEEN"):
		p.i++
		from, err := p.time("BETWEEN")
		if err != nil {
			return Window{}, err
		}
		if at, ok := p.next(); !ok || !at.is("AND") {
			return Window{}, p.errAt(at, ok, "expected AND between the two times of BETWEEN, found %s", describe(at, ok))
		}
		to, err := p.time("BETWEEN ... AND")
		if err != nil {
			return Window{}, err
		}
		if !from.Before(*to) {
			return Window{}, Errorf(CodeSyntax, p.toks[p.i-1].pos, "BETWEEN needs the earlier time first: %s is not before %s",
				formatTime(*from), formatTime(*to))
		}
		return Window{Kind: WindowBetween, From: *from, To: *to}, nil
	}
	return Window{}, nil
}

// conds reads the conditions after WHERE: <path> <op> <value> {AND <path>
// <op> <value>}. An AND followed by a word and a comparison (or a word with
// a comparison glued in) continues the conditions; any other AND belongs
// to the expression.
func (p *parser) conds() ([]Cond, *Error) {
	var out []Cond
	for {
		after := "WHERE"
		if len(out) > 0 {
			after = "AND"
		}
		c, err := p.comparison("property", after)
		if err != nil {
			return nil, err
		}
		if len(out) == maxConds {
			return nil, Errorf(CodeSyntax, p.toks[p.i-1].pos, "at most %d conditions after WHERE", maxConds)
		}
		out = append(out, Cond{Path: c.name, Op: c.op, Value: c.value})
		if !p.at("AND") || !p.condAhead(p.i+1) {
			return out, nil
		}
		p.i++
	}
}

// condAhead reports whether the tokens from i on start a condition rather
// than an atom: a word then a word that starts with a comparison, or a word
// with a comparison glued after its first byte.
func (p *parser) condAhead(i int) bool {
	if i >= len(p.toks) || p.toks[i].kind != tokWord {
		return false
	}
	if strings.IndexAny(p.toks[i].text, "=!<>") > 0 {
		return true
	}
	if i+1 >= len(p.toks) || p.toks[i+1].kind != tokWord {
		return false
	}
	_, _, isOp := opPrefix(p.toks[i+1].text, traitOps)
	return isOp
}

// compared is a name, a comparison and a value: TRAIT's and WHERE's.
type compared struct {
	name, op, value string
}

// comparison reads <name> <op> <value>, where the comparison may be glued
// to the name (age>=30) or to the value (>=30), unless the word after the
// name starts with a comparison: TRAIT a=b = c names the trait "a=b". kind
// is "trait name" or "property" (a dotted path); after is the keyword
// before it, for messages.
func (p *parser) comparison(kind, after string) (compared, *Error) {
	nt, ok := p.next()
	if !ok || nt.kind != tokWord {
		return compared{}, p.errAt(nt, ok, "expected %s %s after %s, found %s", article(kind), kind, after, describe(nt, ok))
	}
	name, op, rest := nt.text, "", ""
	next, more := p.peek()
	_, _, nextIsOp := opPrefix(next.text, traitOps)
	if i := strings.IndexAny(name, "=!<>"); i >= 0 && !(more && next.kind == tokWord && nextIsOp) {
		var isOp bool
		if op, rest, isOp = opPrefix(name[i:], traitOps); !isOp {
			return compared{}, p.errAt(nt, ok, "bad comparison in %s: use = != < <= > or >=", describe(nt, ok))
		}
		name = name[:i]
	}
	if kind == "property" {
		if err := checkPath(name); err != "" {
			return compared{}, Errorf(CodeSyntax, nt.pos, "%s", err)
		}
	} else if err := p.checkName(kind, token{kind: tokWord, text: name, pos: nt.pos}); err != nil {
		return compared{}, err
	}
	if op == "" {
		ot, ok := p.next()
		isOp := false
		if ok && ot.kind == tokWord {
			op, rest, isOp = opPrefix(ot.text, traitOps)
		}
		if !isOp {
			return compared{}, p.errAt(ot, ok, "expected a comparison (= != < <= > >=) after %s %s, found %s", after, name, describe(ot, ok))
		}
	}
	value := rest
	if rest == "" {
		vt, ok := p.next()
		if !ok || vt.kind != tokWord {
			return compared{}, p.errAt(vt, ok, "expected a value after %s %s %s, found %s", after, name, op, describe(vt, ok))
		}
		value = vt.text
	}
	return compared{name: name, op: op, value: value}, nil
}

// checkPath checks a property path: 1 to maxPathDepth keys separated by
// dots, none empty, at most maxPathBytes; "" when it is fine.
func checkPath(path string) string {
	switch {
	case path == "":
		return "expected a property name, found an empty word"
	case len(path) > maxPathBytes:
		return fmt.Sprintf("a property path is at most %d bytes", maxPathBytes)
	case strings.Count(path, ".")+1 > maxPathDepth:
		return fmt.Sprintf("property path %s is too deep: at most %d keys separated by dots", quoteWord(clip(path)), maxPathDepth)
	case strings.HasPrefix(path, ".") || strings.HasSuffix(path, ".") || strings.Contains(path, ".."):
		return fmt.Sprintf("property path %s has an empty key: write keys separated by single dots, like cart.total", quoteWord(clip(path)))
	}
	for i := 0; i < len(path); i++ {
		if path[i] < 0x20 || path[i] == 0x7f {
			return "a property path holds no control characters"
		}
	}
	return ""
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

func (p *parser) trait() (Expr, *Error) {
	c, err := p.comparison("trait name", "TRAIT")
	if err != nil {
		return nil, err
	}
	return &TraitCmp{Name: c.name, Op: c.op, Value: c.value}, nil
}
