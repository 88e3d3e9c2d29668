package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/idgraph/idgraph/client"
	"github.com/idgraph/idgraph/engine"
	"github.com/idgraph/idgraph/query"
	"github.com/peterh/liner"
	"golang.org/x/term"
)

// runner runs statements in an embedded store or against a server; either
// way the reply is a query.Value, so both print the same.
type runner interface {
	// run runs one statement; warnings are what the reply came with.
	run(ctx context.Context, words []string) (v query.Value, warnings []string, err error)
	close() error
}

type embedded struct {
	exec *query.Executor
	db   *engine.DB
}

func (e *embedded) run(ctx context.Context, words []string) (query.Value, []string, error) {
	s := &query.Session{}
	v, err := e.exec.Exec(ctx, s, words)
	return v, s.Warnings, err
}

func (e *embedded) close() error { return e.db.Close() }

// remote speaks RESP3 through our own client, so maps, booleans and
// doubles arrive as such and print as they do embedded.
type remote struct{ c *client.Client }

func (r *remote) run(ctx context.Context, words []string) (query.Value, []string, error) {
	rep, err := r.c.DoReply(ctx, words...)
	if err != nil {
		return query.Value{}, nil, err
	}
	return fromReply(rep), rep.Warnings(), nil
}

func (r *remote) close() error { return r.c.Close() }

// fromReply turns a RESP3 reply into the Value the executor would have
// returned for it.
func fromReply(r client.Reply) query.Value {
	switch r.Type {
	case client.ReplyNil:
		return query.Nil()
	case client.ReplyStatus:
		return query.Status(r.Str)
	case client.ReplyError:
		return query.Value{Kind: query.KindError, Str: r.Str}
	case client.ReplyInt:
		return query.Int(r.Int)
	case client.ReplyBool:
		return query.Bool(r.Int != 0)
	case client.ReplyDouble:
		return query.Double(r.Float)
	case client.ReplyArray, client.ReplySet:
		out := make([]query.Value, len(r.Elems))
		for i, e := range r.Elems {
			out[i] = fromReply(e)
		}
		return query.Array(out...)
	case client.ReplyMap:
		out := make([]query.Pair, 0, len(r.Elems)/2)
		for i := 0; i+1 < len(r.Elems); i += 2 {
			k := r.Elems[i]
			key := k.Str
			if k.Type != client.ReplyString && k.Type != client.ReplyStatus && k.Type != client.ReplyVerbatim {
				key = k.String()
			}
			out = append(out, query.Pair{Key: key, Val: fromReply(r.Elems[i+1])})
		}
		return query.Map(out...)
	}
	return query.String(r.Str) // strings, verbatim strings, big numbers
}

// connect opens --data or dials --addr.
func connect(ctx context.Context, st storeFlags, addr, password string, dataSet bool, stderr io.Writer) (runner, error) {
	if addr != "" && dataSet {
		return nil, exitError{2, "give --data or --addr, not both"}
	}
	if addr != "" {
		c, err := dialServer(ctx, addr, password)
		if err != nil {
			return nil, err
		}
		return &remote{c}, nil
	}
	db, err := st.open(nil, stderr)
	if err != nil {
		return nil, err
	}
	return &embedded{exec: query.NewExecutor(db), db: db}, nil
}

// dialServer connects to an idgraph server in RESP3 and checks that it
// answers and that the password, if any, is accepted.
func dialServer(ctx context.Context, addr, password string) (*client.Client, error) {
	c, err := client.Dial(ctx, client.Options{Addr: addr, Password: password, Protocol: 3, PoolSize: 4})
	if err != nil {
		switch {
		case errors.Is(err, client.ErrNoAuth) && password == "":
			return nil, exitError{1, fmt.Sprintf("%s requires a password: give --password-file FILE (or --password)", addr)}
		case errors.Is(err, client.ErrNoAuth):
			return nil, exitError{1, fmt.Sprintf("connect %s: the password was refused (%v)", addr, err)}
		}
		return nil, fmt.Errorf("connect %s: %w", addr, err)
	}
	return c, nil
}

// checkAuth runs a read statement, so that a server that wants a password
// says so now rather than on every statement that follows.
func checkAuth(ctx context.Context, c *client.Client, addr string) error {
	_, err := c.Do(ctx, "TYPES")
	if errors.Is(err, client.ErrNoAuth) {
		return exitError{1, fmt.Sprintf("%s requires a password: give --password-file FILE (or --password)", addr)}
	}
	if err != nil {
		return fmt.Errorf("%s: %w", addr, err)
	}
	return nil
}

func flagSet(args []string, name string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		if a == "-"+name || a == "--"+name || strings.HasPrefix(a, "-"+name+"=") || strings.HasPrefix(a, "--"+name+"=") {
			return true
		}
	}
	return false
}

