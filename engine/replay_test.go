package engine_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/idgraph/idgraph/engine"
)

// The replay model: SPEC.md §3 written again as plainly as possible, with
// no code shared with the engine. Profiles are whatever replaying the link
// records, in arrival order, through the rules gives.

type mType struct {
	limit, priority int
	exclusive       bool
}

var modelTypes = map[string]mType{
	"user": {1, 1, false}, "email": {5, 2, false}, "phone": {5, 3, false},
	"device": {20, 4, true}, "push": {20, 5, true}, "app": {50, 7, false},
	"cookie": {200, 8, false}, "idfa": {20, 9, false},
	// small custom types make the limit and move rules fire often
	"acct": {2, 2, false}, "tok": {1, 4, true}, "dev2": {2, 5, true},
}

var testTypes = []engine.TypeSpec{
	{Name: "acct", Limit: 2, Priority: 2, Normalize: engine.NormTrim},
	{Name: "tok", Limit: 1, Priority: 4, Exclusive: true, Normalize: engine.NormTrim},
	{Name: "dev2", Limit: 2, Priority: 5, Exclusive: true, Normalize: engine.NormTrim},
}

func typeOf(id string) string { return id[:strings.IndexByte(id, ':')] }

type mEvent struct {
	anchor string
	erased bool
}

type mRecord struct {
	sets  [][]string
	event *mEvent // nil for MERGE
}

type model struct {
	records []*mRecord
	events  []*mEvent
	known   map[string]bool
}

func newModel() *model { return &model{known: map[string]bool{}} }

func blockedValue(v string) bool {
	switch strings.ToLower(v) {
	case "", "null", "undefined", "none", "nil", "nan", "anonymous", "unknown", "[object object]", "-1":
		return true
	}
	return strings.Trim(v, "0-") == ""
}

// order drops blocked values and duplicates and sorts by priority, stably.
func order(ids []string) []string {
	var out []string
	for _, id := range ids {
		if blockedValue(id[strings.IndexByte(id, ':')+1:]) || slices.Contains(out, id) {
			continue
		}
		out = append(out, id)
	}
	sort.SliceStable(out, func(i, j int) bool {
		return modelTypes[typeOf(out[i])].priority < modelTypes[typeOf(out[j])].priority
	})
	return out
}

func (m *model) link(ids []string, isEvent bool) {
	ids = order(ids)
	if len(ids) == 0 {
		return
	}
	for _, id := range ids {
		m.known[id] = true
	}
	var ev *mEvent
	if isEvent {
		ev = &mEvent{anchor: ids[0]}
		m.events = append(m.events, ev)
	}
	if len(ids) > 1 {
		m.records = append(m.records, &mRecord{sets: [][]string{ids}, event: ev})
	}
}

func (m *model) unlink(a, b string) {
	for _, r := range m.records {
		var sets [][]string
		for _, s := range r.sets {
			i, j := slices.Index(s, a), slices.Index(s, b)
			if i < 0 || j < 0 {
				sets = append(sets, s)
				continue
			}
			if j < i {
				i, j = j, i
			}
			for _, drop := range []string{s[j], s[i]} {
				var part []string
				for _, x := range s {
					if x != drop {
						part = append(part, x)
					}
				}
				if len(part) >= 2 {
					sets = append(sets, part)
				}
			}
		}
		r.sets = sets
	}
}

func (m *model) forget(id string) {
	prof := m.replay()
	if _, ok := prof[id]; !ok {
		return
	}
	gone := map[string]bool{}
	for x, p := range prof {
		if p == prof[id] {
			gone[x] = true
		}
	}
	for _, e := range m.events {
		if gone[e.anchor] {
			e.erased = true
		}
	}
	var kept []*mRecord
	for _, r := range m.records {
		if r.event != nil && r.event.erased {
			continue
		}
		var sets [][]string
		for _, s := range r.sets {
			var k []string
			for _, x := range s {
				if !gone[x] {
					k = append(k, x)
				}
			}
			if len(k) >= 2 {
				sets = append(sets, k)
			}
		}
		r.sets = sets
		kept = append(kept, r)
	}
	m.records = kept
	for x := range gone {
		delete(m.known, x)
	}
}

