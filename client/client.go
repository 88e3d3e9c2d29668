package client

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"
)

// Options configure a Client. The zero value of each field means its
// default.
type Options struct {
	// Addr is the server's host:port. Default "127.0.0.1:7380".
	Addr string
	// Username is the user to log in as: "default" or "reader" (the
	// read-only user). Empty with a Password: AUTH with the password alone.
	Username string
	// Password, when set, is sent with AUTH on every new connection.
	Password string
	// Name, when set, names every connection (CLIENT SETNAME, or SETNAME in
	// HELLO). The server uses it as the default source of the events and
	// merges this client sends without FROM. It may not hold blanks or
	// control characters.
	Name string
	// Protocol is the RESP version to speak: 2 (the default) or 3. With 3,
	// each new connection starts with HELLO 3, and DoReply returns maps,
	// booleans and doubles as their own types. The typed calls work the
	// same with either.
	Protocol int
	// TLSConfig, when set, makes the client speak TLS. An empty ServerName
	// is taken from Addr.
	TLSConfig *tls.Config
	// PoolSize is the most connections open at once; calls beyond it wait
	// for a free one (or their context). Default 10.
	PoolSize int
	// DialTimeout bounds opening and authenticating a connection. Default
	// 5 seconds.
	DialTimeout time.Duration
	// ReadTimeout bounds each call when its context has no earlier
	// deadline. Default 0: only the context bounds a call.
	ReadTimeout time.Duration
}

func (o Options) withDefaults() Options {
	if o.Addr == "" {
		o.Addr = "127.0.0.1:7380"
	}
	if o.PoolSize <= 0 {
		o.PoolSize = 10
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = 5 * time.Second
	}
	if o.Protocol == 0 {
		o.Protocol = 2
	}
	return o
}

// Client is a pool of connections to an idgraph server. It is safe for
// concurrent use; create it with Dial or New and Close it when done.
type Client struct {
	opts  Options
	slots chan struct{} // one token per connection in use; cap PoolSize

	mu     sync.Mutex // guards idle and closed
	idle   []*conn
	closed bool
}

// New returns a Client that connects lazily, on its first call. An
// unsupported Options.Protocol shows on that call.
func New(opts Options) *Client {
	opts = opts.withDefaults()
	return &Client{opts: opts, slots: make(chan struct{}, opts.PoolSize)}
}

// Dial returns a Client after opening, authenticating and pinging one
// connection, so that a wrong address or a wrong password shows at once.
// (The server answers PING before AUTH, so a missing password shows on the
// first statement, as ErrNoAuth.)
func Dial(ctx context.Context, opts Options) (*Client, error) {
	if p := opts.Protocol; p != 0 && p != 2 && p != 3 {
		return nil, fmt.Errorf("idgraph: protocol %d: want 2 or 3", p)
	}
	c := New(opts)
	if err := c.Ping(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// Close closes the idle connections and makes further calls fail with
// ErrClosed; connections in use are closed when their calls return.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	for _, cn := range c.idle {
		cn.nc.Close()
	}
	c.idle = nil
	return nil
}

// get takes a connection from the pool, opening one if none is idle.
func (c *Client) get(ctx context.Context) (*conn, error) {
	select {
	case c.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		<-c.slots
		return nil, ErrClosed
	}
	if n := len(c.idle); n > 0 {
		cn := c.idle[n-1]
		c.idle = c.idle[:n-1]
		c.mu.Unlock()
		return cn, nil
	}
	c.mu.Unlock()
	cn, err := c.dial(ctx)
	if err != nil {
		<-c.slots
		return nil, err
	}
	return cn, nil
}

// put returns a connection to the pool, or closes it if it is broken or
// the client closed.
func (c *Client) put(cn *conn) {
	c.mu.Lock()
	if cn.broken || c.closed {
		c.mu.Unlock()
		cn.nc.Close()
	} else {
		c.idle = append(c.idle, cn)
		c.mu.Unlock()
	}
	<-c.slots
}

func (c *Client) dial(ctx context.Context) (*conn, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.DialTimeout)
	defer cancel()
	var nc net.Conn
	var err error
	if c.opts.TLSConfig != nil {
		d := tls.Dialer{Config: c.opts.TLSConfig}
		nc, err = d.DialContext(ctx, "tcp", c.opts.Addr)
	} else {
		var d net.Dialer
		nc, err = d.DialContext(ctx, "tcp", c.opts.Addr)
	}
	if err != nil {
		return nil, fmt.Errorf("idgraph: dial %s: %w", c.opts.Addr, err)
	}
	cn := newConn(nc)
	if err := c.handshake(ctx, cn); err != nil {
		nc.Close()
		return nil, err
	}
	return cn, nil
}

