package query_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/idgraph/idgraph/query"
)

// batchStatement returns a random statement over a small pool of
// identifiers: mostly simple writes, some reads and other writes between
// them, and some that must fail.
func batchStatement(rng *rand.Rand, at time.Time) []string {
	ids := []string{"cookie:c1", "cookie:c2", "cookie:c3", "cookie:c4", "email:a@x.io", "email:b@x.io",
		"user:u1", "user:u2", "device:d1", "phone:+4915112345678", "ga:null"}
	id := func() string { return ids[rng.IntN(len(ids))] }
	when := at.Add(time.Duration(rng.IntN(1000)) * time.Minute).Format(time.RFC3339)
	switch rng.IntN(14) {
	case 0, 1, 2:
		return []string{"TRACK", []string{"page_view", "add_to_cart", "purchase"}[rng.IntN(3)], id(), id(), "AT", when}
	case 3:
		return []string{"MERGE", id(), id(), "AT", when}
	case 4:
		return []string{"SET", id(), fmt.Sprintf("tier=%d", rng.IntN(3)), "AT", when}
	case 5:
		return []string{"CONSENT", id(), "email", []string{"GRANT", "DENY"}[rng.IntN(2)], "AT", when}
	case 6:
		return []string{[]string{"TAG", "UNTAG"}[rng.IntN(2)], id(), "vip", "AT", when}
	case 7:
		return []string{"RECORD", fmt.Sprintf(`{"event":"purchase","ids":[%q,%q],"time":%q,"props":{"total":%d}}`, id(), id(), when, rng.IntN(900))}
	case 8:
		return []string{"WHO", id()}
	case 9:
		return []string{"SEGMENT", "COUNT", "DID", "purchase"}
	case 10:
		return []string{"UNLINK", id(), id()}
	case 11:
		return []string{"TRACK", "page_view", "nocolon"} // ERR BADID
	case 12:
		return []string{"RECORD", `{"event":`} // ERR SYNTAX
	default:
		return []string{"SET", id()} // ERR SYNTAX: no trait
	}
}

func outcome(v query.Value, err error) string {
	if err != nil {
		return "error: " + err.Error()
	}
	return v.String()
}

// TestExecBatchMatchesExecOneByOne runs the same random statements through
// ExecBatch, in runs of random length, and through Exec one at a time, on
// two databases: every reply and the final profiles must be the same.
func TestExecBatchMatchesExecOneByOne(t *testing.T) {
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	ctx := context.Background()
	for seed := uint64(1); seed <= 20; seed++ {
		rng := rand.New(rand.NewPCG(seed, 7))
		batched, _ := newExec(t, at.Add(48*time.Hour))
		single, _ := newExec(t, at.Add(48*time.Hour))
		var stmts [][]string
		for range 300 {
			stmts = append(stmts, batchStatement(rng, at))
		}
		for i := 0; i < len(stmts); {
			n := 1 + rng.IntN(40)
			run := stmts[i:min(i+n, len(stmts))]
			got := batched.ExecBatch(ctx, nil, run)
			if len(got) != len(run) {
				t.Fatalf("seed %d: %d results for %d statements", seed, len(got), len(run))
			}
			for k, args := range run {
				want := outcome(single.Exec(ctx, nil, args))
				if g := outcome(got[k].Value, got[k].Err); g != want {
					t.Fatalf("seed %d statement %d %q:\n batched %s\n alone   %s", seed, i+k, args, g, want)
				}
			}
			i += len(run)
		}
		for _, id := range []string{"cookie:c1", "cookie:c2", "cookie:c3", "cookie:c4", "email:a@x.io", "email:b@x.io", "user:u1", "user:u2", "device:d1", "phone:+4915112345678"} {
			g := outcome(batched.Exec(ctx, nil, []string{"WHO", id}))
			w := outcome(single.Exec(ctx, nil, []string{"WHO", id}))
			if g != w {
				t.Fatalf("seed %d: WHO %s\n batched %s\n alone   %s", seed, id, g, w)
			}
		}
	}
}

func TestExecBatchRefusesWritesToReaders(t *testing.T) {
	x, _ := newExec(t, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	s := &query.Session{ReadOnly: true}
	res := x.ExecBatch(context.Background(), s, [][]string{{"TRACK", "page_view", "cookie:a"}, {"WHO", "cookie:a"}})
	if got := outcome(res[0].Value, res[0].Err); got != "error: ERR READONLY this user may only read" {
		t.Errorf("TRACK by a reader: %s", got)
	}
	if got := outcome(res[1].Value, res[1].Err); got != "(nil)" {
		t.Errorf("WHO after the refused TRACK: %s", got)
	}
}
