package cluster

import (
	"errors"
	"net/rpc"
	"sync"
	"time"

	"github.com/idgraph/idgraph/query"
	"github.com/vmihailenco/msgpack/v5"
)

// The cluster's RPC service, on the replication port (mux.go) with net/rpc:
//
//	Cluster.Propose  a follower forwards a write entry to the leader
//	Cluster.Status   a member's role, leader and indexes (INFO, cluster status)
//	Cluster.Barrier  the leader appends a barrier entry (the eraser's nudge)
//
// Arguments and replies are msgpack bytes, so that the wire types stay
// unexported.

// rpcService is registered as "Cluster".
type rpcService struct{ n *Node }

type proposeReply struct {
	Index     uint64 `msgpack:"i,omitempty"`
	NotLeader bool   `msgpack:"nl,omitempty"`
	Code      string `msgpack:"c,omitempty"`
	Pos       int    `msgpack:"p,omitempty"`
	Msg       string `msgpack:"m,omitempty"`
}

// Propose writes a forwarded entry into the log (this node must lead) and
// replies once it is committed.
func (s *rpcService) Propose(args []byte, reply *[]byte) error {
	var out proposeReply
	e, err := decodeEntry(args)
	if err == nil && e.Kind != kindWrite && e.Kind != kindRecords {
		err = errors.New("only write and records entries are forwarded")
	}
	if err == nil {
		out.Index, err = s.n.propose(e, time.Now().Add(s.n.cfg.WriteTimeout))
	}
	var qe *query.Error
	switch {
	case err == nil:
	case errors.Is(err, errNotLeader):
		out.NotLeader = true
	case errors.As(err, &qe):
		out.Code, out.Pos, out.Msg = qe.Code, qe.Pos, qe.Msg
	default:
		out.Code, out.Msg = query.CodeGeneric, err.Error()
	}
	b, err := msgpack.Marshal(&out)
	*reply = b
	return err
}

// Status replies with this node's status.
func (s *rpcService) Status(_ []byte, reply *[]byte) error {
	b, err := msgpack.Marshal(s.n.Status())
	*reply = b
	return err
}

// Barrier appends a barrier entry when this node leads.
func (s *rpcService) Barrier(_ []byte, reply *[]byte) error {
	*reply = nil
	return s.n.raft.Barrier(s.n.cfg.WriteTimeout).Error()
}

func (n *Node) startRPC() {
	n.rpc = rpc.NewServer()
	if err := n.rpc.RegisterName("Cluster", &rpcService{n: n}); err != nil {
		panic(err) // the service's method set is fixed: a programming error
	}
	l := n.mux.layers[muxRPC]
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go n.rpc.ServeConn(c)
		}
	}()
}

// forward sends e to the leader at addr and returns once the leader has
// committed it. errNotLeader means the entry was not written.
func (n *Node) forward(addr string, e *entry, deadline time.Time) error {
	data, err := encodeEntry(e)
	if err != nil {
		return err
	}
	var raw []byte
	err = n.peers.call(addr, "Cluster.Propose", data, &raw, deadline)
	if errors.Is(err, errNotSent) {
		return errNotLeader
	}
	if err != nil {
		return unavailable("the leader could not be reached (%v); the write may still be applied", err)
	}
	var r proposeReply
	if err := msgpack.Unmarshal(raw, &r); err != nil {
		return err
	}
	switch {
	case r.NotLeader:
		return errNotLeader
	case r.Code != "":
		return &query.Error{Code: r.Code, Pos: r.Pos, Msg: r.Msg}
	}
	return nil
}

// errNotSent: the call never left this node (no connection, or a closed
// one), so it is safe to make again.
var errNotSent = errors.New("not sent")

// peers keeps one RPC client per member address. Its zero value is ready.
type peers struct {
	mu      sync.Mutex
	clients map[string]*rpc.Client
	closed  bool
}

func (p *peers) get(addr string, timeout time.Duration) (*rpc.Client, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, errNotSent
	}
	c := p.clients[addr]
	p.mu.Unlock()
	if c != nil {
		return c, nil
	}
	conn, err := dialKind(addr, muxRPC, timeout)
	if err != nil {
		return nil, err
	}
	c = rpc.NewClient(conn)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		c.Close()
		return nil, errNotSent
	}
	if old := p.clients[addr]; old != nil {
		c.Close()
		return old, nil
	}
	if p.clients == nil {
		p.clients = map[string]*rpc.Client{}
	}
	p.clients[addr] = c
	return c, nil
}

func (p *peers) drop(addr string, c *rpc.Client) {
	p.mu.Lock()
	if p.clients[addr] == c {
		delete(p.clients, addr)
	}
	p.mu.Unlock()
	c.Close()
}

func (p *peers) closeAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for a, c := range p.clients {
		c.Close()
		delete(p.clients, a)
	}
}

// call makes one RPC, bounded by deadline. It returns errNotSent when the
// request cannot have reached the peer.
func (p *peers) call(addr, method string, args []byte, reply *[]byte, deadline time.Time) error {
	timeout := time.Until(deadline)
	if timeout <= 0 {
		return errNotSent
	}
	c, err := p.get(addr, min(timeout, 2*time.Second))
	if err != nil {
		return errNotSent
	}
	call := c.Go(method, args, reply, make(chan *rpc.Call, 1))
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-call.Done:
	case <-t.C:
		// The peer may be hung; a fresh connection next time.
		p.drop(addr, c)
		return errors.New("no reply in time")
	}
	if call.Error == nil {
		return nil
	}
	if errors.Is(call.Error, rpc.ErrShutdown) {
		// The connection had already broken (a restarted peer): the
		// request was refused before it was written.
		p.drop(addr, c)
		return errNotSent
	}
	var se rpc.ServerError
	if errors.As(call.Error, &se) {
		return call.Error
	}
	p.drop(addr, c)
	return call.Error
}
