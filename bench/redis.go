package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// RedisServer is a throwaway redis-server on a free loopback port, without
// persistence (--save ” --appendonly no). It is started from the binary
// found on PATH (Debian package redis-server); nothing is installed.
type RedisServer struct {
	Port int
	cmd  *exec.Cmd
	dir  string
	done chan error
}

// StartRedis starts a redis-server and waits until it answers PING. It
// returns an error wrapping ErrUnavailable when redis-server is not
// installed.
func StartRedis(ctx context.Context) (*RedisServer, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("%w: redis-server not found (apt-get install redis-server)", ErrUnavailable)
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "idgraph-bench-redis-")
	if err != nil {
		return nil, err
	}
	s := &RedisServer{Port: port, dir: dir, done: make(chan error, 1)}
	s.cmd = exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", dir, "--daemonize", "no", "--loglevel", "warning")
	var stderr bytes.Buffer
	s.cmd.Stdout, s.cmd.Stderr = &stderr, &stderr
	if err := s.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start redis-server: %w", err)
	}
	go func() { s.done <- s.cmd.Wait() }()
	if err := waitPing(ctx, s.Addr(), s.done); err != nil {
		s.Close()
		return nil, fmt.Errorf("redis-server on port %d: %w (%s)", port, err, strings.TrimSpace(stderr.String()))
	}
	return s, nil
}

// Addr returns host:port.
func (s *RedisServer) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port)) }

// Close stops the server and removes its directory.
func (s *RedisServer) Close() error {
	defer os.RemoveAll(s.dir)
	if s.cmd.Process == nil {
		return nil
	}
	_ = s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	return nil
}

// waitPing sends inline PINGs until the server answers +PONG.
func waitPing(ctx context.Context, addr string, exited <-chan error) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.SetDeadline(time.Now().Add(time.Second))
			_, err = io.WriteString(c, "PING\r\n")
			if err == nil {
				var line string
				line, err = bufio.NewReader(c).ReadString('\n')
				if err == nil && !strings.HasPrefix(line, "+PONG") {
					err = fmt.Errorf("PING answered %q", strings.TrimSpace(line))
				}
			}
			c.Close()
			if err == nil {
				return nil
			}
		}
		select {
		case e := <-exited:
			return fmt.Errorf("exited: %v", e)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no answer to PING: %w", err)
		}
	}
}

// FreePort returns a TCP port free on the loopback interface now.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// LoadKeys sets key:000000000000 … key:<n-1> (twelve digits, the names
// redis-benchmark's -r uses for __rand_int__) to values of valueSize bytes,
// pipelined.
func (s *RedisServer) LoadKeys(ctx context.Context, n, valueSize int) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", s.Addr())
	if err != nil {
		return fmt.Errorf("redis load: %w", err)
	}
	defer c.Close()
	w := bufio.NewWriterSize(c, 1<<16)
	r := bufio.NewReader(c)
	value := strings.Repeat("v", valueSize)
	const batch = 1000
	for i := 0; i < n; i += batch {
		if err := ctx.Err(); err != nil {
			return err
		}
		m := min(batch, n-i)
		for j := i; j < i+m; j++ {
			fmt.Fprintf(w, "*3\r\n$3\r\nSET\r\n$16\r\nkey:%012d\r\n$%d\r\n%s\r\n", j, len(value), value)
		}
		if err := w.Flush(); err != nil {
			return fmt.Errorf("redis load: %w", err)
		}
		for j := 0; j < m; j++ {
			line, err := r.ReadString('\n')
			if err != nil {
				return fmt.Errorf("redis load: %w", err)
			}
			if !strings.HasPrefix(line, "+OK") {
				return fmt.Errorf("redis load: SET answered %q", strings.TrimSpace(line))
			}
		}
	}
	return nil
}

// RedisBenchRow is one line of redis-benchmark --csv output. Latencies are
// as redis-benchmark reports them (milliseconds with microsecond
// resolution).
type RedisBenchRow struct {
	Test string        `json:"test"`
	RPS  float64       `json:"rps"`
	Avg  time.Duration `json:"avg_ns"`
	Min  time.Duration `json:"min_ns"`
	P50  time.Duration `json:"p50_ns"`
	P95  time.Duration `json:"p95_ns"`
	P99  time.Duration `json:"p99_ns"`
	Max  time.Duration `json:"max_ns"`
}

