package httpapi

import (
	"crypto/tls"
	"log/slog"
	"time"
)

// Options configure a Server. Start from DefaultOptions; in every field the
// zero value means the documented default.
type Options struct {
	// Addr is the address the server is meant for (default
	// "127.0.0.1:7381"). New refuses a non-loopback Addr unless WriteKeys
	// and Password are both set; Serve checks its listener the same way.
	Addr string

	// WriteKeys maps each write key to the source its calls are recorded
	// with (see ParseWriteKeys). When empty, the tracking API takes calls
	// with any key or none and records them with source "segment"; only a
	// loopback address may then be served.
	WriteKeys map[string]string

	// Password, when set, is required by the JSON API as
	// "Authorization: Bearer <password>", for a user who may read and
	// write. ReadOnlyPassword is the read-only user's, which requires
	// Password and must differ from it. Without Password the JSON API is
	// open (loopback only).
	Password         string
	ReadOnlyPassword string

	// TLSConfig, when set, makes Serve speak HTTPS only.
	TLSConfig *tls.Config

	// MaxCallBytes bounds one tracking call (default 32 KB, as Segment);
	// MaxRequestBytes one request body (default 500 KB). Both are enforced
	// while reading, before a call is buffered.
	MaxCallBytes    int
	MaxRequestBytes int

	// MaxQueryBytes bounds the body of POST /v1/query (default 1 MiB, the
	// RESP server's largest argument) and MaxQueryArgs its words (default
	// 4096, the RESP server's MaxArgs).
	MaxQueryBytes int
	MaxQueryArgs  int

	// MaxConcurrent is the most requests handled at once (default 256);
	// more are answered 503 with Retry-After at once.
	MaxConcurrent int

	// RequestTimeout bounds the work of one request once it is read
	// (default 30 s): a write still waiting for its commit is answered 503
	// (an SDK retries, and messageId keeps the retry from counting twice).
	RequestTimeout time.Duration

	// ReadHeaderTimeout (default 10 s) and ReadTimeout (default 60 s) bound
	// how long a client may take to send its headers and its whole request,
	// so slow clients are cut off; IdleTimeout (default 2 minutes) closes
	// idle keep-alive connections. MaxHeaderBytes bounds the request
	// headers (default 64 KB).
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	IdleTimeout       time.Duration
	MaxHeaderBytes    int

	// Logger receives server start and stop (Info) and failures the client
	// cannot be blamed for (Error). Default slog.Default().
	Logger *slog.Logger

	// Now is the clock that stamps receivedAt (default time.Now).
	Now func() time.Time
}

// DefaultOptions returns the documented defaults.
func DefaultOptions() Options {
	return Options{
		Addr:              "127.0.0.1:7381",
		MaxCallBytes:      32 << 10,
		MaxRequestBytes:   500 << 10,
		MaxQueryBytes:     1 << 20,
		MaxQueryArgs:      4096,
		MaxConcurrent:     256,
		RequestTimeout:    30 * time.Second,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		Now:               time.Now,
	}
}

// withDefaults fills every zero field with its default.
func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.Addr == "" {
		o.Addr = d.Addr
	}
	set := func(v *int, def int) {
		if *v <= 0 {
			*v = def
		}
	}
	set(&o.MaxCallBytes, d.MaxCallBytes)
	set(&o.MaxRequestBytes, d.MaxRequestBytes)
	set(&o.MaxQueryBytes, d.MaxQueryBytes)
	set(&o.MaxQueryArgs, d.MaxQueryArgs)
	set(&o.MaxConcurrent, d.MaxConcurrent)
	set(&o.MaxHeaderBytes, d.MaxHeaderBytes)
	dur := func(v *time.Duration, def time.Duration) {
		if *v <= 0 {
			*v = def
		}
	}
	dur(&o.RequestTimeout, d.RequestTimeout)
	dur(&o.ReadHeaderTimeout, d.ReadHeaderTimeout)
	dur(&o.ReadTimeout, d.ReadTimeout)
	dur(&o.IdleTimeout, d.IdleTimeout)
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}
