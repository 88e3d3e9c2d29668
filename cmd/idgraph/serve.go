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
	"os"
	"time"

	"github.com/idgraph/idgraph/engine"
	"github.com/idgraph/idgraph/httpapi"
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
	cache      *string // the decoded-record cache's bound
	memLimit   *string // the process's soft memory limit ("": GOMEMLIMIT or none)
	// erasureDelay, when not zero, is engine.Options.ErasureDelay (serve's
	// --erasure-delay).
	erasureDelay time.Duration
	// dedup is set by serve only (nil elsewhere): how long messageIds are
	// remembered.
	dedup *time.Duration
	// retention is set by serve only (nil elsewhere): how long change
	// feed entries are kept.
	retention *time.Duration
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
		cache:      fs.String("cache", "64m", "bound of the cache of decoded records that WHO and the writer read first (suffix k, m, g; 0: no cache)"),
		memLimit:   fs.String("memory-limit", "", "soft limit on the process's memory, as Go's GOMEMLIMIT: the garbage collector works harder as the heap nears it (suffix k, m, g; default: GOMEMLIMIT, else none)"),
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
	replyCache := fs.String("reply-cache", "64m", "bound of the encoded WHO replies kept to answer a WHO asked again before anything changes (suffix k, m, g; 0: keep none)")
	idle := fs.Duration("idle-timeout", 5*time.Minute, "close connections idle this long (0: never)")
	maxClients := fs.Int("max-clients", 10000, "most connections at once")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	httpAddr := fs.String("http", defaultHTTPAddr, "serve the Segment tracking API and the JSON API on this address (\"\" turns it off); a non-loopback address needs --write-key-file and a password")
	writeKeyFile := fs.String("write-key-file", "", "file of source=key lines: the write keys the tracking API accepts, and the source of what each sends")
	dedup := fs.Duration("dedup-window", 24*time.Hour, "remember each call's messageId this long, so a retried call counts once")
	st.dedup = dedup
	retention := fs.Duration("changes-retention", 7*24*time.Hour, "keep change feed entries (CHANGES, webhooks) this long")
	st.retention = retention
	hookFlags := addWebhookFlags(fs)
	erasureDelay := fs.Duration("erasure-delay", 2*time.Minute, "how long after a FORGET its values are compacted out of the store's files (FORGETs within it share one erasure)")
	cf := addClusterFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if cf.enabled() && flagSet(args, "webhook") {
		// Webhooks deliver one store's change feed and keep their cursor
		// in it; a node's store is replaced when it installs a snapshot.
		return exitError{2, "--webhook: webhooks are for a single server (read a cluster node's feed with CHANGES)"}
	}
	if *dedup <= 0 {
		return exitError{2, fmt.Sprintf("--dedup-window %v: give a positive duration such as 24h", *dedup)}
	}
	if *retention <= 0 {
		return exitError{2, fmt.Sprintf("--changes-retention %v: give a positive duration such as 168h", *retention)}
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return exitError{2, fmt.Sprintf("bad --log-level %q", *logLevel)}
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	hookOpts, err := hookFlags.options(logger, stderr)
	if err != nil {
		return err
	}
	opts := server.DefaultOptions()
	if err := serveLimits(&opts, *maxCommand, *outLimit); err != nil {
		return err
	}
	if opts.Password, err = pass.value(stderr); err != nil {
		return err
	}
	if opts.ReadOnlyPassword, err = roPass.value(stderr); err != nil {
		return err
	}
	if err := debugListenersNeedPassword(opts.Password, *metrics, *pprofAddr); err != nil {
		return err
	}
	rc, err := parseSize(*replyCache)
	if err != nil {
		return exitError{2, "bad --reply-cache: " + err.Error()}
	}
	opts.ReplyCacheBytes = rc
	if rc == 0 {
		opts.ReplyCacheBytes = -1
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
	hopts := httpapi.DefaultOptions()
	hopts.Addr = *httpAddr
	hopts.Password, hopts.ReadOnlyPassword = opts.Password, opts.ReadOnlyPassword
	hopts.TLSConfig = opts.TLSConfig
	hopts.Logger = logger
	// /v1/query has the RESP server's limits on one command.
	hopts.MaxQueryBytes, hopts.MaxQueryArgs = opts.MaxBulkLen, opts.MaxArgs
	if *writeKeyFile != "" {
		f, err := os.Open(*writeKeyFile)
		if err != nil {
			return fmt.Errorf("write-key file: %w", err)
		}
		hopts.WriteKeys, err = httpapi.ParseWriteKeys(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", *writeKeyFile, err)
		}
	}
	var reg *prometheus.Registry
	if *metrics != "" {
		reg = prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		opts.MetricsRegistry = reg
	}
	var (
		exec  server.Executor
		db    interface{ Close() error }
		hooks *webhooks
		hsrv  *httpapi.Server
	)
	if cf.enabled() {
		node, err := cf.open(st, *erasureDelay, logger, stderr)
		if err != nil {
			return err
		}
		exec, db = node, node
		opts.StoreInfo, opts.ClusterInfo = node.StoreInfo, node.Info
		hooks = &webhooks{}
		if *httpAddr != "" {
			// The HTTP API on a node: its writes go through the log.
			if hsrv, err = httpapi.NewOn(node, hopts); err != nil {
				node.Close()
				return err
			}
		}
	} else {
		st.erasureDelay = *erasureDelay
		edb, err := st.open(logger, stderr)
		if err != nil {
			return err
		}
		x := query.NewExecutor(edb)
		exec, db = x, edb
		if hooks, err = openWebhooks(ctx, edb, x, hookOpts, reg); err != nil {
			edb.Close()
			return err
		}
		opts.StoreInfo = hooks.info(x.StoreInfo)
		if *httpAddr != "" {
			if hsrv, err = httpapi.New(edb, x, hopts); err != nil {
				edb.Close()
				return err
			}
		}
	}
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
	var hln net.Listener
	if hsrv != nil {
		hln, err = net.Listen("tcp", *httpAddr)
		switch {
		case err != nil && !flagSet(args, "http"):
			// Only the default was asked for: serve RESP anyway.
			logger.Warn("HTTP API not served: the default address is taken; give --http to choose another", "addr", *httpAddr, "err", err)
			hsrv = nil
		case err != nil:
			ln.Close()
			db.Close()
			return fmt.Errorf("http: %w", err)
		}
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
	hooks.start(logger)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	herrc := make(chan error, 1)
	if hsrv != nil {
		scheme := "http"
		if hopts.TLSConfig != nil {
			scheme = "https"
		}
		fmt.Fprintf(stdout, "HTTP API on %s://%s (Segment tracking API: /v1/batch …; JSON API: /v1/profiles/{id} …)\n", scheme, hln.Addr())
		go func() { herrc <- hsrv.Serve(hln) }()
	}
	select {
	case err = <-errc:
		if hsrv != nil {
			hsrv.Close()
			<-herrc
		}
	case err = <-herrc:
		srv.Shutdown(context.Background())
		<-errc
	case <-ctx.Done():
		logger.Info("shutting down")
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		var herr error
		if hsrv != nil {
			herr = hsrv.Shutdown(sctx)
		}
		err = srv.Shutdown(sctx)
		cancel()
		<-errc
		if hsrv != nil {
			<-herrc
		}
		if err == nil {
			err = herr
		}
	}
	hooks.stop()
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, net.ErrClosed) || errors.Is(err, http.ErrServerClosed) || errors.Is(err, server.ErrServerClosed) {
		err = nil
	}
	return err
}

// defaultHTTPAddr is where serve offers the HTTP API unless told otherwise.
const defaultHTTPAddr = "127.0.0.1:7381"

func portOf(a net.Addr) string {
	_, p, _ := net.SplitHostPort(a.String())
	return p
}
