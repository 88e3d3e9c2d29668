package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/idgraph/idgraph/client"
	"github.com/idgraph/idgraph/engine"
	"github.com/idgraph/idgraph/load"
)

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// loadChunk is how many records go to the engine (or the wire) at once.
const loadChunk = 1000

func cmdLoad(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("load", "load [--data DIR | --addr HOST:PORT] FILE... (- for standard input)", stderr)
	st := addStoreFlags(fs)
	addr := fs.String("addr", "", "load over TCP into a running server (instead of --data)")
	pass := addSecretFlags(fs, "password", "password for --addr")
	format := fs.String("format", "auto", "auto, ndjson, segment, csv or ga4 (auto: CSV by a .csv or .csv.gz name, else per line)")
	csv := fs.Bool("csv", false, "read CSV, as --format csv (also chosen by a .csv or .csv.gz name)")
	var ids multiFlag
	fs.Var(&ids, "id", "CSV: TYPE=COLUMN, an identifier column (repeatable)")
	event := fs.String("event", "", "CSV: the column holding the event name")
	eventName := fs.String("event-name", "", "CSV: a constant event name when there is no event column")
	noEvent := fs.Bool("no-event", false, "CSV: rows carry no event; each links its identifiers and sets the other columns as traits")
	timeCol := fs.String("time", "", "CSV: the column holding the event time")
	tagsCol := fs.String("tags", "", "CSV: the column holding tags for the row's profile, separated by commas")
	timeUnit := fs.String("time-unit", "", "CSV: what a number in the time column counts, s or ms (default: milliseconds, and 10 or 11 digits refused as ambiguous, as TRACK ... AT reads them)")
	source := fs.String("source", "", "CSV, GA4: the source of every row (GA4 default: web or app by platform)")
	maxRejects := fs.Int("max-rejects", -1, "stop after this many rejected lines (-1: never)")
	maxConsecutive := fs.Int("max-consecutive-rejects", 1000, "stop after this many rejected lines in a row (0 or -1: never)")
	progress := fs.Bool("progress", true, "show progress on standard error")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return exitError{2, "name at least one FILE (- for standard input)"}
	}
	f, err := load.ParseFormat(*format)
	if err != nil {
		return exitError{2, err.Error()}
	}
	if *csv {
		if f != load.FormatAuto && f != load.FormatCSV {
			return exitError{2, fmt.Sprintf("--csv contradicts --format %s", f)}
		}
		f = load.FormatCSV
	}
	opts := load.Options{Format: f, GA4: load.GA4Options{Source: *source}}
	for _, s := range ids {
		c, err := load.ParseIDColumn(s)
		if err != nil {
			return exitError{2, err.Error()}
		}
		opts.CSV.IDs = append(opts.CSV.IDs, c)
	}
	opts.CSV.Event, opts.CSV.EventName, opts.CSV.Time, opts.CSV.Source, opts.CSV.Tags = *event, *eventName, *timeCol, *source, *tagsCol
	switch *timeUnit {
	case "", "s", "ms":
		opts.CSV.TimeUnit = *timeUnit
	default:
		return exitError{2, fmt.Sprintf("--time-unit %q: give s or ms", *timeUnit)}
	}
	if err := checkCSVEvent(*csv, fs.Args(), *event, *eventName, *noEvent); err != nil {
		return err
	}
	password, err := pass.value(stderr)
	if err != nil {
		return err
	}

	var sink loadSink
	if *addr != "" {
		if flagSet(args, "data") {
			return exitError{2, "give --data or --addr, not both"}
		}
		c, err := dialServer(ctx, *addr, password)
		if err != nil {
			return err
		}
		defer c.Close()
		rs := &remoteSink{c: c}
		if err := rs.start(ctx, *addr); err != nil {
			return err
		}
		sink = rs
	} else {
		db, err := st.open(nil, stderr)
		if err != nil {
			return err
		}
		defer db.Close()
		sink = &engineSink{db: db, nodes0: db.Stats().Nodes}
	}
	if err := checkIDTypes(opts.CSV.IDs, sink.types()); err != nil {
		return err
	}
	l := &loader{sink: sink, stderr: stderr, maxRejects: *maxRejects, maxConsecutive: *maxConsecutive, start: time.Now()}
	style := load.ProgressAuto
	if !*progress {
		style = load.ProgressOff
	}
	err = l.run(ctx, fs.Args(), opts, style)
	l.sum.Elapsed = time.Since(l.start)
	l.sum.IDsCreated = sink.created(ctx)
	fmt.Fprintln(stdout, l.sum.String())
	if err != nil {
		return err
	}
	if l.sum.Rejected > 0 {
		return exitError{1, fmt.Sprintf("%d line(s) rejected", l.sum.Rejected)}
	}
	return nil
}

