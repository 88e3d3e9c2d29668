package main

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The cluster's fault tests run three real `idgraph serve` processes (this
// test binary, as in crash_test.go) on loopback, kill them with SIGKILL and
// restart them. They share one cluster and run in order: each scenario
// leaves every node up and equal for the next. IDGRAPH_CLUSTER_SOAK=N
// repeats the leader kill N times.

// clusterProcs is a three-node cluster of processes.
type clusterProcs struct {
	t         *testing.T
	ids       []string
	addrs     []string // client (RESP) addresses
	raftAddrs []string
	dirs      []string
	cmds      []*exec.Cmd
	logs      []*syncBuffer
}

// syncBuffer is a bytes.Buffer safe for the process's writes and the test's reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func startClusterProcs(t *testing.T, size int) *clusterProcs {
	t.Helper()
	c := &clusterProcs{t: t, cmds: make([]*exec.Cmd, size), logs: make([]*syncBuffer, size)}
	root := t.TempDir()
	var members []string
	for i := range size {
		id := fmt.Sprintf("n%d", i+1)
		c.ids = append(c.ids, id)
		c.addrs = append(c.addrs, freeAddr(t))
		c.raftAddrs = append(c.raftAddrs, freeAddr(t))
		c.dirs = append(c.dirs, filepath.Join(root, id))
		members = append(members, id+"="+c.raftAddrs[i])
	}
	spec := strings.Join(members, ",")
	t.Cleanup(func() {
		for i := range c.cmds {
			c.kill(i)
		}
		if t.Failed() {
			for i, l := range c.logs {
				if l != nil {
					t.Logf("log of %s:\n%s", c.ids[i], lastLines(l.String(), 40))
				}
			}
		}
	})
	for i := range size {
		c.start(i, spec)
	}
	return c
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func (c *clusterProcs) spec() string {
	var members []string
	for i, id := range c.ids {
		members = append(members, id+"="+c.raftAddrs[i])
	}
	return strings.Join(members, ",")
}

// start runs node i and waits until it accepts clients.
func (c *clusterProcs) start(i int, spec string) {
	c.t.Helper()
	if spec == "" {
		spec = c.spec()
	}
	cmd := idgraphCmd(c.t, "serve", "--node", c.ids[i], "--cluster", spec, "--listen", c.addrs[i],
		"--data", c.dirs[i], "--log-level", "warn", "--erasure-delay", "100ms",
		"--cluster-snapshot-threshold", "200", "--cluster-snapshot-interval", "1s", "--cluster-trailing-logs", "50")
	if c.logs[i] == nil {
		c.logs[i] = &syncBuffer{}
	}
	cmd.Stdout, cmd.Stderr = c.logs[i], c.logs[i]
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	c.cmds[i] = cmd
	if err := waitListening(c.addrs[i], 2*time.Minute); err != nil {
		c.t.Fatalf("%s: %v\n%s", c.ids[i], err, c.logs[i])
	}
}

// kill ends node i with SIGKILL.
func (c *clusterProcs) kill(i int) {
	if cmd := c.cmds[i]; cmd != nil {
		cmd.Process.Kill()
		cmd.Wait()
		c.cmds[i] = nil
	}
}

// stop ends node i gracefully (SIGTERM) and checks it exited cleanly.
func (c *clusterProcs) stop(i int) {
	c.t.Helper()
	cmd := c.cmds[i]
	if cmd == nil {
		return
	}
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			c.t.Errorf("%s exited: %v", c.ids[i], err)
		}
	case <-time.After(2 * time.Minute):
		cmd.Process.Kill()
		<-done
		c.t.Errorf("%s did not stop within 2 minutes of SIGTERM", c.ids[i])
	}
	c.cmds[i] = nil
}

func (c *clusterProcs) running() []int {
	var out []int
	for i, cmd := range c.cmds {
		if cmd != nil {
			out = append(out, i)
		}
	}
	return out
}

