package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"

	"github.com/idgraph/idgraph/engine"
	"github.com/idgraph/idgraph/query"
	"github.com/idgraph/idgraph/webhook"
	"github.com/prometheus/client_golang/prometheus"
)

// serve's webhooks (package webhook): each --webhook URL gets the change
// feed, with the same secret and filters.

type webhookFlags struct {
	urls       multiFlag
	secretFile *string
	kinds      *string
	segments   *string
	fields     *string
	batch      *int
}

func addWebhookFlags(fs *flag.FlagSet) *webhookFlags {
	f := &webhookFlags{}
	fs.Var(&f.urls, "webhook", "POST the change feed to this http(s) URL, in order and at least once (repeatable)")
	f.secretFile = fs.String("webhook-secret-file", "", "file holding the secret that signs each webhook request (X-Idgraph-Signature)")
	f.kinds = fs.String("webhook-kinds", "", "comma-separated kinds of entries to deliver (default: all), e.g. segment.entered,segment.left")
	f.segments = fs.String("webhook-segments", "", "comma-separated saved segments whose entries to deliver (default: all)")
	f.fields = fs.String("webhook-fields", "", "comma-separated fields of each entry's profile to add, e.g. email,trait:first_name,consent:email")
	f.batch = fs.Int("webhook-batch", webhook.DefaultBatch, "most entries in one webhook request")
	return f
}

// options checks the flags and returns the options of each webhook; the
// secret file is read here. Nothing is opened.
func (f *webhookFlags) options(logger *slog.Logger, stderr io.Writer) ([]webhook.Options, error) {
	if len(f.urls) == 0 {
		for _, c := range []struct{ name, value string }{{"webhook-secret-file", *f.secretFile}, {"webhook-kinds", *f.kinds},
			{"webhook-segments", *f.segments}, {"webhook-fields", *f.fields}} {
			if c.value != "" {
				return nil, exitError{2, fmt.Sprintf("--%s without --webhook: give the receiver's URL with --webhook", c.name)}
			}
		}
		return nil, nil
	}
	var secret []byte
	if *f.secretFile != "" {
		s, err := readSecretFile(*f.secretFile, "--webhook-secret-file", stderr)
		if err != nil {
			return nil, err
		}
		secret = []byte(s)
	}
	var out []webhook.Options
	seen := map[string]bool{}
	for _, u := range f.urls {
		o := webhook.Options{URL: u, Secret: secret, Kinds: commaList(*f.kinds), Segments: commaList(*f.segments),
			Fields: commaList(*f.fields), Batch: *f.batch, Logger: logger}
		if *f.batch <= 0 {
			return nil, exitError{2, fmt.Sprintf("--webhook-batch %d: give 1 to 10000", *f.batch)}
		}
		if err := o.Check(); err != nil {
			return nil, exitError{2, err.Error()}
		}
		if seen[u] {
			return nil, exitError{2, fmt.Sprintf("--webhook %s is given twice", u)}
		}
		seen[u] = true
		out = append(out, o)
	}
	if secret == nil {
		logger.Warn("webhook requests are not signed: give --webhook-secret-file so that receivers can verify them")
	}
	return out, nil
}

func commaList(s string) []string {
	var out []string
	for _, w := range strings.Split(s, ",") {
		if w = strings.TrimSpace(w); w != "" {
			out = append(out, w)
		}
	}
	return out
}

// webhooks are serve's running webhooks.
type webhooks struct {
	list   []*webhook.Webhook
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// openWebhooks opens each webhook (recording a first cursor for a new one)
// and registers its metrics on reg when there is one.
func openWebhooks(ctx context.Context, db *engine.DB, x *query.Executor, opts []webhook.Options, reg *prometheus.Registry) (*webhooks, error) {
	ws := &webhooks{}
	for _, o := range opts {
		w, err := webhook.Open(ctx, db, x, o)
		if err != nil {
			return nil, err
		}
		if reg != nil {
			if err := w.Register(reg); err != nil {
				return nil, fmt.Errorf("webhook %s metrics: %w", w.Name(), err)
			}
		}
		ws.list = append(ws.list, w)
	}
	return ws, nil
}

// start runs every webhook until stop.
func (ws *webhooks) start(logger *slog.Logger) {
	ctx, cancel := context.WithCancel(context.Background())
	ws.cancel = cancel
	for _, w := range ws.list {
		ws.wg.Go(func() {
			if err := w.Run(ctx); err != nil {
				logger.Error("webhook stopped", "webhook", w.Name(), "err", err)
			}
		})
	}
}

// stop ends delivery and waits for it: a request in flight is abandoned
// and delivered again after a restart.
func (ws *webhooks) stop() {
	if ws.cancel != nil {
		ws.cancel()
	}
	ws.wg.Wait()
}

// info appends, for each webhook i, INFO's webhook_<i>_* lines to base.
func (ws *webhooks) info(base func() []query.Pair) func() []query.Pair {
	if len(ws.list) == 0 {
		return base
	}
	return func() []query.Pair {
		out := base()
		kv := func(k string, v any) query.Pair { return query.Pair{Key: k, Val: query.String(fmt.Sprint(v))} }
		for i, w := range ws.list {
			s := w.Stats()
			p := "webhook_" + strconv.Itoa(i) + "_"
			out = append(out, kv(p+"name", s.Name), kv(p+"cursor", s.Cursor), kv(p+"entries_delivered", s.Delivered),
				kv(p+"batches_delivered", s.Batches), kv(p+"failures", s.Failures),
				kv(p+"lag_seconds", strconv.FormatFloat(s.Lag.Seconds(), 'f', 3, 64)))
		}
		return out
	}
}
