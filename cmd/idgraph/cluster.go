package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/idgraph/idgraph/cluster"
	"github.com/idgraph/idgraph/httpapi"
)

// clusterFlags are serve's cluster flags.
type clusterFlags struct {
	node, members *string
	writeTimeout  *time.Duration
	trusted       *bool
	snapThreshold *uint64
	snapInterval  *time.Duration
	trailing      *uint64
}

func addClusterFlags(fs *flag.FlagSet) clusterFlags {
	return clusterFlags{
		node:          fs.String("node", "", "this node's name in --cluster"),
		members:       fs.String("cluster", "", "every member of the cluster and its replication address: n1=HOST:PORT,n2=HOST:PORT,n3=HOST:PORT (the same list on every node)"),
		writeTimeout:  fs.Duration("cluster-write-timeout", 5*time.Second, "how long a write waits for a leader and a majority before ERR UNAVAILABLE"),
		snapThreshold: fs.Uint64("cluster-snapshot-threshold", 8192, "log entries after which a node takes a snapshot"),
		snapInterval:  fs.Duration("cluster-snapshot-interval", 2*time.Minute, "how often a node checks whether to take a snapshot"),
		trailing:      fs.Uint64("cluster-trailing-logs", 10240, "log entries a snapshot leaves, so a follower that lags by less catches up without one"),
		trusted:       fs.Bool("cluster-trusted-network", false, "allow replication addresses beyond loopback: the replication port has no authentication, so only on a private network"),
	}
}

func (c clusterFlags) enabled() bool { return *c.members != "" || *c.node != "" }

// open starts this process's cluster node on the store the flags name.
func (c clusterFlags) open(st storeFlags, erasureDelay time.Duration, logger *slog.Logger, stderr io.Writer) (*cluster.Node, error) {
	if *c.node == "" || *c.members == "" {
		return nil, exitError{2, "a cluster node needs both --node and --cluster"}
	}
	members, err := cluster.ParseMembers(*c.members)
	if err != nil {
		return nil, exitError{2, err.Error()}
	}
	if !*c.trusted {
		for _, m := range members {
			if !loopbackAddr(m.Addr) {
				return nil, exitError{2, fmt.Sprintf("member %s replicates on %s, beyond loopback: the replication port has no authentication; "+
					"give --cluster-trusted-network when every member address is on a private network", m.ID, m.Addr)}
			}
		}
	}
	if err := privateDataDir(*st.data, stderr); err != nil {
		return nil, err
	}
	st.erasureDelay = erasureDelay
	opts, err := st.options(logger, stderr)
	if err != nil {
		return nil, err
	}
	if err := st.applyMemoryLimit(); err != nil {
		return nil, err
	}
	n, err := cluster.Open(cluster.Config{NodeID: *c.node, Members: members, Store: opts,
		Logger: logger, RaftLog: stderr, WriteTimeout: *c.writeTimeout,
		SnapshotThreshold: *c.snapThreshold, SnapshotInterval: *c.snapInterval, TrailingLogs: *c.trailing})
	if err != nil {
		if msg, held := heldByAnother(*st.data, err); held {
			return nil, exitError{1, msg}
		}
		return nil, err
	}
	return n, nil
}

func loopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// cmdCluster is `idgraph cluster status --addr HOST:PORT`.
func cmdCluster(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "status" {
		fmt.Fprintln(stderr, "Usage: idgraph cluster status --addr HOST:PORT [--password-file FILE]")
		return exitError{code: 2}
	}
	fs := newFlags("cluster status", "cluster status --addr HOST:PORT [--password-file FILE]", stderr)
	addr := fs.String("addr", "127.0.0.1:7380", "any member's client address (--listen)")
	pass := addSecretFlags(fs, "password", "the server's password")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	password, err := pass.value(stderr)
	if err != nil {
		return err
	}
	c, err := dialServer(ctx, *addr, password)
	if err != nil {
		return err
	}
	defer c.Close()
	v, err := c.Do(ctx, "INFO", "cluster")
	if err != nil {
		return fmt.Errorf("%s: %w", *addr, err)
	}
	text, _ := v.(string)
	info := parseInfo(text)
	if info["cluster_enabled"] != "1" {
		return exitError{1, fmt.Sprintf("%s is not a cluster node", *addr)}
	}
	fmt.Fprintf(stdout, "cluster %s, asked %s (node %s)\n", info["cluster_id"], *addr, info["node"])
	leader := info["leader"]
	if leader == "" {
		leader = "none (no majority)"
	}
	fmt.Fprintf(stdout, "leader: %s\n\n", leader)
	var names []string
	for k := range info {
		if strings.HasPrefix(k, "member_") {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tADDRESS\tROLE\tTERM\tAPPLIED\tCOMMIT")
	for _, k := range names {
		f := map[string]string{}
		for _, kv := range strings.Split(info[k], ",") {
			if a, b, ok := strings.Cut(kv, "="); ok {
				f[a] = b
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", strings.TrimPrefix(k, "member_"), f["addr"], f["role"], f["term"], f["applied"], f["commit"])
	}
	return tw.Flush()
}

// parseInfo reads INFO's key:value lines.
func parseInfo(text string) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimRight(line, "\r")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if k, v, ok := strings.Cut(line, ":"); ok {
			out[k] = v
		}
	}
	return out
}

// A cluster node serves the HTTP API through itself (serve --http).
var _ httpapi.Backend = (*cluster.Node)(nil)
