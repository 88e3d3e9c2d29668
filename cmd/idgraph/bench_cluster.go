package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/idgraph/idgraph/bench"
	"github.com/idgraph/idgraph/cluster"
	"github.com/idgraph/idgraph/engine"
	"github.com/idgraph/idgraph/server"
)

// `idgraph bench --cluster N` measures a cluster of N nodes on this
// machine, in this process (each node with its own store, Raft peer and
// RESP server on loopback), against one node measured in the same run:
//
//   - write throughput: pipelined TRACKs over several connections, to one
//     single-node server, then to the cluster's leader, then spread over
//     every node (followers forward to the leader); and batches of records
//     in-process (the bulk and HTTP path: one log entry per batch);
//   - read throughput: pipelined WHOs over the same connections, answered
//     by one node, then by every node;
//   - the cost of a leader change: writers keep writing to the followers
//     while the leader is shut down; the unavailability window is the time
//     from the shutdown to the first write acknowledged after it.
type clusterBench struct {
	size    int
	tmp     string
	log     io.Writer
	rep     *bench.Report
	writes  int           // statements per write workload
	conns   int           // client connections of each workload
	pipe    int           // statements per pipeline
	readFor time.Duration // each read workload runs this long
	rounds  int           // leader changes
	people  int           // identifiers drawn from
	seed    uint64
}

func runClusterBench(ctx context.Context, size int, cfg benchConfig, stdout, stderr io.Writer) error {
	if size < 1 || size > 9 {
		return exitError{2, fmt.Sprintf("--cluster %d: give 1 to 9 nodes", size)}
	}
	cb := &clusterBench{size: size, log: stderr, writes: 30000, conns: 16, pipe: 32,
		readFor: 5 * time.Second, rounds: 3, people: 20000, seed: cfg.seed}
	if cfg.quick {
		cb.writes, cb.readFor, cb.rounds, cb.people = 2000, time.Second, 1, 1000
	}
	if err := os.MkdirAll(cfg.out, 0o755); err != nil {
		return err
	}
	var err error
	if cb.tmp, err = os.MkdirTemp("", "idgraph-bench-cluster-"); err != nil {
		return err
	}
	defer os.RemoveAll(cb.tmp)
	cb.rep = bench.NewReport(fmt.Sprintf("idgraph cluster benchmark, %d nodes on one machine", size))
	cb.rep.LoadBefore = bench.LoadAverage()
	if err := cb.run(ctx); err != nil {
		return err
	}
	cb.rep.LoadAfter = bench.LoadAverage()
	cb.rep.Compare()
	if err := writeReport(cb.rep, cfg.out, "cluster", stdout); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nreport in %s (cluster.md, cluster.json)\n", cfg.out)
	return nil
}

func (cb *clusterBench) logf(format string, args ...any) {
	fmt.Fprintf(cb.log, "bench: "+format+"\n", args...)
}

// statements returns n TRACKs over cb.people people, each with a cookie
// and now and then an email, so that profiles merge as they do in a shop.
func (cb *clusterBench) statements(n int, round uint64) [][]string {
	rng := rand.New(rand.NewPCG(cb.seed, round))
	out := make([][]string, n)
	for i := range out {
		p := rng.IntN(cb.people)
		ids := []string{"cookie:c" + strconv.Itoa(p*4+rng.IntN(4))}
		if rng.IntN(4) == 0 {
			ids = append(ids, whoEmail(p))
		}
		out[i] = append([]string{"TRACK", []string{"page", "view", "add_to_cart", "purchase"}[rng.IntN(4)]}, ids...)
	}
	return out
}

