package badgerstore_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/idgraph/idgraph/engine/internal/store"
	"github.com/idgraph/idgraph/engine/internal/store/badgerstore"
)

// putProfiles commits profiles from..to-1, each with one member whose id
// carries tag (so that a later version differs).
func putProfiles(t *testing.T, s *badgerstore.Store, from, to uint32, tag string) {
	t.Helper()
	tx := s.Begin()
	for p := from; p < to; p++ {
		tx.PutProfile(p, &store.Profile{Created: 1, Members: []store.Member{{Node: p, ID: fmt.Sprintf("cookie:%s-%d", tag, p)}}})
	}
	if _, err := s.Commit(tx); err != nil {
		t.Fatal(err)
	}
}

func readProfile(t *testing.T, s *badgerstore.Store, p uint32) string {
	t.Helper()
	snap := s.View()
	defer snap.Close()
	pr, err := snap.Profile(p)
	if err != nil {
		t.Fatalf("profile %d: %v", p, err)
	}
	return pr.Members[0].ID
}

// What queries read stays cached through an ingest that writes far more
// than the cache holds, and stays exact: a write to a cached record
// replaces it, a read of a written record makes it hot.
func TestCacheKeepsWhatQueriesReadThroughAFlood(t *testing.T) {
	const bound = 64 << 10
	s, err := badgerstore.Open(badgerstore.Options{InMemory: true, CacheBytes: bound})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	putProfiles(t, s, 1, 21, "a")
	hot := s.CacheStats().HotEntries
	if hot != 0 {
		t.Fatalf("hot entries after writes only: %d, want 0", hot)
	}
	for p := uint32(1); p <= 20; p++ {
		readProfile(t, s, p)
	}
	cs := s.CacheStats()
	hot, hotBytes := cs.HotEntries, cs.HotBytes
	if hot != 20 {
		t.Fatalf("hot entries after 20 reads: %d, want 20", hot)
	}
	// A flood of written profiles, ten times the bound.
	for i := uint32(0); i < 50; i++ {
		putProfiles(t, s, 1000+i*100, 1100+i*100, "flood")
	}
	cs = s.CacheStats()
	bytes, hot2, hotBytes2 := cs.Bytes, cs.HotEntries, cs.HotBytes
	if hot2 != 20 || hotBytes2 != hotBytes {
		t.Fatalf("after the flood: %d hot entries, %d bytes; want 20, %d", hot2, hotBytes2, hotBytes)
	}
	if bytes > bound {
		t.Fatalf("cache holds %d bytes, bound %d", bytes, bound)
	}
	// A write replaces the cached record in its tier.
	putProfiles(t, s, 5, 6, "b")
	if got := readProfile(t, s, 5); got != "cookie:b-5" {
		t.Fatalf("profile 5 after its rewrite: %s", got)
	}
	if hot := s.CacheStats().HotEntries; hot != 20 {
		t.Fatalf("hot entries after a rewrite: %d, want 20", hot)
	}
	// A query's read of a flooded profile makes it hot.
	if got := readProfile(t, s, 5999); got != "cookie:flood-5999" {
		t.Fatalf("profile 5999: %s", got)
	}
	if hot := s.CacheStats().HotEntries; hot != 21 {
		t.Fatalf("hot entries after reading a written profile: %d, want 21", hot)
	}
	// Past the bound, hot entries go too.
	for p := uint32(1000); p < 6000; p++ {
		readProfile(t, s, p)
	}
	if cs := s.CacheStats(); cs.Bytes > bound || cs.HotBytes > bound {
		t.Fatalf("after reading everything: %d bytes (%d hot), bound %d", cs.Bytes, cs.HotBytes, bound)
	}
	if got := readProfile(t, s, 5); got != "cookie:b-5" {
		t.Fatalf("profile 5 at the end: %s", got)
	}
}

