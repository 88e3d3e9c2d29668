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

	// Logger receives connection events (Debug), limit violations (Warn)
	// and server start/stop (Info). Default slog.Default().
	Logger *slog.Logger

	// StoreInfo, when set, supplies the lines of the "store" section of
	// INFO. It is called from connection goroutines and must be safe for
	// concurrent use.
	StoreInfo func() []query.Pair

	// MetricsRegistry, when set, receives the server's Prometheus
	// collectors (see the package doc). Serving them over HTTP is the
	// caller's job, e.g. with promhttp.HandlerFor.
	MetricsRegistry prometheus.Registerer
}

// DefaultOptions returns the documented defaults.
func DefaultOptions() Options {
	return Options{
		Addr:           "127.0.0.1:7380",
		MaxBulkLen:     1 << 20,
		MaxArgs:        4096,
		MaxInlineLen:   64 << 10,
		PreAuthMaxBulk: 4 << 10,
		PreAuthMaxArgs: 16,
		IdleTimeout:    5 * time.Minute,
		MaxClients:     10000,
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
	if o.PreAuthMaxBulk <= 0 {
		o.PreAuthMaxBulk = d.PreAuthMaxBulk
	}
	if o.PreAuthMaxArgs <= 0 {
		o.PreAuthMaxArgs = d.PreAuthMaxArgs
	}
	if o.MaxClients <= 0 {
		o.MaxClients = d.MaxClients
	}
	if o.IdleTimeout < 0 {
		o.IdleTimeout = 0
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}
