package engine_test

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/idgraph/idgraph/engine"
	"github.com/idgraph/idgraph/query"
)

// The metamorphic test, in the manner of Pebble's: one random operation
// file is run under several configurations of the engine, and everything a
// user can observe must be the same under all of them: every identifier's
// profile (id, members, traits, consent, tags, first and last seen, event
// count), the segment counts of a fixed set of expressions, and the index
// itself. On a difference it prints the seed and writes the operation file.

// mOp is one operation of an operation file.
type mOp struct {
	kind     string // track merge set consent tag untag unlink forget
	name     string
	ids      []string
	at       time.Time
	source   string
	props    string
	value    string
	grant    bool
	suppress bool
}

func (o mOp) String() string {
	at := ""
	if !o.at.IsZero() {
		at = " AT " + o.at.Format(time.RFC3339Nano)
	}
	switch o.kind {
	case "track":
		return fmt.Sprintf("TRACK %s %s%s FROM %s PROPS %s", o.name, strings.Join(o.ids, " "), at, o.source, o.props)
	case "merge":
		return fmt.Sprintf("MERGE %s%s FROM %s", strings.Join(o.ids, " "), at, o.source)
	case "set":
		return fmt.Sprintf("SET %s %s=%s%s", o.ids[0], o.name, o.value, at)
	case "consent":
		return fmt.Sprintf("CONSENT %s %s %v%s", o.ids[0], o.name, o.grant, at)
	case "tag", "untag":
		return fmt.Sprintf("%s %s %s%s", strings.ToUpper(o.kind), o.ids[0], o.name, at)
	case "unlink":
		return fmt.Sprintf("UNLINK %s %s", o.ids[0], o.ids[1])
	}
	return fmt.Sprintf("FORGET %s suppress=%v", o.ids[0], o.suppress)
}

// op builds the engine operation.
func (o mOp) op() engine.Op {
	switch o.kind {
	case "track":
		return engine.TrackOp(engine.Event{Name: o.name, IDs: o.ids, Time: o.at, Source: o.source, Props: []byte(o.props)})
	case "merge":
		return engine.MergeOp(o.ids, o.source, o.at)
	case "set":
		return engine.SetOp(o.ids[0], []engine.Trait{{Name: o.name, Value: o.value}}, o.at)
	case "consent":
		return engine.ConsentOp(o.ids[0], o.name, o.grant, o.at)
	case "tag", "untag":
		return engine.TagOp(o.ids[0], []string{o.name}, o.kind == "tag", o.at)
	case "unlink":
		return engine.UnlinkOp(o.ids[0], o.ids[1])
	}
	return engine.ForgetOp(o.ids[0], o.suppress)
}

// call runs the operation through the DB's single-call methods.
func (o mOp) call(db *engine.DB) error {
	ctx := context.Background()
	var err error
	switch o.kind {
	case "track":
		_, err = db.Track(ctx, engine.Event{Name: o.name, IDs: o.ids, Time: o.at, Source: o.source, Props: []byte(o.props)})
	case "merge":
		_, err = db.Merge(ctx, o.ids, o.source, o.at)
	case "set":
		_, err = db.SetTraits(ctx, o.ids[0], []engine.Trait{{Name: o.name, Value: o.value}}, o.at)
	case "consent":
		_, err = db.Consent(ctx, o.ids[0], o.name, o.grant, o.at)
	case "tag", "untag":
		_, err = db.Tag(ctx, o.ids[0], []string{o.name}, o.kind == "tag", o.at)
	case "unlink":
		_, err = db.Unlink(ctx, o.ids[0], o.ids[1])
	default:
		_, err = db.Forget(ctx, o.ids[0], o.suppress)
	}
	return err
}

var metaStart = time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)

