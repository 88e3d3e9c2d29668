package index

import "sort"

// entry is one event occurrence inside a (name, day) bucket: the profile it
// counts for, its millisecond offset within the UTC day, its source id, and
// the id of its tuple of registered property values (0 when none; see
// props.go). Sixteen bytes; duplicates are allowed (the bucket is a
// multiset).
type entry struct {
	p   uint32
	ms  uint32
	src uint32
	tup uint32
}

func (a entry) less(b entry) bool {
	if a.p != b.p {
		return a.p < b.p
	}
	if a.ms != b.ms {
		return a.ms < b.ms
	}
	if a.src != b.src {
		return a.src < b.src
	}
	return a.tup < b.tup
}

// maxChunk bounds the memmove done by one insert or delete, so that a skewed
// day with hundreds of thousands of events still costs O(log n + maxChunk)
// per write instead of O(n).
const maxChunk = 512

// run is a multiset of entries kept sorted by (p, ms, src), stored as a list
// of sorted chunks (a one-level B+tree). Sorting by profile first makes
// finding one profile's events a binary search, which is what Remove and
// Move need, and makes per-profile counting a run-length scan.
type run struct {
	chunks [][]entry
	n      int
}

// lowerBound returns the position of the first entry >= e as (chunk, offset).
// If every entry is < e it returns (len(chunks), 0).
func (r *run) lowerBound(e entry) (int, int) {
	ci := sort.Search(len(r.chunks), func(i int) bool {
		c := r.chunks[i]
		return !c[len(c)-1].less(e)
	})
	if ci == len(r.chunks) {
		return ci, 0
	}
	c := r.chunks[ci]
	return ci, sort.Search(len(c), func(i int) bool { return !c[i].less(e) })
}

func (r *run) insert(e entry) {
	r.n++
	if len(r.chunks) == 0 {
		r.chunks = append(r.chunks, []entry{e})
		return
	}
	ci, i := r.lowerBound(e)
	if ci == len(r.chunks) {
		ci = len(r.chunks) - 1
		i = len(r.chunks[ci])
	}
	c := r.chunks[ci]
	if len(c) < maxChunk {
		if len(c) == cap(c) {
			// Grow by doubling, but never beyond maxChunk: append's own
			// growth would leave up to half of a full chunk unused.
			grown := make([]entry, len(c), min(2*cap(c), maxChunk))
			copy(grown, c)
			c = grown
		}
		c = c[:len(c)+1]
		copy(c[i+1:], c[i:])
		c[i] = e
		r.chunks[ci] = c
		return
	}
	// Split a full chunk into two halves, each with room to grow, placing
	// e in the half it belongs to.
	half := maxChunk / 2
	left := make([]entry, half, half+half/4)
	right := make([]entry, maxChunk-half, half+half/4)
	copy(left, c[:half])
	copy(right, c[half:])
	if i <= half {
		left = left[:half+1]
		copy(left[i+1:], left[i:])
		left[i] = e
	} else {
		i -= half
		right = right[:len(right)+1]
		copy(right[i+1:], right[i:])
		right[i] = e
	}
	r.chunks[ci] = left
	r.chunks = append(r.chunks, nil)
	copy(r.chunks[ci+2:], r.chunks[ci+1:])
	r.chunks[ci+1] = right
}

// remove deletes one occurrence of e and reports whether there was one.
func (r *run) remove(e entry) bool {
	ci, i := r.lowerBound(e)
	if ci == len(r.chunks) || r.chunks[ci][i] != e {
		return false
	}
	r.n--
	c := r.chunks[ci]
	copy(c[i:], c[i+1:])
	c = c[:len(c)-1]
	if len(c) > 0 {
		r.chunks[ci] = c
		return true
	}
	copy(r.chunks[ci:], r.chunks[ci+1:])
	r.chunks[len(r.chunks)-1] = nil
	r.chunks = r.chunks[:len(r.chunks)-1]
	return true
}

// hasProfile reports whether any entry belongs to p.
func (r *run) hasProfile(p uint32) bool {
	ci, i := r.lowerBound(entry{p: p})
	return ci < len(r.chunks) && r.chunks[ci][i].p == p
}

// bytes is the approximate heap footprint of the run.
func (r *run) bytes() uint64 {
	n := uint64(cap(r.chunks)) * 24
	for _, c := range r.chunks {
		n += uint64(cap(c)) * 12
	}
	return n
}

// countProfile counts p's entries with lo <= ms <= hi (and source src when
// filter is set, and whose tuple m matches).
func (r *run) countProfile(p uint32, lo, hi uint32, filter bool, src uint32, m *matcher) int64 {
	ci, i := r.lowerBound(entry{p: p})
	var n int64
	for ; ci < len(r.chunks); ci, i = ci+1, 0 {
		c := r.chunks[ci]
		for ; i < len(c); i++ {
			e := c[i]
			if e.p != p {
				return n
			}
			if e.ms >= lo && e.ms <= hi && (!filter || e.src == src) && m.match(e.tup) {
				n++
			}
		}
	}
	return n
}
