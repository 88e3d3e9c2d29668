package main

// idgraph bench: the evidence behind every performance claim. It generates
// a population with ground truth (package bench), drives idgraph through the
// public surface a user has — engine.DB embedded, the query executor, the
// RESP server over loopback — measures the baselines in the same run, scores
// the resolved profiles against the truth, and writes report.json,
// report.md and charts.
//
// The run, in order (one data directory for everything but the TCP ingest):
//
//  1. generate the population (NDJSON) and its truth into a temporary
//     directory, and let go of both in memory;
//  2. ingest embedded: the file through engine.DB.Apply in chunks of 1000
//     records, as `idgraph load` does, parsing on another goroutine; close,
//     measure the directory, reopen;
//  3. load the WHO set: profiles email:u<12 digits>@bench.io (the names
//     redis-benchmark's __rand_int__ makes), user:b…, cookie:b…;
//  4. WHO embedded (2 goroutines) and over TCP (redis-benchmark -P 1 and
//     -P 16 against the server on 127.0.0.1), then Redis GET on the same
//     settings, then through the HTTP API (GET /v1/profiles/{id}, 8
//     clients; bench_http.go);
//  5. MERGE-heavy: logins linking anonymous browsing cookies to users, call
//     by call from 4 goroutines and in batches;
//  6. computed traits: the WHO statement, the backfill of the five
//     definitions of bench.Computed, the WHO statement again
//     (bench_computed.go); SEGMENT: bench.Segments ASOF the last generated
//     record, repeated;
//  7. mixed: 90% WHO / 10% TRACK from 4 goroutines;
//  8. ingest over TCP into a fresh directory, then over HTTP (the whole
//     population as Segment calls in /v1/batch requests from 8 clients)
//     into another, then embedded into a store with the five computed
//     traits defined, then with three saved segments watched for the
//     change feed, its CHANGES read and a webhook's lag
//     (bench_activation.go);
//  9. baselines: raw Badger with as many keys as idgraph has identifiers,
//     PostgreSQL (load, stitching, the abandoned-cart SQL);
// 10. accuracy of idgraph's profiles, naive components and the SQL
//     stitching against the truth; the goals; the report.
//
// Each timed loop is bounded by a count and a time limit. Peak RSS is reset
// before each of idgraph's workloads, so each reports its own.

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/idgraph/idgraph/bench"
	"github.com/idgraph/idgraph/client"
	"github.com/idgraph/idgraph/engine"
	"github.com/idgraph/idgraph/load"
	"github.com/idgraph/idgraph/query"
	"github.com/idgraph/idgraph/server"
)

func cmdBench(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	return runBench(ctx, args, stdout, stderr)
}

// benchConfig is the size of one run.
type benchConfig struct {
	people    int
	seed      uint64
	out       string
	quick     bool
	skipPG    bool
	skipRedis bool

	whoKeys      int           // profiles of the WHO set (redis-benchmark -r)
	requests     int           // redis-benchmark -n
	clients      int           // redis-benchmark -c
	pipeline     int           // -P of the pipelined run
	whoCalls     int           // embedded WHO calls per goroutine
	logins       int           // MERGE-heavy logins, per variant
	segmentRuns  int           // timed runs of each segment
	sqlRuns      int           // timed runs of the abandoned-cart SQL
	mixedOps     int           // mixed operations per goroutine
	tcpIngestMax int           // records ingested over TCP at most (0: all)
	ingestMax    int           // records of the other ingests (HTTP, computed traits, watched segments) at most (0: all)
	sampleSize   int           // known identifiers WHO picks from
	limit        time.Duration // each timed loop stops after this long
}

const (
	whoGoroutines   = 2
	mergeGoroutines = 4
	mixedGoroutines = 4
)

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench", "bench [--people 100000] [--seed 1] [--out bench-results] [--quick] [--skip-postgres] [--skip-redis] [--scale 1m] | --cluster 3 [--quick] | --scaling DIR,DIR,... [--out DIR]", stderr)
	people := fs.Int("people", 100_000, "people in the generated population")
	seed := fs.Uint64("seed", 1, "population seed")
	out := fs.String("out", "bench-results", "directory for report.json, report.md and the charts")
	quick := fs.Bool("quick", false, "a tiny run (2,000 people, short loops) for CI: seconds")
	skipPG := fs.Bool("skip-postgres", false, "skip the PostgreSQL baseline")
	skipRedis := fs.Bool("skip-redis", false, "skip the Redis GET baseline")
	scale := fs.String("scale", "", "people, with an optional k or m suffix (100k, 1m); overrides --people")
	requests := fs.Int("requests", 0, "redis-benchmark -n for WHO over TCP and Redis GET (default 200000; 10000 with --quick)")
	scaling := fs.String("scaling", "", "instead of the suite: lay the reports of earlier runs (their --out directories, comma-separated) side by side in --out as scaling.md, scaling.json and a chart")
	clusterSize := fs.Int("cluster", 0, "instead of the suite: a cluster of this many nodes on this machine against one node (writes, WHO, leader change); report in --out as cluster.md")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return exitError{2, "bench takes no arguments, only flags"}
	}
	if *scaling != "" {
		return writeScaling(strings.Split(*scaling, ","), *out, stdout)
	}
	cfg := benchConfig{people: *people, seed: *seed, out: *out, quick: *quick, skipPG: *skipPG, skipRedis: *skipRedis}
	if *quick && !flagSet(args, "people") {
		cfg.people = 2000
	}
	if *scale != "" {
		n, err := parseScale(*scale)
		if err != nil {
			return exitError{2, err.Error()}
		}
		cfg.people = n
	}
	if cfg.people < 100 || cfg.people > 50_000_000 {
		return exitError{2, fmt.Sprintf("--people %d: give 100 to 50,000,000", cfg.people)}
	}
	cfg.sizes()
	if *requests > 0 {
		cfg.requests = *requests
	}
	if *clusterSize != 0 {
		return runClusterBench(ctx, *clusterSize, cfg, stdout, stderr)
	}
	b := &benchRun{cfg: cfg, log: stderr}
	return b.run(ctx, stdout)
}

// writeScaling reads DIR/report.json of each directory and writes their
// scaling table and chart into out.
func writeScaling(dirs []string, out string, stdout io.Writer) error {
	var reports []*bench.Report
	for _, d := range dirs {
		f, err := os.Open(filepath.Join(strings.TrimSpace(d), "report.json"))
		if err != nil {
			return exitError{1, err.Error()}
		}
		r, err := bench.ReadReport(f)
		f.Close()
		if err != nil {
			return exitError{1, fmt.Sprintf("%s: %v", d, err)}
		}
		reports = append(reports, r)
	}
	s, err := bench.NewScaling(reports)
	if err != nil {
		return exitError{2, err.Error()}
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	if _, err := s.WriteChart(out); err != nil {
		return err
	}
	var md strings.Builder
	if err := s.WriteMarkdown(&md, "scaling.svg"); err != nil {
		return err
	}
	js, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "scaling.md"), []byte(md.String()), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "scaling.json"), append(js, '\n'), 0o644); err != nil {
		return err
	}
	_, err = io.WriteString(stdout, md.String())
	return err
}

