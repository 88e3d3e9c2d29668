package load

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

func benchmarkLines(b *testing.B, name, header, line string, opts Options) {
	const n = 1000
	input := header + strings.Repeat(line+"\n", n)
	b.SetBytes(int64(len(input)))
	b.ReportAllocs()
	for b.Loop() {
		r, err := NewReader(name, bytes.NewReader([]byte(input)), opts)
		if err != nil {
			b.Fatal(err)
		}
		for {
			if _, err := r.Next(); err == io.EOF {
				break
			} else if err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/record")
}

func BenchmarkNDJSON(b *testing.B) {
	benchmarkLines(b, "b.ndjson", "", `{"event":"purchase","ids":["email:a@b.c","cookie:123"],"time":"2026-11-01T10:00:00Z","source":"web","props":{"sku":"A1","price":12.5},"traits":{"name":"Ann"}}`, Options{})
}

func BenchmarkSegment(b *testing.B) {
	benchmarkLines(b, "b.ndjson", "", `{"type":"track","userId":"u1","anonymousId":"a1","event":"Order Completed","properties":{"total":30,"sku":"A1"},"timestamp":"2015-12-12T19:11:01.249Z","messageId":"m1","context":{"library":{"name":"analytics.js"},"traits":{"email":"a@b.c"},"device":{"id":"d1"}}}`, Options{})
}

func BenchmarkCSV(b *testing.B) {
	opts := Options{CSV: CSVOptions{IDs: []IDColumn{{"user", "user_id"}, {"cookie", "user_session"}}, Event: "event_type", Time: "event_time"}}
	benchmarkLines(b, "b.csv", "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session\n",
		"2019-10-01 00:00:00 UTC,view,44600062,2103807459595387724,,shiseido,35.79,541312140,72d76fde-8bb3-4e00-8c23-a032dfed738c", opts)
}

// benchmarkInput parses input, which holds n records, once per iteration.
func benchmarkInput(b *testing.B, name string, input []byte, n int, opts Options) {
	b.SetBytes(int64(len(input)))
	b.ReportAllocs()
	for b.Loop() {
		r, err := NewReader(name, bytes.NewReader(input), opts)
		if err != nil {
			b.Fatal(err)
		}
		for {
			if _, err := r.Next(); err == io.EOF {
				break
			} else if err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/record")
}

// ga4BenchInput returns 1000 generated GA4 export rows and the same records
// in our own shape.
func ga4BenchInput(b *testing.B) (ga4, ours []byte) {
	var g, o bytes.Buffer
	if err := writeGA4Rows(&g, 1000, 1); err != nil {
		b.Fatal(err)
	}
	r, err := NewReader("g", bytes.NewReader(g.Bytes()), Options{Format: FormatGA4})
	if err != nil {
		b.Fatal(err)
	}
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
		if err := writeOurs(&o, rec); err != nil {
			b.Fatal(err)
		}
	}
	return g.Bytes(), o.Bytes()
}

// BenchmarkGA4 parses generated GA4 export rows (about 2.9 kB each),
// detected per line as `idgraph load` does by default.
func BenchmarkGA4(b *testing.B) {
	ga4, _ := ga4BenchInput(b)
	benchmarkInput(b, "b.ndjson", ga4, 1000, Options{})
}

// BenchmarkGA4AsOurs parses the same records as BenchmarkGA4 written in our
// own shape: the baseline for GA4 parsing.
func BenchmarkGA4AsOurs(b *testing.B) {
	_, ours := ga4BenchInput(b)
	benchmarkInput(b, "b.ndjson", ours, 1000, Options{})
}
