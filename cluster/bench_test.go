package cluster

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/idgraph/idgraph/query"
)

// BenchmarkWrite: TRACKs from 16 goroutines through a three-node cluster
// in this process, all received by the leader.
func BenchmarkWrite(b *testing.B) {
	tc := newTestCluster(&testing.T{}, 3)
	defer func() {
		for i := range tc.nodes {
			tc.stop(i)
		}
	}()
	tc.t = &testing.T{}
	leader := -1
	for leader < 0 {
		tc.exec(0, "TRACK", "warmup", "cookie:w")
		for i, n := range tc.nodes {
			if n.IsLeader() {
				leader = i
			}
		}
	}
	var next atomic.Int64
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		s := &query.Session{Name: "bench"}
		for pb.Next() {
			k := next.Add(1)
			_, err := tc.nodes[leader].Exec(context.Background(), s, []string{"TRACK", "view", fmt.Sprintf("cookie:c%d", k%5000)})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
}