// parseScale reads 2000, 100k, 1m, 1.5m.
func parseScale(s string) (int, error) {
	mult := 1.0
	t := strings.ToLower(strings.TrimSpace(s))
	switch {
	case strings.HasSuffix(t, "k"):
		mult, t = 1e3, t[:len(t)-1]
	case strings.HasSuffix(t, "m"):
		mult, t = 1e6, t[:len(t)-1]
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || f <= 0 {
		return 0, fmt.Errorf("--scale %q: want a number of people such as 100k or 1m", s)
	}
	return int(f * mult), nil
}

// sizes derives the loop sizes from the scale.
func (c *benchConfig) sizes() {
	c.whoKeys = min(c.people, 1_000_000)
	c.clients, c.pipeline = 50, 16
	if c.quick {
		c.requests, c.whoCalls, c.logins, c.segmentRuns, c.sqlRuns, c.mixedOps = 10_000, 2000, min(c.whoKeys/2, 500), 5, 5, 1000
		c.sampleSize, c.limit = 10_000, 5*time.Second
		return
	}
	c.requests, c.whoCalls, c.logins, c.segmentRuns, c.sqlRuns, c.mixedOps = 200_000, 100_000, min(c.whoKeys/2, 50_000), 201, 51, 25_000
	c.sampleSize, c.limit = 100_000, 60*time.Second
	c.tcpIngestMax = 500_000
	// The second-store ingests take the first 2.1M records at every scale
	// (all of a 100k-people population): enough to measure their ratio to
	// the embedded ingest over the same records, without tripling a 1M run.
	c.ingestMax = 2_100_000
}

// benchRun is one run's state. Only the goroutine that calls run touches
// it; the workers of a workload report through their own recorders.
type benchRun struct {
	cfg benchConfig
	log io.Writer
	rep *bench.Report

	tmp       string // population, truth, data directories
	popPath   string
	truthPath string
	dataDir   string
	db        *engine.DB

	asof     time.Time // the last generated record's time: "now" of the segments
	sample   []string  // known identifiers, as often as they occur
	nodes    uint32    // identifiers in the store after the ingest
	events   int64     // events ingested
	peakRSS  int64     // the highest peak of idgraph's workloads
	peakAnon int64     // the same, anonymous memory only (sampled)

	embedded   ingestStats      // the embedded ingest, for ratios over a prefix
	steadyRate float64          // events/s the steady ingest achieved
	ingested   map[string]int64 // records each ingest workload applied

	redis *bench.RedisResult
	pg    *bench.PostgresResult
	acc   map[string]bench.Accuracy
}

func (b *benchRun) logf(format string, args ...any) {
	fmt.Fprintf(b.log, "bench: "+format+"\n", args...)
}

func (b *benchRun) run(ctx context.Context, stdout io.Writer) (err error) {
	if err := os.MkdirAll(b.cfg.out, 0o755); err != nil {
		return err
	}
	if b.tmp, err = os.MkdirTemp("", "idgraph-bench-"); err != nil {
		return err
	}
	defer os.RemoveAll(b.tmp)
	defer func() {
		if b.db != nil {
			b.db.Close()
		}
	}()
	b.rep = bench.NewReport(fmt.Sprintf("idgraph benchmark, %s people", bench.FormatCount(float64(b.cfg.people))))
	b.rep.LoadBefore = bench.LoadAverage()
	b.acc = make(map[string]bench.Accuracy)
	b.ingested = make(map[string]int64)
	started := time.Now()

	steps := []struct {
		name string
		fn   func(context.Context) error
	}{
		{"generate", b.generate},
		{"ingest embedded", b.ingestEmbedded},
		{"WHO set", b.loadWhoSet},
		{"WHO embedded", b.whoEmbedded},
		{"WHO over TCP", b.whoTCP},
		{"WHO over HTTP", b.whoHTTP},
		{"MERGE-heavy", b.mergeHeavy},
		{"computed traits", b.computedTraits},
		{"SEGMENT", b.segments},
		{"mixed", b.mixed},
		{"WHO during a steady ingest", b.whoDuringIngest},
		{"ingest over TCP", b.ingestTCP},
		{"ingest over HTTP", b.ingestHTTP},
		{"ingest with computed traits", b.ingestComputed},
		{"activation", b.activation},
		{"Badger baseline", b.badgerBaseline},
		{"accuracy and PostgreSQL", b.accuracy},
	}
	for _, s := range steps {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := s.fn(ctx); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	b.rep.LoadAfter = bench.LoadAverage()
	b.rep.Notes = append(b.rep.Notes, fmt.Sprintf("The whole run took %.0f s.", time.Since(started).Seconds()))
	b.rep.Compare()
	b.goals()
	return b.write(stdout)
}

// generate writes the population and its truth, and frees both.
func (b *benchRun) generate(context.Context) error {
	pc := bench.DefaultConfig()
	pc.People, pc.Seed = b.cfg.people, b.cfg.seed
	b.rep.Population = &pc
	b.popPath = filepath.Join(b.tmp, "population.ndjson")
	b.truthPath = filepath.Join(b.tmp, "truth.tsv")
	b.logf("generating %d people", pc.People)
	f, err := os.Create(b.popPath)
	if err != nil {
		return err
	}
	start := time.Now()
	truth, stats, err := bench.Generate(pc, f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	took := time.Since(start)
	b.rep.Stats = &stats
	tf, err := os.Create(b.truthPath)
	if err != nil {
		return err
	}
	_, err = truth.WriteTo(tf)
	if cerr := tf.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	b.rep.Notes = append(b.rep.Notes, fmt.Sprintf("Population: %s lines (%s events) generated in %.1f s; the truth is set aside until the accuracy step, so it does not count in idgraph's memory.",
		bench.FormatCount(float64(stats.Lines)), bench.FormatCount(float64(stats.Events)), took.Seconds()))
	return nil
}

// measure runs one of idgraph's workloads with the peak RSS reset before
// it, and records what it returns.
func (b *benchRun) measure(name string, fn func() ([]bench.Workload, error)) error {
	runtime.GC()
	debug.FreeOSMemory()
	reset := bench.ResetPeakRSS()
	loadAvg, _, _ := strings.Cut(bench.LoadAverage(), " ")
	b.logf("%s (load %s)", name, loadAvg)
	anon := bench.SampleAnonRSS(100 * time.Millisecond)
	ws, err := fn()
	anonPeak := anon()
	if err != nil {
		return err
	}
	rss := bench.PeakRSS()
	b.peakRSS = max(b.peakRSS, rss)
	b.peakAnon = max(b.peakAnon, anonPeak)
	for _, w := range ws {
		if reset {
			w.Memory = rss
		}
		w.AnonMemory = anonPeak
		w.Load = loadAvg
		b.logf("  %s: %s %s/s, p50 %s, p99 %s", w.Name, bench.FormatCount(w.Throughput), w.Unit, bench.FormatDuration(w.P50), bench.FormatDuration(w.P99))
		b.rep.Workloads = append(b.rep.Workloads, w)
	}
	return nil
}

// ingestStats is what an ingest did.
type ingestStats struct {
	records  int64 // lines applied
	events   int64 // of which events
	rejected int64
	refused  int64
	elapsed  time.Duration
	chunks   *bench.Recorder // latency of each chunk's apply
	marks    []ingestMark    // the totals after each chunk, in order
}

// ingestMark is where an ingest stood after one chunk.
type ingestMark struct {
	records, events int64
	elapsed         time.Duration
}

// rateOver is the events per second over the first n records (all of them
// when n is 0 or not below the total), and the records it covers.
func (st ingestStats) rateOver(n int64) (float64, int64) {
	events, records, elapsed := st.events, st.records, st.elapsed
	if n > 0 && n < st.records {
		i, _ := slices.BinarySearchFunc(st.marks, n, func(m ingestMark, n int64) int { return cmp.Compare(m.records, n) })
		m := st.marks[i]
		events, records, elapsed = m.events, m.records, m.elapsed
	}
	if elapsed <= 0 {
		return 0, records
	}
	return float64(events) / elapsed.Seconds(), records
}

// ingestFile reads path as `idgraph load` does and hands chunks of
// loadChunk records to sink, parsing on another goroutine meanwhile; max
// bounds the records read (0: all). each sees every record as it is read.
func ingestFile(ctx context.Context, path string, sink loadSink, max int, each func(*load.Record)) (ingestStats, error) {
	r, closer, err := load.Open(path, load.Options{})
	if err != nil {
		return ingestStats{}, err
	}
	defer closer.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// The reader goroutine owns readErr and badLines until it closes chunks.
	chunks := make(chan []load.Record, 4)
	var readErr error
	var badLines int64
	go func() {
		defer close(chunks)
		chunk := make([]load.Record, 0, loadChunk)
		for n := 0; max <= 0 || n < max; {
			rec, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			var le *load.LineError
			if errors.As(err, &le) {
				badLines++
				continue
			}
			if err != nil {
				readErr = err
				return
			}
			n++
			if each != nil {
				each(&rec)
			}
			if chunk = append(chunk, rec); len(chunk) == loadChunk {
				select {
				case chunks <- chunk:
				case <-ctx.Done():
					return
				}
				chunk = make([]load.Record, 0, loadChunk)
			}
		}
		if len(chunk) > 0 {
			select {
			case chunks <- chunk:
			case <-ctx.Done():
			}
		}
	}()

	st := ingestStats{chunks: bench.NewRecorder(0)}
	start := time.Now()
	done := func(chunk []load.Record, refused []int, errs []error, took time.Duration) error {
		st.chunks.Record(took)
		for i, rec := range chunk {
			if errs[i] != nil {
				st.rejected++
				continue
			}
			st.records++
			if rec.Event != "" {
				st.events++
			}
			st.refused += int64(refused[i])
		}
		st.marks = append(st.marks, ingestMark{st.records, st.events, time.Since(start)})
		return nil
	}
	fl := &inFlight{sink: sink} // a remote sink keeps one chunk in flight
	for chunk := range chunks {
		if err := fl.put(ctx, chunk, done); err != nil {
			cancel()
			for range chunks { // let the reader finish
			}
			fl.drain(done)
			return st, err
		}
	}
	if err := fl.drain(done); err != nil {
		return st, err
	}
	st.elapsed = time.Since(start)
	st.rejected += badLines
	return st, readErr
}

func (b *benchRun) openDB() (*engine.DB, error) {
	opts := engine.DefaultOptions(b.dataDir)
	return engine.Open(opts)
}

// ingestEmbedded loads the population through the engine's batch path,
// samples known identifiers on the way, and measures the store on disk.
func (b *benchRun) ingestEmbedded(ctx context.Context) error {
	b.dataDir = filepath.Join(b.tmp, "data")
	var err error
	if b.db, err = b.openDB(); err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(b.cfg.seed, 0x5a3e1e))
	seen := 0
	var last int64
	sample := func(rec *load.Record) {
		last = max(last, rec.Time.UnixMilli())
		for _, id := range rec.IDs {
			norm, blocked, ok := bench.Normalize(id)
			if !ok || blocked {
				continue
			}
			seen++ // reservoir over occurrences: busy identifiers are asked more
			if len(b.sample) < b.cfg.sampleSize {
				b.sample = append(b.sample, norm)
			} else if k := rng.IntN(seen); k < len(b.sample) {
				b.sample[k] = norm
			}
		}
	}
	var st ingestStats
	err = b.measure("ingest embedded", func() ([]bench.Workload, error) {
		st, err = ingestFile(ctx, b.popPath, &engineSink{db: b.db}, 0, sample)
		if err != nil {
			return nil, err
		}
		w := bench.NewWorkload("ingest-embedded", st.events, st.elapsed, st.chunks)
		w.Unit, w.Baseline = "events", "badger-writes"
		busy := float64(st.chunks.Mean()) * float64(st.chunks.Count()) / float64(st.elapsed)
		w.Note = fmt.Sprintf("%s records/s (%s lines with consent and trait lines) through engine.DB.Apply in chunks of %d records, NDJSON parsed on another goroutine; latencies are per chunk; the loader waits on Apply %.0f%% of the time; %s links refused by the rules, %s lines rejected",
			bench.FormatCount(float64(st.records)/st.elapsed.Seconds()), bench.FormatCount(float64(st.records)), loadChunk, 100*busy,
			bench.FormatCount(float64(st.refused)), bench.FormatCount(float64(st.rejected)))
		return []bench.Workload{w}, nil
	})
	if err != nil {
		return err
	}
	if len(b.sample) == 0 {
		return errors.New("the population has no identifiers")
	}
	b.asof = time.UnixMilli(last).UTC()
	b.events = st.events
	b.embedded = st
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.rep.Notes = append(b.rep.Notes, fmt.Sprintf("After the ingest, with the store open: Go heap live after a GC %s, Go runtime total %s (peak RSS of the ingest %s).",
		bench.FormatBytes(float64(ms.HeapAlloc)), bench.FormatBytes(float64(ms.Sys)), bench.FormatBytes(float64(b.rep.Workloads[len(b.rep.Workloads)-1].Memory))))
	stats := b.db.Stats()
	b.nodes = stats.Nodes
	if err := b.db.Close(); err != nil {
		return err
	}
	b.db = nil
	disk := bench.DiskUsage(b.dataDir)
	w := &b.rep.Workloads[len(b.rep.Workloads)-1]
	w.Disk = disk
	b.rep.Notes = append(b.rep.Notes, fmt.Sprintf("On disk after the ingest (du of the data directory after Close): %s for %s events and %s identifiers in %s profiles — %.0f bytes per event, %.0f bytes per identifier (everything: identifier index, nodes, profiles, member lists, events with their properties, link records, index snapshot).",
		bench.FormatBytes(float64(disk)), bench.FormatCount(float64(st.events)), bench.FormatCount(float64(stats.Nodes)), bench.FormatCount(float64(stats.Profiles)),
		float64(disk)/float64(max(st.events, 1)), float64(disk)/float64(max(stats.Nodes, 1))))
	start := time.Now()
	if b.db, err = b.openDB(); err != nil {
		return err
	}
	b.rep.Notes = append(b.rep.Notes, fmt.Sprintf("Reopening the store took %.2f s. Segments are evaluated ASOF %s, the time of the last generated record.",
		time.Since(start).Seconds(), b.asof.Format(time.RFC3339)))
	return nil
}

// whoEmail is the i-th identifier of the WHO set: the twelve zero-padded
// digits redis-benchmark's __rand_int__ expands to.
func whoEmail(i int) string { return fmt.Sprintf("email:u%012d@bench.io", i) }
func whoUser(i int) string  { return fmt.Sprintf("user:b%012d", i) }

const whoPattern = "email:u__rand_int__@bench.io"

// applyChunks applies n operations made by op in chunks of loadChunk and
// returns the latency of each chunk; an operation that fails is an error.
func (b *benchRun) applyChunks(ctx context.Context, n int, op func(i int) engine.Op) (*bench.Recorder, time.Duration, error) {
	rec := bench.NewRecorder(0)
	ops := make([]engine.Op, 0, loadChunk)
	start := time.Now()
	for i := 0; i < n; {
		ops = ops[:0]
		for ; i < n && len(ops) < loadChunk; i++ {
			ops = append(ops, op(i))
		}
		t := time.Now()
		_, errs, err := b.db.Apply(ctx, ops)
		if err != nil {
			return nil, 0, err
		}
		rec.Record(time.Since(t))
		if err := errors.Join(errs...); err != nil {
			return nil, 0, err
		}
	}
	return rec, time.Since(start), nil
}

// loadWhoSet adds the profiles redis-benchmark asks for: an email, a
// customer number and a cookie each.
func (b *benchRun) loadWhoSet(ctx context.Context) error {
	n := b.cfg.whoKeys
	_, took, err := b.applyChunks(ctx, n, func(i int) engine.Op {
		return engine.MergeOp([]string{whoEmail(i), whoUser(i), fmt.Sprintf("cookie:b%012d", i)}, "bench", b.asof.Add(-30*24*time.Hour))
	})
	if err != nil {
		return err
	}
	for _, i := range []int{0, n - 1} {
		p, err := b.db.Who(whoEmail(i))
		if err != nil || len(p.IDs) != 3 {
			return fmt.Errorf("WHO %s after loading the WHO set: %v %v", whoEmail(i), p, err)
		}
	}
	b.rep.Notes = append(b.rep.Notes, fmt.Sprintf("WHO set: %s profiles (%s, a user: and a cookie: each) merged in %.1f s, so that redis-benchmark's `-r %d` __rand_int__ hits a known identifier; they are not scored for accuracy.",
		bench.FormatCount(float64(n)), whoPattern, took.Seconds(), n))
	return nil
}

// whoEmbedded asks WHO of random known identifiers from two goroutines,
// after one untimed pass over the sample (a server that has been up a
// while has its working set cached); the cold pass's rate goes in the note.
func (b *benchRun) whoEmbedded(ctx context.Context) error {
	return b.measure("WHO embedded", func() ([]bench.Workload, error) {
		coldStart := time.Now()
		var cold sync.WaitGroup
		for g := range whoGoroutines {
			cold.Go(func() {
				for i := g; i < len(b.sample); i += whoGoroutines {
					b.db.Who(b.sample[i])
				}
			})
		}
		cold.Wait()
		coldRate := float64(len(b.sample)) / time.Since(coldStart).Seconds()
		rngs := make([]*rand.Rand, whoGoroutines)
		ids := make([]int64, whoGoroutines)
		for g := range rngs {
			rngs[g] = rand.New(rand.NewPCG(b.cfg.seed, uint64(g)+1))
		}
		rec, elapsed, err := concurrently(ctx, whoGoroutines, b.cfg.whoCalls, time.Now().Add(b.cfg.limit), func(g, _ int) error {
			id := b.sample[rngs[g].IntN(len(b.sample))]
			p, err := b.db.Who(id)
			if err != nil {
				return fmt.Errorf("WHO %s: %w", id, err)
			}
			ids[g] += int64(len(p.IDs))
			return nil
		})
		if err != nil {
			return nil, err
		}
		n := rec.Count()
		w := bench.NewWorkload("who-embedded", n, elapsed, rec)
		w.Unit, w.Baseline = "calls", "badger-gets-2g"
		w.Note = fmt.Sprintf("engine.DB.Who from %d goroutines on identifiers sampled from the population as often as they occur, after one untimed pass over the %s sampled (that cold pass: %s calls/s, most of them Badger reads); %.1f identifiers per profile returned on average",
			whoGoroutines, bench.FormatCount(float64(len(b.sample))), bench.FormatCount(coldRate), float64(ids[0]+ids[1])/float64(max(n, 1)))
		return []bench.Workload{w}, nil
	})
}

// benchServer is idgraph's RESP server on a loopback port, in-process.
type benchServer struct {
	srv  *server.Server
	ln   net.Listener
	errc chan error
}

func startBenchServer(db *engine.DB) (*benchServer, error) {
	x := query.NewExecutor(db)
	opts := server.DefaultOptions()
	opts.Addr = "127.0.0.1:0"
	opts.Logger = slog.New(slog.DiscardHandler)
	opts.StoreInfo = x.StoreInfo
	srv, err := server.New(x, opts)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &benchServer{srv: srv, ln: ln, errc: make(chan error, 1)}
	go func() { s.errc <- srv.Serve(ln) }()
	return s, nil
}

func (s *benchServer) addr() string { return s.ln.Addr().String() }
func (s *benchServer) port() int    { return s.ln.Addr().(*net.TCPAddr).Port }

func (s *benchServer) stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if serr := <-s.errc; err == nil && !errors.Is(serr, net.ErrClosed) && !errors.Is(serr, server.ErrServerClosed) {
		err = serr
	}
	return err
}

// whoTCP runs redis-benchmark's WHO against idgraph's server, then GET
// against Redis with the same settings.
func (b *benchRun) whoTCP(ctx context.Context) error {
	c := b.cfg
	args := func(pipe int) []string {
		return []string{"-c", strconv.Itoa(c.clients), "-n", strconv.Itoa(c.requests), "-r", strconv.Itoa(c.whoKeys), "-P", strconv.Itoa(pipe), "WHO", whoPattern}
	}
	err := b.measure("WHO over TCP", func() ([]bench.Workload, error) {
		srv, err := startBenchServer(b.db)
		if err != nil {
			return nil, err
		}
		var ws []bench.Workload
		for _, pipe := range []int{1, c.pipeline} {
			rows, err := bench.RunRedisBenchmark(ctx, srv.port(), args(pipe)...)
			if err != nil {
				srv.stop()
				return nil, err
			}
			row := rows[0]
			name, base := "who-tcp", "redis-get"
			if pipe > 1 {
				name, base = fmt.Sprintf("who-tcp-P%d", pipe), fmt.Sprintf("redis-get-P%d", pipe)
			}
			w := bench.Workload{Name: name, Unit: "requests", Ops: int64(c.requests), Throughput: row.RPS, P50: row.P50, P99: row.P99, Baseline: base,
				Note: fmt.Sprintf("redis-benchmark -c %d -n %d -r %d -P %d WHO %s against the server in this process on 127.0.0.1 (p99.9 not reported; max %s)",
					c.clients, c.requests, c.whoKeys, pipe, whoPattern, bench.FormatDuration(row.Max))}
			if row.RPS > 0 {
				w.Seconds = float64(c.requests) / row.RPS
			}
			ws = append(ws, w)
		}
		return ws, srv.stop()
	})
	if errors.Is(err, bench.ErrUnavailable) {
		b.rep.Notes = append(b.rep.Notes, "WHO over TCP skipped: "+err.Error())
		return nil
	}
	if err != nil {
		return err
	}
	if c.skipRedis {
		b.rep.Notes = append(b.rep.Notes, "Redis baseline skipped (--skip-redis).")
		return nil
	}
	b.logf("Redis GET baseline")
	res, err := bench.RunRedis(ctx, bench.RedisConfig{Keys: c.whoKeys, Requests: c.requests, Clients: c.clients, Pipeline: c.pipeline})
	switch {
	case errors.Is(err, bench.ErrUnavailable):
		b.rep.Notes = append(b.rep.Notes, "Redis baseline skipped: "+err.Error())
		return nil
	case err != nil:
		return err
	}
	b.redis = &res
	b.rep.Baselines = append(b.rep.Baselines, res.Workloads()...)
	b.rep.Notes = append(b.rep.Notes, "redis-benchmark runs on the same machine as the server it measures (idgraph's or Redis's), taking CPU from it in both cases.")
	return nil
}

// mergeHeavy links anonymous browsing to known users: cookie:anon… browse
// (two events each, applied in bulk first), then a login merges each
// cookie's profile into its user's — one engine.DB.Merge per call from 4
// goroutines for the first half, engine.DB.Apply in chunks for the second.
func (b *benchRun) mergeHeavy(ctx context.Context) error {
	n := b.cfg.logins
	if n == 0 {
		return nil
	}
	anon := func(i int) string { return fmt.Sprintf("cookie:anon%09d", i) }
	at := b.asof.Add(-2 * time.Hour)
	if _, _, err := b.applyChunks(ctx, 4*n, func(k int) engine.Op {
		name := "page_view"
		if k%2 == 1 {
			name = "product_view"
		}
		return engine.TrackOp(engine.Event{Name: name, IDs: []string{anon(k / 2)}, Time: at, Source: "web"})
	}); err != nil {
		return err
	}
	login := func(i int) []string { return []string{whoUser(i), anon(i)} }
	var refused [mergeGoroutines]int
	err := b.measure("MERGE-heavy", func() ([]bench.Workload, error) {
		recs := make([]*bench.Recorder, mergeGoroutines)
		errs := make([]error, mergeGoroutines)
		deadline := time.Now().Add(b.cfg.limit)
		var wg sync.WaitGroup
		start := time.Now()
		for g := range mergeGoroutines {
			recs[g] = bench.NewRecorder(0)
			wg.Go(func() {
				for i := g; i < n; i += mergeGoroutines {
					if ctx.Err() != nil || time.Now().After(deadline) {
						return
					}
					t := time.Now()
					res, err := b.db.Merge(ctx, login(i), "web", b.asof.Add(-time.Hour))
					recs[g].Time(t)
					if err != nil {
						errs[g] = err
						return
					}
					refused[g] += len(res.Refused)
				}
			})
		}
		wg.Wait()
		elapsed := time.Since(start)
		if err := errors.Join(errs...); err != nil {
			return nil, err
		}
		for _, r := range recs[1:] {
			recs[0].Merge(r)
		}
		calls := bench.NewWorkload("merge-embedded", recs[0].Count(), elapsed, recs[0])
		calls.Unit = "logins"
		calls.Note = fmt.Sprintf("MERGE user:… cookie:anon… through engine.DB.Merge from %d goroutines (each waits for its group commit): the cookie's profile (2 events) is relabelled into the user's", mergeGoroutines)

		rec, took, err := b.applyChunks(ctx, n, func(i int) engine.Op {
			return engine.MergeOp(login(n+i), "web", b.asof.Add(-time.Hour))
		})
		if err != nil {
			return nil, err
		}
		batched := bench.NewWorkload("merge-batched", int64(n), took, rec)
		batched.Unit = "logins"
		batched.Note = fmt.Sprintf("the same logins for other users through engine.DB.Apply in chunks of %d; latencies are per chunk", loadChunk)
		return []bench.Workload{calls, batched}, nil
	})
	if err != nil {
		return err
	}
	if p, err := b.db.Who(anon(0)); err != nil || !containsString(p.IDs, whoUser(0)) {
		return fmt.Errorf("after the logins %s is not with %s: %v %v", anon(0), whoUser(0), p, err)
	}
	total := 0
	for _, r := range refused {
		total += r
	}
	if total > 0 {
		b.rep.Notes = append(b.rep.Notes, fmt.Sprintf("MERGE-heavy: %d links refused by the rules.", total))
	}
	return nil
}

func containsString(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// segments times each of bench.Segments through the query executor.
func (b *benchRun) segments(ctx context.Context) error {
	x := query.NewExecutor(b.db)
	asof := strconv.FormatInt(b.asof.UnixMilli(), 10)
	return b.measure("SEGMENT", func() ([]bench.Workload, error) {
		var ws []bench.Workload
		for _, s := range bench.Segments {
			line := "SEGMENT COUNT " + s.Expr + " ASOF " + asof
			rec := bench.NewRecorder(0)
			deadline := time.Now().Add(b.cfg.limit / 4)
			var size int64
			var total time.Duration
			for i := 0; i <= b.cfg.segmentRuns; i++ {
				if i > 1 && (ctx.Err() != nil || time.Now().After(deadline)) {
					break
				}
				t := time.Now()
				v, err := x.ExecLine(ctx, nil, line)
				d := time.Since(t)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", line, err)
				}
				if v.Kind != query.KindInt {
					return nil, fmt.Errorf("%s: reply %s", line, v)
				}
				size = v.Int
				if i > 0 { // the first run warms caches, as for PostgreSQL
					rec.Record(d)
					total += d
				}
			}
			w := bench.NewWorkload("segment-"+s.Name, rec.Count(), total, rec)
			w.Unit = "queries"
			if w.P50 > 0 {
				w.Throughput = 1 / w.P50.Seconds()
			}
			w.Note = fmt.Sprintf("%s profiles match `%s`; throughput is 1/p50, as for the PostgreSQL baseline", bench.FormatCount(float64(size)), s.Expr)
			switch s.Expr {
			case bench.AbandonedCart:
				w.Baseline = "postgres-abandoned-cart"
			case bench.PhonesOver500:
				w.Baseline = "postgres-phones-over-500"
			}
			ws = append(ws, w)
		}
		return ws, nil
	})
}

// mixed runs 90% WHO and 10% TRACK from several goroutines.
func (b *benchRun) mixed(ctx context.Context) error {
	return b.measure("mixed", func() ([]bench.Workload, error) {
		all := make([]*bench.Recorder, mixedGoroutines)
		who := make([]*bench.Recorder, mixedGoroutines)
		track := make([]*bench.Recorder, mixedGoroutines)
		errs := make([]error, mixedGoroutines)
		deadline := time.Now().Add(b.cfg.limit)
		var wg sync.WaitGroup
		start := time.Now()
		for g := range mixedGoroutines {
			all[g], who[g], track[g] = bench.NewRecorder(0), bench.NewRecorder(0), bench.NewRecorder(0)
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(b.cfg.seed, 100+uint64(g)))
				for i := 0; i < b.cfg.mixedOps; i++ {
					if i%256 == 0 && (ctx.Err() != nil || time.Now().After(deadline)) {
						return
					}
					id := b.sample[rng.IntN(len(b.sample))]
					t := time.Now()
					var err error
					if rng.IntN(10) == 0 {
						_, err = b.db.Track(ctx, engine.Event{Name: "page_view", IDs: []string{id}, Time: b.asof.Add(time.Duration(i) * time.Millisecond), Source: "web"})
						track[g].Record(time.Since(t))
					} else {
						_, err = b.db.Who(id)
						who[g].Record(time.Since(t))
					}
					all[g].Time(t)
					if err != nil {
						errs[g] = fmt.Errorf("%s: %w", id, err)
						return
					}
				}
			})
		}
		wg.Wait()
		elapsed := time.Since(start)
		if err := errors.Join(errs...); err != nil {
			return nil, err
		}
		for g := 1; g < mixedGoroutines; g++ {
			all[0].Merge(all[g])
			who[0].Merge(who[g])
			track[0].Merge(track[g])
		}
		w := bench.NewWorkload("mixed-who90-track10", all[0].Count(), elapsed, all[0])
		w.Unit = "ops"
		w.Note = fmt.Sprintf("%d goroutines, engine.DB.Who and engine.DB.Track (page_view) on known identifiers; WHO p50 %s p99 %s; TRACK p50 %s p99 %s (a TRACK waits for its group commit)",
			mixedGoroutines, bench.FormatDuration(who[0].Percentile(50)), bench.FormatDuration(who[0].Percentile(99)),
			bench.FormatDuration(track[0].Percentile(50)), bench.FormatDuration(track[0].Percentile(99)))
		return []bench.Workload{w}, nil
	})
}

