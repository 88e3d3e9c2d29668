package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/idgraph/idgraph/query"
)

// Version is the server version reported by HELLO and INFO.
const Version = "0.1.0"

// Executor runs the statements the server does not answer itself. It is
// called from many connection goroutines at once. args are the command's
// words (args[0] is the statement keyword as the client sent it); they and
// the session may be retained. A *query.Error is sent as its Error() text;
// any other error as "ERR <message>".
type Executor interface {
	Exec(ctx context.Context, s *query.Session, args []string) (query.Value, error)
}

// BatchExecutor is an Executor that can also run a pipeline's run of simple
// writes in one group commit (query.Executor is one). The server uses it,
// when the Executor has it, for statements already buffered behind the one
// it read.
type BatchExecutor interface {
	Executor
	ExecBatch(ctx context.Context, s *query.Session, cmds [][]string) []query.Result
}

// ErrServerClosed is returned by Serve and ListenAndServe after Shutdown.
var ErrServerClosed = errors.New("server: closed")

// Server serves the query language over RESP. Create it with New; it is safe
// for concurrent use.
type Server struct {
	exec    Executor
	opts    Options
	metrics *metrics
	stats   stats
	started time.Time

	// ctx is the parent of every command's context; cancel is called when
	// Shutdown gives up waiting.
	ctx    context.Context
	cancel context.CancelFunc

	closing atomic.Bool   // set once by Shutdown, read by every connection
	done    chan struct{} // closed by Shutdown: ends AUTH failure delays
	nextID  atomic.Int64  // connection ids
	clients atomic.Int64  // connections open now
	wg      sync.WaitGroup

	mu        sync.Mutex // guards listeners and conns
	listeners map[net.Listener]struct{}
	conns     map[*conn]struct{}
	addr      net.Addr

	// now and sleep are the clock and the AUTH failure delay; tests
	// replace them before Serve.
	now     func() time.Time
	sleep   func(d time.Duration, done <-chan struct{})
	authLog *logLimiter // failed logins are logged at this pace

	replies *replies // encoded WHO replies (nil: not kept)
}

// New checks the options and returns a Server that is not yet listening.
// It refuses a non-loopback Addr without a Password (protected mode).
func New(exec Executor, opts Options) (*Server, error) {
	if exec == nil {
		return nil, errors.New("server: nil executor")
	}
	opts = opts.withDefaults()
	if opts.ReadOnlyPassword != "" && opts.Password == "" {
		return nil, errors.New("server: a read-only password needs a password for the default user")
	}
	if opts.ReadOnlyPassword != "" && opts.ReadOnlyPassword == opts.Password {
		return nil, errors.New("server: the read-only password must differ from the password")
	}
	if err := protectedMode(opts.Addr, opts.Password); err != nil {
		return nil, err
	}
	m, err := newMetrics(opts.MetricsRegistry)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var rc *replies
	if x, ok := exec.(whoStamper); ok && opts.ReplyCacheBytes > 0 {
		rc = newReplies(x, opts.ReplyCacheBytes)
	}
	return &Server{
		replies:   rc,
		exec:      exec,
		opts:      opts,
		metrics:   m,
		started:   time.Now(),
		ctx:       ctx,
		cancel:    cancel,
		listeners: make(map[net.Listener]struct{}),
		conns:     make(map[*conn]struct{}),
		done:      make(chan struct{}),
		now:       time.Now,
		sleep:     sleepUnlessDone,
		authLog:   newLogLimiter(authLogBurst, authLogEvery),
	}, nil
}

// protectedMode refuses to expose a server without a password beyond the
// loopback interface.
func protectedMode(addr, password string) error {
	if password != "" || isLoopback(addr) {
		return nil
	}
	return fmt.Errorf("server: refusing to listen on %s without a password (protected mode): "+
		"set a password or listen on a loopback address such as 127.0.0.1", addr)
}

