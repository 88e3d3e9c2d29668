package query

import (
	"strconv"
	"strings"
	"time"
)

// Statement is one parsed statement. Its String method prints valid source:
// ParseLine(s.String()) gives back a statement equal to s.
type Statement interface {
	String() string
	// Command names the statement's entry in the command table
	// ("TRACK", "SEGMENT COUNT").
	Command() string
}

// Expr is a segment expression. Its String method prints valid source:
// ParseExprString(e.String()) gives back an expression equal to e.
type Expr interface {
	String() string
	expr()
}

// Track is TRACK <event> <id> [<id> ...] [AT <time>] [FROM <source>]
// [PROPS <json-object>]: an event that shows its identifiers together.
type Track struct {
	Event string
	IDs   []string   // at least one; each holds a colon
	At    *time.Time // nil: when the statement runs
	From  string     // "": the session's default source
	Props string     // a compacted JSON object, or "" for none
}

// Merge is MERGE <id> <id> [<id> ...] [AT <time>] [FROM <source>]: an
// explicit link.
type Merge struct {
	IDs  []string // at least two
	At   *time.Time
	From string
}

// Record is RECORD <json-object>: one line of idgraph's own NDJSON load
// shape, applied as one atomic write.
type Record struct {
	JSON string // a compacted JSON object
}

// Set is SET <id> <name>=<value> [...] [AT <time>]: profile traits.
type Set struct {
	ID     string
	Traits []Trait // at least one, in the order given
	At     *time.Time
}

// Trait is one name=value pair of a SET.
type Trait struct {
	Name, Value string
}

// Consent is CONSENT <id> <purpose> GRANT|DENY [AT <time>].
type Consent struct {
	ID, Purpose string
	Grant       bool
	At          *time.Time
}

// Tag is TAG <id> <tag> [<tag> ...] [AT <time>] (On) or UNTAG ... (not On).
type Tag struct {
	ID   string
	Tags []string // at least one
	On   bool
	At   *time.Time
}

// Who is WHO <id>: the whole profile holding the identifier.
type Who struct{ ID string }

// Why is WHY <id> <id>: how (or why not) two identifiers are linked.
type Why struct{ A, B string }

// Timeline is TIMELINE <id> [LIMIT <n>] [BEFORE <time>] [AFTER <cursor>].
type Timeline struct {
	ID     string
	Limit  int // 0: the executor's default
	Before *time.Time
	After  string // "": from the newest; else the cursor of an earlier page's last event
}

// Graph is GRAPH <id>: the identity graph of the profile holding the
// identifier.
type Graph struct{ ID string }

func (s *Graph) String() string { return "GRAPH " + quoteWord(s.ID) }

// Unlink is UNLINK <id> <id>: forget that two identifiers were seen together.
type Unlink struct{ A, B string }

// Forget is FORGET <id> [SUPPRESS]: erase the profile holding the identifier.
type Forget struct {
	ID       string
	Suppress bool
}

// SegmentCount is SEGMENT COUNT <expr> [ASOF <time>].
type SegmentCount struct {
	Expr Expr
	AsOf *time.Time // nil: now
}

// SegmentIDs is SEGMENT IDS <expr> [ASOF <time>] [LIMIT <n>] [AFTER <profile id>].
type SegmentIDs struct {
	Expr  Expr
	AsOf  *time.Time
	Limit int    // 0: the executor's default
	After uint32 // 0: from the first profile
}

// SegmentSave is SEGMENT SAVE <name> <expr>.
type SegmentSave struct {
	Name string
	Expr Expr
}

// SegmentDrop is SEGMENT DROP <name>.
type SegmentDrop struct{ Name string }

// SegmentList is SEGMENT LIST.
type SegmentList struct{}

// Types is TYPES: list the identifier types and their rules.
type Types struct{}

// TypesDeclare is TYPES DECLARE <name> LIMIT <n> PRIORITY <n> [EXCLUSIVE]
// [NORMALIZE trim|lower|upper|phone].
type TypesDeclare struct {
	Name      string
	Limit     int
	Priority  int
	Exclusive bool
	Normalize string // trim (the default), lower, upper or phone
}