// vsEmbedded compares an ingest workload that applied records records with
// the embedded ingest over the same first records: the ratio of their
// events per second, the embedded rate, and what it covers.
func (b *benchRun) vsEmbedded(w *bench.Workload) (ratio, base float64, over string) {
	n := b.ingested[w.Name]
	base, covered := b.embedded.rateOver(n)
	if base <= 0 {
		return 0, 0, ""
	}
	over = "embedded"
	if covered < b.embedded.records {
		over = fmt.Sprintf("embedded over its first %s records", bench.FormatCount(float64(covered)))
	}
	return w.Throughput / base, base, over
}

// ingestTCP loads the population (up to tcpIngestMax records) over one
// pipelined connection into a fresh store behind the in-process server.
func (b *benchRun) ingestTCP(ctx context.Context) error {
	if err := b.db.Close(); err != nil {
		return err
	}
	b.db = nil
	dir := filepath.Join(b.tmp, "data-tcp")
	defer os.RemoveAll(dir)
	return b.measure("ingest over TCP", func() ([]bench.Workload, error) {
		db, err := engine.Open(engine.DefaultOptions(dir))
		if err != nil {
			return nil, err
		}
		srv, err := startBenchServer(db)
		if err != nil {
			db.Close()
			return nil, err
		}
		c := client.New(client.Options{Addr: srv.addr(), PoolSize: 1})
		st, err := ingestFile(ctx, b.popPath, &remoteSink{c: c}, b.cfg.tcpIngestMax, nil)
		c.Close()
		if serr := srv.stop(); err == nil {
			err = serr
		}
		if cerr := db.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, err
		}
		w := bench.NewWorkload("ingest-tcp", st.events, st.elapsed, st.chunks)
		w.Unit = "events"
		b.ingested[w.Name] = st.records
		w.Note = fmt.Sprintf("%s records/s over one connection to the server in this process, pipelines of %d records (TRACK/MERGE/SET/CONSENT statements, our client), NDJSON parsed on another goroutine; latencies are per pipeline",
			bench.FormatCount(float64(st.records)/st.elapsed.Seconds()), loadChunk)
		if b.cfg.tcpIngestMax > 0 && st.records >= int64(b.cfg.tcpIngestMax) {
			w.Note += fmt.Sprintf("; the first %s records only", bench.FormatCount(float64(b.cfg.tcpIngestMax)))
		}
		return []bench.Workload{w}, nil
	})
}

