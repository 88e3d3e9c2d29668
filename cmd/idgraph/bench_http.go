package main

// The HTTP workloads of idgraph bench: sustained /v1/batch ingest of the
// population as Segment calls from several concurrent clients, as a ratio
// to the embedded ingest of the same run, and WHO through
// GET /v1/profiles/{id}.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/idgraph/idgraph/bench"
	"github.com/idgraph/idgraph/engine"
	"github.com/idgraph/idgraph/httpapi"
)

const (
	httpClients = 8   // concurrent clients of the HTTP workloads
	httpBatch   = 100 // calls per /v1/batch request
)

// benchHTTP is idgraph's HTTP API on a loopback port, in-process, with a
// client that keeps a connection per worker.
type benchHTTP struct {
	srv  *httpapi.Server
	url  string
	c    *http.Client
	errc chan error
}

func startBenchHTTP(db *engine.DB) (*benchHTTP, error) {
	opts := httpapi.DefaultOptions()
	opts.Addr = "127.0.0.1:0"
	opts.Logger = slog.New(slog.DiscardHandler)
	srv, err := httpapi.New(db, nil, opts)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &benchHTTP{srv: srv, url: "http://" + ln.Addr().String(), errc: make(chan error, 1),
		c: &http.Client{Timeout: 5 * time.Minute, Transport: &http.Transport{
			MaxIdleConns: 2 * httpClients, MaxIdleConnsPerHost: 2 * httpClients, DisableCompression: true}}}
	go func() { s.errc <- srv.Serve(ln) }()
	return s, nil
}

func (s *benchHTTP) stop() error {
	s.c.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if serr := <-s.errc; err == nil && !errors.Is(serr, http.ErrServerClosed) {
		err = serr
	}
	return err
}

// whoHTTP asks WHO of random known identifiers through
// GET /v1/profiles/{id} from httpClients goroutines.
func (b *benchRun) whoHTTP(ctx context.Context) error {
	return b.measure("WHO over HTTP", func() ([]bench.Workload, error) {
		srv, err := startBenchHTTP(b.db)
		if err != nil {
			return nil, err
		}
		recs := make([]*bench.Recorder, httpClients)
		errs := make([]error, httpClients)
		deadline := time.Now().Add(b.cfg.limit)
		calls := max(b.cfg.whoCalls*whoGoroutines/httpClients, 1)
		var wg sync.WaitGroup
		start := time.Now()
		for g := range httpClients {
			recs[g] = bench.NewRecorder(0)
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(b.cfg.seed, 200+uint64(g)))
				for i := 0; i < calls; i++ {
					if i%256 == 0 && (ctx.Err() != nil || time.Now().After(deadline)) {
						return
					}
					id := b.sample[rng.IntN(len(b.sample))]
					t := time.Now()
					code, body, err := httpDo(ctx, srv.c, http.MethodGet, srv.url+"/v1/profiles/"+url.PathEscape(id), nil)
					recs[g].Time(t)
					if err == nil && code != http.StatusOK {
						err = fmt.Errorf("status %d: %s", code, body)
					}
					if err != nil {
						errs[g] = fmt.Errorf("GET /v1/profiles/%s: %w", id, err)
						return
					}
				}
			})
		}
		wg.Wait()
		elapsed := time.Since(start)
		if err := errors.Join(append(errs, srv.stop())...); err != nil {
			return nil, err
		}
		for _, r := range recs[1:] {
			recs[0].Merge(r)
		}
		w := bench.NewWorkload("who-http", recs[0].Count(), elapsed, recs[0])
		w.Unit = "requests"
		w.Note = fmt.Sprintf("GET /v1/profiles/{id} (WHO as JSON) from %d goroutines over keep-alive connections to the HTTP API in this process on 127.0.0.1, on identifiers sampled from the population as often as they occur; the clients share the machine's CPUs with the server",
			httpClients)
		if e := b.rep.Find("who-embedded"); e != nil && e.Throughput > 0 {
			w.Note += fmt.Sprintf("; %.2f× WHO embedded (%s/s)", w.Throughput/e.Throughput, bench.FormatCount(e.Throughput))
		}
		return []bench.Workload{w}, nil
	})
}

