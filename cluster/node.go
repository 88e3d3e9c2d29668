package cluster

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/rpc"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	wal "github.com/hashicorp/raft-wal"
	"github.com/hashicorp/raft-wal/metadb"
)

// raftDirName is Raft's directory inside the node's directory.
const raftDirName = "raft"

// Node is one member of a cluster: a Raft peer, its store, and the
// executor the server calls (Exec). Create it with Open; it is safe for
// concurrent use.
type Node struct {
	cfg     Config
	self    Member
	raftDir string

	raft  *raft.Raft
	fsm   *fsm
	mux   *mux
	trans *raft.NetworkTransport
	wal   *sealedLog
	meta  *metadb.BoltMetaDB
	snaps *raft.FileSnapshotStore
	codec *sealCodec
	rpc   *rpc.Server
	lock  *os.File // held while the node runs
	peers peers

	// propMu orders proposals on the leader: ordinary writes hold it for
	// reading while they hand their entry to Raft; a FORGET holds it for
	// writing while it waits for every earlier entry to apply, resolves
	// its identifier and hands its entry over. initMu serialises writing
	// the init entry.
	propMu sync.RWMutex
	initMu sync.Mutex

	nextReq atomic.Uint64
	waitMu  sync.Mutex
	waiters map[uint64]chan any // by Req, of entries this node received: []Result or *recordsResult

	eraseKick chan struct{}
	erasures  erasureStats
	done      chan struct{} // closed by Close
	closeOnce sync.Once
	wg        sync.WaitGroup
}

// Open starts this node: it opens (or creates) Raft's state in
// Config.Store.Dir/raft, starts from an empty store that Raft fills from
// the latest snapshot and the log, listens on the node's replication
// address, and joins the cluster (bootstrapping its static membership the
// first time). It returns once the node runs; a leader is elected in the
// background.
func Open(cfg Config) (*Node, error) {
	cfg = cfg.withDefaults()
	self, err := cfg.self()
	if err != nil {
		return nil, err
	}
	if cfg.Store.Dir == "" || cfg.Store.InMemory {
		return nil, errors.New("a cluster node needs a data directory")
	}
	if len(cfg.Store.Salt) > 0 {
		return nil, errors.New("a cluster node's salt is decided by the cluster; leave Store.Salt empty")
	}
	n := &Node{cfg: cfg, self: self, raftDir: filepath.Join(cfg.Store.Dir, raftDirName),
		waiters: map[uint64]chan any{}, eraseKick: make(chan struct{}, 1), done: make(chan struct{})}
	n.nextReq.Store(rand.Uint64() >> 1) // unique across restarts: entries of an earlier run may replay
	if err := n.checkDir(); err != nil {
		return nil, err
	}
	lock, err := lockDir(n.raftDir)
	if err != nil {
		return nil, err
	}
	n.lock = lock
	n.fsm = &fsm{n: n}
	ok := false
	defer func() {
		if !ok {
			n.Close()
		}
	}()
	n.fsm.mu.Lock()
	err = n.fsm.resetStore(nil)
	n.fsm.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}

	ln, err := net.Listen("tcp", self.Addr)
	if err != nil {
		return nil, fmt.Errorf("cluster: listen on %s: %w", self.Addr, err)
	}
	n.mux = newMux(ln)
	hl := hclog.New(&hclog.LoggerOptions{Name: "raft", Output: cfg.RaftLog, Level: hclog.Warn})
	n.trans = raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream: n.mux.layers[muxRaft], MaxPool: 4, Timeout: 10 * time.Second, Logger: hl})
	n.codec, err = openSealCodec(n.raftDir, cfg.Store.EncryptionKey)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(n.raftDir, "wal"), 0o700); err != nil {
		return nil, err
	}
	// raft-wal's Close leaves its meta store open (and its file locked):
	// the node closes it.
	n.meta = &metadb.BoltMetaDB{}
	w, err := wal.Open(filepath.Join(n.raftDir, "wal"), wal.WithSegmentSize(cfg.SegmentBytes), wal.WithLogger(hl),
		wal.WithMetaStore(n.meta))
	if err != nil {
		return nil, fmt.Errorf("open the raft log: %w", err)
	}
	n.wal = &sealedLog{WAL: w, c: n.codec}
	last, err := n.wal.LastIndex()
	if err != nil {
		return nil, err
	}
	n.codec.setLoadedMax(last)
	// Only the latest snapshot is kept: an older one may hold what a
	// FORGET erased since.
	n.snaps, err = raft.NewFileSnapshotStoreWithLogger(n.raftDir, 1, hl)
	if err != nil {
		return nil, fmt.Errorf("open the raft snapshots: %w", err)
	}

	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(self.ID)
	rc.Logger = hl
	rc.HeartbeatTimeout = cfg.HeartbeatTimeout
	rc.ElectionTimeout = cfg.ElectionTimeout
	rc.LeaderLeaseTimeout = min(cfg.HeartbeatTimeout, rc.LeaderLeaseTimeout)
	rc.SnapshotThreshold = cfg.SnapshotThreshold
	rc.SnapshotInterval = cfg.SnapshotInterval
	rc.TrailingLogs = cfg.TrailingLogs
	rc.NoLegacyTelemetry = true
	rc.BatchApplyCh = true
	if err := raft.ValidateConfig(rc); err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	has, err := raft.HasExistingState(n.wal, n.wal, n.snaps)
	if err != nil {
		return nil, err
	}
	if !has {
		var conf raft.Configuration
		for _, m := range cfg.Members {
			conf.Servers = append(conf.Servers, raft.Server{Suffrage: raft.Voter,
				ID: raft.ServerID(m.ID), Address: raft.ServerAddress(m.Addr)})
		}
		if err := raft.BootstrapCluster(rc, n.wal, n.wal, n.snaps, n.trans, conf); err != nil {
			return nil, fmt.Errorf("bootstrap the cluster: %w", err)
		}
	}
	n.raft, err = raft.NewRaft(rc, n.fsm, n.wal, n.wal, n.snaps, n.trans)
	if err != nil {
		return nil, fmt.Errorf("start raft: %w", err)
	}
	n.startRPC()
	n.wg.Add(1)
	go n.eraser()
	ok = true
	cfg.Logger.Info("cluster node started", "node", self.ID, "addr", self.Addr, "members", len(cfg.Members))
	return n, nil
}

