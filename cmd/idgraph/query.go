package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/idgraph/idgraph/engine"
	"github.com/idgraph/idgraph/query"
	"github.com/peterh/liner"
	"github.com/redis/go-redis/v9"
)

// runner runs statements embedded or against a server.
type runner interface {
	run(ctx context.Context, words []string) (any, error) // query.Value or a RESP value
	close() error
}

type embedded struct {
	exec *query.Executor
	db   *engine.DB
}

func (e *embedded) run(ctx context.Context, words []string) (any, error) {
	return e.exec.Exec(ctx, nil, words)
}

func (e *embedded) close() error { return e.db.Close() }

type remote struct{ c *redis.Client }

func (r *remote) run(ctx context.Context, words []string) (any, error) {
	args := make([]any, len(words))
	for i, w := range words {
		args[i] = w
	}
	v, err := r.c.Do(ctx, args...).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	return v, err
}

func (r *remote) close() error { return r.c.Close() }

// connect opens --data or dials --addr.
func connect(ctx context.Context, st storeFlags, addr, password string, dataSet bool) (runner, error) {
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
	db, err := st.open(nil)
	if err != nil {
		return nil, err
	}
	return &embedded{exec: query.NewExecutor(db), db: db}, nil
}

// dialServer connects to an idgraph server (RESP2) and checks it answers.
func dialServer(ctx context.Context, addr, password string) (*redis.Client, error) {
	c := redis.NewClient(&redis.Options{Addr: addr, Password: password, Protocol: 2, DisableIdentity: true})
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		return nil, fmt.Errorf("connect %s: %w", addr, err)
	}
	return c, nil
}

func flagSet(args []string, name string) bool {
	for _, a := range args {
		if a == "-"+name || a == "--"+name || strings.HasPrefix(a, "-"+name+"=") || strings.HasPrefix(a, "--"+name+"=") {
			return true
		}
	}
	return false
}

func cmdQuery(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("query", "query [--data DIR | --addr HOST:PORT] [STATEMENT]", stderr)
	st := addStoreFlags(fs)
	addr := fs.String("addr", "", "server address (instead of --data)")
	pass := fs.String("password", "", "password for --addr")
	asJSON := fs.Bool("json", false, "print replies as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	r, err := connect(ctx, st, *addr, *pass, flagSet(args, "data"))
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
		v, err := r.run(ctx, words)
		if err != nil {
			return exitError{1, err.Error()}
		}
		printReply(stdout, v, *asJSON)
		return nil
	}
	return shell(ctx, r, stdout, stderr, *asJSON)
}

func shell(ctx context.Context, r runner, stdout, stderr io.Writer, asJSON bool) error {
	ln := liner.NewLiner()
	defer ln.Close()
	ln.SetCtrlCAborts(true)
	hist := ""
	if home, err := os.UserHomeDir(); err == nil {
		hist = filepath.Join(home, ".idgraph_history")
		if f, err := os.Open(hist); err == nil {
			ln.ReadHistory(f)
			f.Close()
		}
	}
	fmt.Fprintln(stdout, `idgraph shell — statements end at the line's end; "help" lists them, "quit" leaves.`)
	for {
		line, err := ln.Prompt("idgraph> ")
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
		ln.AppendHistory(line)
		switch strings.ToLower(line) {
		case "quit", "exit":
			goto done
		case "help":
			fmt.Fprint(stdout, shellHelp)
			continue
		}
		words, err := query.SplitLine(line)
		if err != nil {
			fmt.Fprintln(stdout, "(error)", err)
			continue
		}
		v, err := r.run(ctx, words)
		if err != nil {
			fmt.Fprintln(stdout, "(error)", err)
			continue
		}
		printReply(stdout, v, asJSON)
	}
done:
	if hist != "" {
		if f, err := os.Create(hist); err == nil {
			ln.WriteHistory(f)
			f.Close()
		}
	}
	return nil
}

const shellHelp = `  TRACK <event> <id>... [AT <time>] [FROM <source>] [PROPS '<json>']
  MERGE <id> <id>... [FROM <source>]        SET <id> name=value... [AT <time>]
  CONSENT <id> <purpose> GRANT|DENY          WHO <id>     WHY <id> <id>
  TIMELINE <id> [LIMIT n] [BEFORE <time>]    UNLINK <id> <id>    FORGET <id> [SUPPRESS]
  SEGMENT COUNT|IDS <expr> [ASOF <time>] [LIMIT n] [AFTER id]
  SEGMENT SAVE <name> <expr> | DROP <name> | LIST      TYPES    INFO    PING
  HUBS [MIN n] [LIMIT n]     BACKUP
`

func printReply(w io.Writer, v any, asJSON bool) {
	if asJSON {
		b, _ := json.Marshal(toJSON(v))
		fmt.Fprintln(w, string(b))
		return
	}
	switch v := v.(type) {
	case query.Value:
		fmt.Fprintln(w, v.String())
	default:
		fmt.Fprintln(w, query.FromRESP(v).String())
	}
}

func toJSON(v any) any {
	switch v := v.(type) {
	case query.Value:
		return v.JSON()
	default:
		return query.FromRESP(v).JSON()
	}
}