// checkCSVEvent requires a CSV load to say where its events come from, or
// that it has none: without --event or --event-name every row would
// silently become a merge with its other columns as traits.
func checkCSVEvent(csvFlag bool, files []string, event, eventName string, noEvent bool) error {
	isCSV := csvFlag
	for _, f := range files {
		n := strings.ToLower(f)
		if strings.HasSuffix(n, ".csv") || strings.HasSuffix(n, ".csv.gz") {
			isCSV = true
		}
	}
	switch {
	case noEvent && (event != "" || eventName != ""):
		return exitError{2, "--no-event contradicts --event and --event-name"}
	case isCSV && !noEvent && event == "" && eventName == "":
		return exitError{2, "CSV rows need an event: give --event COLUMN or --event-name NAME, " +
			"or --no-event to load each row as a link of its identifiers with the other columns as traits"}
	}
	return nil
}

// checkIDTypes refuses --id columns of a type the store does not know,
// before anything is loaded.
func checkIDTypes(cols []load.IDColumn, known []string) error {
	if len(cols) == 0 {
		return nil
	}
	set := make(map[string]bool, len(known))
	for _, k := range known {
		set[k] = true
	}
	for _, c := range cols {
		if !set[c.Type] {
			return exitError{2, fmt.Sprintf("--id %s: unknown identifier type %q; known types: %s "+
				"(declare more with TYPES DECLARE)", c, c.Type, strings.Join(known, ", "))}
		}
	}
	return nil
}

// loadSink applies a chunk of records and returns, per record, the links
// refused and an error (nil when applied).
type loadSink interface {
	apply(ctx context.Context, recs []load.Record) ([]int, []error, error)
	// created is the number of identifiers the load created.
	created(ctx context.Context) int64
	// types are the identifier types the store knows.
	types() []string
}

// sender is a sink that takes the next chunk before the results of the
// last one are read (a remote sink: the server applies a connection's
// statements in order, so the client can send while it applies). Its
// send returns the wait for that chunk's results; flush waits for what is
// in flight and ends the sending.
type sender interface {
	send(ctx context.Context, recs []load.Record) (wait func() ([]int, []error, error))
	flush() error
}

// inFlight applies chunks in order and hands each one's results to done,
// in order. Through a sender it keeps one chunk in flight while the next
// is sent; through any other sink it applies each chunk at once.
type inFlight struct {
	sink    loadSink
	recs    []load.Record // the chunk in flight
	wait    func() ([]int, []error, error)
	started time.Time
}

type chunkDone func(recs []load.Record, refused []int, errs []error, took time.Duration) error

// put sends recs, then hands the chunk sent before it to done.
func (f *inFlight) put(ctx context.Context, recs []load.Record, done chunkDone) error {
	s, ok := f.sink.(sender)
	if !ok {
		t := time.Now()
		refused, errs, err := f.sink.apply(ctx, recs)
		if err != nil {
			return err
		}
		return done(recs, refused, errs, time.Since(t))
	}
	prev, prevWait, prevStart := f.recs, f.wait, f.started
	f.recs, f.wait, f.started = recs, s.send(ctx, recs), time.Now()
	if prevWait == nil {
		return nil
	}
	return f.complete(prev, prevWait, prevStart, true, done)
}

// drain hands the chunk in flight, if any, to done and ends the sending.
func (f *inFlight) drain(done chunkDone) error {
	var err error
	if f.wait != nil {
		wait := f.wait
		f.wait = nil
		err = f.complete(f.recs, wait, f.started, false, done)
	}
	if s, ok := f.sink.(sender); ok {
		err = errors.Join(err, s.flush())
	}
	return err
}

// complete waits for a chunk's results and hands them to done. When done
// fails (the reject limits) and another chunk was sent after this one,
// that chunk is applied all the same: it is waited for and handed to done
// too, so that the summary counts what the server applied, and done's
// first error is returned.
func (f *inFlight) complete(recs []load.Record, wait func() ([]int, []error, error), start time.Time, next bool, done chunkDone) error {
	refused, errs, err := wait()
	if err != nil {
		return err
	}
	if err := done(recs, refused, errs, time.Since(start)); err != nil {
		if next && f.wait != nil {
			nextWait := f.wait
			f.wait = nil
			if r2, e2, werr := nextWait(); werr == nil {
				done(f.recs, r2, e2, time.Since(f.started))
			}
		}
		return err
	}
	return nil
}

type loader struct {
	sink           loadSink
	stderr         io.Writer
	maxRejects     int
	maxConsecutive int
	consecutive    int // lines rejected since the last one loaded
	start          time.Time
	sum            load.Summary
}