// ingestHTTP posts the whole population as Segment calls, httpBatch to a
// /v1/batch request, from httpClients goroutines, to a fresh store behind
// the in-process HTTP server: the same records as the embedded ingest, so
// that the two stores grow alike and the ratio compares like with like.
// The request bodies are written to a file before the clock starts, so the
// clients only read and send them.
func (b *benchRun) ingestHTTP(ctx context.Context) error {
	bodies := filepath.Join(b.tmp, "segment-batches.ndjson")
	defer os.Remove(bodies)
	in, err := os.Open(b.popPath)
	if err != nil {
		return err
	}
	out, err := os.Create(bodies)
	if err != nil {
		in.Close()
		return err
	}
	st, err := bench.WriteSegmentBatches(in, out, httpBatch, b.cfg.ingestMax)
	in.Close()
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	dir := filepath.Join(b.tmp, "data-http")
	defer os.RemoveAll(dir)
	return b.measure("ingest over HTTP", func() ([]bench.Workload, error) {
		db, err := engine.Open(engine.DefaultOptions(dir))
		if err != nil {
			return nil, err
		}
		srv, err := startBenchHTTP(db)
		if err != nil {
			db.Close()
			return nil, err
		}
		f, err := os.Open(bodies)
		if err != nil {
			srv.stop()
			db.Close()
			return nil, err
		}
		// The clients take request bodies from one reader, in order.
		var mu sync.Mutex
		br := bufio.NewReaderSize(f, 1<<20)
		next := func() ([]byte, error) {
			mu.Lock()
			defer mu.Unlock()
			line, err := br.ReadBytes('\n')
			if len(line) > 0 {
				return line, nil
			}
			return nil, err
		}
		recs := make([]*bench.Recorder, httpClients)
		errs := make([]error, httpClients)
		var wg sync.WaitGroup
		start := time.Now()
		for g := range httpClients {
			recs[g] = bench.NewRecorder(0)
			wg.Go(func() {
				for ctx.Err() == nil {
					body, err := next()
					if errors.Is(err, io.EOF) {
						return
					}
					if err != nil {
						errs[g] = err
						return
					}
					t := time.Now()
					code, reply, err := httpDo(ctx, srv.c, http.MethodPost, srv.url+"/v1/batch", body)
					recs[g].Time(t)
					if err == nil && (code != http.StatusOK || !bytes.Equal(reply, []byte(`{"success":true}`))) {
						err = fmt.Errorf("status %d: %s", code, reply)
					}
					if err != nil {
						errs[g] = fmt.Errorf("POST /v1/batch: %w", err)
						return
					}
				}
			})
		}
		wg.Wait()
		elapsed := time.Since(start)
		f.Close()
		err = errors.Join(append(errs, ctx.Err(), srv.stop())...)
		if cerr := db.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, err
		}
		for _, r := range recs[1:] {
			recs[0].Merge(r)
		}
		w := bench.NewWorkload("ingest-http", st.Events, elapsed, recs[0])
		w.Unit = "events"
		w.Note = fmt.Sprintf("%s calls/s as Segment calls, %d to a POST /v1/batch, from %d goroutines over keep-alive connections to the HTTP API in this process (request bodies prepared before the clock starts; the clients share the machine's CPUs with the server); latencies are per request; %s app ids sent as anonymousId, %s identifiers without a Segment field dropped, %s records left out because every identifier a Segment call could carry was junk (the engine would refuse such a call)",
			bench.FormatCount(float64(st.Records)/elapsed.Seconds()), httpBatch, httpClients,
			bench.FormatCount(float64(st.AppIDs)), bench.FormatCount(float64(st.Dropped)), bench.FormatCount(float64(st.Skipped)))
		b.ingested[w.Name] = st.Records + st.Skipped
		if ratio, base, over := b.vsEmbedded(&w); base > 0 {
			w.Note += fmt.Sprintf("; %.2f× %s (%s events/s)", ratio, over, bench.FormatCount(base))
		}
		return []bench.Workload{w}, nil
	})
}

// httpGoals states the HTTP API's goals (issue 12).
func (b *benchRun) httpGoals() []bench.Goal {
	h := b.rep.Find("ingest-http")
	var ratio, base float64
	var over string
	if h != nil {
		ratio, base, over = b.vsEmbedded(h)
	}
	if base <= 0 {
		return []bench.Goal{bench.GoalSkipped("ingest over HTTP ÷ embedded (events/s)", "≥ 0.60×", "an ingest did not run")}
	}
	g := bench.GoalAtLeast("ingest over HTTP ÷ embedded (events/s)", ratio, 0.6, bench.FormatRatio)
	g.Note = fmt.Sprintf("%s/s over HTTP (/v1/batch of %d calls, %d clients) vs %s/s (%s)", bench.FormatCount(h.Throughput), httpBatch, httpClients, bench.FormatCount(base), over)
	return []bench.Goal{g}
}

// httpDo sends one request and returns the status and the body.
func httpDo(ctx context.Context, c *http.Client, method, url string, body []byte) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, bytes.TrimSpace(b), err
}