// Info is INFO [<section>].
type Info struct{ Section string }

// Ping is PING [<message>].
type Ping struct{ Msg string }

func (*Track) Command() string   { return "TRACK" }
func (*Merge) Command() string   { return "MERGE" }
func (*Set) Command() string     { return "SET" }
func (*Record) Command() string  { return "RECORD" }
func (*Consent) Command() string { return "CONSENT" }
func (s *Tag) Command() string {
	if s.On {
		return "TAG"
	}
	return "UNTAG"
}
func (*Who) Command() string          { return "WHO" }
func (*Why) Command() string          { return "WHY" }
func (*Graph) Command() string        { return "GRAPH" }
func (*Timeline) Command() string     { return "TIMELINE" }
func (*Unlink) Command() string       { return "UNLINK" }
func (*Forget) Command() string       { return "FORGET" }
func (*SegmentCount) Command() string { return "SEGMENT COUNT" }
func (*SegmentIDs) Command() string   { return "SEGMENT IDS" }
func (*SegmentSave) Command() string  { return "SEGMENT SAVE" }
func (*SegmentDrop) Command() string  { return "SEGMENT DROP" }
func (*SegmentList) Command() string  { return "SEGMENT LIST" }
func (*Types) Command() string        { return "TYPES" }
func (*TypesDeclare) Command() string { return "TYPES DECLARE" }
func (*Info) Command() string         { return "INFO" }
func (*Hubs) Command() string         { return "HUBS" }
func (*Backup) Command() string       { return "BACKUP" }
func (*Ping) Command() string         { return "PING" }

// Or is L OR R.
type Or struct{ L, R Expr }

// And is L AND R.
type And struct{ L, R Expr }

// Not is NOT X.
type Not struct{ X Expr }

// Did is DID <event> [FROM <source>] [WHERE <cond> {AND <cond>}] [<cmp> <n>
// TIMES] [<window>]: the profile did the event (from that source, with
// those properties), a number of times, in a window.
type Did struct {
	Event  string
	Source string // "": any source
	Where  []Cond // conditions on the event's PROPS, all of which hold
	Cmp    string // "", ">=", ">", "=", "<" or "<="; "" means at least once
	N      int    // the count Cmp compares with; 0 when Cmp is ""
	Window Window
}

// Cond is one condition of a WHERE: the event property at Path (a dotted
// path into its PROPS) compared with Value by Op (= != < <= > >=).
type Cond struct {
	Path, Op, Value string
}

// WindowKind says which time window a DID has.
type WindowKind uint8

// The windows of a DID.
const (
	WindowNone    WindowKind = iota // ever, up to now
	WindowWithin                    // WITHIN <n>d: the last n UTC calendar days up to now
	WindowSince                     // SINCE <time>
	WindowBetween                   // BETWEEN <time> AND <time>
	WindowHours                     // WITHIN <n>h: the last n hours up to now, to the millisecond
)

// Window is the time window of a DID. Days is set for WindowWithin, Hours
// for WindowHours, From for WindowSince, From and To (From < To) for
// WindowBetween; the rest is zero.
type Window struct {
	Kind     WindowKind
	Days     int
	Hours    int
	From, To time.Time
}

// Has is HAS <type>: the profile holds an identifier of that type.
type Has struct{ Type string }

// TraitCmp is TRAIT <name> <op> <value>.
type TraitCmp struct {
	Name, Op, Value string
}

// ConsentIs is CONSENT <purpose>: the latest decision for the purpose is GRANT.
type ConsentIs struct{ Purpose string }

// In is IN <segment name>: the profile is in the named segment.
type In struct{ Name string }

// Tagged is TAGGED <tag>: the profile carries the tag.
type Tagged struct{ Tag string }

func (*Or) expr()        {}
func (*And) expr()       {}
func (*Not) expr()       {}
func (*Did) expr()       {}
func (*Has) expr()       {}
func (*TraitCmp) expr()  {}
func (*ConsentIs) expr() {}
func (*In) expr()        {}
func (*Tagged) expr()    {}

