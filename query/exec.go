package query

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/idgraph/idgraph/engine"
)

// Executor runs statements against an engine. One executor serves the
// server, the shell and embedded callers; it is safe for concurrent use and
// holds no lock of its own: every statement reads one moment of the
// database (engine.DB.Read pins a store snapshot and an index view of one
// generation) and writes through the engine's single writer.
type Executor struct {
	db      *engine.DB
	now     func() time.Time
	exports snapshots  // the moments of paged exports (SEGMENT EXPORT ... SNAPSHOT)
	kept    keptValues // computed traits' values for WHO (computed_values.go)
}

// NewExecutor returns an executor over db. It makes db watch its saved
// segments for the change feed (engine.DB.SetWatcher) if nothing does.
func NewExecutor(db *engine.DB) *Executor {
	db.SetWatcher(Watcher{})
	return &Executor{db: db, now: time.Now}
}

// SetClock replaces the clock that defines "now" for segments (tests).
func (x *Executor) SetClock(now func() time.Time) { x.now = now }

// clock is "now" for a statement: the time engine.WithNow put in ctx (a
// replicated entry's), else the executor's clock.
func (x *Executor) clock(ctx context.Context) time.Time {
	if t, ok := engine.NowFrom(ctx); ok {
		return t
	}
	return x.now()
}

// Limits of replies and of saved segments.
const (
	DefaultSegmentLimit = 1000
	maxSegmentDepth     = 16 // nested IN
)

// maxSavedSegments is how many segments SEGMENT SAVE keeps at most (a
// variable only so that a test can lower it).
var maxSavedSegments = 1000

// ExecLine splits a typed line into words and runs it.
func (x *Executor) ExecLine(ctx context.Context, s *Session, line string) (Value, error) {
	words, err := SplitLine(line)
	if err != nil {
		return Value{}, err
	}
	return x.Exec(ctx, s, words)
}

// call is one statement being run.
type call struct {
	x    *Executor
	ctx  context.Context
	s    *Session
	st   Statement
	args []string
}

// Exec parses and runs one statement given as words.
func (x *Executor) Exec(ctx context.Context, s *Session, args []string) (Value, error) {
	if s == nil {
		s = &Session{}
	}
	s.Warnings = nil
	st, cmd, err := prepare(s, args)
	if err != nil {
		return Value{}, err
	}
	return x.run(&call{x: x, ctx: ctx, s: s, st: st, args: args}, cmd)
}

// prepare parses a statement and checks that the session may run it.
func prepare(s *Session, args []string) (Statement, *Command, error) {
	st, err := Parse(args)
	if err != nil {
		return nil, nil, err
	}
	cmd := commandByName()[st.Command()]
	if s.ReadOnly && cmd.Write {
		return nil, nil, Errorf(CodeReadOnly, 0, "this user may only read")
	}
	return st, cmd, nil
}

// run runs a prepared statement.
func (x *Executor) run(c *call, cmd *Command) (Value, error) {
	var v Value
	var err error
	if cmd.op != nil {
		v, err = execWrite(c, cmd.op)
	} else {
		v, err = cmd.exec(c)
	}
	if err != nil {
		return Value{}, coded(err, c.args)
	}
	return v, nil
}

// Result is the outcome of one statement of ExecBatch: its reply or its
// error, and its warnings.
type Result struct {
	Value    Value
	Err      error
	Warnings []string
}

// ExecBatch runs statements in order, with the outcome Exec would give
// each run alone, but applies each run of consecutive simple writes
// (Batchable) in one group commit: a pipeline of TRACKs costs one commit,
// not one per statement. Each write is still atomic and fails alone; when
// the commit itself fails, every write of it gets the error.
func (x *Executor) ExecBatch(ctx context.Context, s *Session, cmds [][]string) []Result {
	if s == nil {
		s = &Session{}
	}
	out := make([]Result, len(cmds))
	type pending struct {
		i     int
		args  []string
		reply func(engine.Result) Value
	}
	var ops []engine.Op
	var wait []pending
	flush := func() {
		if len(ops) == 0 {
			return
		}
		res, errs, err := x.db.Apply(ctx, ops)
		for k, p := range wait {
			switch {
			case err != nil:
				out[p.i].Err = coded(err, p.args)
			case errs[k] != nil:
				out[p.i].Err = coded(errs[k], p.args)
			default:
				out[p.i].Value = p.reply(res[k])
			}
		}
		ops, wait = ops[:0], wait[:0]
	}
	for i, args := range cmds {
		st, cmd, err := prepare(s, args)
		if err != nil {
			out[i].Err = err
			continue
		}
		c := &call{x: x, ctx: ctx, s: s, st: st, args: args}
		if cmd.op == nil {
			flush()
			s.Warnings = nil
			out[i].Value, out[i].Err = x.run(c, cmd)
			out[i].Warnings = s.Warnings
			continue
		}
		op, reply, err := cmd.op(c)
		if err != nil {
			out[i].Err = coded(err, args)
			continue
		}
		ops = append(ops, op)
		wait = append(wait, pending{i: i, args: args, reply: reply})
	}
	flush()
	s.Warnings = nil
	return out
}

