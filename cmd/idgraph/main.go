// Command idgraph is the identity-graph database: the server, a shell, bulk
// load, the benchmark suite, the invariant checker and backups, in one
// binary. Run "idgraph help" for the commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `idgraph — an embedded identity-graph database

Usage:
  idgraph serve   [--listen 127.0.0.1:7380] [--data ./idgraph-data] [flags]   run the server (RESP, and HTTP on 127.0.0.1:7381)
  idgraph serve   --node n1 --cluster n1=HOST:PORT,n2=...,n3=... [flags]       run one node of a cluster
  idgraph cluster status --addr HOST:PORT                                       every member's role and applied index
  idgraph query   [--data DIR | --addr HOST:PORT] [STATEMENT]                  run one statement, or a shell
  idgraph query   --purge-history                                               delete the shell's history
  idgraph load    [--data DIR | --addr HOST:PORT] FILE...                      bulk-load NDJSON, Segment or CSV
  idgraph check   --data DIR                                                    verify the store's invariants
  idgraph backup  --data DIR | --addr HOST:PORT  --out FILE                     write a backup
  idgraph restore --data DIR FILE                                               restore into an empty directory
  idgraph rotate-key --data DIR --encryption-key-file OLD --new-key-file NEW   re-key an encrypted store
  idgraph bench   [flags]                                                       the benchmark suite
  idgraph demo    [--data ./idgraph-demo] [--people 2000]                       load a synthetic shop and query it
  idgraph export  [--data DIR | --addr HOST:PORT] --segment S --fields F       write a segment's members as CSV or NDJSON

Run "idgraph COMMAND --help" for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run executes one command line and returns the exit status.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmds := map[string]func(context.Context, []string, io.Reader, io.Writer, io.Writer) error{
		"serve": cmdServe, "query": cmdQuery, "load": cmdLoad, "check": cmdCheck,
		"backup": cmdBackup, "restore": cmdRestore, "bench": cmdBench, "rotate-key": cmdRotateKey, "demo": cmdDemo,
		"cluster": cmdCluster,
	}
	cmds["export"] = cmdExport // activation (export.go)
	switch args[0] {
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	f, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "idgraph: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	err := f(ctx, args[1:], stdin, stdout, stderr)
	var ex exitError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ex):
		if ex.msg != "" {
			fmt.Fprintln(stderr, "idgraph "+args[0]+": "+ex.msg)
		}
		return ex.code
	default:
		fmt.Fprintf(stderr, "idgraph %s: %v\n", args[0], err)
		return 1
	}
}

// exitError carries a specific exit status.
type exitError struct {
	code int
	msg  string
}

func (e exitError) Error() string { return e.msg }

func newFlags(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: idgraph %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return exitError{code: 2}
	}
	return nil
}
