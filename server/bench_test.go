package server

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"testing"

	"github.com/idgraph/idgraph/query"
)

// BenchmarkReadCommand is the frame reader on a pipelined stream of WHO.
func BenchmarkReadCommand(b *testing.B) {
	frame := []byte("*2\r\n$3\r\nWHO\r\n$21\r\nemail:ann@example.com\r\n")
	in := bytes.Repeat(frame, 1024)
	src := bytes.NewReader(in)
	r := newReader(bufio.NewReaderSize(src, readBufSize))
	lim := limits{maxBulk: 1 << 20, maxArgs: 4096, maxInline: 64 << 10}
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if i%1024 == 0 {
			src.Reset(in)
			r.br.Reset(src)
		}
		if _, err := r.read(lim); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWriteProfile encodes a WHO-sized map reply.
func BenchmarkWriteProfile(b *testing.B) {
	v := query.Map(
		query.Pair{Key: "profile", Val: query.Int(12345)},
		query.Pair{Key: "ids", Val: query.Strings([]string{"cookie:abc", "email:ann@example.com", "user:7"})},
		query.Pair{Key: "traits", Val: query.Map(query.Pair{Key: "city", Val: query.String("Oslo")})},
		query.Pair{Key: "events", Val: query.Int(42)},
	)
	w := writer{bw: bufio.NewWriter(io.Discard), proto: 2}
	b.ReportAllocs()
	for b.Loop() {
		w.value(v)
	}
}

// BenchmarkRoundTrip is one client sending WHO and waiting for the reply
// over loopback TCP: the latency floor of the server loop.
func BenchmarkRoundTrip(b *testing.B) {
	srv, err := New(constExec{}, testOptions())
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Shutdown(context.Background())
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	req := []byte("*2\r\n$3\r\nWHO\r\n$21\r\nemail:ann@example.com\r\n")
	br := bufio.NewReader(nc)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := nc.Write(req); err != nil {
			b.Fatal(err)
		}
		if _, err := br.ReadString('\n'); err != nil { // ":7"
			b.Fatal(err)
		}
	}
}

type constExec struct{}

func (constExec) Exec(context.Context, *query.Session, []string) (query.Value, error) {
	return query.Int(7), nil
}

// BenchmarkPipelinedWho is one client pipelining 64 WHO at a time and
// reading their map replies over loopback TCP: the server loop's
// throughput with the reply accounting of the output limits.
func BenchmarkPipelinedWho(b *testing.B) {
	reply := whoReply()
	srv, err := New(mapExec{reply}, testOptions())
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Shutdown(context.Background())
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	var enc bytes.Buffer
	w := writer{bw: bufio.NewWriter(&enc), proto: 2}
	w.value(reply)
	w.bw.Flush()
	const depth = 64
	req := bytes.Repeat([]byte("*2\r\n$3\r\nWHO\r\n$21\r\nemail:ann@example.com\r\n"), depth)
	buf := make([]byte, depth*enc.Len())
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := nc.Write(req); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(nc, buf); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*depth)/b.Elapsed().Seconds(), "replies/s")
}

func whoReply() query.Value {
	return query.Map(
		query.Pair{Key: "profile", Val: query.Int(12345)},
		query.Pair{Key: "ids", Val: query.Strings([]string{"cookie:abc", "email:ann@example.com", "user:7"})},
		query.Pair{Key: "traits", Val: query.Map(query.Pair{Key: "city", Val: query.String("Oslo")})},
		query.Pair{Key: "events", Val: query.Int(42)},
	)
}

type mapExec struct{ v query.Value }

func (m mapExec) Exec(context.Context, *query.Session, []string) (query.Value, error) {
	return m.v, nil
}