// coded turns an engine error into an *Error: its Kind gives the code, and
// its Arg — the offending input as given — the position of the word.
func coded(err error, args []string) error {
	var qe *Error
	if errors.As(err, &qe) {
		return qe
	}
	var ee *engine.Error
	if !errors.As(err, &ee) {
		return &Error{Code: CodeGeneric, Msg: err.Error()}
	}
	code := CodeSyntax
	switch ee.Kind {
	case engine.KindBadID:
		code = CodeBadID
	case engine.KindNotFound:
		code = CodeNotFound
	case engine.KindTooLarge:
		code = CodeTooLarge
	case engine.KindConflict:
		code = CodeConflict
	case engine.KindNoSpace:
		code = CodeNoSpace
	}
	return &Error{Code: code, Pos: wordOf(ee.Arg, args), Msg: ee.Msg, err: ee}
}

// wordOf returns the 1-based position of the word arg (or of the
// name=value word it is part of), 0 when no word holds it.
func wordOf(arg string, args []string) int {
	if arg == "" {
		return 0
	}
	for i := 1; i < len(args); i++ {
		if args[i] == arg {
			return i + 1
		}
	}
	for i := 1; i < len(args); i++ {
		if name, value, ok := strings.Cut(args[i], "="); ok && (name == arg || value == arg) {
			return i + 1
		}
	}
	return 0
}

func (c *call) source(from string) string {
	if from != "" {
		return from
	}
	if c.s.Name != "" {
		return c.s.Name
	}
	return engine.DefaultSource
}

func timeOr(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
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
	v := x.db.Index().View()
	live := v.All().GetCardinality()
	v.Close()
	is := x.db.Index().Stats()
	kv := func(k string, v any) Pair { return Pair{k, String(fmt.Sprint(v))} }
	return []Pair{
		kv("identifiers_allocated", st.Nodes), kv("profiles_allocated", st.Profiles),
		kv("profiles_live", live), kv("link_records", st.Seq), kv("generation", st.Gen),
		kv("writes", st.Ops), kv("lsm_bytes", st.LSMBytes), kv("vlog_bytes", st.VlogBytes),
		kv("cache_entries", st.CacheEntries), kv("cache_bytes", st.CacheBytes), kv("cache_hot_bytes", st.CacheHotBytes),
		kv("cache_hits", st.CacheHits), kv("cache_misses", st.CacheMisses),
		kv("index_events", is.Events), kv("index_bytes", is.Bytes),
		kv("purge_pending", st.PurgePending), kv("erase_pending", btoi(st.ErasePending)),
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// fmtTime writes t as UTC with milliseconds (2006-01-02T15:04:05.000Z),
// "" for the zero time. Every WHO writes two, so the digits are put in
// place here rather than by time.Format, which reads its layout each
// call; years outside 0–9999 go to time.Format.
func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	t = t.UTC()
	y, mo, d := t.Date()
	if y < 0 || y > 9999 {
		return t.Format("2006-01-02T15:04:05.000Z")
	}
	h, mi, sec := t.Clock()
	ms := t.Nanosecond() / 1e6
	var b [24]byte
	put := func(at, v, n int) {
		for i := at + n - 1; i >= at; i-- {
			b[i] = byte('0' + v%10)
			v /= 10
		}
	}
	put(0, y, 4)
	b[4] = '-'
	put(5, int(mo), 2)
	b[7] = '-'
	put(8, d, 2)
	b[10] = 'T'
	put(11, h, 2)
	b[13] = ':'
	put(14, mi, 2)
	b[16] = ':'
	put(17, sec, 2)
	b[19] = '.'
	put(20, ms, 3)
	b[23] = 'Z'
	return string(b[:])
}
