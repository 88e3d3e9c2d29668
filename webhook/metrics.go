package webhook

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Register exports the webhook's figures on reg, labelled webhook=<name>:
//
//	idgraph_webhook_delivery_lag_seconds        now − the oldest entry read and not yet acknowledged (0: none)
//	idgraph_webhook_entries_delivered_total     entries acknowledged with a 2xx
//	idgraph_webhook_batches_delivered_total     requests acknowledged with a 2xx
//	idgraph_webhook_delivery_failures_total     requests that failed, each retry counted
//	idgraph_webhook_cursor                      the last cursor acknowledged
func (w *Webhook) Register(reg prometheus.Registerer) error {
	labels := prometheus.Labels{"webhook": w.opts.Name}
	opts := func(name, help string) prometheus.GaugeOpts {
		return prometheus.GaugeOpts{Namespace: "idgraph", Subsystem: "webhook", Name: name, Help: help, ConstLabels: labels}
	}
	counter := func(name, help string, f func() uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts(opts(name, help)), func() float64 { return float64(f()) })
	}
	cs := []prometheus.Collector{
		prometheus.NewGaugeFunc(opts("delivery_lag_seconds", "Now minus the time of the oldest change feed entry read and not yet acknowledged by the receiver; 0 when none is waiting."),
			func() float64 { return w.Stats().Lag.Seconds() }),
		counter("entries_delivered_total", "Change feed entries the receiver acknowledged with a 2xx.", w.delivered.Load),
		counter("batches_delivered_total", "Requests the receiver acknowledged with a 2xx.", w.batches.Load),
		counter("delivery_failures_total", "Requests that failed (an error, a timeout or a status other than 2xx); each retry counts.", w.failures.Load),
		prometheus.NewGaugeFunc(opts("cursor", "The last change feed cursor the receiver acknowledged."),
			func() float64 { return float64(w.acked.Load()) }),
	}
	var errs []error
	for _, c := range cs {
		errs = append(errs, reg.Register(c))
	}
	return errors.Join(errs...)
}
