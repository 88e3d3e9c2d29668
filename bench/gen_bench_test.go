package bench

import (
	"io"
	"testing"
)

func BenchmarkGenerate(b *testing.B) {
	cfg := DefaultConfig()
	cfg.People = 20_000
	events := 0
	for b.Loop() {
		_, st, err := Generate(cfg, io.Discard)
		if err != nil {
			b.Fatal(err)
		}
		events += st.Events
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
}