func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ListenAndServe listens on Options.Addr and serves until Shutdown, when it
// returns ErrServerClosed.
func (s *Server) ListenAndServe() error {
	if err := protectedMode(s.opts.Addr, s.opts.Password); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", s.opts.Addr)
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	return s.Serve(ln)
}

// Serve accepts connections on ln until Shutdown, when it returns
// ErrServerClosed; ln is closed on return. With TLSConfig set, connections
// are wrapped in TLS. A TCP listener on a non-loopback address needs a
// Password, as in New.
func (s *Server) Serve(ln net.Listener) error {
	if a, ok := ln.Addr().(*net.TCPAddr); ok && s.opts.Password == "" && !a.IP.IsLoopback() {
		ln.Close()
		return protectedMode(a.String(), "")
	}
	if s.opts.TLSConfig != nil {
		ln = tls.NewListener(ln, s.opts.TLSConfig)
	}
	s.mu.Lock()
	if s.closing.Load() {
		s.mu.Unlock()
		ln.Close()
		return ErrServerClosed
	}
	s.listeners[ln] = struct{}{}
	if s.addr == nil {
		s.addr = ln.Addr()
	}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
		ln.Close()
	}()
	s.opts.Logger.Info("idgraph server listening", "addr", ln.Addr().String(), "tls", s.opts.TLSConfig != nil)

	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.closing.Load() {
				return ErrServerClosed
			}
			if errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("server: accept: %w", err)
			}
			// Out of file descriptors, a connection reset before accept:
			// wait a little and go on, as net/http does.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.opts.Logger.Warn("accept failed; retrying", "err", err, "in", backoff)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		s.stats.connections.Add(1)
		if s.clients.Load() >= int64(s.opts.MaxClients) {
			s.reject(nc)
			continue
		}
		c := s.newConn(nc)
		s.mu.Lock()
		if s.closing.Load() {
			s.mu.Unlock()
			nc.Close()
			continue
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		s.clients.Add(1)
		if s.metrics != nil {
			s.metrics.clients.Inc()
		}
		go c.serve()
	}
}

// reject answers a connection over MaxClients and closes it, without
// waiting for the client.
func (s *Server) reject(nc net.Conn) {
	s.stats.rejected.Add(1)
	if s.metrics != nil {
		s.metrics.rejected.WithLabelValues("maxclients").Inc()
	}
	s.opts.Logger.Warn("connection refused: max clients reached",
		"remote", nc.RemoteAddr().String(), "max_clients", s.opts.MaxClients)
	go func() {
		nc.SetWriteDeadline(time.Now().Add(time.Second))
		if _, ok := nc.(*tls.Conn); !ok {
			nc.Write([]byte("-ERR max number of clients reached\r\n"))
		}
		nc.Close()
	}()
}

// Addr is the address of the first listener, or nil before Serve.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Shutdown stops the server gracefully: it stops accepting, closes idle
// connections, lets commands in flight finish and send their replies, then
// closes their connections. If ctx ends first, it closes every connection,
// cancels the contexts of the commands still running and returns ctx.Err()
// without waiting for them.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if !s.closing.Swap(true) {
		close(s.done)
	}
	for ln := range s.listeners {
		ln.Close()
	}
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()

	// Wake every connection blocked in a read. A connection in the middle
	// of a command does not read until it has replied, then sees closing.
	for _, c := range conns {
		c.nc.SetReadDeadline(time.Now())
	}
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		s.cancel()
		s.opts.Logger.Info("idgraph server stopped")
		return nil
	case <-ctx.Done():
		s.cancel()
		s.mu.Lock()
		for c := range s.conns {
			c.nc.Close()
		}
		s.mu.Unlock()
		s.opts.Logger.Warn("idgraph server stopped before commands in flight finished", "err", ctx.Err())
		return ctx.Err()
	}
}

func (s *Server) removeConn(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.clients.Add(-1)
	if s.metrics != nil {
		s.metrics.clients.Dec()
	}
	s.wg.Done()
}