func (cb *clusterBench) run(ctx context.Context) error {
	// One node, the baseline.
	db, err := engine.Open(engine.DefaultOptions(filepath.Join(cb.tmp, "single")))
	if err != nil {
		return err
	}
	srv, err := startBenchServer(db)
	if err != nil {
		db.Close()
		return err
	}
	single, err := cb.writeLoad(ctx, "single-node-write", []string{srv.addr()}, cb.statements(cb.writes, 1))
	if err == nil {
		cb.rep.Baselines = append(cb.rep.Baselines, single)
		var who bench.Workload
		if who, err = cb.readLoad(ctx, "single-node-who", []string{srv.addr()}); err == nil {
			cb.rep.Baselines = append(cb.rep.Baselines, who)
		}
	}
	if err == nil {
		var w bench.Workload
		w, err = cb.recordsLoad(ctx, "single-node-records", cb.records(cb.writes, 4), func(ctx context.Context, recs []engine.Record) error {
			_, _, err := db.Apply(ctx, recs2ops(recs))
			return err
		})
		cb.rep.Baselines = append(cb.rep.Baselines, w)
	}
	if serr := srv.stop(); err == nil {
		err = serr
	}
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}

	bc, err := startBenchCluster(cb.tmp, cb.size)
	if err != nil {
		return err
	}
	defer bc.close()
	leader, err := bc.leader(time.Minute)
	if err != nil {
		return err
	}
	w, err := cb.writeLoad(ctx, fmt.Sprintf("cluster-%d-write-to-leader", cb.size), []string{bc.addrs[leader]}, cb.statements(cb.writes, 2))
	if err != nil {
		return err
	}
	w.Baseline = "single-node-write"
	cb.rep.Workloads = append(cb.rep.Workloads, w)
	w, err = cb.writeLoad(ctx, fmt.Sprintf("cluster-%d-write-any-node", cb.size), bc.addrs, cb.statements(cb.writes, 3))
	if err != nil {
		return err
	}
	w.Baseline = "single-node-write"
	w.Note += "; followers forward to the leader"
	cb.rep.Workloads = append(cb.rep.Workloads, w)
	leader, err = bc.leader(time.Minute)
	if err != nil {
		return err
	}
	w, err = cb.recordsLoad(ctx, fmt.Sprintf("cluster-%d-records", cb.size), cb.records(cb.writes, 5), func(ctx context.Context, recs []engine.Record) error {
		_, _, err := bc.nodes[leader].ApplyRecords(ctx, recs)
		return err
	})
	if err != nil {
		return err
	}
	w.Baseline = "single-node-records"
	cb.rep.Workloads = append(cb.rep.Workloads, w)
	if err := bc.converge(time.Minute); err != nil {
		return err
	}
	for _, k := range []int{1, cb.size} {
		if k == 1 && cb.size == 1 {
			continue
		}
		w, err := cb.readLoad(ctx, fmt.Sprintf("cluster-who-%d-of-%d-nodes", k, cb.size), bc.addrs[:k])
		if err != nil {
			return err
		}
		w.Baseline = "single-node-who"
		cb.rep.Workloads = append(cb.rep.Workloads, w)
	}
	if cb.size >= 3 {
		w, err := cb.leaderChange(ctx, bc)
		if err != nil {
			return err
		}
		cb.rep.Workloads = append(cb.rep.Workloads, w)
	}
	return nil
}

