package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/idgraph/idgraph/query"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// idgraph export (SPEC.md §4.3): a segment's members with the fields a
// mailer or an ad platform needs, as CSV or NDJSON. It pages SEGMENT
// EXPORT ... SNAPSHOT <token>, so that the whole file is one moment of the
// store without holding its writer, and writes FILE.tmp, renamed to FILE
// only once complete.

// exportFormats are the formats of --format.
var exportFormats = []string{"csv", "ndjson"}

func cmdExport(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("export", "export [--data DIR | --addr HOST:PORT] --segment NAME|EXPR [--fields f,...] [--format csv|ndjson] [--out FILE] [--asof T] [--page 1000]", stderr)
	st := addStoreFlags(fs)
	addr := fs.String("addr", "", "export from a running server (instead of --data)")
	pass := addSecretFlags(fs, "password", "password for --addr")
	segment := fs.String("segment", "", "a saved segment's name, or a segment expression (quoted as one argument)")
	fieldsFlag := fs.String("fields", "", "comma-separated fields: identifier types (email), trait:<name>, computed:<name>, consent:<purpose>, tags")
	format := fs.String("format", "csv", "csv or ndjson")
	out := fs.String("out", "-", "the file to write (- for standard output); written as FILE.tmp and renamed when complete")
	asof := fs.String("asof", "", "evaluate the segment at this time (RFC 3339 or Unix milliseconds; default now)")
	page := fs.Int("page", 1000, "profiles per SEGMENT EXPORT page (1 to 100000)")
	progress := fs.Bool("progress", true, "show progress on standard error")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return exitError{2, fmt.Sprintf("export takes no arguments, only flags (found %q): quote an expression as the one value of --segment", fs.Arg(0))}
	case strings.TrimSpace(*segment) == "":
		return exitError{2, "give --segment NAME (a saved segment) or --segment 'EXPR' (an expression such as 'DID purchase WITHIN 30d')"}
	case !containsString(exportFormats, *format):
		return exitError{2, fmt.Sprintf("unknown --format %q: use csv or ndjson", *format)}
	case *page < 1 || *page > 100000:
		return exitError{2, fmt.Sprintf("--page %d: give 1 to 100000", *page)}
	}
	segWords, err := query.SplitLine(*segment)
	if err != nil {
		return exitError{2, fmt.Sprintf("--segment: %v", err)}
	}
	e := &exporter{seg: segWords, fields: commaList(*fieldsFlag), asof: *asof, page: *page, format: *format}
	e.token, err = snapshotToken()
	if err != nil {
		return err
	}
	// The statement is checked here first, so that a mistake in a flag is
	// named as that flag rather than as a word of a statement the user
	// did not write.
	if err := e.check(); err != nil {
		return err
	}
	password, err := pass.value(stderr)
	if err != nil {
		return err
	}
	r, closeStore, err := exportSource(ctx, st, *addr, password, flagSet(args, "data"), stderr)
	if err != nil {
		return err
	}
	defer closeStore()

	w, finish, err := openExportOut(*out, stdout)
	if err != nil {
		return err
	}
	style := progressOff
	if *progress {
		style = progressAuto
	}
	start := time.Now()
	n, err := e.run(ctx, r, w, stderr, style)
	if err = finish(err); err != nil {
		return err
	}
	dest := *out
	if dest == "-" {
		dest = "standard output"
	}
	fmt.Fprintf(stderr, "exported %d profiles to %s (%s) in %.1f s\n", n, dest, *format, time.Since(start).Seconds())
	return nil
}

// exporter is one export's statement and output.
type exporter struct {
	seg    []string // the segment's name or expression, as words
	fields []string
	asof   string
	page   int
	format string
	token  string
}

// statement is the SEGMENT EXPORT of the page after profile after.
func (e *exporter) statement(after uint32) []string {
	words := append([]string{"SEGMENT", "EXPORT"}, e.seg...)
	if e.asof != "" {
		words = append(words, "ASOF", e.asof)
	}
	if len(e.fields) > 0 {
		words = append(append(words, "FIELDS"), e.fields...)
	}
	words = append(words, "LIMIT", strconv.Itoa(e.page))
	if after > 0 {
		words = append(words, "AFTER", strconv.FormatUint(uint64(after), 10))
	}
	return append(words, "SNAPSHOT", e.token)
}