// RunRedisBenchmark runs redis-benchmark -h 127.0.0.1 -p port --csv with
// the given arguments against any server that speaks RESP — Redis, or
// idgraph's own server (e.g. args "-c", "50", "-n", "200000", "WHO",
// "email:user__rand_int__@example.com") — and parses its rows.
func RunRedisBenchmark(ctx context.Context, port int, args ...string) ([]RedisBenchRow, error) {
	bin, err := exec.LookPath("redis-benchmark")
	if err != nil {
		return nil, fmt.Errorf("%w: redis-benchmark not found (apt-get install redis-tools)", ErrUnavailable)
	}
	all := append([]string{"-h", "127.0.0.1", "-p", strconv.Itoa(port), "--csv"}, args...)
	cmd := exec.CommandContext(ctx, bin, all...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("redis-benchmark %s: %w (%s)", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	rows, err := ParseRedisBenchmarkCSV(out)
	if err != nil {
		return nil, fmt.Errorf("redis-benchmark %s: %w", strings.Join(args, " "), err)
	}
	return rows, nil
}

// ParseRedisBenchmarkCSV parses redis-benchmark --csv output: a header
// naming the columns ("test","rps","avg_latency_ms",…) and one row per
// test. Columns it does not know are ignored; lines that are not CSV rows
// (warnings) are skipped.
func ParseRedisBenchmarkCSV(out []byte) ([]RedisBenchRow, error) {
	var header []string
	var rows []RedisBenchRow
	for line := range strings.Lines(string(out)) {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, `"`) {
			continue
		}
		fields, err := csv.NewReader(strings.NewReader(line)).Read()
		if err != nil {
			continue
		}
		if fields[0] == "test" {
			header = fields
			continue
		}
		if header == nil {
			header = []string{"test", "rps"} // old versions print no header
		}
		row := RedisBenchRow{Test: fields[0]}
		for i, f := range fields {
			if i == 0 || i >= len(header) {
				continue
			}
			v, err := strconv.ParseFloat(f, 64)
			if err != nil {
				return nil, fmt.Errorf("column %s: %q is not a number", header[i], f)
			}
			ms := time.Duration(v * float64(time.Millisecond))
			switch header[i] {
			case "rps":
				row.RPS = v
			case "avg_latency_ms":
				row.Avg = ms
			case "min_latency_ms":
				row.Min = ms
			case "p50_latency_ms":
				row.P50 = ms
			case "p95_latency_ms":
				row.P95 = ms
			case "p99_latency_ms":
				row.P99 = ms
			case "max_latency_ms":
				row.Max = ms
			}
		}
		rows = append(rows, row)
	}
	if len(rows) == 0 {
		return nil, errors.New("no result rows")
	}
	return rows, nil
}

// RedisConfig sets up the Redis baseline.
type RedisConfig struct {
	Keys      int // keys loaded (default 100,000)
	Requests  int // requests per run (default 200,000)
	Clients   int // parallel connections (default 50)
	Pipeline  int // requests in flight per connection in the pipelined run (default 16)
	ValueSize int // bytes per value (default 64)
}

// RedisResult is the Redis GET baseline: the same settings then serve for
// WHO against idgraph's server through [RunRedisBenchmark].
type RedisResult struct {
	Config    RedisConfig   `json:"config"`
	Get       RedisBenchRow `json:"get"`
	Pipelined RedisBenchRow `json:"get_pipelined"`
}

// Workloads returns the result as report baselines "redis-get" and
// "redis-get-P<n>". redis-benchmark reports no p99.9; the max stands in.
func (r RedisResult) Workloads() []Workload {
	c := r.Config
	w := func(name string, row RedisBenchRow, pipe int) Workload {
		secs := 0.0
		if row.RPS > 0 {
			secs = float64(c.Requests) / row.RPS
		}
		return Workload{Name: name, Unit: "requests", Ops: int64(c.Requests), Seconds: secs, Throughput: row.RPS,
			P50: row.P50, P99: row.P99,
			Note: fmt.Sprintf("redis-benchmark -c %d -n %d -r %d -P %d GET key:__rand_int__ (p99.9 not reported; max %s)", c.Clients, c.Requests, c.Keys, pipe, dur(row.Max))}
	}
	return []Workload{
		w("redis-get", r.Get, 1),
		w(fmt.Sprintf("redis-get-P%d", c.Pipeline), r.Pipelined, c.Pipeline),
	}
}

// RunRedis starts a Redis server, loads cfg.Keys keys and measures GET of
// random keys with redis-benchmark, without and with pipelining.
func RunRedis(ctx context.Context, cfg RedisConfig) (RedisResult, error) {
	if cfg.Keys <= 0 {
		cfg.Keys = 100_000
	}
	if cfg.Requests <= 0 {
		cfg.Requests = 200_000
	}
	if cfg.Clients <= 0 {
		cfg.Clients = 50
	}
	if cfg.Pipeline <= 0 {
		cfg.Pipeline = 16
	}
	if cfg.ValueSize <= 0 {
		cfg.ValueSize = 64
	}
	res := RedisResult{Config: cfg}
	if _, err := exec.LookPath("redis-benchmark"); err != nil {
		return res, fmt.Errorf("%w: redis-benchmark not found (apt-get install redis-tools)", ErrUnavailable)
	}
	srv, err := StartRedis(ctx)
	if err != nil {
		return res, err
	}
	defer srv.Close()
	if err := srv.LoadKeys(ctx, cfg.Keys, cfg.ValueSize); err != nil {
		return res, err
	}
	args := []string{"-c", strconv.Itoa(cfg.Clients), "-n", strconv.Itoa(cfg.Requests), "-r", strconv.Itoa(cfg.Keys)}
	for i, pipe := range []int{1, cfg.Pipeline} {
		a := append(append([]string(nil), args...), "-P", strconv.Itoa(pipe), "GET", "key:__rand_int__")
		rows, err := RunRedisBenchmark(ctx, srv.Port, a...)
		if err != nil {
			return res, err
		}
		if i == 0 {
			res.Get = rows[0]
		} else {
			res.Pipelined = rows[0]
		}
	}
	return res, nil
}
