package server

import (
	"math"
	"os"
	"runtime"
	"runtime/debug"
	rtmetrics "runtime/metrics"
	"strconv"
	"strings"
	"time"

	"github.com/idgraph/idgraph/query"
)

// redisCompat is the Redis version whose protocol the server speaks, for
// tools that read redis_version from INFO.
const redisCompat = "7.2.0"

// infoSections are the INFO sections in the order they are written.
var infoSections = []string{"server", "clients", "memory", "stats", "store", "cluster"}

// info renders INFO [section ...] in Redis's format: "# Section" headers
// and key:value lines, CRLF-terminated. No section, "all", "default" or
// "everything" means all of them; unknown sections are skipped.
func (s *Server) info(args [][]byte) string {
	want := map[string]bool{}
	for _, a := range args {
		sec := strings.ToLower(string(a))
		if sec == "all" || sec == "default" || sec == "everything" {
			want = map[string]bool{}
			args = nil
			break
		}
		want[sec] = true
	}
	var b strings.Builder
	for _, sec := range infoSections {
		if len(args) > 0 && !want[sec] {
			continue
		}
		if sec == "cluster" && s.opts.ClusterInfo == nil {
			continue
		}
		if b.Len() > 0 {
			b.WriteString("\r\n")
		}
		switch sec {
		case "server":
			s.infoServer(&b)
		case "clients":
			s.infoClients(&b)
		case "memory":
			infoMemory(&b)
		case "stats":
			s.infoStats(&b)
		case "store":
			s.infoStore(&b)
		case "cluster":
			s.infoCluster(&b)
		}
	}
	return b.String()
}

func field(b *strings.Builder, key, val string) {
	b.WriteString(key)
	b.WriteByte(':')
	b.WriteString(val)
	b.WriteString("\r\n")
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func (s *Server) infoServer(b *strings.Builder) {
	up := time.Since(s.started)
	b.WriteString("# Server\r\n")
	field(b, "idgraph_version", Version)
	field(b, "redis_version", redisCompat)
	field(b, "redis_mode", "standalone")
	field(b, "os", runtime.GOOS+" "+runtime.GOARCH)
	field(b, "arch_bits", strconv.Itoa(strconv.IntSize))
	field(b, "go_version", runtime.Version())
	field(b, "process_id", strconv.Itoa(os.Getpid()))
	if a := s.Addr(); a != nil {
		if _, port, err := splitPort(a.String()); err == nil {
			field(b, "tcp_port", port)
		}
	}
	field(b, "uptime_in_seconds", itoa(int64(up/time.Second)))
	field(b, "uptime_in_days", itoa(int64(up/(24*time.Hour))))
}

func splitPort(addr string) (string, string, error) {
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		return addr, "", strconv.ErrSyntax
	}
	return addr[:i], addr[i+1:], nil
}

func (s *Server) infoClients(b *strings.Builder) {
	b.WriteString("# Clients\r\n")
	field(b, "connected_clients", itoa(s.clients.Load()))
	field(b, "maxclients", strconv.Itoa(s.opts.MaxClients))
}

// infoMemory reports the process's memory as the Go runtime sees it
// (the store's own parts, its record cache and index, are in the store
// section): used_memory is what the runtime holds from the system and has
// not given back, used_memory_heap_live the heap the last collection kept,
// maxmemory the soft limit (--memory-limit or GOMEMLIMIT; 0: none), and on
// Linux used_memory_rss and used_memory_peak_rss (VmRSS, VmHWM), which
// also count Badger's mapped table pages.
func infoMemory(b *strings.Builder) {
	samples := []rtmetrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}, {Name: "/gc/heap/live:bytes"}}
	rtmetrics.Read(samples)
	value := func(i int) int64 {
		if samples[i].Value.Kind() != rtmetrics.KindUint64 {
			return 0
		}
		return int64(samples[i].Value.Uint64())
	}
	b.WriteString("# Memory\r\n")
	field(b, "used_memory", itoa(value(0)-value(1)))
	field(b, "used_memory_heap_live", itoa(value(2)))
	if rss, peak, ok := procMemory(); ok {
		field(b, "used_memory_rss", itoa(rss))
		field(b, "used_memory_peak_rss", itoa(peak))
	}
	limit := debug.SetMemoryLimit(-1)
	if limit == math.MaxInt64 {
		limit = 0
	}
	field(b, "maxmemory", itoa(limit))
}

// procMemory reads VmRSS and VmHWM from /proc/self/status (Linux).
func procMemory() (rss, peak int64, ok bool) {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, 0, false
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 || f[2] != "kB" {
			continue
		}
		n, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			continue
		}
		switch f[0] {
		case "VmRSS:":
			rss = n << 10
		case "VmHWM:":
			peak = n << 10
		}
	}
	return rss, peak, rss > 0
}

func (s *Server) infoStats(b *strings.Builder) {
	st := &s.stats
	b.WriteString("# Stats\r\n")
	field(b, "total_connections_received", itoa(st.connections.Load()))
	field(b, "total_commands_processed", itoa(st.commands.Load()))
	field(b, "rejected_connections", itoa(st.rejected.Load()))
	field(b, "protocol_violations", itoa(st.violations.Load()))
	field(b, "client_output_buffer_disconnections", itoa(st.outputCut.Load()))
	field(b, "auth_failures", itoa(st.authFailed.Load()))
	if s.replies != nil {
		n, bytes, hits, misses := s.replies.stats()
		field(b, "reply_cache_entries", itoa(int64(n)))
		field(b, "reply_cache_bytes", itoa(bytes))
		field(b, "reply_cache_hits", itoa(hits))
		field(b, "reply_cache_misses", itoa(misses))
	}
	for id := range numCmds {
		calls := st.calls[id].Load()
		if calls == 0 {
			continue
		}
		usec := st.usec[id].Load()
		perCall := strconv.FormatFloat(float64(usec)/float64(calls), 'f', 2, 64)
		field(b, "cmdstat_"+commandSpecs[id].name, "calls="+itoa(calls)+",usec="+itoa(usec)+
			",usec_per_call="+perCall+",failed_calls="+itoa(st.errors[id].Load()))
	}
}

func (s *Server) infoStore(b *strings.Builder) {
	b.WriteString("# Store\r\n")
	if s.opts.StoreInfo == nil {
		return
	}
	for _, p := range s.opts.StoreInfo() {
		field(b, oneLine(strings.ReplaceAll(p.Key, ":", "_")), oneLine(scalar(p.Val)))
	}
}

func (s *Server) infoCluster(b *strings.Builder) {
	b.WriteString("# Cluster\r\n")
	for _, p := range s.opts.ClusterInfo() {
		field(b, oneLine(strings.ReplaceAll(p.Key, ":", "_")), oneLine(scalar(p.Val)))
	}
}

// scalar renders a value on one line for INFO.
func scalar(v query.Value) string {
	switch v.Kind {
	case query.KindInt:
		return itoa(v.Int)
	case query.KindBool:
		return itoa(v.Int)
	case query.KindDouble:
		return strconv.FormatFloat(v.Float, 'f', -1, 64)
	case query.KindString, query.KindStatus, query.KindError:
		return v.Str
	case query.KindNil:
		return ""
	}
	return strings.ReplaceAll(v.String(), "\n", ",")
}