// check parses the statement, and names the flag a syntax error is in:
// the segment is parsed alone first, so that its errors speak of its own
// words.
func (e *exporter) check() error {
	var qe *query.Error
	if _, err := query.Parse(append([]string{"SEGMENT", "EXPORT"}, e.seg...)); errors.As(err, &qe) {
		if p := qe.Pos - 2; len(e.seg) > 1 && p >= 1 && p <= len(e.seg) {
			return exitError{2, fmt.Sprintf("--segment, word %d: %s", p, qe.Msg)}
		}
		return exitError{2, fmt.Sprintf("--segment: %s", qe.Msg)}
	}
	_, err := query.Parse(e.statement(0))
	if err == nil || !errors.As(err, &qe) {
		return err
	}
	asof0 := 3 + len(e.seg) // words: SEGMENT EXPORT <seg...> [ASOF t] [FIELDS f...] LIMIT n SNAPSHOT tok
	fields0 := asof0
	if e.asof != "" {
		fields0 += 2
	}
	switch p := qe.Pos; {
	case e.asof != "" && p >= asof0 && p < fields0:
		return exitError{2, fmt.Sprintf("--asof: %s", qe.Msg)}
	case len(e.fields) > 0 && p > fields0 && p <= fields0+len(e.fields):
		return exitError{2, fmt.Sprintf("--fields: %s", qe.Msg)}
	}
	return exitError{2, err.Error()}
}

// run writes every page and returns the number of profiles written.
func (e *exporter) run(ctx context.Context, r statementRunner, w io.Writer, stderr io.Writer, style progressStyle) (int64, error) {
	bw := bufio.NewWriterSize(w, 64<<10)
	var cw *csv.Writer
	if e.format == "csv" {
		cw = csv.NewWriter(bw)
		if err := cw.Write(append([]string{"profile"}, e.fields...)); err != nil {
			return 0, err
		}
	}
	var prog *exportProgress
	var n int64
	var after uint32
	for {
		if err := ctx.Err(); err != nil {
			return n, fmt.Errorf("interrupted after %d profiles; nothing was written", n)
		}
		v, err := r(ctx, e.statement(after))
		if err == nil && v.Kind == query.KindError {
			err = errors.New(v.Str)
		}
		if err != nil {
			return n, exitError{exportCode(err), err.Error()}
		}
		if prog == nil { // after the first page: the statement is good
			prog = newExportProgress(stderr, style, e.total(ctx, r))
			defer prog.finish()
		}
		for _, m := range v.Arr {
			id, ok := m.Get("profile")
			if !ok || id.Kind != query.KindInt {
				return n, fmt.Errorf("SEGMENT EXPORT returned %s, not a profile", m)
			}
			after = uint32(id.Int)
			if cw != nil {
				err = cw.Write(csvRow(m))
			} else {
				err = writeOrderedJSON(bw, m)
				if err == nil {
					err = bw.WriteByte('\n')
				}
			}
			if err != nil {
				return n, err
			}
			n++
		}
		prog.update(n)
		if len(v.Arr) < e.page {
			break
		}
	}
	if cw != nil {
		cw.Flush()
		if err := cw.Error(); err != nil {
			return n, err
		}
	}
	return n, bw.Flush()
}

// total counts the members for the progress bar (-1: unknown). The count
// is of its own moment, so it may differ from the export by the writes in
// between: it only sizes the bar.
func (e *exporter) total(ctx context.Context, r statementRunner) int64 {
	words := append([]string{"SEGMENT", "COUNT"}, e.seg...)
	if len(e.seg) == 1 {
		words = []string{"SEGMENT", "COUNT", "IN", e.seg[0]}
	}
	if e.asof != "" {
		words = append(words, "ASOF", e.asof)
	}
	v, err := r(ctx, words)
	if err != nil || v.Kind != query.KindInt {
		return -1
	}
	return v.Int
}

// statementRunner runs one statement in a store or on a server; both give
// the Value the executor returns, so both write the same file.
type statementRunner func(ctx context.Context, words []string) (query.Value, error)

// exportSource opens --data or dials --addr.
func exportSource(ctx context.Context, st storeFlags, addr, password string, dataSet bool, stderr io.Writer) (statementRunner, func() error, error) {
	if addr != "" {
		if dataSet {
			return nil, nil, exitError{2, "give --data or --addr, not both"}
		}
		c, err := dialServer(ctx, addr, password)
		if err != nil {
			return nil, nil, err
		}
		return func(ctx context.Context, words []string) (query.Value, error) {
			rep, err := c.DoReply(ctx, words...)
			if err != nil {
				return query.Value{}, err
			}
			return fromReply(rep), nil
		}, c.Close, nil
	}
	if err := requireStore(*st.data); err != nil {
		return nil, nil, err
	}
	db, err := st.open(nil, stderr)
	if err != nil {
		return nil, nil, err
	}
	x := query.NewExecutor(db)
	return func(ctx context.Context, words []string) (query.Value, error) {
		return x.Exec(ctx, nil, words)
	}, db.Close, nil
}