// printer collects the words of a statement. Words are added raw and quoted
// when needed; parentheses are glued to their neighbours when that is safe.
type printer struct {
	b    strings.Builder
	glue bool // the last thing written was "(" and may be glued to a word
	bare bool // the last thing written was an unquoted word
}

func (p *printer) word(w string) { p.raw(quoteWord(w)) }

// raw writes an already printable word.
func (p *printer) raw(s string) {
	bare := s != "" && s[0] != '"' && s[0] != '\''
	if p.b.Len() > 0 && !(p.glue && bare) {
		p.b.WriteByte(' ')
	}
	p.b.WriteString(s)
	p.glue, p.bare = false, bare
}

func (p *printer) lparen() {
	if p.b.Len() > 0 && !p.glue {
		p.b.WriteByte(' ')
	}
	p.b.WriteByte('(')
	p.glue, p.bare = true, false
}

func (p *printer) rparen() {
	if p.b.Len() > 0 && !p.bare {
		p.b.WriteByte(' ')
	}
	p.b.WriteByte(')')
	p.glue, p.bare = false, true
}

func (p *printer) time(t time.Time) { p.raw(formatTime(t)) }

func (p *printer) int(n int64) { p.raw(strconv.FormatInt(n, 10)) }

// formatTime prints a time the way parseTime reads it back.
func formatTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.999Z07:00")
}

// precedence of an expression node: OR binds loosest.
func precedence(e Expr) int {
	switch e.(type) {
	case *Or:
		return 1
	case *And:
		return 2
	}
	return 3
}

// expr prints e, in parentheses when its precedence is below min.
func (p *printer) expr(e Expr, min int) {
	if precedence(e) < min {
		p.lparen()
		p.expr(e, 0)
		p.rparen()
		return
	}
	switch e := e.(type) {
	case *Or:
		p.expr(e.L, 1)
		p.raw("OR")
		p.expr(e.R, 2) // a right-hand OR needs parentheses: OR is left-associative
	case *And:
		p.expr(e.L, 2)
		p.raw("AND")
		if endsWithWhere(e.L) && startsLikeCond(e.R) {
			// DID x WHERE a = 1 AND (IN "=" ...): without the parentheses
			// the right side would read as one more condition.
			p.lparen()
			p.expr(e.R, 0)
			p.rparen()
			break
		}
		p.expr(e.R, 3)
	case *Not:
		p.raw("NOT")
		p.expr(e.X, 3)
	case *Did:
		p.raw("DID")
		p.word(e.Event)
		if e.Source != "" {
			p.raw("FROM")
			p.word(e.Source)
		}
		p.where(e.Where)
		if e.Cmp != "" {
			p.raw(e.Cmp)
			p.int(int64(e.N))
			p.raw("TIMES")
		}
		p.window(e.Window)
	case *Has:
		p.raw("HAS")
		p.word(e.Type)
	case *TraitCmp:
		p.raw("TRAIT")
		p.compared(e.Name, e.Op, e.Value)
	case *ConsentIs:
		p.raw("CONSENT")
		p.word(e.Purpose)
	case *In:
		p.raw("IN")
		p.word(e.Name)
	case *Tagged:
		p.raw("TAGGED")
		p.word(e.Tag)
	case nil:
		// Only a hand-built AST has a nil expression; print nothing.
	}
}

// endsWithWhere reports whether e's printed text ends with a WHERE
// condition.
func endsWithWhere(e Expr) bool {
	for {
		switch ex := e.(type) {
		case *Or:
			e = ex.R
		case *And:
			e = ex.R
		case *Not:
			e = ex.X
		case *Did:
			return len(ex.Where) > 0 && ex.Cmp == "" && ex.Window.Kind == WindowNone
		default:
			return false
		}
	}
}

