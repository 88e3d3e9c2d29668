package query

import (
	"sort"
	"strings"
	"sync"

	"github.com/idgraph/idgraph/engine"
)

// Command is one statement of the language. The table of commands is the
// one place a statement is declared: the parser dispatches on it, IsWrite
// and the read-only check read its Write flag, suggestions for near-miss
// words come from its names, the executor runs its exec, and the server
// answers COMMAND (arity and flags) and labels its metrics from it.
type Command struct {
	Name   string // the words that name it: "TRACK", "SEGMENT COUNT"
	Syntax string // its grammar, for help
	Help   string // what it does, one sentence
	Write  bool   // changes the database: refused to read-only users
	// Arity is the Redis COMMAND arity of the first word: n words exactly,
	// or -n for at least n (set on the first entry of each first word).
	Arity int
	parse func(p *parser) (Statement, *Error) // on the first entry of each first word
	exec  func(c *call) (Value, error)
	// op, set for the simple writes, builds the engine operation and its
	// reply: ExecBatch applies a run of such statements in one commit.
	op func(c *call) (engine.Op, func(engine.Result) Value, error)
}

// commandTable lists every statement, in help order. Entries that share a
// first word follow each other; the first of them parses. (It is filled in
// init: the parse functions it names read keywords derived from it.)
var commandTable []*Command

func init() { commandTable = table() }