// exportCode is the exit status of a statement's error: 2 for what the
// user wrote wrong, 1 for the rest (no such segment, a lost snapshot).
func exportCode(err error) int {
	s := err.Error()
	if strings.HasPrefix(s, "ERR SYNTAX") || strings.HasPrefix(s, "ERR BADID") {
		return 2
	}
	return 1
}

// csvRow is one member: lists joined with ";", nil empty.
func csvRow(m query.Value) []string {
	row := make([]string, len(m.Map))
	for i, p := range m.Map {
		row[i] = csvValue(p.Val)
	}
	return row
}

func csvValue(v query.Value) string {
	switch v.Kind {
	case query.KindNil:
		return ""
	case query.KindInt:
		return strconv.FormatInt(v.Int, 10)
	case query.KindBool:
		return strconv.FormatBool(v.Int != 0)
	case query.KindDouble:
		return strconv.FormatFloat(v.Float, 'f', -1, 64)
	case query.KindArray:
		parts := make([]string, len(v.Arr))
		for i, e := range v.Arr {
			parts[i] = csvValue(e)
		}
		return strings.Join(parts, ";")
	case query.KindMap:
		b, _ := json.Marshal(v.JSON())
		return string(b)
	}
	return v.Str
}

// writeOrderedJSON writes a value as JSON, keeping a map's keys in the
// reply's order (profile first, then the fields as asked).
func writeOrderedJSON(w *bufio.Writer, v query.Value) error {
	switch v.Kind {
	case query.KindMap:
		w.WriteByte('{')
		for i, p := range v.Map {
			if i > 0 {
				w.WriteByte(',')
			}
			k, _ := json.Marshal(p.Key)
			w.Write(k)
			w.WriteByte(':')
			if err := writeOrderedJSON(w, p.Val); err != nil {
				return err
			}
		}
		return w.WriteByte('}')
	case query.KindArray:
		w.WriteByte('[')
		for i, e := range v.Arr {
			if i > 0 {
				w.WriteByte(',')
			}
			if err := writeOrderedJSON(w, e); err != nil {
				return err
			}
		}
		return w.WriteByte(']')
	}
	b, err := json.Marshal(v.JSON())
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// openExportOut opens the output: standard output for "-", else path.tmp.
// finish(err) completes it: on success path.tmp is synced and renamed to
// path; on failure it is removed, so that nothing partial is left.
func openExportOut(path string, stdout io.Writer) (io.Writer, func(error) error, error) {
	if path == "-" {
		return stdout, func(err error) error { return err }, nil
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600) // members' identifiers are personal data
	if err != nil {
		return nil, nil, exitError{1, fmt.Sprintf("--out: %v", err)}
	}
	finish := func(err error) error {
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(tmp, path)
		}
		if err != nil {
			os.Remove(tmp)
		}
		return err
	}
	return f, finish, nil
}

// snapshotToken names this export's moment on the server.
func snapshotToken() (string, error) {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return "export-" + hex.EncodeToString(b), nil
}

// --- progress ---

type progressStyle int

const (
	progressAuto progressStyle = iota // a bar on a terminal, else a line every 10 s
	progressOff
)

// exportProgress reports profiles written: a bar on a terminal, a line
// every 10 seconds otherwise. Only the exporting goroutine uses it.
type exportProgress struct {
	out   io.Writer
	total int64
	bar   *progressbar.ProgressBar
	off   bool
	start time.Time
	last  time.Time
}

func newExportProgress(out io.Writer, style progressStyle, total int64) *exportProgress {
	p := &exportProgress{out: out, total: total, off: style == progressOff, start: time.Now()}
	p.last = p.start
	if f, ok := out.(*os.File); !p.off && ok && term.IsTerminal(int(f.Fd())) {
		p.bar = progressbar.NewOptions64(max(total, -1),
			progressbar.OptionSetWriter(out),
			progressbar.OptionSetDescription("exporting"),
			progressbar.OptionShowCount(),
			progressbar.OptionSetItsString("profiles"),
			progressbar.OptionShowIts(),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(out) }),
		)
	}
	return p
}

func (p *exportProgress) update(n int64) {
	switch {
	case p.off:
	case p.bar != nil:
		p.bar.Set64(n)
	case time.Since(p.last) >= 10*time.Second:
		p.last = time.Now()
		of := ""
		if p.total > 0 {
			of = fmt.Sprintf(" of about %d (%d%%)", p.total, min(100, n*100/p.total))
		}
		fmt.Fprintf(p.out, "exporting: %d profiles%s, %.0f profiles/s\n", n, of, float64(n)/time.Since(p.start).Seconds())
	}
}

func (p *exportProgress) finish() {
	if p.bar != nil {
		p.bar.Finish()
	}
}