// badgerBaseline writes and reads as many keys as idgraph has identifiers.
func (b *benchRun) badgerBaseline(ctx context.Context) error {
	keys := max(int(b.nodes), 1000)
	b.logf("raw Badger baseline, %d keys", keys)
	res, err := bench.RunBadger(ctx, bench.BadgerConfig{Dir: filepath.Join(b.tmp, "badger"), Keys: keys, Reads: min(keys, 500_000)})
	if err != nil {
		return err
	}
	b.rep.Baselines = append(b.rep.Baselines, res.Workloads()...)
	return nil
}

// accuracy scores idgraph's profiles, naive connected components and (when
// it runs) the SQL stitching against the truth.
func (b *benchRun) accuracy(ctx context.Context) error {
	tf, err := os.Open(b.truthPath)
	if err != nil {
		return err
	}
	truth, err := bench.ReadTruth(tf)
	tf.Close()
	if err != nil {
		return err
	}
	if !b.cfg.skipPG {
		b.logf("PostgreSQL baseline")
		res, err := bench.RunPostgres(ctx, bench.PostgresConfig{Path: b.popPath, Truth: truth, QueryRuns: b.cfg.sqlRuns, Now: b.asof})
		switch {
		case errors.Is(err, bench.ErrUnavailable):
			b.rep.Notes = append(b.rep.Notes, "PostgreSQL baseline skipped: "+err.Error())
		case err != nil:
			return err
		default:
			b.pg = &res
			b.rep.Baselines = append(b.rep.Baselines, res.Workloads()...)
		}
	} else {
		b.rep.Notes = append(b.rep.Notes, "PostgreSQL baseline skipped (--skip-postgres).")
	}

	b.logf("accuracy")
	if b.db, err = b.openDB(); err != nil {
		return err
	}
	part := make(map[string]uint64, truth.Len())
	for id, owners := range truth.All() {
		if owners == nil {
			continue // a blocked value: never a node
		}
		if _, done := part[id]; done {
			continue
		}
		p, err := b.db.Who(id)
		if errors.Is(err, engine.ErrNotFound) {
			continue // counted as missing
		}
		if err != nil {
			return fmt.Errorf("WHO %s: %w", id, err)
		}
		for _, x := range p.IDs {
			part[x] = uint64(p.ID)
		}
	}
	if err := b.db.Close(); err != nil {
		return err
	}
	b.db = nil

	in, err := os.Open(b.popPath)
	if err != nil {
		return err
	}
	linkable, err := bench.LinkableTruth(truth, in)
	in.Close()
	if err != nil {
		return err
	}
	score := func(key, name string, part map[string]uint64) {
		full, link := bench.ScoreMap(truth, part), bench.ScoreMap(linkable, part)
		full.Name, link.Name = name+" — full truth", name+" — linkable truth"
		b.acc[key], b.acc[key+"/linkable"] = full, link
		b.rep.Accuracy = append(b.rep.Accuracy, link, full)
	}
	score("idgraph", "idgraph, default rules", part)
	part = nil
	for _, drop := range []bool{false, true} {
		in, err := os.Open(b.popPath)
		if err != nil {
			return err
		}
		c := bench.NewComponents()
		c.DropBlocked = drop
		err = bench.ReadRecords(in, func(r *bench.Record) error { c.Add(r.IDs...); return nil })
		in.Close()
		if err != nil {
			return err
		}
		if drop {
			score("noblocked", "connected components without blocked values", c.Partition())
		} else {
			score("naive", "naive connected components (every co-occurrence)", c.Partition())
		}
	}
	b.rep.Notes = append(b.rep.Notes, "Accuracy is scored twice. The full truth counts every pair of identifiers of one person, but many are never connected by any record (a second browser that never logged in, a cookie that expired before a login), so no resolver can find them and recall is capped for everyone. The linkable truth splits each person into the groups of identifiers that a chain of that person's own records connects (bench.LinkableTruth): that is what a resolver can be asked to recover, and the goal is judged on it.")
	if b.pg != nil && b.pg.Accuracy != nil {
		a := *b.pg.Accuracy
		a.Name += " (SQL) — full truth"
		b.rep.Accuracy = append(b.rep.Accuracy, a)
	}
	return nil
}

