// Command baselines generates a population and measures what idgraph is
// compared with — raw Badger, Redis GET, PostgreSQL identity stitching —
// and the accuracy of naive connected components, then writes a report
// (report.json, report.md and charts) into a directory. idgraph's own
// workloads are added by `idgraph bench`; this command is the part that
// does not need the engine.
//
//	go run ./bench/cmd/baselines -people 100000 -out bench-out
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"github.com/idgraph/idgraph/bench"
)

func main() {
	cfg := bench.DefaultConfig()
	out := flag.String("out", "bench-out", "directory for the population, truth and report")
	flag.IntVar(&cfg.People, "people", cfg.People, "people in the population")
	flag.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "population seed")
	flag.Float64Var(&cfg.EventsPerPerson, "events", cfg.EventsPerPerson, "mean events per person")
	badgerKeys := flag.Int("badger-keys", 1_000_000, "keys for the raw Badger baseline (0 skips it)")
	redis := flag.Bool("redis", true, "run the Redis baseline")
	postgres := flag.Bool("postgres", true, "run the PostgreSQL baseline")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, cfg, *out, *badgerKeys, *redis, *postgres); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, cfg bench.Config, out string, badgerKeys int, redis, postgres bool) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	rep := bench.NewReport("idgraph baselines")
	rep.Population = &cfg

	popPath := filepath.Join(out, "population.ndjson")
	f, err := os.Create(popPath)
	if err != nil {
		return err
	}
	start := time.Now()
	truth, stats, err := bench.Generate(cfg, f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	gen := time.Since(start)
	rep.Stats = &stats
	log.Printf("generated %d events (%d lines) in %v: %.0f events/s", stats.Events, stats.Lines, gen.Round(time.Millisecond), float64(stats.Events)/gen.Seconds())
	rep.Notes = append(rep.Notes, fmt.Sprintf("Population generated in %.1f s (%.0f events/s, written to disk).", gen.Seconds(), float64(stats.Events)/gen.Seconds()))
	if err := writeFile(filepath.Join(out, "truth.tsv"), func(w *os.File) error { _, err := truth.WriteTo(w); return err }); err != nil {
		return err
	}

	for _, drop := range []bool{false, true} {
		in, err := os.Open(popPath)
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
		a := bench.ScoreMap(truth, c.Partition())
		a.Name = "naive components (every co-occurrence)"
		if drop {
			a.Name = "components without blocked values"
		}
		rep.Accuracy = append(rep.Accuracy, a)
		log.Printf("%s: precision %.4f recall %.4f F1 %.4f", a.Name, a.Precision, a.Recall, a.F1)
	}

	if badgerKeys > 0 {
		res, err := bench.RunBadger(ctx, bench.BadgerConfig{Keys: badgerKeys})
		if err != nil {
			return err
		}
		log.Printf("badger: %+v", res)
		rep.Baselines = append(rep.Baselines, res.Workloads()...)
	}
	if redis {
		res, err := bench.RunRedis(ctx, bench.RedisConfig{})
		switch {
		case errors.Is(err, bench.ErrUnavailable):
			rep.Notes = append(rep.Notes, "Redis baseline skipped: "+err.Error())
		case err != nil:
			return err
		default:
			log.Printf("redis: %+v", res)
			rep.Baselines = append(rep.Baselines, res.Workloads()...)
		}
	}
	if postgres {
		res, err := bench.RunPostgres(ctx, bench.PostgresConfig{Path: popPath, Truth: truth})
		switch {
		case errors.Is(err, bench.ErrUnavailable):
			rep.Notes = append(rep.Notes, "PostgreSQL baseline skipped: "+err.Error())
		case err != nil:
			return err
		default:
			log.Printf("postgres: %+v", res)
			rep.Baselines = append(rep.Baselines, res.Workloads()...)
			if res.Accuracy != nil {
				rep.Accuracy = append(rep.Accuracy, *res.Accuracy)
			}
		}
	}

	rep.Compare()
	charts, err := rep.WriteCharts(out)
	if err != nil {
		return err
	}
	for i, c := range charts {
		charts[i] = filepath.Base(c)
	}
	if err := writeFile(filepath.Join(out, "report.json"), func(w *os.File) error { return rep.WriteJSON(w) }); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(out, "report.md"), func(w *os.File) error { return rep.WriteMarkdown(w, charts...) }); err != nil {
		return err
	}
	log.Printf("report in %s", out)
	return nil
}

func writeFile(path string, write func(*os.File) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}