func table() []*Command {
	return []*Command{
		{Name: "TRACK", Arity: -3, Write: true, parse: (*parser).track, op: opTrack,
			Syntax: "TRACK <event> <id> [<id> ...] [AT <time>] [FROM <source>] [PROPS <json-object>]",
			Help:   "record an event carrying identifiers seen together, and resolve them"},
		{Name: "MERGE", Arity: -3, Write: true, parse: (*parser).merge, op: opMerge,
			Syntax: "MERGE <id> <id> [<id> ...] [AT <time>] [FROM <source>]",
			Help:   "link identifiers explicitly (an alias or identify call)"},
		{Name: "RECORD", Arity: 2, Write: true, parse: (*parser).record, op: opRecord,
			Syntax: "RECORD <json-object>",
			Help:   "apply one record of idgraph's NDJSON load shape as one atomic write: its event or link, then its traits and consent (what idgraph load --addr sends)"},
		{Name: "SET", Arity: -3, Write: true, parse: (*parser).set, op: opSet,
			Syntax: "SET <id> <name>=<value> [...] [AT <time>]",
			Help:   "set profile traits; the later value wins"},
		{Name: "CONSENT", Arity: -4, Write: true, parse: (*parser).consent, op: opConsent,
			Syntax: "CONSENT <id> <purpose> GRANT|DENY [AT <time>]",
			Help:   "record a consent decision; the later one wins"},
		{Name: "TAG", Arity: -3, Write: true, parse: (*parser).tag, op: opTag,
			Syntax: "TAG <id> <tag> [<tag> ...] [AT <time>]",
			Help:   "put tags on the profile holding the identifier; per tag the later decision wins"},
		{Name: "UNTAG", Arity: -3, Write: true, parse: (*parser).tag, op: opTag,
			Syntax: "UNTAG <id> <tag> [<tag> ...] [AT <time>]",
			Help:   "take tags off the profile holding the identifier"},
		{Name: "WHO", Arity: 2, parse: (*parser).who, exec: execWho,
			Syntax: "WHO <id>",
			Help:   "the whole profile holding the identifier (or profile:<id>)"},
		{Name: "WHY", Arity: 3, parse: (*parser).why, exec: execWhy,
			Syntax: "WHY <id> <id>",
			Help:   "the chain of co-occurrences that links two identifiers, or why they are not linked"},
		{Name: "GRAPH", Arity: 2, parse: (*parser).graph, exec: execGraph,
			Syntax: "GRAPH <id>",
			Help:   "the profile's identity graph: its identifiers, those seen with them, and every pair seen together with its evidence"},
		{Name: "TIMELINE", Arity: -2, parse: (*parser).timeline, exec: execTimeline,
			Syntax: "TIMELINE <id> [LIMIT <n>] [BEFORE <time>] [AFTER <cursor>]",
			Help:   "the profile's events, newest first; AFTER the cursor of the last event pages on"},
		{Name: "UNLINK", Arity: 3, Write: true, parse: (*parser).unlink, exec: execUnlink,
			Syntax: "UNLINK <id> <id>",
			Help:   "remove the direct link between two identifiers and re-resolve"},
		{Name: "FORGET", Arity: -2, Write: true, parse: (*parser).forget, exec: execForget,
			Syntax: "FORGET <id> [SUPPRESS]",
			Help:   "erase the profile holding the identifier (SUPPRESS: drop its identifiers from later calls)"},
		{Name: "SEGMENT COUNT", Arity: -2, parse: (*parser).segment, exec: execSegmentCount,
			Syntax: "SEGMENT COUNT <expr> [ASOF <time>]",
			Help:   "how many profiles match"},
		{Name: "SEGMENT IDS", exec: execSegmentIDs,
			Syntax: "SEGMENT IDS <expr> [ASOF <time>] [LIMIT <n>] [AFTER <profile id>]",
			Help:   "matching profile ids, ascending, paged"},
		{Name: "SEGMENT EXPORT", exec: execSegmentExport,
			Syntax: "SEGMENT EXPORT <expr | name> [ASOF <time>] [FIELDS <field> ...] [LIMIT <n>] [AFTER <profile id>] [SNAPSHOT <token>]",
			Help:   "the members with the fields asked for (an identifier type, trait:<name>, computed:<name>, consent:<purpose>, tags), paged; SNAPSHOT keeps one moment across pages"},
		{Name: "SEGMENT SAVE", Write: true, exec: execSegmentSave,
			Syntax: "SEGMENT SAVE <name> <expr>",
			Help:   "save a named segment (used by IN and listed in WHO)"},
		{Name: "SEGMENT DROP", Write: true, exec: execSegmentDrop,
			Syntax: "SEGMENT DROP <name>",
			Help:   "drop a named segment that no other segment uses"},
		{Name: "SEGMENT LIST", exec: execSegmentList,
			Syntax: "SEGMENT LIST",
			Help:   "the saved segments and their expressions"},
		{Name: "COMPUTE", Arity: -2, Write: true, parse: (*parser).compute, exec: execCompute,
			Syntax: "COMPUTE <name> AS COUNT|SUM|MIN|MAX|AVG|FIRST|LAST|DISTINCT|SCORE ... [WITHIN <n>d|<n>h | SINCE <time> | BETWEEN <time> AND <time>]",
			Help:   "define a computed trait over each profile's events (shown by WHO, compared by TRAIT)"},
		{Name: "COMPUTE DROP", Write: true, exec: execComputeDrop,
			Syntax: "COMPUTE DROP <name>",
			Help:   "drop a computed trait that no saved segment uses"},
		{Name: "COMPUTE LIST", exec: execComputeList,
			Syntax: "COMPUTE LIST",
			Help:   "the computed traits and their definitions"},
		{Name: "CHANGES", Arity: -1, parse: (*parser).changes, exec: execChanges,
			Syntax: "CHANGES [AFTER <cursor> | AFTER $] [LIMIT <n>] [BLOCK <ms>] [KINDS <kind> ...] [SEGMENTS <name> ...] [FIELDS <field> ...]",
			Help:   "the change feed: segments entered and left, profiles merged, split and forgotten, identifiers moved; BLOCK waits for the next entry"},
		{Name: "TYPES", Arity: -1, parse: (*parser).types, exec: execTypes,
			Syntax: "TYPES",
			Help:   "the identifier types and their rules"},
		{Name: "TYPES DECLARE", Write: true, exec: execTypesDeclare,
			Syntax: "TYPES DECLARE <type> LIMIT <n> PRIORITY <n> [EXCLUSIVE] [NORMALIZE trim|lower|upper|phone]",
			Help:   "declare an identifier type (it cannot be changed afterwards)"},
		{Name: "HUBS", Arity: -1, parse: (*parser).hubs, exec: execHubs,
			Syntax: "HUBS [MIN <n>] [LIMIT <n>]",
			Help:   "identifiers refused with many profiles: candidates for the block list"},
		{Name: "BACKUP", Arity: 1, Write: true, parse: (*parser).backup, exec: execBackup,
			Syntax: "BACKUP",
			Help:   "write a consistent backup of the running store"},
		{Name: "INFO", Arity: -1, parse: (*parser).info, exec: execInfo,
			Syntax: "INFO [<section>]",
			Help:   "figures about the store"},
		{Name: "PING", Arity: -1, parse: (*parser).ping, exec: execPing,
			Syntax: "PING [<message>]",
			Help:   "PONG, or the message"},
	}
}