// replay returns identifier → profile label.
func (m *model) replay() map[string]int {
	prof := map[string]int{}
	members := map[int][]string{}
	next := 0
	count := func(p int, typ string) int {
		n := 0
		for _, x := range members[p] {
			if typeOf(x) == typ {
				n++
			}
		}
		return n
	}
	put := func(x string, p int) {
		prof[x] = p
		members[p] = append(members[p], x)
	}
	fresh := func(x string) int {
		next++
		put(x, next)
		return next
	}
	for _, r := range m.records {
		for _, s := range r.sets {
			p, ok := prof[s[0]]
			if !ok {
				p = fresh(s[0])
			}
			for _, x := range s[1:] {
				px, ok := prof[x]
				t := modelTypes[typeOf(x)]
				switch {
				case ok && px == p:
				case !ok:
					if count(p, typeOf(x)) < t.limit {
						put(x, p)
					} else {
						fresh(x)
					}
				default:
					fits := true
					for typ, mt := range modelTypes {
						if count(p, typ)+count(px, typ) > mt.limit {
							fits = false
						}
					}
					if fits {
						keep, gone := min(p, px), max(p, px)
						for _, y := range members[gone] {
							put(y, keep)
						}
						delete(members, gone)
						p = keep
					} else if t.exclusive && count(p, typeOf(x)) < t.limit {
						members[px] = slices.DeleteFunc(members[px], func(y string) bool { return y == x })
						put(x, p)
					}
				}
			}
		}
	}
	ids := make([]string, 0, len(m.known))
	for x := range m.known {
		ids = append(ids, x)
	}
	sort.Strings(ids)
	for _, x := range ids {
		if _, ok := prof[x]; !ok {
			fresh(x)
		}
	}
	return prof
}

// expected returns, for each known identifier, its profile's sorted members
// and the number of live events anchored in that profile.
func (m *model) expected() map[string]struct {
	ids    []string
	events int64
} {
	prof := m.replay()
	members := map[int][]string{}
	for x, p := range prof {
		members[p] = append(members[p], x)
	}
	events := map[int]int64{}
	for _, e := range m.events {
		if !e.erased {
			events[prof[e.anchor]]++
		}
	}
	out := map[string]struct {
		ids    []string
		events int64
	}{}
	for x, p := range prof {
		ms := append([]string(nil), members[p]...)
		sort.Strings(ms)
		out[x] = struct {
			ids    []string
			events int64
		}{ms, events[p]}
	}
	return out
}

func randomIDs(r *rand.Rand, pool []string) []string {
	n := 1 + r.Intn(4)
	out := make([]string, n)
	for i := range out {
		out[i] = pool[r.Intn(len(pool))]
	}
	return out
}

func idPool(r *rand.Rand) []string {
	sizes := map[string]int{"user": 25, "email": 20, "phone": 8, "device": 10, "push": 10,
		"app": 10, "cookie": 40, "idfa": 4, "acct": 10, "tok": 8, "dev2": 8}
	var pool []string
	for typ, n := range sizes {
		for i := 0; i < n; i++ {
			if typ == "phone" {
				pool = append(pool, fmt.Sprintf("phone:+1555%04d", i))
				continue
			}
			pool = append(pool, fmt.Sprintf("%s:%s%d", typ, typ[:1], i))
		}
	}
	sort.Strings(pool)
	pool = append(pool, "cookie:null", "idfa:00000000-0000-0000-0000-000000000000", "email:undefined")
	r.Shuffle(len(pool), func(i, j int) { pool[i], pool[j] = pool[j], pool[i] })
	return pool
}

func TestDifferentialAgainstReplay(t *testing.T) {
	seeds := []int64{1, 2, 3, 4, 5, 6}
	if testing.Short() {
		seeds = seeds[:2]
	}
	if only, err := strconv.ParseInt(os.Getenv("IDGRAPH_REPLAY_SEED"), 10, 64); err == nil {
		seeds = []int64{only}
		debugEveryStep = true
	}
	// IDGRAPH_REPLAY_SEEDS=N runs N more seeds (a soak).
	if n, _ := strconv.Atoi(os.Getenv("IDGRAPH_REPLAY_SEEDS")); n > 0 {
		for i := 0; i < n; i++ {
			seeds = append(seeds, int64(100+i))
		}
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			runDifferential(t, seed, 1500)
		})
	}
}

