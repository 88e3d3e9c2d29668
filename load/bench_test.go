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