func cmdQuery(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("query", "query [--data DIR | --addr HOST:PORT] [--json] [STATEMENT] | --purge-history", stderr)
	st := addStoreFlags(fs)
	addr := fs.String("addr", "", "server address (instead of --data)")
	pass := addSecretFlags(fs, "password", "password for --addr")
	asJSON := fs.Bool("json", false, "print replies as JSON")
	purge := fs.Bool("purge-history", false, "delete the shell's history file and exit")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *purge {
		return purgeHistoryFile(stdout)
	}
	password, err := pass.value(stderr)
	if err != nil {
		return err
	}
	r, err := connect(ctx, st, *addr, password, flagSet(args, "data"), stderr)
	if err != nil {
		return err
	}
	defer r.close()
	if fs.NArg() > 0 {
		words := fs.Args()
		if len(words) == 1 {
			// One quoted argument holds the whole statement.
			if words, err = query.SplitLine(words[0]); err != nil {
				return err
			}
		}
		forgotten := forgetTargets(ctx, r, words)
		v, warnings, err := r.run(ctx, words)
		if err != nil {
			return exitError{1, err.Error()}
		}
		if forgotten != nil {
			scrubHistoryFile(forgotten, stderr)
		}
		printWarnings(stderr, warnings)
		printReply(stdout, words, v, *asJSON)
		return nil
	}
	return shell(ctx, r, stdin, stdout, stderr, *asJSON)
}

// lineEditor is what the shell needs of liner; plainLines stands in for it
// when standard input is not a terminal.
type lineEditor interface {
	Prompt(prompt string) (string, error)
	AppendHistory(item string)
	ReadHistory(r io.Reader) (int, error)
	WriteHistory(w io.Writer) (int, error)
	ClearHistory()
	Close() error
}

// newLineEditor uses liner on a terminal, and reads plain lines otherwise
// (a pipe, a file, a test).
func newLineEditor(stdin io.Reader) lineEditor {
	if f, ok := stdin.(*os.File); ok && f == os.Stdin && term.IsTerminal(int(f.Fd())) {
		ln := liner.NewLiner()
		ln.SetCtrlCAborts(true)
		return ln
	}
	return newPlainLines(stdin)
}

func shell(ctx context.Context, r runner, stdin io.Reader, stdout, stderr io.Writer, asJSON bool) error {
	ed := newLineEditor(stdin)
	defer ed.Close()
	hist := openHistory(ed, stderr)
	fmt.Fprintln(stdout, `idgraph shell — statements end at the line's end; "help" lists them, "quit" leaves.`)
	for {
		line, err := ed.Prompt("idgraph> ")
		if errors.Is(err, liner.ErrPromptAborted) {
			continue
		}
		if err != nil { // EOF
			break
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if topic, ok := strings.CutPrefix(strings.ToLower(line), "help"); ok && (topic == "" || topic[0] == ' ') {
			ed.AppendHistory(line)
			fmt.Fprint(stdout, shellHelp(topic))
			continue
		}
		switch strings.ToLower(line) {
		case "quit", "exit":
			hist.save()
			return nil
		case "purge-history":
			hist.purge(stdout)
			continue
		}
		ed.AppendHistory(line)
		words, err := query.SplitLine(line)
		if err != nil {
			fmt.Fprintln(stdout, "(error)", err)
			continue
		}
		forgotten := forgetTargets(ctx, r, words)
		v, warnings, err := r.run(ctx, words)
		if err != nil {
			fmt.Fprintln(stdout, "(error)", err)
			continue
		}
		if forgotten != nil {
			hist.forget(forgotten)
		}
		printWarnings(stdout, warnings)
		printReply(stdout, words, v, asJSON)
	}
	hist.save()
	return nil
}

// shellHelp lists the statements (from the language's command table), the
// grammar of expressions, and the shell's own commands.
func shellHelp(topic string) string {
	var b strings.Builder
	topic = strings.ToUpper(strings.TrimSpace(topic))
	for _, c := range query.Commands() {
		if topic != "" && !strings.HasPrefix(c.Name, topic) {
			continue
		}
		fmt.Fprintf(&b, "  %s\n      %s\n", c.Syntax, c.Help)
	}
	if topic == "" || strings.HasPrefix("SEGMENT", topic) || strings.HasPrefix("GRAMMAR", topic) {
		b.WriteString("\n" + query.Grammar)
	}
	if topic == "" {
		b.WriteString("\nShell: help [<command>] · purge-history (forget every line of the history and its file) · quit\n")
	}
	if b.Len() == 0 {
		return fmt.Sprintf("no statement starts with %q; help lists them all\n", topic)
	}
	return b.String()
}

// printWarnings prints what a reply came with, one "(warning)" line each.
func printWarnings(w io.Writer, warnings []string) {
	for _, s := range warnings {
		fmt.Fprintln(w, "(warning)", s)
	}
}

// printReply prints a reply for people, or as JSON. INFO's text prints as
// text, one field a line.
func printReply(w io.Writer, words []string, v query.Value, asJSON bool) {
	if asJSON {
		b, _ := json.Marshal(v.JSON())
		fmt.Fprintln(w, string(b))
		return
	}
	if len(words) > 0 && strings.EqualFold(words[0], "INFO") && v.Kind == query.KindString {
		fmt.Fprintln(w, strings.TrimRight(strings.ReplaceAll(v.Str, "\r\n", "\n"), "\n"))
		return
	}
	fmt.Fprintln(w, v.String())
}