// startsLikeCond reports whether e, printed after AND, would read as a
// WHERE condition.
func startsLikeCond(e Expr) bool {
	if precedence(e) < 3 {
		return false // printed in parentheses anyway
	}
	words, err := SplitLine(exprString(e))
	if err != nil {
		return false
	}
	p := &parser{toks: exprTokens(words, 1)}
	return p.condAhead(0)
}

// where prints WHERE and its conditions, if any.
func (p *printer) where(cs []Cond) {
	for i, c := range cs {
		if i == 0 {
			p.raw("WHERE")
		} else {
			p.raw("AND")
		}
		p.compared(c.Path, c.Op, c.Value)
	}
}

// compared prints <name> <op> <value>. A name or value with a parenthesis
// and no space can only have come glued in one quoted word with a space
// ('Ann (EU)=x(' over RESP), and is printed so.
func (p *printer) compared(name, op, value string) {
	if !singleToken(name) || !singleToken(value) {
		p.word(name + op + value)
		return
	}
	p.word(name)
	p.raw(op)
	p.word(value)
}

// window prints a DID's or an aggregate's window, if any.
func (p *printer) window(w Window) {
	switch w.Kind {
	case WindowWithin:
		p.raw("WITHIN")
		p.raw(strconv.Itoa(w.Days) + "d")
	case WindowHours:
		p.raw("WITHIN")
		p.raw(strconv.Itoa(w.Hours) + "h")
	case WindowSince:
		p.raw("SINCE")
		p.time(w.From)
	case WindowBetween:
		p.raw("BETWEEN")
		p.time(w.From)
		p.raw("AND")
		p.time(w.To)
	}
}

func exprString(e Expr) string {
	var p printer
	p.expr(e, 0)
	return p.b.String()
}

func (e *Or) String() string        { return exprString(e) }
func (e *And) String() string       { return exprString(e) }
func (e *Not) String() string       { return exprString(e) }
func (e *Did) String() string       { return exprString(e) }
func (e *Has) String() string       { return exprString(e) }
func (e *TraitCmp) String() string  { return exprString(e) }
func (e *ConsentIs) String() string { return exprString(e) }
func (e *In) String() string        { return exprString(e) }
func (e *Tagged) String() string    { return exprString(e) }

func (s *Track) String() string {
	var p printer
	p.raw("TRACK")
	p.word(s.Event)
	for _, id := range s.IDs {
		p.word(id)
	}
	if s.At != nil {
		p.raw("AT")
		p.time(*s.At)
	}
	if s.From != "" {
		p.raw("FROM")
		p.word(s.From)
	}
	if s.Props != "" {
		p.raw("PROPS")
		p.word(s.Props)
	}
	return p.b.String()
}

func (s *Merge) String() string {
	var p printer
	p.raw("MERGE")
	for _, id := range s.IDs {
		p.word(id)
	}
	if s.At != nil {
		p.raw("AT")
		p.time(*s.At)
	}
	if s.From != "" {
		p.raw("FROM")
		p.word(s.From)
	}
	return p.b.String()
}

func (s *Record) String() string { return "RECORD " + quoteWord(s.JSON) }

func (s *Set) String() string {
	var p printer
	p.raw("SET")
	p.word(s.ID)
	for _, t := range s.Traits {
		// name=value with only the value quoted: SplitLine joins
		// name='a b' into one word, as redis-cli does.
		// A name that needs quoting is quoted with its value, as one word.
		if quoteWord(t.Name) != t.Name {
			p.word(t.Name + "=" + t.Value)
			continue
		}
		v := t.Value
		if v != "" {
			v = quoteWord(v)
		}
		p.raw(t.Name + "=" + v)
	}
	if s.At != nil {
		p.raw("AT")
		p.time(*s.At)
	}
	return p.b.String()
}

func (s *Consent) String() string {
	var p printer
	p.raw("CONSENT")
	p.word(s.ID)
	p.word(s.Purpose)
	if s.Grant {
		p.raw("GRANT")
	} else {
		p.raw("DENY")
	}
	if s.At != nil {
		p.raw("AT")
		p.time(*s.At)
	}
	return p.b.String()
}

