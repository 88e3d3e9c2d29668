package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/idgraph/idgraph/bench"
	"github.com/idgraph/idgraph/engine"
	"github.com/idgraph/idgraph/query"
)

// demoStatements are run after the demo's load, to show the language.
var demoStatements = []string{
	"SEGMENT SAVE carts DID add_to_cart WITHIN 7d AND NOT DID purchase WITHIN 7d AND HAS email AND CONSENT email",
	"COMPUTE ltv AS SUM amount OF purchase",
	"SEGMENT COUNT IN carts",
	"SEGMENT COUNT DID purchase WHERE category = phones WITHIN 90d",
	"SEGMENT EXPORT carts FIELDS email trait:tier computed:ltv LIMIT 3",
}

// cmdDemo generates a small synthetic shop (the benchmark's population),
// loads it into a new data directory and runs a few statements on it.
func cmdDemo(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("demo", "demo [--data DIR] [--people N]", stderr)
	data := fs.String("data", "./idgraph-demo", "the new data directory to create")
	people := fs.Int("people", 2000, "people in the synthetic population (100 to 100000)")
	seed := fs.Uint64("seed", 1, "the population's random seed")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *people < 100 || *people > 100000 {
		return exitError{2, fmt.Sprintf("--people %d: give 100 to 100000", *people)}
	}
	if entries, err := os.ReadDir(*data); err == nil && len(entries) > 0 {
		return exitError{2, fmt.Sprintf("%s is not empty: the demo loads into a new directory (give --data)", *data)}
	}
	tmp, err := os.MkdirTemp("", "idgraph-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	path := filepath.Join(tmp, "population.ndjson")
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	_, _, err = bench.Generate(bench.Config{People: *people, Seed: *seed, Days: 90, Start: start}, f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	opts := engine.DefaultOptions(*data)
	opts.Watch = query.Watcher{}
	if err := privateDataDir(*data, stderr); err != nil {
		return err
	}
	db, err := engine.Open(opts)
	if err != nil {
		return err
	}
	defer db.Close()
	st, err := ingestFile(ctx, path, &engineSink{db: db}, 0, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Loaded a synthetic shop of %d people into %s: %d lines, %d events, %d identifiers in %d profiles (%.1f s).\n\n",
		*people, *data, st.records, st.events, db.Stats().Nodes, db.Index().Stats().Profiles, st.elapsed.Seconds())
	// The population ends on its last generated day: segments are asked
	// as of then.
	last := start.AddDate(0, 0, 90)
	x := query.NewExecutor(db)
	x.SetClock(func() time.Time { return last })
	run := func(line string) query.Value {
		fmt.Fprintf(stdout, "> %s\n", line)
		v, err := x.ExecLine(ctx, nil, line)
		if err != nil {
			fmt.Fprintf(stdout, "(error) %v\n\n", err)
			return query.Value{}
		}
		fmt.Fprintf(stdout, "%s\n\n", v)
		return v
	}
	for _, line := range demoStatements {
		run(line)
	}
	if v := run("SEGMENT IDS DID purchase >= 2 TIMES LIMIT 1"); len(v.Arr) > 0 {
		id := fmt.Sprintf("profile:%d", v.Arr[0].Int)
		run("WHO " + id)
		run("TIMELINE " + id + " LIMIT 3")
	}
	fmt.Fprintf(stdout, "Explore it:  idgraph query --data %s\nServe it:    idgraph serve --data %s\n", *data, *data)
	return nil
}
