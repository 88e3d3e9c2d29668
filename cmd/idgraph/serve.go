package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/idgraph/idgraph/engine"
	"github.com/idgraph/idgraph/query"
	"github.com/idgraph/idgraph/server"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

type storeFlags struct {
	data       *string
	sync       *bool
	encKeyFile *string
	backupDir  *string
	// erasureDelay, when not zero, is engine.Options.ErasureDelay (serve's
	// --erasure-delay).
	erasureDelay time.Duration
}

func addStoreFlags(fs interface {
	String(string, string, string) *string
	Bool(string, bool, string) *bool
}) storeFlags {
	return storeFlags{
		data:       fs.String("data", "./idgraph-data", "data directory (created if missing)"),
		sync:       fs.Bool("sync", false, "fsync every group commit (survives power loss, slower)"),
		encKeyFile: fs.String("encryption-key-file", "", "file holding a 16, 24 or 32 byte key: encrypt data at rest"),
		backupDir:  fs.String("backup-dir", "", "where BACKUP writes backups and the erasure journal is kept, outside --data (default: the data directory's name + \"-backups\")"),
	}
}

// open opens the store privately (see openStore); warnings go to stderr.
func (s storeFlags) open(logger *slog.Logger, stderr io.Writer) (*engine.DB, error) {
	return openStore(s, logger, stderr)
}

func cmdServe(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("serve", "serve [flags]", stderr)
	listen := fs.String("listen", "127.0.0.1:7380", "address to listen on; a non-loopback address needs a password")
	st := addStoreFlags(fs)
	pass := addSecretFlagsNamed(fs, "requirepass", "password-file", "password clients must AUTH with")
	roPass := addSecretFlags(fs, "readonly-pass", "password of the read-only user \"reader\"")
	maxCommand := fs.String("max-command-bytes", "64m", "most bytes one command may carry, refused before buffering (suffix k, m, g: KiB, MiB, GiB)")
	outLimit := fs.String("client-output-buffer-limit", "256m 64m 60", "HARD SOFT SECONDS: close a client whose unsent replies pass HARD bytes, or stay above SOFT for SECONDS (0 0 0: no limit)")
	certFile := fs.String("tls-cert", "", "TLS certificate (PEM); with --tls-key the server speaks TLS only")
	keyFile := fs.String("tls-key", "", "TLS private key (PEM)")
	metrics := fs.String("metrics", "", "serve Prometheus metrics on this address, e.g. 127.0.0.1:9380")
	pprofAddr := fs.String("pprof", "", "serve Go profiling (/debug/pprof) on this address, e.g. 127.0.0.1:6060")
	idle := fs.Duration("idle-timeout", 5*time.Minute, "close connections idle this long (0: never)")
	maxClients := fs.Int("max-clients", 10000, "most connections at once")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	erasureDelay := fs.Duration("erasure-delay", 2*time.Minute, "how long after a FORGET its values are compacted out of the store's files (FORGETs within it share one erasure)")
	cf := addClusterFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return exitError{2, fmt.Sprintf("bad --log-level %q", *logLevel)}
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	opts := server.DefaultOptions()
	if err := serveLimits(&opts, *maxCommand, *outLimit); err != nil {
		return err
	}
	var err error
	if opts.Password, err = pass.value(stderr); err != nil {
		return err
	}
	if opts.ReadOnlyPassword, err = roPass.value(stderr); err != nil {
		return err
	}
	if err := debugListenersNeedPassword(opts.Password, *metrics, *pprofAddr); err != nil {
		return err
	}
	opts.Addr = *listen
	opts.IdleTimeout = *idle
	opts.MaxClients = *maxClients
	opts.Logger = logger
	if *certFile != "" || *keyFile != "" {
		cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
		if err != nil {
			return fmt.Errorf("TLS: %w", err)
		}
		opts.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	var reg *prometheus.Registry
	if *metrics != "" {
		reg = prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		opts.MetricsRegistry = reg
	}
	var exec server.Executor
	var closeStore func() error
	if cf.enabled() {
		node, err := cf.open(st, *erasureDelay, logger, stderr)
		if err != nil {
			return err
		}
		exec, closeStore = node, node.Close
		opts.StoreInfo, opts.ClusterInfo = node.StoreInfo, node.Info
	} else {
		st.erasureDelay = *erasureDelay
		db, err := st.open(logger, stderr)
		if err != nil {
			return err
		}
		x := query.NewExecutor(db)
		exec, closeStore = x, db.Close
		opts.StoreInfo = x.StoreInfo
	}
	db := closer(closeStore)
	srv, err := server.New(exec, opts)
	if err != nil {
		db.Close()
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		db.Close()
		return err
	}
	if reg != nil {
		mln, err := net.Listen("tcp", *metrics)
		if err != nil {
			ln.Close()
			db.Close()
			return fmt.Errorf("metrics: %w", err)
		}
		h := requirePassword(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), opts.Password, opts.ReadOnlyPassword)
		hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
		go hs.Serve(mln)
		defer hs.Close()
	}
	if *pprofAddr != "" {
		pln, err := net.Listen("tcp", *pprofAddr)
		if err != nil {
			ln.Close()
			db.Close()
			return fmt.Errorf("pprof: %w", err)
		}
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		ps := &http.Server{Handler: requirePassword(mux, opts.Password), ReadHeaderTimeout: 10 * time.Second}
		go ps.Serve(pln)
		defer ps.Close()
	}
	logger.Info("idgraph serving", "addr", ln.Addr().String(), "data", *st.data)
	fmt.Fprintf(stdout, "idgraph listening on %s (data in %s); try: redis-cli -p %s WHO email:ann@example.com\n",
		ln.Addr(), *st.data, portOf(ln.Addr()))
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err = <-errc:
	case <-ctx.Done():
		logger.Info("shutting down")
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err = srv.Shutdown(sctx)
		cancel()
		<-errc
	}
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

// closer adapts a close function to the db.Close calls of cmdServe.
type closer func() error

func (c closer) Close() error { return c() }

func portOf(a net.Addr) string {
	_, p, _ := net.SplitHostPort(a.String())
	return p
}