func runDifferential(t *testing.T, seed int64, steps int) {
	ctx := context.Background()
	opts := engine.DefaultOptions("")
	opts.InMemory = true
	opts.Types = testTypes
	db, err := engine.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	r := rand.New(rand.NewSource(seed))
	pool := idPool(r)
	m := newModel()
	var history [][]string
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	lastOp := ""
	for step := 0; step < steps; step++ {
		at = at.Add(time.Duration(r.Intn(3600)) * time.Second)
		switch x := r.Intn(100); {
		case x < 60:
			ids := randomIDs(r, pool)
			lastOp = fmt.Sprint("TRACK ", ids)
			_, err := db.Track(ctx, engine.Event{Name: "e", IDs: ids, Time: at})
			if len(order(ids)) == 0 {
				if err == nil {
					t.Fatalf("step %d: track of only blocked ids %v succeeded", step, ids)
				}
				continue
			}
			if err != nil {
				t.Fatalf("step %d: track %v: %v", step, ids, err)
			}
			m.link(ids, true)
			history = append(history, order(ids))
		case x < 80:
			ids := randomIDs(r, pool)
			if len(ids) < 2 {
				ids = append(ids, pool[r.Intn(len(pool))])
			}
			lastOp = fmt.Sprint("MERGE ", ids)
			_, err := db.Merge(ctx, ids, "crm", at)
			if len(order(ids)) == 0 {
				if err == nil {
					t.Fatalf("step %d: merge of only blocked ids succeeded", step)
				}
				continue
			}
			if err != nil {
				t.Fatalf("step %d: merge %v: %v", step, ids, err)
			}
			m.link(ids, false)
			history = append(history, order(ids))
		case x < 95:
			if len(history) == 0 {
				continue
			}
			h := history[r.Intn(len(history))]
			if len(h) < 2 {
				continue
			}
			a, b := h[r.Intn(len(h))], h[r.Intn(len(h))]
			if a == b {
				continue
			}
			lastOp = fmt.Sprint("UNLINK ", a, " ", b)
			_, err := db.Unlink(ctx, a, b)
			if unknown := !m.known[a] || !m.known[b]; unknown != errors.Is(err, engine.ErrNotFound) || !unknown && err != nil {
				t.Fatalf("step %d: unlink %s %s (both known: %v): %v", step, a, b, !unknown, err)
			}
			m.unlink(a, b)
		default:
			id := pool[r.Intn(len(pool))]
			lastOp = "FORGET " + id
			_, err := db.Forget(ctx, id, false)
			if m.known[id] != (err == nil) {
				t.Fatalf("step %d: forget %s: known=%v err=%v", step, id, m.known[id], err)
			}
			m.forget(id)
		}
		if step%500 == 499 || step == steps-1 || debugEveryStep {
			if debugEveryStep {
				t.Logf("step %d: %s", step, lastOp)
				if problems, err := db.Check(); err != nil || len(problems) > 0 {
					t.Fatalf("step %d: check: %v %v", step, err, problems)
				}
			}
			compare(t, db, m, step)
		}
	}
	if problems, err := db.Check(); err != nil || len(problems) > 0 {
		t.Fatalf("check: %v %v", err, problems)
	}
}

var debugEveryStep = false

func compare(t *testing.T, db *engine.DB, m *model, step int) {
	t.Helper()
	want := m.expected()
	for id, w := range want {
		p, err := db.Who(id)
		if err != nil {
			t.Fatalf("step %d: WHO %s: %v", step, id, err)
		}
		if !slices.Equal(p.IDs, w.ids) {
			if debugEveryStep {
				var mine []string
				for _, r := range m.records {
					var sets []string
					for _, set := range r.sets {
						sets = append(sets, "["+strings.Join(set, " ")+"]")
					}
					if len(sets) > 0 {
						mine = append(mine, strings.Join(sets, " "))
					}
				}
				sort.Strings(mine)
				var theirs []string
				for _, g := range db.DumpGroups() {
					theirs = append(theirs, g[:strings.Index(g, " (anchor")])
				}
				for _, x := range mine {
					if !slices.Contains(theirs, x) {
						t.Logf("only in the model: %s", x)
					}
				}
				for _, x := range theirs {
					if !slices.Contains(mine, x) {
						t.Logf("only in the engine: %s", x)
					}
				}
				for i, r := range m.records {
					for _, set := range r.sets {
						for _, x := range set {
							if slices.Contains(p.IDs, x) || slices.Contains(w.ids, x) {
								t.Logf("record %d: %v (event %v)", i, r.sets, r.event != nil)
								goto next
							}
						}
					}
				next:
				}
			}
			t.Fatalf("step %d: WHO %s: ids\n got %v\nwant %v", step, id, p.IDs, w.ids)
		}
		if p.Events != w.events {
			t.Fatalf("step %d: WHO %s: events got %d want %d", step, id, p.Events, w.events)
		}
	}
}

