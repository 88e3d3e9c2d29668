package server

import (
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/idgraph/idgraph/query"
	"github.com/prometheus/client_golang/prometheus"
)

// cmdID names a command for statistics and metrics. The set is fixed when
// the server starts — the server's own commands, then the first words of
// the language's command table (query.FirstWords) — so that what a client
// sends cannot grow a label set or a map: every word not listed counts as
// cmdOther.
type cmdID uint8

// The server's own commands; the language's follow from cmdInfo+1.
const (
	cmdOther cmdID = iota
	cmdPing
	cmdEcho
	cmdAuth
	cmdHello
	cmdQuit
	cmdClient
	cmdCommand
	cmdSelect
	cmdConfig
	cmdInfo
	numServerCmds
)

// maxCmds bounds the command set (the arrays of counters are this long).
const maxCmds = 64

// commandSpec is what COMMAND reports: name, arity (negative: at least),
// flags. Enough for redis-cli and redis-benchmark; key specs are empty as
// idgraph has no keys in Redis's sense.
type commandSpec struct {
	name  string // lower case
	arity int
	flags string
}

var commandSpecs = func() []commandSpec {
	specs := []commandSpec{
		{"other", 0, ""}, {"ping", -1, "fast"}, {"echo", 2, "fast"}, {"auth", -2, "fast"},
		{"hello", -1, "fast"}, {"quit", -1, "fast"}, {"client", -2, "admin"},
		{"command", -1, "loading"}, {"select", 2, "fast"}, {"config", -2, "admin"}, {"info", -1, "loading"},
	}
	for _, c := range query.FirstWords() {
		name := strings.ToLower(c.Name)
		if name == "ping" || name == "info" {
			continue // answered by the server itself
		}
		flags := "readonly"
		if c.Write {
			flags = "write"
		}
		specs = append(specs, commandSpec{name, c.Arity, flags})
	}
	if len(specs) > maxCmds {
		panic("server: more commands than maxCmds")
	}
	return specs
}()

// numCmds is the number of commands, cmdOther included.
var numCmds = cmdID(len(commandSpecs))

// cmdByName maps the upper-cased first word of a command to its id.
var cmdByName = func() map[string]cmdID {
	m := make(map[string]cmdID, len(commandSpecs))
	for id := cmdPing; id < numCmds; id++ {
		m[strings.ToUpper(commandSpecs[id].name)] = id
	}
	return m
}()

// cmdWho is WHO's id: the server keeps its encoded replies (replies.go).
var cmdWho = cmdByName["WHO"]

// lookupCmd identifies a command by its first word, case-insensitively and
// without allocating.
func lookupCmd(name []byte) cmdID {
	var up [16]byte
	if len(name) > len(up) {
		return cmdOther
	}
	for i, c := range name {
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		up[i] = c
	}
	return cmdByName[string(up[:len(name)])] // no allocation: map index by converted slice
}

// stats are the counters behind INFO. Any goroutine may update them.
type stats struct {
	connections atomic.Int64 // accepted, ever
	rejected    atomic.Int64 // refused for MaxClients
	violations  atomic.Int64 // clients cut off for a limit or garbage
	outputCut   atomic.Int64 // clients cut off for the output buffer limits
	authFailed  atomic.Int64 // failed AUTH and HELLO AUTH
	commands    atomic.Int64
	calls       [maxCmds]atomic.Int64
	usec        [maxCmds]atomic.Int64
	errors      [maxCmds]atomic.Int64
}

// metrics are the Prometheus collectors, resolved per command once so the
// hot path does no label lookups. A nil *metrics records nothing.
type metrics struct {
	clients    prometheus.Gauge
	rejected   *prometheus.CounterVec
	commands   [maxCmds]prometheus.Counter
	errors     [maxCmds]prometheus.Counter
	latency    [maxCmds]prometheus.Observer
	collectors []prometheus.Collector
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	if reg == nil {
		return nil, nil
	}
	commands := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "idgraph", Subsystem: "server", Name: "commands_total",
		Help: "Commands processed, by command (first word; unknown words count as other).",
	}, []string{"command"})
	errs := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "idgraph", Subsystem: "server", Name: "command_errors_total",
		Help: "Commands that got an error reply, by command.",
	}, []string{"command"})
	latency := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "idgraph", Subsystem: "server", Name: "command_duration_seconds",
		Help:    "Time from a command's arrival to its reply being buffered, by command.",
		Buckets: prometheus.ExponentialBuckets(10e-6, 4, 10),
	}, []string{"command"})
	clients := prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: "idgraph", Subsystem: "server", Name: "connected_clients",
		Help: "Connections currently open.",
	})
	rejected := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "idgraph", Subsystem: "server", Name: "rejected_clients_total",
		Help: "Connections refused or cut off, by reason (maxclients, limit, output).",
	}, []string{"reason"})
	m := &metrics{clients: clients, rejected: rejected,
		collectors: []prometheus.Collector{commands, errs, latency, clients, rejected}}
	for _, c := range m.collectors {
		if err := reg.Register(c); err != nil {
			for _, done := range m.collectors {
				if done == c {
					break
				}
				reg.Unregister(done)
			}
			return nil, fmt.Errorf("register metrics: %w", err)
		}
	}
	for id := range numCmds {
		m.commands[id] = commands.WithLabelValues(commandSpecs[id].name)
		m.errors[id] = errs.WithLabelValues(commandSpecs[id].name)
		m.latency[id] = latency.WithLabelValues(commandSpecs[id].name)
	}
	return m, nil
}

// outputLimited counts a client cut off for the output buffer limits.
func (s *Server) outputLimited() {
	s.stats.outputCut.Add(1)
	if s.metrics != nil {
		s.metrics.rejected.WithLabelValues("output").Inc()
	}
}

// record counts one command in the stats and, if enabled, the metrics.
func (s *Server) record(id cmdID, took time.Duration, failed bool) {
	s.stats.commands.Add(1)
	s.stats.calls[id].Add(1)
	s.stats.usec[id].Add(int64(took / time.Microsecond))
	if failed {
		s.stats.errors[id].Add(1)
	}
	if m := s.metrics; m != nil {
		m.commands[id].Inc()
		m.latency[id].Observe(took.Seconds())
		if failed {
			m.errors[id].Inc()
		}
	}
}
