package cluster

import (
	"errors"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// One TCP port per node carries two kinds of connection: Raft's own and
// the cluster's RPC (forwarded writes, status). The dialer writes one byte
// first that says which.
const (
	muxRaft byte = 'R'
	muxRPC  byte = 'C'
)

// muxFirstByteTimeout bounds the wait for a new connection's first byte.
const muxFirstByteTimeout = 10 * time.Second

// mux accepts connections on one listener and hands each to the layer its
// first byte names. The accept loop is its own goroutine; the layers'
// channels are closed by close.
type mux struct {
	ln     net.Listener
	layers map[byte]*muxLayer
	done   chan struct{}
	once   sync.Once
	wg     sync.WaitGroup
}

func newMux(ln net.Listener) *mux {
	m := &mux{ln: ln, layers: map[byte]*muxLayer{}, done: make(chan struct{})}
	for _, k := range []byte{muxRaft, muxRPC} {
		m.layers[k] = &muxLayer{m: m, kind: k, ch: make(chan net.Conn, 16)}
	}
	m.wg.Add(1)
	go m.serve()
	return m
}

func (m *mux) serve() {
	defer m.wg.Done()
	for {
		c, err := m.ln.Accept()
		if err != nil {
			select {
			case <-m.done:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(10 * time.Millisecond) // a transient accept error (out of descriptors)
			continue
		}
		go m.route(c)
	}
}

func (m *mux) route(c net.Conn) {
	c.SetReadDeadline(time.Now().Add(muxFirstByteTimeout))
	var b [1]byte
	if _, err := c.Read(b[:]); err != nil {
		c.Close()
		return
	}
	c.SetReadDeadline(time.Time{})
	l, ok := m.layers[b[0]]
	if !ok {
		c.Close()
		return
	}
	select {
	case l.ch <- c:
	case <-m.done:
		c.Close()
	}
}

func (m *mux) close() {
	m.once.Do(func() {
		close(m.done)
		m.ln.Close()
	})
	m.wg.Wait()
}

// muxLayer is one kind of connection of a mux: a net.Listener for the
// accepting side and a dialer that announces the kind. It is Raft's
// StreamLayer for muxRaft.
type muxLayer struct {
	m    *mux
	kind byte
	ch   chan net.Conn
}

var _ raft.StreamLayer = (*muxLayer)(nil)

func (l *muxLayer) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.m.done:
		return nil, net.ErrClosed
	}
}

func (l *muxLayer) Close() error { l.m.close(); return nil }

func (l *muxLayer) Addr() net.Addr { return l.m.ln.Addr() }

func (l *muxLayer) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	return dialKind(string(addr), l.kind, timeout)
}

// dialKind connects to a node's replication port for one kind of traffic.
func dialKind(addr string, kind byte, timeout time.Duration) (net.Conn, error) {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	c.SetWriteDeadline(time.Now().Add(timeout))
	if _, err := c.Write([]byte{kind}); err != nil {
		c.Close()
		return nil, err
	}
	c.SetWriteDeadline(time.Time{})
	return c, nil
}
