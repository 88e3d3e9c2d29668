package httpapi

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/idgraph/idgraph/engine"
)

// batchBody is a /v1/batch body of n calls shaped like an SDK's: tracks
// with properties and a context, on cookies of which some log in.
func batchBody(n, seq int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"batch":[`)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		k := seq*n + i
		user := ""
		if k%50 == 0 {
			user = fmt.Sprintf(`"userId":"u%d",`, k%5000/50)
		}
		fmt.Fprintf(&b, `{"type":"track",%s"anonymousId":"c%d","event":"product_view","properties":{"sku":"SKU%d","price":%d.99},"context":{"library":{"name":"analytics.js","version":"2.1"},"page":{"url":"https://shop.example/p/%d"},"userAgent":"Mozilla/5.0"},"messageId":"m-%d","timestamp":"2026-10-01T10:00:00.000Z"}`,
			user, k%5000, k%997, k%100, k%997, k)
	}
	b.WriteString(`],"sentAt":"2026-10-01T10:00:01.000Z","writeKey":"k"}`)
	return b.Bytes()
}

// BenchmarkDecodeAndMap measures what the server does with a request
// before the engine: stream decoding with the limits, then the mapping of
// each call (load.SegmentCall). Reported per call.
func BenchmarkDecodeAndMap(b *testing.B) {
	body := batchBody(100, 0)
	lim := limits{call: 32 << 10, request: 500 << 10}
	now := time.Now()
	b.SetBytes(int64(len(body)) / 100)
	b.ResetTimer()
	for i := 0; i < b.N; i += 100 {
		bd, err := decodeBody(bytes.NewReader(body), true, lim)
		if err != nil {
			b.Fatal(err)
		}
		for _, c := range bd.calls {
			if _, err := mapCall(c, "batch", &bd, now); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkBatchIngest posts /v1/batch requests of 100 calls through the
// handler into an in-memory store from parallel goroutines ("http"), and,
// as the baseline, applies the same calls, mapped beforehand, with one
// engine Apply per 100 ("apply"). Reported per call.
func BenchmarkBatchIngest(b *testing.B) {
	const n = 100
	for _, mode := range []string{"apply", "http"} {
		b.Run(mode, func(b *testing.B) {
			db, err := engine.Open(engine.Options{InMemory: true})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			s, err := New(db, nil, Options{})
			if err != nil {
				b.Fatal(err)
			}
			type job struct {
				body []byte
				ops  []engine.Op
			}
			jobs := make(chan job, (b.N+n-1)/n)
			lim := limits{call: 32 << 10, request: 500 << 10}
			for i := 0; i < cap(jobs); i++ {
				j := job{body: batchBody(n, i)}
				if mode == "apply" {
					bd, _ := decodeBody(bytes.NewReader(j.body), true, lim)
					for _, c := range bd.calls {
						rec, err := mapCall(c, "batch", &bd, time.Now())
						if err != nil {
							b.Fatal(err)
						}
						j.ops = append(j.ops, engine.RecordOp(rec))
					}
				}
				jobs <- j
			}
			close(jobs)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					j, ok := <-jobs
					if !ok {
						continue
					}
					if mode == "apply" {
						if _, _, err := db.Apply(context.Background(), j.ops); err != nil {
							b.Fatal(err)
						}
						continue
					}
					rec := httptest.NewRecorder()
					s.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/batch", bytes.NewReader(j.body)))
					if rec.Code != 200 {
						b.Fatal(rec.Code, rec.Body.String())
					}
				}
			})
		})
	}
}
