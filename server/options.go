package server

import (
	"crypto/tls"
	"log/slog"
	"time"

	"github.com/idgraph/idgraph/query"
	"github.com/prometheus/client_golang/prometheus"
)

// Options configure a Server. Start from DefaultOptions and change what you
// need; a zero limit is replaced by its default in New (IdleTimeout is the
// exception: zero there means no timeout).
type Options struct {
	// Addr is the TCP address ListenAndServe listens on. Default
	// "127.0.0.1:7380". A non-loopback address needs a Password (protected
	// mode, as in Redis).
	Addr string

	// Password, when set, is required (AUTH <password>, AUTH default
	// <password> or HELLO ... AUTH default <password>) before any command
	// other than AUTH, HELLO, PING and QUIT.
	Password string

	// ReadOnlyPassword, when set, is the password of a second user named
	// "reader" whose sessions are read-only (query.Session.ReadOnly): AUTH
	// reader <password>, or AUTH <password> alone. It requires Password.
	ReadOnlyPassword string

	// TLSConfig, when set, makes the server speak TLS only.
	TLSConfig *tls.Config

	// MaxBulkLen is the largest bulk string (one argument) accepted, in
	// bytes. Default 1 MiB.
	MaxBulkLen int
	// MaxArgs is the most arguments one command may have. Default 4096.
	MaxArgs int
	// MaxInlineLen is the longest inline command line, in bytes. Default
	// 64 KiB.
	MaxInlineLen int
	// MaxCommandBytes bounds one command's arguments all together, in
	// bytes. Each bulk header is checked against what is left of it before
	// any of its bytes are buffered, so many arguments under MaxBulkLen
	// cannot add up to more. Default 64 MiB.
	MaxCommandBytes int
	// PreAuthMaxBulk bounds bulk strings and inline lines before a
	// connection has authenticated (only when Password is set). Default
	// 4 KiB.
	PreAuthMaxBulk int
	// PreAuthMaxArgs bounds the argument count before a connection has
	// authenticated (only when Password is set). Default 16.
	PreAuthMaxArgs int

	// IdleTimeout closes a connection that sends no complete command for
	// this long. It is one deadline for the wait and the whole frame, so a
	// client that trickles a frame byte by byte is cut off too. It also
	// bounds writing a reply to a client that does not read. Default 5
	// minutes; 0 means no timeout.
	IdleTimeout time.Duration

	// MaxClients is the most connections served at once; more are sent an
	// error and closed. Default 10000.
	MaxClients int

	// OutputLimit bounds the reply bytes held for a client that does not
	// read them (see OutputLimit).
	OutputLimit OutputLimit

	// ReplyCacheBytes bounds the encoded WHO replies the server keeps to
	// answer a WHO asked again before anything changes, when the Executor
	// stamps its replies (query.Executor does; see query.Stamp). Default
	// 64 MiB; negative: keep none.
	ReplyCacheBytes int64

	// Logger receives connection events (Debug), limit violations (Warn)
	// and server start/stop (Info). Default slog.Default().
	Logger *slog.Logger

	// StoreInfo, when set, supplies the lines of the "store" section of
	// INFO. It is called from connection goroutines and must be safe for
	// concurrent use.
	StoreInfo func() []query.Pair

	// ClusterInfo, when set, supplies the lines of the "cluster" section of
	// INFO (a cluster node's role, leader, applied index and members); the
	// section is absent without it. Same rules as StoreInfo.
	ClusterInfo func() []query.Pair

	// MetricsRegistry, when set, receives the server's Prometheus
	// collectors (see the package doc). Serving them over HTTP is the
	// caller's job, e.g. with promhttp.HandlerFor.
	MetricsRegistry prometheus.Registerer
}

// OutputLimit is the server's client-output-buffer-limit, as in Redis: a
// bound on the reply bytes the server holds for one client and the client
// has not taken yet. A connection runs its next command only once the
// previous reply is handed to the socket, so it holds at most one reply
// (written straight from the executor's value to the socket through a small
// buffer, never copied whole) and what is buffered.
//
// A reply that would take the bytes held past Hard closes the connection
// instead of being sent: the client gets an ERR TOOLARGE error if its socket
// takes one, and the closing is logged. Held bytes that stay above Soft for
// SoftTime while the client does not read close the connection too (logged
// the same way). Zero fields are the defaults — Hard 256 MiB, Soft 64 MiB,
// SoftTime 60 s; a negative Hard or Soft turns that limit off. Clients that
// never read at all are also cut off by Options.IdleTimeout.
type OutputLimit struct {
	Hard     int64
	Soft     int64
	SoftTime time.Duration
}

// DefaultOutputLimit is the default OutputLimit.
var DefaultOutputLimit = OutputLimit{Hard: 256 << 20, Soft: 64 << 20, SoftTime: time.Minute}

func (l OutputLimit) withDefaults() OutputLimit {
	d := DefaultOutputLimit
	if l.Hard == 0 {
		l.Hard = d.Hard
	}
	if l.Soft == 0 {
		l.Soft = d.Soft
	}
	if l.SoftTime <= 0 {
		l.SoftTime = d.SoftTime
	}
	return l
}

// DefaultOptions returns the documented defaults.
func DefaultOptions() Options {
	return Options{
		Addr:            "127.0.0.1:7380",
		MaxBulkLen:      1 << 20,
		MaxArgs:         4096,
		MaxInlineLen:    64 << 10,
		MaxCommandBytes: 64 << 20,
		PreAuthMaxBulk:  4 << 10,
		PreAuthMaxArgs:  16,
		IdleTimeout:     5 * time.Minute,
		MaxClients:      10000,
		OutputLimit:     DefaultOutputLimit,
		ReplyCacheBytes: 64 << 20,
	}
}

// withDefaults fills the zero limits.
func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.Addr == "" {
		o.Addr = d.Addr
	}
	if o.MaxBulkLen <= 0 {
		o.MaxBulkLen = d.MaxBulkLen
	}
	if o.MaxArgs <= 0 {
		o.MaxArgs = d.MaxArgs
	}
	if o.MaxInlineLen <= 0 {
		o.MaxInlineLen = d.MaxInlineLen
	}
	if o.MaxCommandBytes <= 0 {
		o.MaxCommandBytes = d.MaxCommandBytes
	}
	o.OutputLimit = o.OutputLimit.withDefaults()
	if o.PreAuthMaxBulk <= 0 {
		o.PreAuthMaxBulk = d.PreAuthMaxBulk
	}
	if o.PreAuthMaxArgs <= 0 {
		o.PreAuthMaxArgs = d.PreAuthMaxArgs
	}
	if o.MaxClients <= 0 {
		o.MaxClients = d.MaxClients
	}
	if o.ReplyCacheBytes == 0 {
		o.ReplyCacheBytes = d.ReplyCacheBytes
	}
	if o.IdleTimeout < 0 {
		o.IdleTimeout = 0
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}