// The same differential, with the operations submitted in batches through
// Apply, so many operations share one transaction and the writer's caches
// and overlay carry state between them.
func TestDifferentialBatchedApply(t *testing.T) {
	seeds := []int64{11, 12, 13}
	if n, _ := strconv.Atoi(os.Getenv("IDGRAPH_REPLAY_SEEDS")); n > 0 {
		for i := 0; i < n; i++ {
			seeds = append(seeds, int64(1000+i))
		}
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) { runBatchedDifferential(t, seed, 1500) })
	}
}

func runBatchedDifferential(t *testing.T, seed int64, steps int) {
	opts := engine.DefaultOptions("")
	opts.InMemory = true
	opts.Types = testTypes
	db, err := engine.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	r := rand.New(rand.NewSource(seed))
	pool := idPool(r)
	m := newModel()
	var history [][]string
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var ops []engine.Op
	var apply []func(err error) // the model's side of each op, given the engine's outcome
	flush := func() {
		if len(ops) == 0 {
			return
		}
		_, errs, err := db.Apply(context.Background(), ops)
		if err != nil {
			t.Fatal(err)
		}
		for i, f := range apply {
			f(errs[i])
		}
		ops, apply = ops[:0], apply[:0]
	}
	for step := 0; step < steps; step++ {
		at = at.Add(time.Duration(r.Intn(3600)) * time.Second)
		switch x := r.Intn(100); {
		case x < 65:
			ids := randomIDs(r, pool)
			ops = append(ops, engine.TrackOp(engine.Event{Name: "e", IDs: ids, Time: at}))
			apply = append(apply, func(err error) {
				if (err == nil) != (len(order(ids)) > 0) {
					t.Fatalf("track %v: %v", ids, err)
				}
				if err == nil {
					m.link(ids, true)
					history = append(history, order(ids))
				}
			})
		case x < 85:
			ids := append(randomIDs(r, pool), pool[r.Intn(len(pool))])
			ops = append(ops, engine.MergeOp(ids, "crm", at))
			apply = append(apply, func(err error) {
				if (err == nil) != (len(order(ids)) > 0) {
					t.Fatalf("merge %v: %v", ids, err)
				}
				if err == nil {
					m.link(ids, false)
					history = append(history, order(ids))
				}
			})
		case x < 96:
			// Pairs come from what was submitted so far (the model has not
			// seen the open batch yet, which is fine: any pair is valid).
			a, b := pool[r.Intn(len(pool))], pool[r.Intn(len(pool))]
			if len(history) > 0 && r.Intn(2) == 0 {
				h := history[r.Intn(len(history))]
				a, b = h[r.Intn(len(h))], h[r.Intn(len(h))]
			}
			if a == b || blockedValue(a[strings.IndexByte(a, ':')+1:]) || blockedValue(b[strings.IndexByte(b, ':')+1:]) {
				continue
			}
			ops = append(ops, engine.UnlinkOp(a, b))
			apply = append(apply, func(err error) {
				if unknown := !m.known[a] || !m.known[b]; unknown != errors.Is(err, engine.ErrNotFound) || !unknown && err != nil {
					t.Fatalf("unlink %s %s (both known: %v): %v", a, b, !unknown, err)
				}
				m.unlink(a, b)
			})
		default:
			id := pool[r.Intn(len(pool))]
			ops = append(ops, engine.ForgetOp(id, false))
			apply = append(apply, func(err error) {
				if m.known[id] != (err == nil) {
					t.Fatalf("forget %s: known=%v err=%v", id, m.known[id], err)
				}
				m.forget(id)
			})
		}
		if r.Intn(40) == 0 {
			flush()
		}
	}
	flush()
	compare(t, db, m, steps)
	if problems, err := db.Check(); err != nil || len(problems) > 0 {
		t.Fatalf("check: %v %v", err, problems)
	}
}