// checkDir refuses a directory that holds a store of a single node: a
// cluster node's store is derived from the log, and would be replaced.
func (n *Node) checkDir() error {
	dir := n.cfg.Store.Dir
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	_, errRaft := os.Stat(n.raftDir)
	_, errStore := os.Stat(filepath.Join(dir, "MANIFEST"))
	if errors.Is(errRaft, os.ErrNotExist) && errStore == nil {
		return fmt.Errorf("%s holds a store that is not a cluster node's; start a node in a new, empty directory", dir)
	}
	return os.MkdirAll(n.raftDir, 0o700)
}

// Close leaves the cluster (the others elect a new leader if this one
// led), stops Raft and closes the store.
func (n *Node) Close() error {
	var errs []error
	n.closeOnce.Do(func() {
		close(n.done)
		if n.raft != nil {
			if err := n.raft.Shutdown().Error(); err != nil {
				errs = append(errs, err)
			}
		}
		if n.trans != nil {
			n.trans.Close()
		}
		if n.mux != nil {
			n.mux.close()
		}
		n.peers.closeAll()
		n.wg.Wait()
		if n.wal != nil {
			if err := n.wal.Close(); err != nil {
				errs = append(errs, err)
			}
		}
		if n.meta != nil {
			if err := n.meta.Close(); err != nil {
				errs = append(errs, err)
			}
		}
		if n.fsm != nil {
			if err := n.fsm.close(); err != nil {
				errs = append(errs, err)
			}
		}
		if n.lock != nil {
			n.lock.Close()
		}
	})
	return errors.Join(errs...)
}

func (n *Node) stopping() bool {
	select {
	case <-n.done:
		return true
	default:
		return false
	}
}

// wait registers a waiter for the result of this node's entry req.
func (n *Node) wait(req uint64) chan any {
	ch := make(chan any, 1)
	n.waitMu.Lock()
	n.waiters[req] = ch
	n.waitMu.Unlock()
	return ch
}

func (n *Node) unwait(req uint64) {
	n.waitMu.Lock()
	delete(n.waiters, req)
	n.waitMu.Unlock()
}

// deliver hands the result of this node's entry req to its waiter, if it
// still waits.
func (n *Node) deliver(req uint64, res any) {
	n.waitMu.Lock()
	ch := n.waiters[req]
	delete(n.waiters, req)
	n.waitMu.Unlock()
	if ch != nil {
		ch <- res
	}
}