// Grammar is the grammar of segment expressions, computed traits and
// export fields, for people (the shell's help).
const Grammar = `Segment expressions:
  expr   = term { OR term }          term = factor { AND factor }
  factor = NOT factor | ( expr ) | atom
  atom   = DID <event> [FROM <source>] [WHERE <cond> {AND <cond>}] [<cmp> <n> TIMES] [<window>]
         | HAS <type> | TRAIT <name> <op> <value> | CONSENT <purpose> | TAGGED <tag> | IN <segment>
  cond   = <property path> <op> <value>      (total > 500, cart.items >= 2, paid = true)
  window = WITHIN <n>d | WITHIN <n>h | SINCE <time> | BETWEEN <time> AND <time>
  cmp    = >= > = < <=                       op = = != < <= > >=
  e.g.   DID add_to_cart WITHIN 7d AND NOT DID purchase WITHIN 7d AND HAS email AND CONSENT email
Computed traits (COMPUTE <name> AS <aggregate> [<window>]):
  COUNT <event> | SUM|MIN|MAX|AVG|FIRST|LAST|DISTINCT <property> OF <event> [FROM <source>] [WHERE ...]
  SCORE <n> <event> [WHERE ...] { + <n> <event> [WHERE ...] }
Fields (SEGMENT EXPORT, CHANGES): an identifier type (email), trait:<name>, computed:<name>, consent:<purpose>, tags
Times: RFC 3339 (2026-11-01T10:00:00Z) or Unix milliseconds.
`

// serverCommands belong to the server (or the client), not the language.
var serverCommands = []string{"AUTH", "HELLO", "QUIT", "CLIENT", "COMMAND", "RESET", "SELECT"}

var commandByName = sync.OnceValue(func() map[string]*Command {
	m := make(map[string]*Command, len(commandTable))
	for _, c := range commandTable {
		m[c.Name] = c
	}
	return m
})

// Batchable reports whether the statement that starts with word is a simple
// write ExecBatch applies in a group commit (TRACK, MERGE, RECORD, SET,
// CONSENT, TAG, UNTAG). Callers use it to decide what to gather.
func Batchable(word string) bool {
	c := commandByName()[strings.ToUpper(word)]
	return c != nil && c.op != nil
}

// Commands returns the statements of the language, in help order.
func Commands() []Command {
	out := make([]Command, len(commandTable))
	for i, c := range commandTable {
		out[i] = *c
	}
	return out
}

// FirstWords returns each first word of a statement with its Redis arity
// and whether any statement it starts writes, sorted by word.
func FirstWords() []Command {
	seen := map[string]int{}
	var out []Command
	for _, c := range commandTable {
		w := firstWord(c.Name)
		if i, ok := seen[w]; ok {
			out[i].Write = out[i].Write || c.Write
			continue
		}
		seen[w] = len(out)
		out = append(out, Command{Name: w, Arity: c.Arity, Write: c.Write, Syntax: c.Syntax, Help: c.Help})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func firstWord(name string) string {
	w, _, _ := strings.Cut(name, " ")
	return w
}

// subWords returns the second words of the statements that start with w.
func subWords(w string) []string {
	var out []string
	for _, c := range commandTable {
		if f, sub, ok := strings.Cut(c.Name, " "); ok && f == w {
			out = append(out, sub)
		}
	}
	return out
}

// commandNames are the distinct first words, for suggestions.
var commandNames = sync.OnceValue(func() []string {
	var out []string
	for _, c := range commandTable {
		if w := firstWord(c.Name); len(out) == 0 || out[len(out)-1] != w {
			out = append(out, w)
		}
	}
	return out
})

// parserFor returns the parse function of a first word.
func parserFor(w string) func(p *parser) (Statement, *Error) {
	for _, c := range commandTable {
		if firstWord(c.Name) == w && c.parse != nil {
			return c.parse
		}
	}
	return nil
}

// IsWrite reports whether s changes the database (and so is refused on a
// read-only session).
func IsWrite(s Statement) bool {
	c := commandByName()[s.Command()]
	return c != nil && c.Write
}