// handshake authenticates a new connection and sets its protocol and name,
// in one round trip.
func (c *Client) handshake(ctx context.Context, cn *conn) error {
	o := &c.opts
	var cmds [][]string
	switch o.Protocol {
	case 2:
		if o.Password != "" {
			if o.Username != "" {
				cmds = append(cmds, []string{"AUTH", o.Username, o.Password})
			} else {
				cmds = append(cmds, []string{"AUTH", o.Password})
			}
		}
		if o.Name != "" {
			cmds = append(cmds, []string{"CLIENT", "SETNAME", o.Name})
		}
	case 3:
		hello := []string{"HELLO", "3"}
		if o.Password != "" {
			user := o.Username
			if user == "" {
				user = "default"
			}
			hello = append(hello, "AUTH", user, o.Password)
		}
		if o.Name != "" {
			hello = append(hello, "SETNAME", o.Name)
		}
		cmds = append(cmds, hello)
	default:
		return fmt.Errorf("idgraph: protocol %d: want 2 or 3", o.Protocol)
	}
	if len(cmds) == 0 {
		return nil
	}
	replies, err := cn.exchange(ctx, cmds, 0)
	if err != nil {
		return fmt.Errorf("idgraph: connect: %w", err)
	}
	for i, r := range replies {
		if e := r.Err(); e != nil {
			what := "auth"
			switch {
			case cmds[i][0] == "CLIENT":
				what = "client name"
			case o.Password == "" && o.Protocol == 3:
				what = "hello"
			}
			return fmt.Errorf("idgraph: %s: %w", what, e)
		}
	}
	return nil
}

// exchange writes cmds in one go and reads one reply for each. Error
// replies are *Error values among the replies; err is for the connection,
// which is then marked broken.
func (cn *conn) exchange(ctx context.Context, cmds [][]string, readTimeout time.Duration) ([]Reply, error) {
	deadline, hasCtxDeadline := ctx.Deadline()
	if readTimeout > 0 {
		if t := time.Now().Add(readTimeout); !hasCtxDeadline || t.Before(deadline) {
			deadline, hasCtxDeadline = t, false
		}
	}
	cn.setDeadline(deadline)
	// Cancellation closes the connection, which unblocks the read or write.
	var stop func() bool
	if ctx.Done() != nil {
		stop = context.AfterFunc(ctx, func() { cn.nc.Close() })
	}
	replies, err := cn.roundTrip(cmds)
	if stop != nil && !stop() {
		cn.broken = true
		return nil, ctx.Err()
	}
	if err != nil {
		cn.broken = true
		if hasCtxDeadline && errors.Is(err, os.ErrDeadlineExceeded) {
			return nil, context.DeadlineExceeded
		}
		return nil, fmt.Errorf("idgraph: %w", err)
	}
	return replies, nil
}

func (cn *conn) roundTrip(cmds [][]string) ([]Reply, error) {
	for _, args := range cmds {
		cn.writeCommand(args)
	}
	if err := cn.bw.Flush(); err != nil {
		return nil, err
	}
	replies := make([]Reply, len(cmds))
	for i := range replies {
		v, err := cn.readReply()
		if err != nil {
			return nil, err
		}
		replies[i] = v
	}
	return replies, nil
}

// execTyped runs commands on one pooled connection in one round trip.
func (c *Client) execTyped(ctx context.Context, cmds [][]string) ([]Reply, error) {
	cn, err := c.get(ctx)
	if err != nil {
		return nil, err
	}
	replies, err := cn.exchange(ctx, cmds, c.opts.ReadTimeout)
	c.put(cn)
	return replies, err
}

// exec is execTyped with the replies as Do documents them.
func (c *Client) exec(ctx context.Context, cmds [][]string) ([]any, error) {
	replies, err := c.execTyped(ctx, cmds)
	if err != nil {
		return nil, err
	}
	out := make([]any, len(replies))
	for i, r := range replies {
		out[i] = r.plain()
	}
	return out, nil
}

// Do sends one command and returns its reply: nil, string (simple and bulk
// strings), int64, or []any of those (maps arrive flat, key then value).
// An error reply is returned as a *Error; an error nested in an array is an
// element of type *Error.
func (c *Client) Do(ctx context.Context, args ...string) (any, error) {
	if len(args) == 0 {
		return nil, fmt.Errorf("%w: no command", ErrSyntax)
	}
	replies, err := c.exec(ctx, [][]string{args})
	if err != nil {
		return nil, err
	}
	if e, ok := replies[0].(*Error); ok {
		return nil, e
	}
	return replies[0], nil
}
