package query_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/idgraph/idgraph/query"
)

// BenchmarkWho is WHO through the executor on a profile of three
// identifiers, two traits and a few events: the statement's parse, the
// engine's read and the reply's value, without the network.
func BenchmarkWho(b *testing.B) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	x, _ := newExec(b, now)
	for i := range 1000 {
		for _, line := range []string{
			fmt.Sprintf("TRACK page_view cookie:c%d AT 2026-11-20T10:00:00Z", i),
			fmt.Sprintf("TRACK add_to_cart cookie:c%d email:u%d@example.com AT 2026-11-21T10:00:00Z", i, i),
			fmt.Sprintf("MERGE email:u%d@example.com user:u%d", i, i),
			fmt.Sprintf("SET user:u%d city=Oslo plan=gold", i),
		} {
			if _, err := x.ExecLine(ctx, nil, line); err != nil {
				b.Fatalf("%s: %v", line, err)
			}
		}
	}
	s := &query.Session{}
	args := make([][]string, 1000)
	for i := range args {
		args[i] = []string{"WHO", fmt.Sprintf("email:u%d@example.com", i)}
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		v, err := x.Exec(ctx, s, args[i%len(args)])
		if err != nil || v.Kind != query.KindMap {
			b.Fatal(v, err)
		}
	}
}