// writeLoad sends stmts over cb.conns pipelined connections spread over
// addrs and measures statements per second.
func (cb *clusterBench) writeLoad(ctx context.Context, name string, addrs []string, stmts [][]string) (bench.Workload, error) {
	cb.logf("%s: %d statements over %d connections to %d node(s)", name, len(stmts), cb.conns, len(addrs))
	var next atomic.Int64
	recs := make([]*bench.Recorder, cb.conns)
	errs := make([]error, cb.conns)
	var failed atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	for k := range cb.conns {
		recs[k] = bench.NewRecorder(0)
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := dialPipe(addrs[k%len(addrs)])
			if err != nil {
				errs[k] = err
				return
			}
			defer c.close()
			for ctx.Err() == nil {
				from := int(next.Add(int64(cb.pipe))) - cb.pipe
				if from >= len(stmts) {
					return
				}
				part := stmts[from:min(from+cb.pipe, len(stmts))]
				t := time.Now()
				bad, err := c.pipeline(part)
				if err != nil {
					errs[k] = err
					return
				}
				failed.Add(int64(bad))
				recs[k].Record(time.Since(t))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err := errors.Join(errs...); err != nil {
		return bench.Workload{}, fmt.Errorf("%s: %w", name, err)
	}
	for _, r := range recs[1:] {
		recs[0].Merge(r)
	}
	w := bench.NewWorkload(name, int64(len(stmts)), elapsed, recs[0])
	w.Unit = "statements"
	w.Load = bench.LoadAverage()
	w.Note = fmt.Sprintf("%d connections, pipelines of %d TRACKs; latencies are per pipeline", cb.conns, cb.pipe)
	if f := failed.Load(); f > 0 {
		w.Note += fmt.Sprintf("; %d answered with an error", f)
	}
	return w, nil
}

// records returns n engine records like statements' TRACKs.
func (cb *clusterBench) records(n int, round uint64) []engine.Record {
	stmts := cb.statements(n, round)
	out := make([]engine.Record, len(stmts))
	for i, st := range stmts {
		out[i] = engine.Record{Event: st[1], IDs: st[2:], Source: "bench"}
	}
	return out
}

func recs2ops(recs []engine.Record) []engine.Op {
	ops := make([]engine.Op, len(recs))
	for i, r := range recs {
		ops[i] = engine.RecordOp(r)
	}
	return ops
}

// recordsBatch is how many records one call of recordsLoad applies.
const recordsBatch = 200

// recordsLoad applies recs in batches of recordsBatch from 4 goroutines
// through apply (in-process: the engine's Apply on one node, a records
// entry of the log on a cluster).
func (cb *clusterBench) recordsLoad(ctx context.Context, name string, recs []engine.Record, apply func(context.Context, []engine.Record) error) (bench.Workload, error) {
	const workers = 4
	cb.logf("%s: %d records in batches of %d from %d goroutines", name, len(recs), recordsBatch, workers)
	var next atomic.Int64
	recsOf := make([]*bench.Recorder, workers)
	errs := make([]error, workers)
	start := time.Now()
	var wg sync.WaitGroup
	for k := range workers {
		recsOf[k] = bench.NewRecorder(0)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				from := int(next.Add(recordsBatch)) - recordsBatch
				if from >= len(recs) {
					return
				}
				t := time.Now()
				if err := apply(ctx, recs[from:min(from+recordsBatch, len(recs))]); err != nil {
					errs[k] = err
					return
				}
				recsOf[k].Record(time.Since(t))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err := errors.Join(errs...); err != nil {
		return bench.Workload{}, fmt.Errorf("%s: %w", name, err)
	}
	for _, r := range recsOf[1:] {
		recsOf[0].Merge(r)
	}
	w := bench.NewWorkload(name, int64(len(recs)), elapsed, recsOf[0])
	w.Unit = "records"
	w.Load = bench.LoadAverage()
	w.Note = fmt.Sprintf("in-process, batches of %d records from %d goroutines (engine.DB.Apply on one node; cluster.Node.ApplyRecords on the leader: one log entry and one group commit per batch on every node); latencies are per batch", recordsBatch, workers)
	return w, nil
}

// readLoad sends pipelined WHOs for cb.readFor over cb.conns connections
// spread over addrs.
func (cb *clusterBench) readLoad(ctx context.Context, name string, addrs []string) (bench.Workload, error) {
	cb.logf("%s: WHO for %v over %d connections to %d node(s)", name, cb.readFor, cb.conns, len(addrs))
	var total atomic.Int64
	recs := make([]*bench.Recorder, cb.conns)
	errs := make([]error, cb.conns)
	deadline := time.Now().Add(cb.readFor)
	start := time.Now()
	var wg sync.WaitGroup
	for k := range cb.conns {
		recs[k] = bench.NewRecorder(0)
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(cb.seed, uint64(k)+100))
			c, err := dialPipe(addrs[k%len(addrs)])
			if err != nil {
				errs[k] = err
				return
			}
			defer c.close()
			batch := make([][]string, cb.pipe)
			for ctx.Err() == nil && time.Now().Before(deadline) {
				for i := range batch {
					batch[i] = []string{"WHO", "cookie:c" + strconv.Itoa(rng.IntN(cb.people*4))}
				}
				t := time.Now()
				if _, err := c.pipeline(batch); err != nil {
					errs[k] = err
					return
				}
				recs[k].Record(time.Since(t))
				total.Add(int64(len(batch)))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err := errors.Join(errs...); err != nil {
		return bench.Workload{}, fmt.Errorf("%s: %w", name, err)
	}
	for _, r := range recs[1:] {
		recs[0].Merge(r)
	}
	w := bench.NewWorkload(name, total.Load(), elapsed, recs[0])
	w.Unit = "requests"
	w.Load = bench.LoadAverage()
	w.Note = fmt.Sprintf("%d connections over %d node(s), pipelines of %d WHOs; latencies are per pipeline", cb.conns, len(addrs), cb.pipe)
	return w, nil
}

// leaderChange shuts the leader down cb.rounds times while writers keep
// writing to every other node, and reports the unavailability windows.
func (cb *clusterBench) leaderChange(ctx context.Context, bc *benchCluster) (bench.Workload, error) {
	var windows []time.Duration
	for round := range cb.rounds {
		leader, err := bc.leader(time.Minute)
		if err != nil {
			return bench.Workload{}, err
		}
		var mu sync.Mutex
		var acks []time.Time
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for i := range bc.addrs {
			if i == leader {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				stmts := cb.statements(1_000_000, uint64(1000+round*10+i))
				for k := 0; ; k++ {
					select {
					case <-stop:
						return
					default:
					}
					c, err := dialPipe(bc.addrs[i])
					if err != nil {
						return
					}
					for ; ; k++ {
						select {
						case <-stop:
							c.close()
							return
						default:
						}
						bad, err := c.pipeline(stmts[k : k+1])
						if err != nil {
							break
						}
						if bad == 0 {
							mu.Lock()
							acks = append(acks, time.Now())
							mu.Unlock()
						}
					}
					c.close()
				}
			}()
		}
		waitAcks := func(n int) bool {
			for t := time.Now(); time.Since(t) < time.Minute; time.Sleep(5 * time.Millisecond) {
				mu.Lock()
				got := len(acks)
				mu.Unlock()
				if got >= n {
					return true
				}
			}
			return false
		}
		if !waitAcks(50) {
			close(stop)
			wg.Wait()
			return bench.Workload{}, errors.New("leader change: the writers got no acknowledgement")
		}
		mu.Lock()
		before := len(acks)
		mu.Unlock()
		killed := time.Now()
		bc.stop(leader)
		ok := waitAcks(before + 50)
		close(stop)
		wg.Wait()
		if !ok {
			return bench.Workload{}, errors.New("leader change: writes did not resume within a minute")
		}
		// Writes the old leader had in flight may still be acknowledged
		// just after it stops; the window is the longest gap between two
		// acknowledgements from the stop on.
		slices.SortFunc(acks, func(a, b time.Time) int { return a.Compare(b) })
		var window time.Duration
		prev := killed
		for _, t := range acks {
			if t.Before(killed) {
				continue
			}
			window = max(window, t.Sub(prev))
			prev = t
		}
		windows = append(windows, window)
		cb.logf("leader change %d: %s shut down; the longest time without an acknowledged write was %v", round+1, bc.ids[leader], window.Round(time.Millisecond))
		if err := bc.start(leader); err != nil {
			return bench.Workload{}, err
		}
		if err := bc.converge(time.Minute); err != nil {
			return bench.Workload{}, err
		}
	}
	slices.Sort(windows)
	w := bench.Workload{Name: "cluster-leader-change", Unit: "leader changes", Ops: int64(len(windows)),
		P50: windows[len(windows)/2], P99: windows[len(windows)-1], Load: bench.LoadAverage()}
	w.Note = fmt.Sprintf("unavailability window: the longest time without an acknowledged write after the leader's shutdown, median %d ms, worst %d ms over %d rounds (heartbeat and election timeouts 1 s)",
		windows[len(windows)/2].Milliseconds(), windows[len(windows)-1].Milliseconds(), len(windows))
	return w, nil
}

// benchCluster is a cluster of nodes in this process, each behind its own
// RESP server.
type benchCluster struct {
	root    string
	ids     []string
	members []cluster.Member
	addrs   []string
	lns     []net.Listener
	nodes   []*cluster.Node
	srvs    []*server.Server
	errcs   []chan error
}

func startBenchCluster(root string, size int) (*benchCluster, error) {
	bc := &benchCluster{root: root}
	for i := range size {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			bc.close()
			return nil, err
		}
		rl, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			ln.Close()
			bc.close()
			return nil, err
		}
		raddr := rl.Addr().String()
		rl.Close()
		id := fmt.Sprintf("n%d", i+1)
		bc.ids = append(bc.ids, id)
		bc.members = append(bc.members, cluster.Member{ID: id, Addr: raddr})
		bc.addrs = append(bc.addrs, ln.Addr().String())
		bc.lns = append(bc.lns, ln)
	}
	bc.nodes = make([]*cluster.Node, size)
	bc.srvs = make([]*server.Server, size)
	bc.errcs = make([]chan error, size)
	for i := range size {
		if err := bc.start(i); err != nil {
			bc.close()
			return nil, err
		}
	}
	return bc, nil
}

// start starts node i and its server (on the address it had, after a stop).
func (bc *benchCluster) start(i int) error {
	opts := engine.DefaultOptions(filepath.Join(bc.root, bc.ids[i]))
	n, err := cluster.Open(cluster.Config{NodeID: bc.ids[i], Members: bc.members, Store: opts})
	if err != nil {
		return err
	}
	sopts := server.DefaultOptions()
	sopts.Addr = bc.addrs[i]
	sopts.Logger = slog.New(slog.DiscardHandler)
	srv, err := server.New(n, sopts)
	if err != nil {
		n.Close()
		return err
	}
	ln := bc.lns[i]
	if ln == nil {
		if ln, err = net.Listen("tcp", bc.addrs[i]); err != nil {
			n.Close()
			return err
		}
	}
	bc.lns[i] = nil
	bc.nodes[i], bc.srvs[i], bc.errcs[i] = n, srv, make(chan error, 1)
	go func() { bc.errcs[i] <- srv.Serve(ln) }()
	return nil
}

// stop shuts node i and its server down.
func (bc *benchCluster) stop(i int) {
	if bc.srvs[i] != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		bc.srvs[i].Shutdown(ctx)
		cancel()
		<-bc.errcs[i]
		bc.srvs[i] = nil
	}
	if bc.nodes[i] != nil {
		bc.nodes[i].Close()
		bc.nodes[i] = nil
	}
}

func (bc *benchCluster) close() {
	for i := range bc.nodes {
		bc.stop(i)
	}
	for _, ln := range bc.lns {
		if ln != nil {
			ln.Close()
		}
	}
}

// leader waits until a running node leads and returns it.
func (bc *benchCluster) leader(timeout time.Duration) (int, error) {
	for t := time.Now(); time.Since(t) < timeout; time.Sleep(10 * time.Millisecond) {
		for i, n := range bc.nodes {
			if n != nil && n.IsLeader() {
				return i, nil
			}
		}
	}
	return -1, errors.New("no leader elected")
}

// converge waits until every running node has applied what the leader has.
func (bc *benchCluster) converge(timeout time.Duration) error {
	l, err := bc.leader(timeout)
	if err != nil {
		return err
	}
	idx := bc.nodes[l].Status().Commit
	for i, n := range bc.nodes {
		if n != nil && !n.WaitApplied(idx, timeout) {
			return fmt.Errorf("%s did not catch up", bc.ids[i])
		}
	}
	return nil
}

// pipeConn sends pipelines of statements over RESP and reads the replies.
type pipeConn struct {
	nc net.Conn
	br *bufio.Reader
	bw *bufio.Writer
}

func dialPipe(addr string) (*pipeConn, error) {
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	return &pipeConn{nc: nc, br: bufio.NewReaderSize(nc, 64<<10), bw: bufio.NewWriterSize(nc, 64<<10)}, nil
}

func (c *pipeConn) close() { c.nc.Close() }

// pipeline sends stmts and reads their replies; it returns how many were
// errors.
func (c *pipeConn) pipeline(stmts [][]string) (int, error) {
	c.nc.SetDeadline(time.Now().Add(time.Minute))
	for _, st := range stmts {
		c.bw.WriteString("*" + strconv.Itoa(len(st)) + "\r\n")
		for _, w := range st {
			c.bw.WriteString("$" + strconv.Itoa(len(w)) + "\r\n" + w + "\r\n")
		}
	}
	if err := c.bw.Flush(); err != nil {
		return 0, err
	}
	bad := 0
	for range stmts {
		isErr, err := skipReply(c.br)
		if err != nil {
			return bad, err
		}
		if isErr {
			bad++
		}
	}
	return bad, nil
}

// skipReply reads one RESP2 reply and reports whether it is an error.
func skipReply(br *bufio.Reader) (bool, error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		return false, err
	}
	if len(line) < 3 {
		return false, fmt.Errorf("bad reply %q", line)
	}
	n, _ := strconv.Atoi(string(line[1 : len(line)-2]))
	switch line[0] {
	case '-':
		return true, nil
	case '$':
		if n >= 0 {
			if _, err := br.Discard(n + 2); err != nil {
				return false, err
			}
		}
	case '*':
		for range max(n, 0) {
			if _, err := skipReply(br); err != nil {
				return false, err
			}
		}
	}
	return false, nil
}