func (s *Tag) String() string {
	var p printer
	p.raw(s.Command())
	p.word(s.ID)
	for _, t := range s.Tags {
		p.word(t)
	}
	if s.At != nil {
		p.raw("AT")
		p.time(*s.At)
	}
	return p.b.String()
}

func (s *Who) String() string { return "WHO " + quoteWord(s.ID) }

func (s *Why) String() string { return "WHY " + quoteWord(s.A) + " " + quoteWord(s.B) }

func (s *Timeline) String() string {
	var p printer
	p.raw("TIMELINE")
	p.word(s.ID)
	if s.Limit != 0 {
		p.raw("LIMIT")
		p.int(int64(s.Limit))
	}
	if s.Before != nil {
		p.raw("BEFORE")
		p.time(*s.Before)
	}
	if s.After != "" {
		p.raw("AFTER")
		p.word(s.After)
	}
	return p.b.String()
}

func (s *Unlink) String() string { return "UNLINK " + quoteWord(s.A) + " " + quoteWord(s.B) }

func (s *Forget) String() string {
	if s.Suppress {
		return "FORGET " + quoteWord(s.ID) + " SUPPRESS"
	}
	return "FORGET " + quoteWord(s.ID)
}

func (s *SegmentCount) String() string {
	var p printer
	p.raw("SEGMENT")
	p.raw("COUNT")
	p.expr(s.Expr, 0)
	if s.AsOf != nil {
		p.raw("ASOF")
		p.time(*s.AsOf)
	}
	return p.b.String()
}

func (s *SegmentIDs) String() string {
	var p printer
	p.raw("SEGMENT")
	p.raw("IDS")
	p.expr(s.Expr, 0)
	if s.AsOf != nil {
		p.raw("ASOF")
		p.time(*s.AsOf)
	}
	if s.Limit != 0 {
		p.raw("LIMIT")
		p.int(int64(s.Limit))
	}
	if s.After != 0 {
		p.raw("AFTER")
		p.int(int64(s.After))
	}
	return p.b.String()
}

func (s *SegmentSave) String() string {
	var p printer
	p.raw("SEGMENT")
	p.raw("SAVE")
	p.word(s.Name)
	p.expr(s.Expr, 0)
	return p.b.String()
}

func (s *SegmentDrop) String() string { return "SEGMENT DROP " + quoteWord(s.Name) }

func (*SegmentList) String() string { return "SEGMENT LIST" }

func (*Types) String() string { return "TYPES" }

func (s *TypesDeclare) String() string {
	var p printer
	p.raw("TYPES")
	p.raw("DECLARE")
	p.word(s.Name)
	p.raw("LIMIT")
	p.int(int64(s.Limit))
	p.raw("PRIORITY")
	p.int(int64(s.Priority))
	if s.Exclusive {
		p.raw("EXCLUSIVE")
	}
	if s.Normalize != "" && s.Normalize != "trim" {
		p.raw("NORMALIZE")
		p.word(s.Normalize)
	}
	return p.b.String()
}

// Hubs is HUBS [MIN <n>] [LIMIT <n>]: identifiers whose links were refused
// with at least MIN other profiles — shared office emails, default device
// ids — worth blocking. Min 0 means the default (100), Limit 0 the default.
type Hubs struct {
	Min, Limit int
}

func (s *Hubs) String() string {
	out := "HUBS"
	if s.Min > 0 {
		out += " MIN " + strconv.Itoa(s.Min)
	}
	if s.Limit > 0 {
		out += " LIMIT " + strconv.Itoa(s.Limit)
	}
	return out
}

// Backup is BACKUP: write a consistent backup of the running store into the
// backups folder of its data directory; the reply is the file's path. It
// needs a user that may write (it creates a file on the server).
type Backup struct{}

func (*Backup) String() string { return "BACKUP" }

func (s *Info) String() string {
	if s.Section == "" {
		return "INFO"
	}
	return "INFO " + quoteWord(s.Section)
}

func (s *Ping) String() string {
	if s.Msg == "" {
		return "PING"
	}
	return "PING " + quoteWord(s.Msg)
}