// do runs one statement on node i over a fresh connection.
func (c *clusterProcs) do(i int, args ...string) (any, error) {
	rc, err := dialRESP(c.addrs[i])
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	rc.nc.SetDeadline(time.Now().Add(2 * time.Minute))
	return rc.do(args...)
}

// must runs one statement on node i and fails the test on any error.
func (c *clusterProcs) must(i int, args ...string) any {
	c.t.Helper()
	v, err := c.do(i, args...)
	if err != nil {
		c.t.Fatalf("%s %v: %v", c.ids[i], args, err)
	}
	if e, ok := v.(respError); ok {
		c.t.Fatalf("%s %v: %s", c.ids[i], args, e)
	}
	return v
}

// write runs a write on node i, retrying ERR UNAVAILABLE (no leader yet)
// for at most a minute.
func (c *clusterProcs) write(i int, args ...string) any {
	c.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		v, err := c.do(i, args...)
		if err != nil {
			c.t.Fatalf("%s %v: %v", c.ids[i], args, err)
		}
		if e, ok := v.(respError); ok && strings.HasPrefix(string(e), "ERR UNAVAILABLE") && time.Now().Before(deadline) {
			continue
		}
		if e, ok := v.(respError); ok {
			c.t.Fatalf("%s %v: %s", c.ids[i], args, e)
		}
		return v
	}
}

func (c *clusterProcs) info(i int, section string) map[string]string {
	c.t.Helper()
	v := c.must(i, "INFO", section)
	s, _ := v.(string)
	return parseInfo(s)
}