func (l *loader) run(ctx context.Context, files []string, opts load.Options, style load.ProgressStyle) error {
	var total int64
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil && f != "-" {
			total += fi.Size()
		}
	}
	prog := load.NewProgress(load.ProgressOptions{Out: l.stderr, Total: total, Style: style})
	defer prog.Finish()
	var done int64
	for _, f := range files {
		r, closer, err := load.Open(f, opts)
		if err != nil {
			return err
		}
		err = l.file(ctx, r, func() { prog.Update(done+r.BytesRead(), l.sum) })
		done += r.BytesRead()
		closer.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// item is what the parsing goroutine hands to the applying one, in input
// order: a chunk of records, or a line that could not be parsed.
type item struct {
	recs   []load.Record
	reject string
	err    error // a read error that ends the file
}

// file parses in one goroutine and applies in this one, so parsing the
// next chunk overlaps with the engine committing this one.
func (l *loader) file(ctx context.Context, r *load.Reader, progress func()) error {
	items := make(chan item, 4)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		defer close(items)
		send := func(it item) bool {
			select {
			case items <- it:
				return true
			case <-stop:
				return false
			}
		}
		var chunk []load.Record
		for {
			rec, err := r.Next()
			if errors.Is(err, io.EOF) {
				if len(chunk) > 0 {
					send(item{recs: chunk})
				}
				return
			}
			var le *load.LineError
			if errors.As(err, &le) {
				if len(chunk) > 0 && !send(item{recs: chunk}) {
					return
				}
				chunk = nil
				if !send(item{reject: le.Error()}) {
					return
				}
				continue
			}
			if err != nil {
				send(item{err: err})
				return
			}
			chunk = append(chunk, rec)
			if len(chunk) >= loadChunk {
				if !send(item{recs: chunk}) {
					return
				}
				chunk = nil
			}
		}
	}()
	// A chunk may be in flight while the next is read: it is accounted
	// before anything after it (a rejected line, the end, an error).
	fl := &inFlight{sink: l.sink}
	done := func(recs []load.Record, refused []int, errs []error, _ time.Duration) error {
		err := l.account(recs, refused, errs)
		progress()
		return err
	}
	for it := range items {
		if err := ctx.Err(); err != nil {
			fl.drain(done)
			return fmt.Errorf("interrupted in %s after %d lines; everything before that is loaded", r.Name(), l.sum.Lines)
		}
		switch {
		case it.err != nil:
			return errors.Join(it.err, fl.drain(done))
		case it.reject != "":
			if err := fl.drain(done); err != nil {
				return err
			}
			if err := l.reject(it.reject); err != nil {
				return err
			}
		default:
			if err := fl.put(ctx, it.recs, done); err != nil {
				fl.drain(func([]load.Record, []int, []error, time.Duration) error { return nil })
				return err
			}
		}
	}
	return fl.drain(done)
}

func (l *loader) reject(msg string) error {
	fmt.Fprintln(l.stderr, msg)
	l.sum.Reject()
	l.consecutive++
	if l.maxRejects >= 0 && l.sum.Rejected > int64(l.maxRejects) {
		return exitError{1, fmt.Sprintf("more than %d rejected lines; stopped", l.maxRejects)}
	}
	if l.maxConsecutive > 0 && l.consecutive >= l.maxConsecutive {
		return exitError{1, fmt.Sprintf("%d lines in a row rejected; stopped (is the input what the flags say? "+
			"--max-consecutive-rejects changes the limit)", l.consecutive)}
	}
	return nil
}

// account adds a chunk's results to the summary and reports the records
// that failed as rejected lines.
func (l *loader) account(recs []load.Record, refused []int, errs []error) error {
	for i, rec := range recs {
		if errs[i] != nil {
			if rerr := l.reject(fmt.Sprintf("%s:%d: %v", rec.File, rec.Line, errs[i])); rerr != nil {
				return rerr
			}
			continue
		}
		l.sum.Add(rec)
		l.sum.Refused += int64(refused[i])
		l.consecutive = 0
	}
	return nil
}

// engineSink applies records through the engine's batch path.
type engineSink struct {
	db     *engine.DB
	nodes0 uint32
}

func (s *engineSink) created(context.Context) int64 { return int64(s.db.Stats().Nodes - s.nodes0) }

func (s *engineSink) types() []string {
	var out []string
	for _, t := range s.db.Types() {
		out = append(out, t.Name)
	}
	return out
}

func (s *engineSink) apply(ctx context.Context, recs []load.Record) ([]int, []error, error) {
	ops := make([]engine.Op, len(recs))
	for i, r := range recs {
		ops[i] = engine.RecordOp(r.EngineRecord())
	}
	res, errs, err := s.db.Apply(ctx, ops)
	if err != nil {
		return nil, nil, err
	}
	refused := make([]int, len(recs))
	for i := range recs {
		refused[i] = len(res[i].Refused)
	}
	return refused, errs, nil
}

