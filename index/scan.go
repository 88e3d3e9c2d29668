package index

import (
	"math"
	"math/bits"

	"github.com/RoaringBitmap/roaring/v2"
)

// Scans of a whole window. TIMES counts and comparisons of computed traits
// add something up per profile over every entry of a window's buckets.
// Adding into one array indexed by profile id touches it at random: a
// bucket's entries are sorted by profile, but consecutive entries are far
// apart in a large population, and once the array outgrows the CPU's
// cache (a million profiles: 8 MiB) each entry costs a cache miss. So the
// scans go a block of scanBlock profiles at a time: a cursor per bucket
// hands over the block's entries in turn, and the block's tally stays in
// cache. Each profile's additions are made in the same order as a scan of
// one profile's entries (term by term, bucket by bucket, entry by entry),
// so floating-point sums agree to the bit with WHO's values.

// scanBlock is how many profiles a scan tallies at a time: 256 KiB of
// sums.
const scanBlock = 1 << 15

// cursor walks one bucket's entries in profile order, keeping those a
// query selects.
type cursor struct {
	chunks [][]entry
	ci, k  int // the next entry: chunks[ci][k]
	lo, hi uint32
	every  bool // every entry is kept: a whole day, no filter
	filter bool
	src    uint32
	m      *matcher

	points float64   // what a kept entry adds (COUNT: 1; SCORE: its term's points)
	col    []float64 // SUM: the path's numbers by tuple id; an entry adds col[tup]
}

// appendCursors appends a cursor for each of s's buckets in the span; a
// kept entry adds points, or with a column col[tup] (see cursor).
func appendCursors(curs []cursor, s *series, sp span, filter bool, src uint32, m *matcher, points float64, col []float64) []cursor {
	i0, i1 := s.search(sp.d0), s.search(sp.d1+1)
	for _, b := range s.buckets[i0:i1] {
		lo, hi, whole := sp.bounds(b.day)
		curs = append(curs, cursor{chunks: b.ev.chunks, lo: lo, hi: hi, every: whole && !filter && m == nil,
			filter: filter, src: src, m: m, points: points, col: col})
	}
	return curs
}

// peek returns the profile of the next entry, if any.
func (c *cursor) peek() (uint32, bool) {
	if c.ci >= len(c.chunks) {
		return 0, false
	}
	return c.chunks[c.ci][c.k].p, true
}

// take returns the next entries of profiles below end, from one chunk;
// none when the cursor has no more below end.
func (c *cursor) take(end uint64) []entry {
	for c.ci < len(c.chunks) {
		ch := c.chunks[c.ci]
		if uint64(ch[c.k].p) >= end {
			return nil // the common end of a block's run
		}
		k := below(ch, c.k, end)
		run := ch[c.k:k]
		if k < len(ch) {
			c.k = k
			return run
		}
		c.ci, c.k = c.ci+1, 0
		if len(run) > 0 {
			return run
		}
	}
	return nil
}

// below returns the first index at or after i of an entry of a profile at
// or above end (len(ch) if none), searching from i with growing steps: a
// block's run is often short, and a bucket's last block takes its chunks
// whole.
func below(ch []entry, i int, end uint64) int {
	n := len(ch)
	if uint64(ch[n-1].p) < end {
		return n
	}
	lo, step := i, 1 // ch[lo-1] (if lo > i) is below end
	for lo+step < n && uint64(ch[lo+step-1].p) < end {
		lo += step
		step *= 2
	}
	hi := min(lo+step, n) // ch[hi-1] is at or above end, or hi == n
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if uint64(ch[m].p) < end {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// keeps reports whether the query selects e.
func (c *cursor) keeps(e entry) bool {
	return c.every || e.ms >= c.lo && e.ms <= c.hi && (!c.filter || e.src == c.src) && c.m.match(e.tup)
}

// tallied adds up what each cursor's kept entries add per profile, a block
// at a time, and returns the profiles with entries whose sum satisfies
// keep.
func (x *Index) tallied(curs []cursor, keep func(float64) bool) *roaring.Bitmap {
	t := x.getTally()
	defer x.tallies.Put(t)
	var ids []uint32
	eachBlock(curs, func(base uint32, end uint64) {
		for i := range curs {
			c := &curs[i]
			for run := c.take(end); len(run) > 0; run = c.take(end) {
				if c.every && c.col == nil {
					for _, e := range run {
						t.add(e.p-base, c.points)
					}
					continue
				}
				for _, e := range run {
					switch {
					case !c.keeps(e):
					case c.col == nil:
						t.add(e.p-base, c.points)
					case int(e.tup) < len(c.col) && !math.IsNaN(c.col[e.tup]):
						t.add(e.p-base, c.col[e.tup])
					}
				}
			}
		}
		ids = t.drain(base, keep, ids)
	})
	bm := roaring.New()
	bm.AddMany(ids)
	return bm
}

// eachBlock calls f for each block of scanBlock profiles that some cursor
// has entries in, ascending; f must take the block's entries from every
// cursor.
func eachBlock(curs []cursor, f func(base uint32, end uint64)) {
	for {
		// The next block is the one holding the smallest profile left.
		next, any := uint32(math.MaxUint32), false
		for i := range curs {
			if p, ok := curs[i].peek(); ok {
				next, any = min(next, p), true
			}
		}
		if !any {
			return
		}
		base := next &^ (scanBlock - 1)
		f(base, uint64(base)+scanBlock)
	}
}

// tally adds up a number per profile of one block, by offset in the block,
// and marks the offsets added to. It is all zero between uses.
type tally struct {
	v    [scanBlock]float64
	seen [scanBlock / 64]uint64 // a bit per offset added to
}

func (x *Index) getTally() *tally {
	if t, ok := x.tallies.Get().(*tally); ok {
		return t
	}
	return new(tally)
}

func (t *tally) add(o uint32, n float64) {
	t.seen[o/64] |= 1 << (o % 64)
	t.v[o] += n
}

// drain appends base+o to ids for every offset o added to whose sum
// satisfies keep, ascending, and zeroes the tally. Reading the marks word
// by word gives the offsets in order, however many there are, without a
// sort: scanBlock/64 words a block.
func (t *tally) drain(base uint32, keep func(float64) bool, ids []uint32) []uint32 {
	for w, word := range t.seen {
		if word == 0 {
			continue
		}
		t.seen[w] = 0
		for word != 0 {
			o := w*64 + bits.TrailingZeros64(word)
			word &= word - 1
			if keep(t.v[o]) {
				ids = append(ids, base+uint32(o))
			}
			t.v[o] = 0
		}
	}
	return ids
}