// waitLeader waits until every node of among names the same leader, one of
// among, and returns it.
func (c *clusterProcs) waitLeader(among []int) int {
	c.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		leader := ""
		agree := true
		for _, i := range among {
			l := c.info(i, "cluster")["leader"]
			if leader == "" {
				leader = l
			}
			agree = agree && l != "" && l == leader
		}
		if agree {
			for _, i := range among {
				if c.ids[i] == leader {
					return i
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.t.Fatalf("no leader among %v within 2 minutes", among)
	return -1
}

// converge waits until every running node has applied the same log, up to
// the leader's commit index.
func (c *clusterProcs) converge() {
	c.t.Helper()
	run := c.running()
	leader := c.waitLeader(run)
	// A barrier: a write through the leader makes every entry before it
	// committed; each node then applies up to it.
	c.write(leader, "SEGMENT", "DROP", "converge_barrier")
	commit, _ := strconv.ParseUint(c.info(leader, "cluster")["commit_index"], 10, 64)
	deadline := time.Now().Add(2 * time.Minute)
	for _, i := range run {
		for {
			applied, _ := strconv.ParseUint(c.info(i, "cluster")["applied"], 10, 64)
			if applied >= commit {
				break
			}
			if time.Now().After(deadline) {
				c.t.Fatalf("%s applied %d, the leader committed %d", c.ids[i], applied, commit)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// dump is everything a node answers about its profiles: every profile as
// WHO shows it, the saved segments and how many profiles each holds.
func (c *clusterProcs) dump(i int) string {
	c.t.Helper()
	rc, err := dialRESP(c.addrs[i])
	if err != nil {
		c.t.Fatal(err)
	}
	defer rc.Close()
	rc.nc.SetDeadline(time.Now().Add(2 * time.Minute))
	ids, err := rc.do("SEGMENT", "IDS", "NOT", "DID", "never_happened", "LIMIT", "100000")
	if err != nil {
		c.t.Fatal(err)
	}
	list, ok := ids.([]any)
	if !ok {
		c.t.Fatalf("%s SEGMENT IDS: %v", c.ids[i], ids)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d profiles\n", len(list))
	for _, id := range list {
		rc.send("WHO", fmt.Sprintf("profile:%d", id))
	}
	rc.flush()
	for range list {
		v, err := rc.read()
		if err != nil {
			c.t.Fatal(err)
		}
		fmt.Fprintf(&b, "%v\n", v)
	}
	segs, _ := rc.do("SEGMENT", "LIST")
	fmt.Fprintf(&b, "segments %v\n", segs)
	if m, ok := replyMap(segs); ok {
		names := make([]string, 0, len(m))
		for n := range m {
			names = append(names, n)
		}
		slices.Sort(names)
		for _, n := range names {
			v, _ := rc.do("SEGMENT", "COUNT", "IN", n)
			fmt.Fprintf(&b, "%s: %v\n", n, v)
		}
	}
	return b.String()
}

// sameProfiles checks that every running node answers alike.
func (c *clusterProcs) sameProfiles() {
	c.t.Helper()
	c.converge()
	run := c.running()
	want := c.dump(run[0])
	for _, i := range run[1:] {
		if got := c.dump(i); got != want {
			c.t.Fatalf("%s and %s differ:\n%s\n---\n%s", c.ids[run[0]], c.ids[i], lastLines(want, 20), lastLines(got, 20))
		}
	}
}

// writeLoad is a pipelined write load: workers on every running node send
// batches of TRACKs with unique event names and remember which were
// acknowledged.
type writeLoad struct {
	c     *clusterProcs
	next  atomic.Int64
	acked atomic.Int64
	mu    sync.Mutex
	ok    []int64 // event numbers acknowledged
	stop  chan struct{}
	wg    sync.WaitGroup
	// unavailable counts ERR UNAVAILABLE replies (not acknowledged; they
	// may or may not have been applied).
	unavailable atomic.Int64
}

func startLoad(c *clusterProcs, workers int) *writeLoad {
	l := &writeLoad{c: c, stop: make(chan struct{})}
	for w := range workers {
		l.wg.Add(1)
		go l.worker(w)
	}
	return l
}

func (l *writeLoad) worker(w int) {
	defer l.wg.Done()
	rng := rand.New(rand.NewPCG(uint64(w), 7))
	node := w % len(l.c.addrs)
	for {
		select {
		case <-l.stop:
			return
		default:
		}
		rc, err := dialRESP(l.c.addrs[node])
		if err != nil {
			node = (node + 1) % len(l.c.addrs) // that node is down: try the next
			time.Sleep(50 * time.Millisecond)
			continue
		}
		l.run(rc, rng)
		rc.Close()
		node = (node + 1) % len(l.c.addrs)
	}
}

// run pipelines batches on one connection until it breaks or the load stops.
func (l *writeLoad) run(rc *respConn, rng *rand.Rand) {
	rc.nc.SetDeadline(time.Now().Add(2 * time.Minute))
	for {
		select {
		case <-l.stop:
			return
		default:
		}
		const batch = 8
		var ns [batch]int64
		for k := range ns {
			ns[k] = l.next.Add(1)
			rc.send("TRACK", fmt.Sprintf("e%d", ns[k]), fmt.Sprintf("user:u%d", ns[k]%40),
				fmt.Sprintf("cookie:c%d", rng.IntN(400)))
		}
		if rc.flush() != nil {
			return
		}
		for k := range ns {
			v, err := rc.read()
			if err != nil {
				return // the node died: what was not read is not acknowledged
			}
			if e, ok := v.(respError); ok {
				if strings.HasPrefix(string(e), "ERR UNAVAILABLE") {
					l.unavailable.Add(1)
					continue
				}
				l.c.t.Errorf("TRACK e%d: %s", ns[k], e)
				continue
			}
			l.mu.Lock()
			l.ok = append(l.ok, ns[k])
			l.mu.Unlock()
			l.acked.Add(1)
		}
	}
}

func (l *writeLoad) finish() []int64 {
	close(l.stop)
	l.wg.Wait()
	return l.ok
}

// waitAcked waits until the load has acknowledged n writes in all.
func (l *writeLoad) waitAcked(n int64) {
	l.c.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for l.acked.Load() < n {
		if time.Now().After(deadline) {
			l.c.t.Fatalf("only %d writes acknowledged in 2 minutes, waiting for %d", l.acked.Load(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// checkAcked checks on node i that every acknowledged event was applied
// exactly once.
func (c *clusterProcs) checkAcked(i int, acked []int64) {
	c.t.Helper()
	rc, err := dialRESP(c.addrs[i])
	if err != nil {
		c.t.Fatal(err)
	}
	defer rc.Close()
	rc.nc.SetDeadline(time.Now().Add(2 * time.Minute))
	for start := 0; start < len(acked); start += 500 {
		part := acked[start:min(start+500, len(acked))]
		for _, n := range part {
			rc.send("SEGMENT", "COUNT", "DID", fmt.Sprintf("e%d", n))
		}
		rc.flush()
		for _, n := range part {
			v, err := rc.read()
			if err != nil {
				c.t.Fatal(err)
			}
			if v != int64(1) {
				c.t.Fatalf("%s: acknowledged event e%d is counted %v times", c.ids[i], n, v)
			}
		}
	}
}

func TestClusterFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three server processes")
	}
	c := startClusterProcs(t, 3)
	all := []int{0, 1, 2}
	leader := c.waitLeader(all)
	c.write((leader+1)%3, "SEGMENT", "SAVE", "shoppers", "DID", "purchase")
	c.write(leader, "TRACK", "purchase", "email:ann@example.com", "cookie:a1")

	t.Run("StatusShowsEveryMember", func(t *testing.T) {
		c.t = t
		c.converge()
		var out, errb bytes.Buffer
		if code := run(context.Background(), []string{"cluster", "status", "--addr", c.addrs[(leader+2)%3]}, nil, &out, &errb); code != 0 {
			t.Fatalf("cluster status: exit %d: %s", code, errb.String())
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		if len(lines) != 7 || lines[1] != "leader: "+c.ids[leader] || !strings.HasPrefix(lines[3], "NODE") {
			t.Fatalf("cluster status:\n%s", out.String())
		}
		roles := map[string]int{}
		for i, l := range lines[4:] {
			f := strings.Fields(l)
			if len(f) != 6 || f[0] != c.ids[i] || f[1] != c.raftAddrs[i] || f[4] != f[5] {
				t.Fatalf("cluster status line %q:\n%s", l, out.String())
			}
			roles[f[2]]++
		}
		if roles["leader"] != 1 || roles["follower"] != 2 {
			t.Fatalf("cluster status roles %v:\n%s", roles, out.String())
		}
	})

	t.Run("LeaderKilledUnderLoad", func(t *testing.T) {
		c.t = t
		rounds := envInt(t, "IDGRAPH_CLUSTER_SOAK", 1)
		var acked []int64
		for round := range rounds {
			l := startLoad(c, 6)
			l.waitAcked(int64(200 * (round + 1)))
			old := c.waitLeader(all)
			before := l.acked.Load()
			killed := time.Now()
			c.kill(old)
			var rest []int
			for _, i := range all {
				if i != old {
					rest = append(rest, i)
				}
			}
			nl := c.waitLeader(rest)
			t.Logf("round %d: %s killed with %d writes acknowledged; %s leads %v later", round, c.ids[old], before, c.ids[nl], time.Since(killed).Round(time.Millisecond))
			l.waitAcked(before + 200) // writes resume
			acked = append(acked, l.finish()...)
			t.Logf("round %d: %d writes acknowledged, %d answered ERR UNAVAILABLE", round, len(l.ok), l.unavailable.Load())
			c.start(old, "")
			c.converge()
		}
		for _, i := range all {
			c.checkAcked(i, acked)
		}
		c.sameProfiles()
	})

	t.Run("FollowerKilledCatchesUp", func(t *testing.T) {
		c.t = t
		leader := c.waitLeader(all)
		f := (leader + 1) % 3
		held, _ := strconv.ParseUint(c.info(f, "cluster")["last_log_index"], 10, 64)
		c.kill(f)
		// More entries than the leader keeps after a snapshot (trailing
		// 50, a snapshot every 200): the follower needs the snapshot.
		rc, err := dialRESP(c.addrs[leader])
		if err != nil {
			t.Fatal(err)
		}
		rc.nc.SetDeadline(time.Now().Add(2 * time.Minute))
		for k := range 600 {
			rc.send("TRACK", "visit", fmt.Sprintf("cookie:f%d", k%97), fmt.Sprintf("email:f%d@example.com", k%31))
			rc.send("SET", fmt.Sprintf("cookie:f%d", k%97), fmt.Sprintf("n=%d", k))
		}
		rc.flush()
		for range 1200 {
			v, err := rc.read()
			if err != nil {
				t.Fatal(err)
			}
			if e, ok := v.(respError); ok {
				t.Fatalf("write on the leader: %s", e)
			}
		}
		rc.Close()
		c.converge()
		// Wait until no other node's log holds what the follower lacks
		// (each snapshots on its own, every second or two here), so that
		// whoever leads when it comes back must send it a snapshot (which
		// cluster/catchup_test.go checks in-process).
		deadline := time.Now().Add(2 * time.Minute)
		for _, i := range c.running() {
			for {
				first, _ := strconv.ParseUint(c.info(i, "cluster")["first_log_index"], 10, 64)
				if first > held+1 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s's log still starts at %d (the follower holds up to %d) after 2 minutes", c.ids[i], first, held)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
		c.start(f, "")
		c.sameProfiles()

	})

	t.Run("ForgetErasesEveryNode", func(t *testing.T) {
		c.t = t
		secrets := []string{"erase-me-7f3kq@example.org", "15550001999", "erasecookie9x", "Zelda-Q-Erasable"}
		leader := c.waitLeader(all)
		f := (leader + 1) % 3
		c.write(f, "TRACK", "signup", "email:erase-me-7f3kq@example.org", "phone:+15550001999", "cookie:erasecookie9x")
		c.write(leader, "SET", "cookie:erasecookie9x", "name=Zelda-Q-Erasable")
		c.write(f, "TRACK", "purchase", "cookie:erasecookie9x")
		c.converge()
		v := c.write(f, "FORGET", "email:erase-me-7f3kq@example.org")
		if m, ok := replyMap(v); !ok || m["ids"] != int64(3) {
			t.Fatalf("FORGET = %v", v)
		}
		c.converge()
		for _, i := range all {
			if who := c.must(i, "WHO", "cookie:erasecookie9x"); who != nil {
				t.Fatalf("%s still knows the forgotten cookie: %v", c.ids[i], who)
			}
		}
		// Every node's raft files and store finish their erasure.
		deadline := time.Now().Add(2 * time.Minute)
		for _, i := range all {
			for {
				ci, si := c.info(i, "cluster"), c.info(i, "store")
				if ci["log_erasure_pending"] == "0" && ci["log_erasures"] != "0" && ci["log_key_epochs"] == "1" && si["erase_pending"] == "0" {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s: erasure not finished: %v %v", c.ids[i], ci, si)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
		c.sameProfiles()
		for _, i := range all {
			c.stop(i)
		}
		for _, i := range all {
			scanFiles(t, []string{c.dirs[i], c.dirs[i] + "-backups"}, secrets)
		}
		for _, i := range all {
			c.start(i, "")
		}
		c.sameProfiles()
	})

	t.Run("NoMajorityAnswersUnavailable", func(t *testing.T) {
		c.t = t
		leader := c.waitLeader(all)
		survivor := (leader + 1) % 3
		for _, i := range all {
			if i != survivor {
				c.stop(i)
			}
		}
		v, err := c.do(survivor, "TRACK", "purchase", "email:late@example.com")
		if err != nil {
			t.Fatal(err)
		}
		if e, ok := v.(respError); !ok || !strings.HasPrefix(string(e), "ERR UNAVAILABLE") {
			t.Fatalf("a write without a majority = %v, want ERR UNAVAILABLE", v)
		}
		who := c.must(survivor, "WHO", "email:ann@example.com")
		if m, ok := replyMap(who); !ok || m["profile"] == nil {
			t.Fatalf("a read without a majority = %v", who)
		}
		for _, i := range all {
			if i != survivor {
				c.start(i, "")
			}
		}
		c.write(leader, "TRACK", "purchase", "email:late@example.com")
		c.sameProfiles()
	})

	// Every node's store passes check once stopped.
	for _, i := range all {
		c.stop(i)
	}
	for _, i := range all {
		var out, errb bytes.Buffer
		if code := run(context.Background(), []string{"check", "--data", c.dirs[i]}, nil, &out, &errb); code != 0 {
			t.Errorf("check %s: exit %d: %s%s", c.ids[i], code, out.String(), errb.String())
		}
	}
}

// scanFiles fails the test if any file under dirs holds any of values.
func scanFiles(t *testing.T, dirs []string, values []string) {
	t.Helper()
	files := 0
	for _, dir := range dirs {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				if os.IsNotExist(err) {
					return nil
				}
				return err
			}
			if d.IsDir() {
				return nil
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			files++
			for _, v := range values {
				if bytes.Contains(b, []byte(v)) {
					t.Errorf("%s holds the erased value %q", path, v)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if files == 0 {
		t.Fatalf("no files scanned in %v", dirs)
	}
}

func TestServeClusterFlagsRefuseBadSetups(t *testing.T) {
	dir := t.TempDir()
	single := filepath.Join(dir, "single")
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"query", "--data", single, "TRACK", "view", "cookie:a"}, nil, &out, &errb); code != 0 {
		t.Fatalf("query: %d %s", code, errb.String())
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--node", "n1"}, 2, "needs both --node and --cluster"},
		{[]string{"--cluster", "n1=127.0.0.1:1"}, 2, "needs both --node and --cluster"},
		{[]string{"--node", "n1", "--cluster", "n1"}, 2, "NAME=HOST:PORT"},
		{[]string{"--node", "n1", "--cluster", "n1=10.1.2.3:7391,n2=127.0.0.1:7392"}, 2, "--cluster-trusted-network"},
		{[]string{"--node", "n9", "--cluster", "n1=127.0.0.1:7391", "--data", filepath.Join(dir, "n9")}, 1, `"n9" is not a member`},
		{[]string{"--node", "n1", "--cluster", "n1=" + freeAddr(t), "--data", single}, 1, "holds a store that is not a cluster node's"},
		{[]string{"--node", "n1", "--cluster", "n1=127.0.0.1:7391", "--webhook", "http://127.0.0.1:1/"}, 2, "webhooks are for a single server"},
	} {
		var out, errb bytes.Buffer
		args := append([]string{"serve", "--listen", freeAddr(t), "--log-level", "error"}, tc.args...)
		if !slices.Contains(tc.args, "--data") {
			args = append(args, "--data", filepath.Join(dir, "d"))
		}
		code := run(context.Background(), args, nil, &out, &errb)
		if code != tc.code || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("serve %v: exit %d, %q; want exit %d and %q", tc.args, code, errb.String(), tc.code, tc.want)
		}
	}
}

// serve --node --http serves the HTTP API on a cluster node: a tracking
// call posted there is applied through the log and read back over RESP.
func TestServeClusterNodeServesHTTP(t *testing.T) {
	httpAddr := freeAddr(t)
	addr, _ := serveInProcess(t, t.TempDir(), "--node", "n1", "--cluster", "n1="+freeAddr(t), "--http", httpAddr)
	if err := waitListening(httpAddr, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	body := `{"type":"track","event":"checkout","userId":"77","timestamp":"2026-11-01T10:00:00Z"}`
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Post("http://"+httpAddr+"/v1/track", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode == http.StatusOK {
			break
		}
		if res.StatusCode != http.StatusServiceUnavailable || time.Now().After(deadline) {
			t.Fatalf("POST /v1/track on a node: %d", res.StatusCode)
		}
		time.Sleep(100 * time.Millisecond) // no leader yet
	}
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"query", "--addr", addr, "WHO", "user:77"}, nil, &out, &errb); code != 0 || !strings.Contains(out.String(), "user:77") {
		t.Fatalf("WHO user:77 after the HTTP call: %d %s %s", code, out.String(), errb.String())
	}
}