// goals states every claim of the issue with its measured value.
func (b *benchRun) goals() {
	scaleNote := ""
	atScale := b.cfg.people >= 1_000_000
	if !atScale {
		scaleNote = fmt.Sprintf("measured at %s people; the target is stated for 1,000,000 (run with --scale 1m)", bench.FormatCount(float64(b.cfg.people)))
	}
	var gs []bench.Goal

	if w := b.rep.Find("ingest-embedded"); w != nil {
		gs = append(gs, bench.GoalAtLeast("ingest, embedded (events/s)", w.Throughput, 100_000, bench.FormatCount))
	}
	gs = append(gs, b.httpGoals()...)
	for _, p := range []struct {
		name, base string
		target     float64
	}{{"who-tcp", "redis-get", 0.8}, {fmt.Sprintf("who-tcp-P%d", b.cfg.pipeline), fmt.Sprintf("redis-get-P%d", b.cfg.pipeline), 0.5}} {
		title := "WHO over TCP ÷ Redis GET (-P 1)"
		if strings.Contains(p.name, "-P") {
			title = fmt.Sprintf("WHO over TCP ÷ Redis GET (-P %d)", b.cfg.pipeline)
		}
		w, base := b.rep.Find(p.name), b.rep.Find(p.base)
		if w == nil || base == nil || base.Throughput <= 0 {
			gs = append(gs, bench.GoalSkipped(title, fmt.Sprintf("≥ %.2f×", p.target), "WHO over TCP or the Redis baseline did not run"))
			continue
		}
		g := bench.GoalAtLeast(title, w.Throughput/base.Throughput, p.target, bench.FormatRatio)
		g.Note = fmt.Sprintf("%s/s vs %s/s", bench.FormatCount(w.Throughput), bench.FormatCount(base.Throughput))
		gs = append(gs, g)
	}
	if w := b.rep.Find("who-during-ingest"); w != nil && w.P99 > 0 {
		g := bench.GoalAtMost(fmt.Sprintf("WHO p99 during a steady %s events/s ingest", bench.FormatCount(steadyEvents)), float64(w.P99)/1e6, 2, bench.FormatMillis)
		g.Note = fmt.Sprintf("embedded, %s WHO calls/s; p50 %s, p99.9 %s; the ingest achieved %s events/s; GOMAXPROCS %d (the tail is goroutines waiting to be scheduled, see the README)", bench.FormatCount(steadyWHOs),
			bench.FormatDuration(w.P50), bench.FormatDuration(w.P999), bench.FormatCount(b.steadyRate), runtime.GOMAXPROCS(0))
		gs = append(gs, g)
	}
	cart := b.rep.Find("segment-abandoned-cart")
	if cart != nil && cart.P50 > 0 {
		g := bench.GoalAtMost("abandoned-cart p50 at 1M people", float64(cart.P50)/1e6, 5, bench.FormatMillis)
		g.Indicative, g.Note = !atScale, scaleNote
		gs = append(gs, g)
	}
	if pg := b.rep.Find("postgres-abandoned-cart"); cart != nil && pg != nil && cart.P50 > 0 && pg.P50 > 0 {
		g := bench.GoalAtLeast("abandoned-cart vs PostgreSQL (p50 ratio)", float64(pg.P50)/float64(cart.P50), 100, bench.FormatRatio)
		g.Note = fmt.Sprintf("PostgreSQL p50 %s, idgraph p50 %s; PostgreSQL counts %d profiles over its own stitching (components without blocked values), idgraph %s",
			bench.FormatDuration(pg.P50), bench.FormatDuration(cart.P50), b.pg.SegmentSize, cartSize(cart.Note))
		gs = append(gs, g)
	} else {
		gs = append(gs, bench.GoalSkipped("abandoned-cart vs PostgreSQL (p50 ratio)", "≥ 100.00×", "the PostgreSQL baseline did not run"))
	}
	phones := b.rep.Find("segment-phones-over-500")
	if phones != nil && phones.P50 > 0 {
		gs = append(gs, bench.GoalAtMost("property-filtered segment p50 (phones over 500 in 90 days)", float64(phones.P50)/1e6, 10, bench.FormatMillis))
	}
	if pg := b.rep.Find("postgres-phones-over-500"); phones != nil && pg != nil && phones.P50 > 0 && pg.P50 > 0 {
		g := bench.GoalAtLeast("property-filtered segment vs PostgreSQL (p50 ratio)", float64(pg.P50)/float64(phones.P50), 50, bench.FormatRatio)
		g.Note = fmt.Sprintf("PostgreSQL p50 %s (%d profiles), idgraph p50 %s (%s)", bench.FormatDuration(pg.P50), b.pg.PropSegmentSize,
			bench.FormatDuration(phones.P50), cartSize(phones.Note))
		gs = append(gs, g)
	} else {
		gs = append(gs, bench.GoalSkipped("property-filtered segment vs PostgreSQL (p50 ratio)", "≥ 50.00×", "the PostgreSQL baseline did not run"))
	}
	if w, base := b.rep.Find("who-statement-computed5"), b.rep.Find("who-statement"); w != nil && base != nil && base.Throughput > 0 {
		g := bench.GoalAtLeast("WHO with five computed traits ÷ WHO without", w.Throughput/base.Throughput, 0.8, bench.FormatRatio)
		g.Note = fmt.Sprintf("%s/s vs %s/s", bench.FormatCount(w.Throughput), bench.FormatCount(base.Throughput))
		gs = append(gs, g)
	}
	for _, p := range []struct {
		title, name string
		target      float64
	}{
		{"ingest over TCP ÷ embedded (events/s)", "ingest-tcp", 0.7},
		{"ingest with five computed traits ÷ ingest without", "ingest-embedded-computed5", 0.8},
		{"ingest with three saved segments watched ÷ ingest without", "ingest-embedded-watch3", 0.8},
	} {
		if w := b.rep.Find(p.name); w != nil {
			if ratio, base, over := b.vsEmbedded(w); base > 0 {
				g := bench.GoalAtLeast(p.title, ratio, p.target, bench.FormatRatio)
				g.Note = fmt.Sprintf("%s/s vs %s/s (%s)", bench.FormatCount(w.Throughput), bench.FormatCount(base), over)
				gs = append(gs, g)
			}
		}
	}
	if a, ok := b.acc["idgraph/linkable"]; ok {
		full := b.acc["idgraph"]
		g := bench.GoalAtLeast("pairwise F1, default rules (linkable truth)", a.F1, 0.99, bench.FormatFixed4)
		g.Note = fmt.Sprintf("precision %.4f, recall %.4f; against the full truth F1 %.4f (precision %.4f, recall %.4f), where even components without blocked values reach only recall %.4f",
			a.Precision, a.Recall, full.F1, full.Precision, full.Recall, b.acc["noblocked"].Recall)
		gs = append(gs, g)
	}
	if a, ok := b.acc["naive/linkable"]; ok {
		g := bench.GoalAtMost("pairwise F1, naive components (linkable truth; the population is hard when < 0.9)", a.F1, 0.9, bench.FormatFixed4)
		g.Note = fmt.Sprintf("precision %.4f, recall %.4f; full truth F1 %.4f", a.Precision, a.Recall, b.acc["naive"].F1)
		gs = append(gs, g)
	}
	if b.peakRSS > 0 {
		g := bench.GoalAtMost("peak RSS at 1M people", float64(b.peakRSS), 2<<30, bench.FormatBytes)
		g.Indicative = !atScale
		g.Note = strings.TrimPrefix(scaleNote+"; ", "; ") + "the highest VmHWM of the bench process over idgraph's workloads (reset before each; the population and truth are not held meanwhile)"
		if b.peakAnon > 0 {
			g.Note += fmt.Sprintf("; of which anonymous memory at most %s (RssAnon sampled every 100 ms: the heap and Badger's buffers; the rest is pages of Badger's tables, mapped from disk, which the kernel can drop)", bench.FormatBytes(float64(b.peakAnon)))
		}
		gs = append(gs, g)
	}
	b.rep.Goals = gs
}

// writeReport saves rep as DIR/NAME.json and DIR/NAME.md (showing the
// charts) and prints its summary.
func writeReport(rep *bench.Report, dir, name string, stdout io.Writer, charts ...string) error {
	for _, f := range []struct {
		name  string
		write func(io.Writer) error
	}{
		{name + ".json", rep.WriteJSON},
		{name + ".md", func(w io.Writer) error { return rep.WriteMarkdown(w, charts...) }},
	} {
		path := filepath.Join(dir, f.name)
		out, err := os.Create(path)
		if err != nil {
			return err
		}
		err = f.write(out)
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	return rep.WriteSummary(stdout)
}

// cartSize digs the segment size out of the workload note.
func cartSize(note string) string {
	s, _, _ := strings.Cut(note, " profiles")
	return s
}

// write saves report.json, report.md and the charts, and prints the
// summary.
func (b *benchRun) write(stdout io.Writer) error {
	charts, err := b.rep.WriteCharts(b.cfg.out)
	if err != nil {
		return err
	}
	for i, c := range charts {
		charts[i] = filepath.Base(c)
	}
	if err := writeReport(b.rep, b.cfg.out, "report", stdout, charts...); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nreport in %s (report.md, report.json, charts)\n", b.cfg.out)
	return nil
}
