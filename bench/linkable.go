package bench

import (
	"io"
	"slices"
)

// LinkableTruth refines truth to what the records can tell: it splits each
// person into the groups of their identifiers that a chain of records
// connects, each record holding only identifiers of that person (shared
// ones included, blocked values ignored). A person's two browsers that never
// logged in, or a cookie that expired before its owner ever signed in, are
// separate groups: no resolver could put them together from this data, so
// scoring against the full truth caps recall well below 1 for everyone.
//
// In the returned Truth, each single-owner identifier belongs to a pseudo-
// person numbered by its group; shared and blocked identifiers keep their
// owners (they are not scored). Score against it to measure how much of
// the linkable truth a partition recovers, and how much it glues wrongly.
func LinkableTruth(truth *Truth, r io.Reader) (*Truth, error) {
	// Union-find over (identifier entry, person) pairs: a shared identifier
	// is one node per owner, so it links its owners' identifiers only within
	// each owner.
	nodes := make(map[uint64]int32, truth.Len())
	var parent []int32
	node := func(e, p int32) int32 {
		k := uint64(uint32(e))<<32 | uint64(uint32(p))
		if n, ok := nodes[k]; ok {
			return n
		}
		n := int32(len(parent))
		nodes[k] = n
		parent = append(parent, n)
		return n
	}
	find := func(n int32) int32 {
		for parent[n] != n {
			parent[n] = parent[parent[n]]
			n = parent[n]
		}
		return n
	}
	var entries []int32
	var people, next []int32
	err := ReadRecords(r, func(rec *Record) error {
		entries = entries[:0]
		for _, id := range rec.IDs {
			norm, blocked, ok := Normalize(id)
			if !ok || blocked {
				continue
			}
			if e, ok := truth.index[norm]; ok && truth.owner[e] != noOwner && !slices.Contains(entries, e) {
				entries = append(entries, e)
			}
		}
		if len(entries) < 2 {
			for _, e := range entries {
				for _, p := range truth.entryOwners(e) {
					node(e, p)
				}
			}
			return nil
		}
		// The people who could have sent this record: the owners common to
		// all its identifiers.
		people = append(people[:0], truth.entryOwners(entries[0])...)
		for _, e := range entries[1:] {
			owners := truth.entryOwners(e)
			next = next[:0]
			for _, p := range people {
				if _, found := slices.BinarySearch(owners, p); found {
					next = append(next, p)
				}
			}
			people, next = next, people
		}
		for _, p := range people {
			first := find(node(entries[0], p))
			for _, e := range entries[1:] {
				if n := find(node(e, p)); n != first {
					parent[max(n, first)] = min(n, first)
					first = min(n, first)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	refined := make([]truthEntry, len(truth.ids))
	for e, id := range truth.ids {
		owners := truth.entryOwners(int32(e))
		if len(owners) == 1 {
			n, ok := nodes[uint64(uint32(e))<<32|uint64(uint32(owners[0]))]
			if !ok { // in the truth but in no record read: a group of its own
				n = node(int32(e), owners[0])
			}
			owners = []int32{find(n)}
		}
		refined[e] = truthEntry{id, owners}
	}
	return buildTruth(refined), nil
}
