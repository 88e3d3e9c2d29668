package badgerstore_test

import (
	"fmt"
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
	_, _, hot, _ := s.CacheStats()
	if hot != 0 {
		t.Fatalf("hot entries after writes only: %d, want 0", hot)
	}
	for p := uint32(1); p <= 20; p++ {
		readProfile(t, s, p)
	}
	_, _, hot, hotBytes := s.CacheStats()
	if hot != 20 {
		t.Fatalf("hot entries after 20 reads: %d, want 20", hot)
	}
	// A flood of written profiles, ten times the bound.
	for i := uint32(0); i < 50; i++ {
		putProfiles(t, s, 1000+i*100, 1100+i*100, "flood")
	}
	_, bytes, hot2, hotBytes2 := s.CacheStats()
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
	if _, _, hot, _ := s.CacheStats(); hot != 20 {
		t.Fatalf("hot entries after a rewrite: %d, want 20", hot)
	}
	// A query's read of a flooded profile makes it hot.
	if got := readProfile(t, s, 5999); got != "cookie:flood-5999" {
		t.Fatalf("profile 5999: %s", got)
	}
	if _, _, hot, _ := s.CacheStats(); hot != 21 {
		t.Fatalf("hot entries after reading a written profile: %d, want 21", hot)
	}
	// Past the bound, hot entries go too.
	for p := uint32(1000); p < 6000; p++ {
		readProfile(t, s, p)
	}
	if _, bytes, _, hotBytes := s.CacheStats(); bytes > bound || hotBytes > bound {
		t.Fatalf("after reading everything: %d bytes (%d hot), bound %d", bytes, hotBytes, bound)
	}
	if got := readProfile(t, s, 5); got != "cookie:b-5" {
		t.Fatalf("profile 5 at the end: %s", got)
	}
}
