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

	"github.com/idgraph/idgraph/engine"
	"github.com/idgraph/idgraph/load"
	"github.com/redis/go-redis/v9"
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
	pass := fs.String("password", "", "password for --addr")
	csv := fs.Bool("csv", false, "read CSV (also chosen by a .csv or .csv.gz name)")
	var ids multiFlag
	fs.Var(&ids, "id", "CSV: TYPE=COLUMN, an identifier column (repeatable)")
	event := fs.String("event", "", "CSV: the column holding the event name")
	eventName := fs.String("event-name", "", "CSV: a constant event name when there is no event column")
	timeCol := fs.String("time", "", "CSV: the column holding the event time")
	source := fs.String("source", "", "CSV: the source of every row")
	maxRejects := fs.Int("max-rejects", -1, "stop after this many rejected lines (-1: never)")
	progress := fs.Bool("progress", true, "show progress on standard error")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return exitError{2, "name at least one FILE (- for standard input)"}
	}
	opts := load.Options{}
	if *csv {
		opts.Format = load.FormatCSV
	}
	for _, s := range ids {
		c, err := load.ParseIDColumn(s)
		if err != nil {
			return exitError{2, err.Error()}
		}
		opts.CSV.IDs = append(opts.CSV.IDs, c)
	}
	opts.CSV.Event, opts.CSV.EventName, opts.CSV.Time, opts.CSV.Source = *event, *eventName, *timeCol, *source

	var sink loadSink
	if *addr != "" {
		if flagSet(args, "data") {
			return exitError{2, "give --data or --addr, not both"}
		}
		c, err := dialServer(ctx, *addr, *pass)
		if err != nil {
			return err
		}
		defer c.Close()
		sink = &remoteSink{c: c}
	} else {
		db, err := st.open(nil)
		if err != nil {
			return err
		}
		defer db.Close()
		sink = &engineSink{db: db, nodes0: db.Stats().Nodes}
	}
	l := &loader{sink: sink, stderr: stderr, maxRejects: *maxRejects, start: time.Now()}
	style := load.ProgressAuto
	if !*progress {
		style = load.ProgressOff
	}
	err := l.run(ctx, fs.Args(), opts, style)
	l.sum.Elapsed = time.Since(l.start)
	l.sum.IDsCreated = sink.created()
	fmt.Fprintln(stdout, l.sum.String())
	if err != nil {
		return err
	}
	if l.sum.Rejected > 0 {
		return exitError{1, fmt.Sprintf("%d line(s) rejected", l.sum.Rejected)}
	}
	return nil
}

// loadSink applies a chunk of records and returns, per record, the links
// refused and an error (nil when applied).
type loadSink interface {
	apply(ctx context.Context, recs []load.Record) ([]int, []error, error)
	created() int64
}

type loader struct {
	sink       loadSink
	stderr     io.Writer
	maxRejects int
	start      time.Time
	sum        load.Summary
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
	for it := range items {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("interrupted in %s after %d lines; everything before that is loaded", r.Name(), l.sum.Lines)
		}
		switch {
		case it.err != nil:
			return it.err
		case it.reject != "":
			if err := l.reject(it.reject); err != nil {
				return err
			}
		default:
			if err := l.apply(ctx, it.recs); err != nil {
				return err
			}
			progress()
		}
	}
	return nil
}

func (l *loader) reject(msg string) error {
	fmt.Fprintln(l.stderr, msg)
	l.sum.Reject()
	if l.maxRejects >= 0 && l.sum.Rejected > int64(l.maxRejects) {
		return exitError{1, fmt.Sprintf("more than %d rejected lines; stopped", l.maxRejects)}
	}
	return nil
}

func (l *loader) apply(ctx context.Context, recs []load.Record) error {
	refused, errs, err := l.sink.apply(ctx, recs)
	if err != nil {
		return err
	}
	for i, rec := range recs {
		if errs[i] != nil {
			if rerr := l.reject(fmt.Sprintf("%s:%d: %v", rec.File, rec.Line, errs[i])); rerr != nil {
				return rerr
			}
			continue
		}
		l.sum.Add(rec)
		l.sum.Refused += int64(refused[i])
	}
	return nil
}

// engineSink applies records through the engine's batch path.
type engineSink struct {
	db     *engine.DB
	nodes0 uint32
}

func (s *engineSink) created() int64 { return int64(s.db.Stats().Nodes - s.nodes0) }

// recordOp turns a record into one atomic engine operation: its event (or
// a link of its identifiers), then its traits and consent on the anchor.
func recordOp(r load.Record) engine.Op {
	rec := engine.Record{Event: r.Event, IDs: r.IDs, Time: r.Time, Source: r.Source, Props: r.Props, Consent: r.Consent,
		MessageID: r.MessageID}
	for _, k := range sortedKeys(r.Traits) {
		rec.Traits = append(rec.Traits, engine.Trait{Name: k, Value: r.Traits[k]})
	}
	return engine.RecordOp(rec)
}

func (s *engineSink) apply(ctx context.Context, recs []load.Record) ([]int, []error, error) {
	ops := make([]engine.Op, len(recs))
	for i, r := range recs {
		ops[i] = recordOp(r)
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
	c     *redis.Client
	nodes int64
}

func (s *remoteSink) created() int64 { return -1 }

func recordStatements(r load.Record) [][]any {
	var out [][]any
	when := func(st []any) []any {
		if !r.Time.IsZero() {
			st = append(st, "AT", strconv.FormatInt(r.Time.UnixMilli(), 10))
		}
		return st
	}
	from := func(st []any) []any {
		if r.Source != "" {
			st = append(st, "FROM", r.Source)
		}
		return st
	}
	if r.Event != "" {
		st := []any{"TRACK", r.Event}
		for _, id := range r.IDs {
			st = append(st, id)
		}
		st = from(when(st))
		if len(r.Props) > 0 {
			st = append(st, "PROPS", string(r.Props))
		}
		out = append(out, st)
	} else if len(r.IDs) >= 2 {
		st := []any{"MERGE"}
		for _, id := range r.IDs {
			st = append(st, id)
		}
		out = append(out, from(st))
	}
	if len(r.Traits) > 0 && len(r.IDs) > 0 {
		st := []any{"SET", r.IDs[0]}
		for _, k := range sortedKeys(r.Traits) {
			st = append(st, k+"="+r.Traits[k])
		}
		out = append(out, when(st))
	}
	for _, k := range sortedKeys(r.Consent) {
		d := "DENY"
		if r.Consent[k] {
			d = "GRANT"
		}
		out = append(out, when([]any{"CONSENT", r.IDs[0], k, d}))
	}
	return out
}

func (s *remoteSink) apply(ctx context.Context, recs []load.Record) ([]int, []error, error) {
	pipe := s.c.Pipeline()
	var cmds []*redis.Cmd
	owner := []int{}
	for i, r := range recs {
		for _, st := range recordStatements(r) {
			cmds = append(cmds, pipe.Do(ctx, st...))
			owner = append(owner, i)
		}
	}
	if _, err := pipe.Exec(ctx); err != nil && !isServerError(err) {
		return nil, nil, err
	}
	refused := make([]int, len(recs))
	errs := make([]error, len(recs))
	for j, c := range cmds {
		i := owner[j]
		v, err := c.Result()
		if err != nil {
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
	for i, r := range recs {
		if len(recordStatements(r)) == 0 {
			errs[i] = errors.New("nothing to do: an event needs an identifier, a merge two")
		}
	}
	return refused, errs, nil
}

func isServerError(err error) bool {
	var re redis.Error
	return errors.As(err, &re)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}