func genOps(r *rand.Rand, n int) ([]mOp, []string) {
	pool := idPool(r)
	var history [][]string
	t := metaStart
	ops := make([]mOp, 0, n)
	for len(ops) < n {
		t = t.Add(time.Duration(r.Intn(7200)) * time.Second)
		at := t
		if r.Intn(10) == 0 {
			at = time.Time{} // "now": the fixed clock
		}
		var o mOp
		switch x := r.Intn(100); {
		case x < 55:
			ids := randomIDs(r, pool)
			o = mOp{kind: "track", name: []string{"view", "add_to_cart", "purchase"}[r.Intn(3)], ids: ids, at: at,
				source: []string{"web", "app", "pos"}[r.Intn(3)], props: fmt.Sprintf(`{"n":%d,"cart":{"cat":%q}}`, r.Intn(100), []string{"phones", "books", "7"}[r.Intn(3)])}
			history = append(history, ids)
		case x < 68:
			o = mOp{kind: "merge", ids: append(randomIDs(r, pool), pool[r.Intn(len(pool))]), at: at, source: "crm"}
		case x < 78:
			o = mOp{kind: "set", ids: []string{pool[r.Intn(len(pool))]}, name: []string{"tier", "city"}[r.Intn(2)],
				value: []string{"gold", "silver", "", "Oslo"}[r.Intn(4)], at: at}
		case x < 85:
			o = mOp{kind: "consent", ids: []string{pool[r.Intn(len(pool))]}, name: "email", grant: r.Intn(2) == 0, at: at}
		case x < 91:
			o = mOp{kind: []string{"tag", "untag"}[r.Intn(2)], ids: []string{pool[r.Intn(len(pool))]}, name: []string{"vip", "churn"}[r.Intn(2)], at: at}
		case x < 97:
			a, b := pool[r.Intn(len(pool))], pool[r.Intn(len(pool))]
			if len(history) > 0 && r.Intn(3) > 0 {
				h := history[r.Intn(len(history))]
				a, b = h[r.Intn(len(h))], h[r.Intn(len(h))]
			}
			if a == b {
				continue
			}
			o = mOp{kind: "unlink", ids: []string{a, b}}
		default:
			o = mOp{kind: "forget", ids: []string{pool[r.Intn(len(pool))]}, suppress: r.Intn(5) == 0}
		}
		ops = append(ops, o)
	}
	return ops, pool
}

// metaConfig is one way of running an operation file.
type metaConfig struct {
	name   string
	opts   func(o *engine.Options)
	disk   bool // on disk in a temporary directory (reopen needs it)
	batch  bool // through Apply in random batches, not single calls
	reopen int  // close and reopen every this many operations
	// pathsFirst registers the property paths before the first operation
	// (the index then keeps values as events arrive); the others register
	// them after the last (a rebuild from the store).
	pathsFirst bool
}

var metaConfigs = []metaConfig{
	{name: "single"},
	{name: "batched", batch: true},
	{name: "maxbatch1", batch: true, opts: func(o *engine.Options) { o.MaxBatch = 1 }},
	{name: "tiny-cache", opts: func(o *engine.Options) { o.CacheBytes = 1 }},
	{name: "no-cache-small-txns", batch: true, opts: func(o *engine.Options) { o.CacheBytes = -1; o.MemTableBytes = 1 << 20 }},
	{name: "reopen", disk: true, batch: true, reopen: 97},
	{name: "memory-store", batch: true, opts: func(o *engine.Options) { o.Backend = engine.Memory }},
	{name: "paths-first-reopen", disk: true, batch: true, reopen: 151, pathsFirst: true},
}

// metaPaths are the property paths registered, per event name, and
// metaComputed the computed traits defined after the operations.
var (
	metaPaths    = map[string][]string{"purchase": {"n", "cart.cat"}, "view": {"n"}}
	metaComputed = []string{
		"COMPUTE spend AS SUM n OF purchase",
		"COMPUTE phones AS COUNT purchase WHERE cart.cat = phones WITHIN 30d",
		"COMPUTE last_cat AS LAST cart.cat OF purchase",
		"COMPUTE engagement AS SCORE 1 view + 5 add_to_cart + 20 purchase WHERE n > 50 WITHIN 14d",
	}
)

// observation is everything compared between configurations.
type observation struct {
	who      map[string]string
	segments []string
	db       *engine.DB
}

var metaSegments = []string{
	"DID view",
	"DID add_to_cart WITHIN 7d AND NOT DID purchase WITHIN 7d",
	"DID purchase FROM pos OR DID view >= 3 TIMES",
	"HAS email AND CONSENT email",
	"TRAIT tier = gold OR TRAIT city = Oslo",
	"NOT HAS cookie",
	"DID view < 2 TIMES WITHIN 30d",
	"DID purchase WHERE n > 50 AND cart.cat = phones",
	"DID view WHERE n <= 10 >= 2 TIMES WITHIN 72h",
	"TAGGED vip AND NOT TAGGED churn",
	"TRAIT spend > 200 OR TRAIT engagement >= 25",
	"TRAIT last_cat = books",
}