// reopened returns a store on dir with nodes put and committed, reopened
// so that its cache is empty.
func reopened(t *testing.T, nodes map[uint32]*store.Node) *badgerstore.Store {
	t.Helper()
	dir := t.TempDir()
	s, err := badgerstore.Open(badgerstore.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	tx := s.Begin()
	for n, rec := range nodes {
		tx.PutNode(n, rec)
		tx.PutProfile(rec.Profile, &store.Profile{Created: 1, Members: []store.Member{{Node: n, ID: rec.ID()}}})
	}
	if _, err := s.Commit(tx); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err = badgerstore.Open(badgerstore.Options{Dir: dir}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// lookups returns the cache's hits and misses since the last call.
func lookups(s *badgerstore.Store, last *badgerstore.CacheStats) (hits, misses uint64) {
	cs := s.CacheStats()
	hits, misses = cs.Hits-last.Hits, cs.Misses-last.Misses
	*last = cs
	return hits, misses
}

// An identifier that is not stored is cached as such: asking again reads
// nothing, and the commit that creates it replaces the entry.
func TestCacheRemembersAbsentIdentifiers(t *testing.T) {
	s := reopened(t, nil)
	var last badgerstore.CacheStats
	ask := func() (uint32, uint32, error) {
		snap := s.View()
		defer snap.Close()
		return snap.Ident("email", "a@x.io")
	}
	for i, want := range [][2]uint64{{0, 1}, {1, 0}} {
		if _, _, err := ask(); err != store.ErrNotFound {
			t.Fatalf("ask %d: %v, want ErrNotFound", i, err)
		}
		if h, m := lookups(s, &last); h != want[0] || m != want[1] {
			t.Fatalf("ask %d: %d hits, %d misses; want %v", i, h, m, want)
		}
	}
	tx := s.Begin()
	tx.PutNode(1, &store.Node{Type: "email", Value: "a@x.io", Profile: 7})
	if _, err := s.Commit(tx); err != nil {
		t.Fatal(err)
	}
	n, p, err := ask()
	if n != 1 || p != 7 || err != nil {
		t.Fatalf("after the commit: %d %d %v, want 1 7", n, p, err)
	}
	if h, m := lookups(s, &last); h != 1 || m != 0 {
		t.Fatalf("after the commit: %d hits, %d misses; want the commit's entry", h, m)
	}
}

// A snapshot for reading ahead of the writer fills the cold tier; a
// query's read of the same record then hits it and makes it hot.
func TestAheadViewFillsTheColdTier(t *testing.T) {
	s := reopened(t, map[uint32]*store.Node{1: {Type: "cookie", Value: "c1", Profile: 5}})
	var last badgerstore.CacheStats
	lookups(s, &last)
	ahead := s.AheadView()
	if _, err := ahead.Profile(5); err != nil {
		t.Fatal(err)
	}
	ahead.Close()
	if cs := s.CacheStats(); cs.Entries != 1 || cs.HotEntries != 0 {
		t.Fatalf("after reading ahead: %d entries, %d hot; want 1, 0", cs.Entries, cs.HotEntries)
	}
	if got := readProfile(t, s, 5); got != "cookie:c1" {
		t.Fatalf("profile 5: %s", got)
	}
	if h, m := lookups(s, &last); h != 1 || m != 1 {
		t.Fatalf("%d hits, %d misses; want the ahead read's miss and the query's hit", h, m)
	}
	if cs := s.CacheStats(); cs.HotEntries != 1 {
		t.Fatalf("after the query: %d hot entries, want 1", cs.HotEntries)
	}
}

// The writer's transaction knows a node from its identifier record: no
// read of the node, the same record, and its own writes still win.
func TestTxnKnowsANodeFromItsIdentifier(t *testing.T) {
	s := reopened(t, map[uint32]*store.Node{
		1: {Type: "email", Value: "a@x.io", Profile: 7},
		2: {Type: "cookie", Value: "c2", Profile: 8},
	})
	var last badgerstore.CacheStats
	lookups(s, &last)
	tx := s.Begin()
	defer s.Discard(tx)
	if n, p, err := tx.Ident("email", "a@x.io"); n != 1 || p != 7 || err != nil {
		t.Fatalf("ident: %d %d %v", n, p, err)
	}
	rec, err := tx.Node(1)
	if err != nil || *rec != (store.Node{Type: "email", Value: "a@x.io", Profile: 7}) {
		t.Fatalf("node 1: %+v %v", rec, err)
	}
	if h, m := lookups(s, &last); h != 0 || m != 1 {
		t.Fatalf("%d hits, %d misses; want the identifier's miss only", h, m)
	}
	rec.Profile = 9 // a caller's change of what it read is its own
	if again, _ := tx.Node(1); again.Profile != 7 {
		t.Fatalf("node 1 read again: profile %d, want 7", again.Profile)
	}
	tx.PutNode(1, &store.Node{Type: "email", Value: "a@x.io", Profile: 9})
	if rec, _ := tx.Node(1); rec.Profile != 9 {
		t.Fatalf("node 1 after the transaction's write: profile %d, want 9", rec.Profile)
	}
	if rec, err := tx.Node(2); err != nil || rec.Value != "c2" {
		t.Fatalf("node 2: %+v %v", rec, err)
	}
	if h, m := lookups(s, &last); h != 0 || m != 1 {
		t.Fatalf("node 2: %d hits, %d misses; want a read of its own", h, m)
	}
}

// Whether a partner entry exists is cached, absent or present, and the
// commit that adds or deletes one replaces its entry.
func TestCacheKnowsPartners(t *testing.T) {
	s := reopened(t, nil)
	var last badgerstore.CacheStats
	ask := func(step string, want bool, hits, misses uint64) {
		t.Helper()
		snap := s.View()
		defer snap.Close()
		got, err := snap.HasPartner(1, 2)
		if err != nil || got != want {
			t.Fatalf("%s: HasPartner(1, 2) = %v, %v; want %v", step, got, err, want)
		}
		if h, m := lookups(s, &last); h != hits || m != misses {
			t.Fatalf("%s: %d hits, %d misses; want %d, %d", step, h, m, hits, misses)
		}
	}
	ask("first", false, 0, 1)
	ask("again", false, 1, 0)
	commit := func(f func(store.Txn)) {
		tx := s.Begin()
		f(tx)
		if _, err := s.Commit(tx); err != nil {
			t.Fatal(err)
		}
	}
	commit(func(tx store.Txn) { tx.AddPartner(1, 2) })
	ask("added", true, 1, 0)
	commit(func(tx store.Txn) { tx.DeletePartner(1, 2) })
	ask("deleted", false, 1, 0)
}

// Random adds and deletes of partner entries through a cache small enough
// to evict: every snapshot answers as the model does, and after a reopen
// (nothing cached) Badger answers the same.
func TestCachedPartnersMatchTheModel(t *testing.T) {
	dir := t.TempDir()
	open := func() *badgerstore.Store {
		s, err := badgerstore.Open(badgerstore.Options{Dir: dir, CacheBytes: 2 << 10})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := open()
	const side = 12
	model := map[[2]uint32]bool{}
	check := func(s *badgerstore.Store, when string) {
		t.Helper()
		snap := s.View()
		defer snap.Close()
		for n := uint32(1); n <= side; n++ {
			for a := uint32(1); a <= side; a++ {
				got, err := snap.HasPartner(n, a)
				if err != nil || got != model[[2]uint32{n, a}] {
					t.Fatalf("%s: HasPartner(%d, %d) = %v, %v; want %v", when, n, a, got, err, model[[2]uint32{n, a}])
				}
			}
		}
	}
	rng := rand.New(rand.NewPCG(7, 11))
	for c := range 150 {
		tx := s.Begin()
		for range 1 + rng.IntN(6) {
			n, a := 1+uint32(rng.IntN(side)), 1+uint32(rng.IntN(side))
			// Ask first, as the engine does, so the transaction's reads fill
			// the cache too.
			if _, err := tx.HasPartner(n, a); err != nil {
				t.Fatal(err)
			}
			if rng.IntN(3) == 0 {
				tx.DeletePartner(n, a)
				model[[2]uint32{n, a}] = false
			} else {
				tx.AddPartner(n, a)
				model[[2]uint32{n, a}] = true
			}
		}
		if _, err := s.Commit(tx); err != nil {
			t.Fatal(err)
		}
		check(s, fmt.Sprintf("commit %d", c))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open()
	defer s.Close()
	check(s, "reopened")
}
