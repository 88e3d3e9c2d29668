package server

import (
	"fmt"
	"math/rand"
	"strconv"
	"strings"
	"testing"
)

// A WHO answered from the cache of encoded replies is the reply a server
// without the cache gives at the same moment, in RESP2 and in RESP3,
// through random writes (events, merges, traits, tags, erasures, saved
// segments) between the WHOs; with a cache too small for every profile too
// (it drops entries and stays within its bound). The test fails if the
// cache never answers.
func TestCachedWhoRepliesAreTheFreshOnes(t *testing.T) {
	for _, limit := range []int64{32 << 20, 1500} {
		t.Run(fmt.Sprint("limit", limit), func(t *testing.T) {
			x, _ := engineExec(t)
			on := testOptions()
			on.ReplyCacheBytes = limit
			off := testOptions()
			off.ReplyCacheBytes = -1
			_, addrA := start(t, x, on)
			_, addrB := start(t, x, off)
			a2, b2 := dialRaw(t, addrA), dialRaw(t, addrB)
			a3, b3 := dialRaw(t, addrA), dialRaw(t, addrB)
			for _, c := range []*raw{a3, b3} {
				c.send(cmd("HELLO", "3")).reply()
			}
			r := rand.New(rand.NewSource(limit))
			id := func() string {
				n := strconv.Itoa(r.Intn(6))
				return []string{"cookie:c" + n, "user:u" + n, "email:e" + n + "@x.io"}[r.Intn(3)]
			}
			for step := 0; step < 300; step++ {
				var w []string
				switch k := r.Intn(24); {
				case k < 5:
					w = []string{"TRACK", []string{"view", "purchase"}[r.Intn(2)], id(), id(), "AT", fmt.Sprintf("2026-10-%02dT10:00:00Z", 1+r.Intn(30))}
				case k < 6:
					w = []string{"MERGE", id(), id()}
				case k < 7:
					w = []string{"SET", id(), "tier=" + strconv.Itoa(r.Intn(3))}
				case k < 8:
					w = []string{"TAG", id(), "vip"}
				case k < 9:
					w = []string{"FORGET", id()}
				case k < 10:
					w = []string{"SEGMENT", "SAVE", "s" + strconv.Itoa(r.Intn(3)), "DID", "purchase", "WITHIN", strconv.Itoa(1+r.Intn(40)) + "d"}
				}
				if w != nil {
					a2.send(cmd(w...)).reply()
				}
				for range 4 {
					q := cmd("WHO", id())
					if ga, gb := a2.send(q).reply(), b2.send(q).reply(); ga != gb {
						t.Fatalf("step %d, RESP2 %q: cached %s, fresh %s", step, q, ga, gb)
					}
					if ga, gb := a3.send(q).reply(), b3.send(q).reply(); ga != gb {
						t.Fatalf("step %d, RESP3 %q: cached %s, fresh %s", step, q, ga, gb)
					}
				}
			}
			if hits := infoField(t, addrA, "reply_cache_hits"); hits < 100 {
				t.Fatalf("reply_cache_hits %d: the cache hardly answered", hits)
			}
			if bytes := infoField(t, addrA, "reply_cache_bytes"); bytes <= 0 || bytes > limit {
				t.Fatalf("reply_cache_bytes %d, bound %d", bytes, limit)
			}
			if strings.Contains(b2.send(cmd("INFO", "stats")).reply(), "reply_cache") {
				t.Fatal("a server without the cache reports one")
			}
		})
	}
}