func runConfig(t *testing.T, c metaConfig, ops []mOp, pool []string, seed int64) *observation {
	t.Helper()
	clock := metaStart.Add(90 * 24 * time.Hour)
	newOpts := func(dir string) engine.Options {
		o := engine.DefaultOptions(dir)
		if dir == "" {
			o.InMemory = true
		}
		o.Types = testTypes
		o.Now = func() time.Time { return clock }
		if c.opts != nil {
			c.opts(&o)
		}
		return o
	}
	dir := ""
	if c.disk {
		dir = t.TempDir()
	}
	db, err := engine.Open(newOpts(dir))
	if err != nil {
		t.Fatal(err)
	}
	registerPaths := func() {
		for name, paths := range metaPaths {
			if err := db.RegisterPaths(context.Background(), name, paths); err != nil {
				t.Fatal(err)
			}
		}
	}
	if c.pathsFirst {
		registerPaths()
	}
	r := rand.New(rand.NewSource(seed))
	for i := 0; i < len(ops); {
		n := 1
		if c.batch {
			n = 1 + r.Intn(40)
		}
		n = min(n, len(ops)-i)
		if c.reopen > 0 && i/c.reopen != (i+n)/c.reopen {
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			if db, err = engine.Open(newOpts(dir)); err != nil {
				t.Fatal(err)
			}
		}
		if c.batch {
			batch := make([]engine.Op, n)
			for j := range batch {
				batch[j] = ops[i+j].op()
			}
			if _, _, err := db.Apply(context.Background(), batch); err != nil {
				t.Fatal(err)
			}
		} else {
			ops[i].call(db) // errors (bad or unknown input) are observations too, via state
		}
		i += n
	}
	t.Cleanup(func() { db.Close() })
	registerPaths()
	x := query.NewExecutor(db)
	x.SetClock(func() time.Time { return clock })
	for _, line := range metaComputed {
		if _, err := x.ExecLine(context.Background(), nil, line); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
	}
	obs := &observation{who: map[string]string{}, db: db}
	for _, id := range pool {
		p, err := db.Who(id)
		if err != nil {
			obs.who[id] = "error: " + err.Error()
			continue
		}
		who, err := x.ExecLine(context.Background(), nil, "WHO "+id)
		obs.who[id] = fmt.Sprintf("%d %v traits=%v consent=%v tags=%v %v..%v events=%d | %v %v", p.ID, p.IDs, p.Traits,
			p.Consent, p.Tags, p.FirstSeen, p.LastSeen, p.Events, who, err)
	}
	for _, s := range metaSegments {
		v, err := x.ExecLine(context.Background(), nil, "SEGMENT IDS "+s+" LIMIT 100000")
		obs.segments = append(obs.segments, fmt.Sprintf("%s: %v %v", s, v, err))
	}
	if problems, err := db.Check(); err != nil || len(problems) > 0 {
		t.Errorf("%s: check: %v %v", c.name, err, problems)
	}
	return obs
}

func TestMetamorphic(t *testing.T) {
	seeds := []int64{1, 2, 3}
	if n, _ := strconv.Atoi(os.Getenv("IDGRAPH_METAMORPHIC_SEEDS")); n > 0 {
		for i := 0; i < n; i++ {
			seeds = append(seeds, int64(1000+i))
		}
	}
	steps := 600
	if testing.Short() {
		steps = 200
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			ops, pool := genOps(rand.New(rand.NewSource(seed)), steps)
			var base *observation
			for _, c := range metaConfigs {
				obs := runConfig(t, c, ops, pool, seed)
				if base == nil {
					base = obs
					continue
				}
				if diff := compareObs(base, obs); diff != "" {
					path := filepath.Join(os.TempDir(), fmt.Sprintf("idgraph-metamorphic-%d.txt", seed))
					var b strings.Builder
					for _, o := range ops {
						b.WriteString(o.String() + "\n")
					}
					os.WriteFile(path, []byte(b.String()), 0o644)
					t.Fatalf("seed %d: %s differs from %s: %s\n(operation file: %s)", seed, c.name, metaConfigs[0].name, diff, path)
				}
			}
		})
	}
}

func compareObs(a, b *observation) string {
	ids := make([]string, 0, len(a.who))
	for id := range a.who {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		if a.who[id] != b.who[id] {
			return fmt.Sprintf("WHO %s:\n  %s\n  %s", id, a.who[id], b.who[id])
		}
	}
	if !reflect.DeepEqual(a.segments, b.segments) {
		for i := range a.segments {
			if a.segments[i] != b.segments[i] {
				return fmt.Sprintf("segment:\n  %s\n  %s", a.segments[i], b.segments[i])
			}
		}
	}
	if ok, diff := a.db.Index().Equal(b.db.Index()); !ok {
		return "index: " + diff
	}
	return ""
}