// remoteSink pipelines statements to a server.
type remoteSink struct {
	c      *client.Client
	stream *client.Stream // while a load sends: the pipelines in flight
	known  []string
	nodes0 int64 // identifiers_allocated when the load started; -1 if unknown
}

// start checks that the server takes our statements (authentication)
// and notes its identifier types and how many identifiers it has.
func (s *remoteSink) start(ctx context.Context, addr string) error {
	if err := checkAuth(ctx, s.c, addr); err != nil {
		return err
	}
	v, err := s.c.Do(ctx, "TYPES")
	if err != nil {
		return fmt.Errorf("%s: TYPES: %w", addr, err)
	}
	arr, _ := v.([]any)
	for _, t := range arr {
		m, _ := t.([]any)
		for i := 0; i+1 < len(m); i += 2 {
			if m[i] == "type" {
				if name, ok := m[i+1].(string); ok {
					s.known = append(s.known, name)
				}
			}
		}
	}
	s.nodes0 = s.allocated(ctx)
	return nil
}

func (s *remoteSink) types() []string { return s.known }

// allocated reads identifiers_allocated from the server's INFO, or -1.
func (s *remoteSink) allocated(ctx context.Context) int64 {
	v, err := s.c.Do(ctx, "INFO", "store")
	text, _ := v.(string)
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(text, "\n") {
		if n, ok := strings.CutPrefix(strings.TrimSpace(line), "identifiers_allocated:"); ok {
			if v, err := strconv.ParseInt(n, 10, 64); err == nil {
				return v
			}
		}
	}
	return -1
}

// created is the growth of the server's identifiers during the load: ours,
// and any another client created meanwhile.
func (s *remoteSink) created(ctx context.Context) int64 {
	now := s.allocated(ctx)
	if s.nodes0 < 0 || now < s.nodes0 {
		return 0
	}
	return now - s.nodes0
}

func (s *remoteSink) apply(ctx context.Context, recs []load.Record) ([]int, []error, error) {
	res, errs, err := s.send(ctx, recs)()
	if ferr := s.flush(); err == nil {
		err = ferr
	}
	return res, errs, err
}

// flush waits for the pipelines in flight and gives the connection back.
func (s *remoteSink) flush() error {
	if s.stream == nil {
		return nil
	}
	err := s.stream.Close()
	s.stream = nil
	return err
}

// send writes the chunk as one pipeline on the sink's stream (opened on
// first use) and returns the wait for its replies.
func (s *remoteSink) send(ctx context.Context, recs []load.Record) func() ([]int, []error, error) {
	if s.stream == nil {
		st, err := s.c.Stream(ctx)
		if err != nil {
			return func() ([]int, []error, error) { return nil, nil, err }
		}
		s.stream = st
	}
	// Each line is one RECORD statement holding it in our own shape: the
	// server applies it as one atomic operation, exactly as an embedded
	// load applies it (load.Record.EngineRecord on both sides).
	pipe := s.c.Pipeline()
	cmds := make([]*client.Cmd[any], len(recs))
	owner := make([]int, len(recs))
	errs := make([]error, len(recs))
	for i, r := range recs {
		owner[i] = i
		b, err := r.MarshalOurs()
		if err != nil {
			errs[i] = err
			continue
		}
		cmds[i] = pipe.Do("RECORD", string(b))
	}
	flight, err := s.stream.Send(pipe)
	if err != nil {
		return func() ([]int, []error, error) { return nil, nil, err }
	}
	return func() ([]int, []error, error) {
		if err := flight.Wait(); err != nil {
			return nil, nil, err
		}
		return replies(cmds, owner, errs)
	}
}

// replies reads a chunk's RECORD replies: the links each record had
// refused, and the error of each that failed.
func replies(cmds []*client.Cmd[any], owner []int, errs []error) ([]int, []error, error) {
	refused := make([]int, len(errs))
	for j, c := range cmds {
		if c == nil {
			continue
		}
		i := owner[j]
		v, err := c.Result()
		if err != nil {
			var se *client.Error
			if !errors.As(err, &se) {
				return nil, nil, err // the connection, not the statement
			}
			if errs[i] == nil {
				errs[i] = err
			}
			continue
		}
		if arr, ok := v.([]any); ok {
			for k := 0; k+1 < len(arr); k += 2 {
				if arr[k] == "refused" {
					if rs, ok := arr[k+1].([]any); ok {
						refused[i] += len(rs)
					}
				}
			}
		}
	}
	return refused, errs, nil
}
