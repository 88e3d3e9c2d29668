package server

import (
	"bytes"
	"context"
	"fmt"
	"math/rand"
	"testing"

	"github.com/idgraph/idgraph/query"
)

// alwaysHolds stamps nothing and holds every stamp: the cache's own
// bookkeeping, apart from the executor's rule.
type alwaysHolds struct{}

func (alwaysHolds) WhoStamped(context.Context, *query.Session, string) (query.Value, query.Stamp, error) {
	return query.Value{}, query.Stamp{}, nil
}
func (alwaysHolds) Holds(context.Context, query.Stamp) bool { return true }

// The cache counts exactly what it holds and stays within its bound when
// keys are kept again with replies of other sizes while it is full, and a
// hit gives the reply kept last for its key.
func TestReplyCacheCountsWhatItHolds(t *testing.T) {
	const limit = 3000
	r := newReplies(alwaysHolds{}, limit)
	rng := rand.New(rand.NewSource(1))
	last := map[string][]byte{}
	for i := 0; i < 5000; i++ {
		key := []byte(fmt.Sprintf("2 cookie:c%d", rng.Intn(20)))
		enc := bytes.Repeat([]byte{byte('a' + i%26)}, 1+rng.Intn(400))
		r.put(key, query.Stamp{}, enc)
		last[string(key)] = enc
		var held int64
		for k, e := range r.m {
			held += entrySize(len(k), e.enc)
		}
		if held != r.bytes || r.bytes > limit || r.bytes < 0 {
			t.Fatalf("put %d: counted %d bytes, holds %d, bound %d", i, r.bytes, held, limit)
		}
		for k := range r.m {
			if got, ok := r.get(context.Background(), []byte(k)); !ok || !bytes.Equal(got, last[k]) {
				t.Fatalf("put %d: %s gives a reply other than the last kept", i, k)
			}
		}
	}
}
