package index

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"maps"
	"math"
	"slices"

	"github.com/RoaringBitmap/roaring/v2"
)

// Snapshot format, version 3. All integers are unsigned varints unless
// noted; a "list" is a count followed by strictly ascending profile ids,
// the first absolute and the rest as deltas; a "string" is a length and
// bytes.
//
//	magic "IDGIDX\r\n", format version (1), index Version
//	sources:  count, string…            (a source's id is its position)
//	live:     list
//	names:    count, then per name in ascending order:
//	            string, path count, path strings…, tuple count (when paths), per tuple one value per path
//	              (kind byte, string),
//	            bucket count, then per bucket in ascending day order:
//	              day (zig-zag varint for the first, then delta >= 1),
//	              event count >= 1, then per event sorted by (profile, ms, source, tuple):
//	                profile delta, ms within the day, source id, tuple id
//	types:    count, then per type: string, list
//	consent:  count, then per purpose: string, list
//	tags:     count, then per tag: string, list
//	traits:   count, then per name: string, value count, per value: string, list
//	CRC-32C of everything above, 4 bytes little-endian
//
// Only the facts are stored; day bitmaps and value bitmaps are derived and
// rebuilt by Read, so a snapshot cannot hold a bitmap that disagrees with
// its events.
const (
	magic         = "IDGIDX\r\n"
	formatVersion = 3
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrCorrupt is wrapped by every error Read returns for input that is not a
// well-formed snapshot (bad magic, checksum, truncation, invalid content).
var ErrCorrupt = errors.New("index: corrupt snapshot")

type snapWriter struct {
	w   *bufio.Writer
	crc uint32
	n   int64
	buf []byte
	err error
}

func (s *snapWriter) flush() {
	if s.err == nil {
		s.crc = crc32.Update(s.crc, castagnoli, s.buf)
		var n int
		n, s.err = s.w.Write(s.buf)
		s.n += int64(n)
	}
	s.buf = s.buf[:0]
}

func (s *snapWriter) maybeFlush() {
	if len(s.buf) >= 64<<10 {
		s.flush()
	}
}

func (s *snapWriter) uvarint(v uint64) {
	s.buf = binary.AppendUvarint(s.buf, v)
	s.maybeFlush()
}

func (s *snapWriter) str(v string) {
	s.buf = binary.AppendUvarint(s.buf, uint64(len(v)))
	s.buf = append(s.buf, v...)
	s.maybeFlush()
}

func (s *snapWriter) list(bm *roaring.Bitmap) {
	s.uvarint(bm.GetCardinality())
	prev := uint32(0)
	first := true
	it := bm.Iterator()
	for it.HasNext() {
		p := it.Next()
		if first {
			s.uvarint(uint64(p))
			first = false
		} else {
			s.uvarint(uint64(p - prev))
		}
		prev = p
	}
}

// WriteTo writes a snapshot of the index to w (see the format above) and
// returns the number of bytes written. It holds the read lock throughout,
// so the snapshot is of one version; writers wait until it finishes.
func (x *Index) WriteTo(w io.Writer) (int64, error) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	s := &snapWriter{w: bufio.NewWriterSize(w, 256<<10), buf: make([]byte, 0, 80<<10)}
	s.buf = append(s.buf, magic...)
	s.uvarint(formatVersion)
	s.uvarint(x.Version())
	s.uvarint(uint64(len(x.sources)))
	for _, src := range x.sources {
		s.str(src)
	}
	s.list(x.live)

	var names []string
	for name, sr := range x.series {
		if len(sr.buckets) > 0 {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	s.uvarint(uint64(len(names)))
	for _, name := range names {
		sr := x.series[name]
		s.str(name)
		if sr.props == nil {
			s.uvarint(0)
		} else {
			s.uvarint(uint64(len(sr.props.paths)))
			for _, p := range sr.props.paths {
				s.str(p)
			}
			s.uvarint(uint64(len(sr.props.tuples)))
			for _, t := range sr.props.tuples {
				for _, v := range t {
					s.buf = append(s.buf, byte(v.kind))
					s.str(v.str)
				}
				s.maybeFlush()
			}
		}
		s.uvarint(uint64(len(sr.buckets)))
		for i, b := range sr.buckets {
			if i == 0 {
				s.buf = binary.AppendVarint(s.buf, b.day)
			} else {
				s.uvarint(uint64(b.day - sr.buckets[i-1].day))
			}
			s.uvarint(uint64(b.ev.n))
			prev := uint32(0)
			for _, c := range b.ev.chunks {
				for _, e := range c {
					s.buf = binary.AppendUvarint(s.buf, uint64(e.p-prev))
					s.buf = binary.AppendUvarint(s.buf, uint64(e.ms))
					s.buf = binary.AppendUvarint(s.buf, uint64(e.src))
					s.buf = binary.AppendUvarint(s.buf, uint64(e.tup))
					prev = e.p
					s.maybeFlush()
				}
			}
		}
	}
	for _, m := range []map[string]*roaring.Bitmap{x.types, x.consent, x.tags} {
		keys := slices.Sorted(maps.Keys(m))
		s.uvarint(uint64(len(keys)))
		for _, k := range keys {
			s.str(k)
			s.list(m[k])
		}
	}
	tnames := slices.Sorted(maps.Keys(x.traits))
	s.uvarint(uint64(len(tnames)))
	for _, name := range tnames {
		t := x.traits[name]
		s.str(name)
		vals := slices.Sorted(maps.Keys(t.byStr))
		s.uvarint(uint64(len(vals)))
		for _, v := range vals {
			s.str(v)
			s.list(t.byStr[v].bm)
		}
	}
	s.flush()
	var sum [4]byte
	binary.LittleEndian.PutUint32(sum[:], s.crc)
	s.buf = append(s.buf, sum[:]...)
	if s.err == nil {
		var n int
		n, s.err = s.w.Write(s.buf)
		s.n += int64(n)
	}
	if s.err == nil {
		s.err = s.w.Flush()
	}
	if s.err != nil {
		return s.n, fmt.Errorf("index: write snapshot: %w", s.err)
	}
	return s.n, nil
}

// decoder reads a snapshot held in memory. Every count is checked against
// the bytes left, so corrupt input can never make it allocate more than a
// small multiple of the input's size.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
	}
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count reads a count of items that take at least minBytes each.
func (d *decoder) count(minBytes int) int {
	v := d.uvarint()
	if v > uint64(len(d.b)/minBytes) {
		d.fail("count %d exceeds the input", v)
		return 0
	}
	return int(v)
}

func (d *decoder) byte() byte {
	if d.err != nil || len(d.b) == 0 {
		d.fail("truncated")
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) u32(what string) uint32 {
	v := d.uvarint()
	if v > math.MaxUint32 {
		d.fail("%s %d out of range", what, v)
		return 0
	}
	return uint32(v)
}

func (d *decoder) str() string {
	n := d.count(1)
	if d.err != nil {
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

// list reads a list of profile ids; empty lists are rejected when nonEmpty.
func (d *decoder) list(nonEmpty bool) []uint32 {
	n := d.count(1)
	if d.err != nil {
		return nil
	}
	if n == 0 && nonEmpty {
		d.fail("empty profile list")
		return nil
	}
	ids := make([]uint32, 0, n)
	var prev uint64
	for i := 0; i < n && d.err == nil; i++ {
		v := d.uvarint()
		if i > 0 {
			if v == 0 {
				d.fail("profile list not ascending")
			}
			v += prev
		}
		if v > math.MaxUint32 {
			d.fail("profile id %d out of range", v)
		}
		ids = append(ids, uint32(v))
		prev = v
	}
	return ids
}

// Read reads a snapshot written by WriteTo. It reads r to its end. Input
// that is not exactly one well-formed snapshot yields an error wrapping
// ErrCorrupt (or the reader's error); Read never panics on bad input.
func Read(r io.Reader) (*Index, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("index: read snapshot: %w", err)
	}
	if len(data) < len(magic)+4 || string(data[:len(magic)]) != magic {
		return nil, fmt.Errorf("%w: not an index snapshot", ErrCorrupt)
	}
	body, sum := data[:len(data)-4], binary.LittleEndian.Uint32(data[len(data)-4:])
	if crc32.Checksum(body, castagnoli) != sum {
		return nil, fmt.Errorf("%w: checksum mismatch (truncated or damaged)", ErrCorrupt)
	}
	d := &decoder{b: body[len(magic):]}
	if v := d.uvarint(); d.err == nil && v != formatVersion {
		return nil, fmt.Errorf("%w: unsupported format version %d", ErrCorrupt, v)
	}
	x := New()
	version := d.uvarint()

	for i, n := 0, d.count(1); i < n && d.err == nil; i++ {
		src := d.str()
		if _, dup := x.sourceID[src]; dup {
			d.fail("duplicate source %q", src)
		}
		x.sourceFor(src)
	}
	x.live.AddMany(d.list(false))

	minDay, minMS := splitTime(math.MinInt64)
	maxDay, maxMS := splitTime(math.MaxInt64)
	for i, n := 0, d.count(2); i < n && d.err == nil; i++ {
		name := d.str()
		if _, dup := x.series[name]; dup {
			d.fail("duplicate event name %q", name)
		}
		s := x.seriesFor(name)
		if np := d.count(1); np > 0 {
			paths := make([]string, np)
			for k := range paths {
				paths[k] = d.str()
				if !ValidPath(paths[k]) {
					d.fail("bad property path %q", paths[k])
				}
			}
			s.props = emptySeriesProps(paths)
			nt := d.count(np * 2)
			for k := 0; k < nt && d.err == nil; k++ {
				t := make([]propValue, np)
				for j := range t {
					kind := propKind(d.byte())
					str := d.str()
					switch kind {
					case propNumber:
						f, ok := parseNum(str)
						if !ok {
							d.fail("a number property that is not a number")
						}
						t[j] = propValue{kind: kind, num: f, str: str, isNum: true}
					case propString:
						t[j] = propValue{kind: kind, str: str}
						t[j].num, t[j].isNum = parseNum(str)
					case propMissing, propTrue, propFalse, propOther:
						t[j] = propValue{kind: kind, str: str}
					default:
						d.fail("unknown property kind %d", kind)
					}
				}
				if id := s.props.intern(t); id != uint32(k) {
					d.fail("duplicate property tuple in %q", name)
				}
			}
			if d.err == nil && (len(s.props.tuples) == 0 || len(s.props.tuples[0]) != np || s.props.tuples[0][0].kind != propMissing) {
				d.fail("property tuples of %q do not start with the empty one", name)
			}
		}
		nb := d.count(3)
		if nb == 0 {
			d.fail("event name %q without days", name)
		}
		s.buckets = make([]*bucket, 0, nb)
		var day int64
		for j := 0; j < nb && d.err == nil; j++ {
			if j == 0 {
				day = d.varint()
			} else {
				delta := d.uvarint()
				if delta == 0 || delta > uint64(maxDay-day) {
					d.fail("days of %q not ascending", name)
				}
				day += int64(delta)
			}
			if day < minDay || day > maxDay {
				d.fail("day %d out of range", day)
			}
			ne := d.count(3)
			if ne == 0 {
				d.fail("empty day %d of %q", day, name)
			}
			es := make([]entry, 0, ne)
			var prev entry
			var last uint32 // the day's latest ms
			for k := 0; k < ne && d.err == nil; k++ {
				dp := d.uvarint()
				e := entry{ms: d.u32("ms"), src: d.u32("source"), tup: d.u32("tuple")}
				if (s.props == nil && e.tup != 0) || (s.props != nil && int(e.tup) >= len(s.props.tuples)) {
					d.fail("unknown property tuple %d", e.tup)
				}
				if dp > math.MaxUint32-uint64(prev.p) {
					d.fail("profile id out of range")
				}
				e.p = prev.p + uint32(dp)
				switch {
				case e.ms >= dayMS:
					d.fail("ms %d beyond a day", e.ms)
				case e.src >= uint32(len(x.sources)):
					d.fail("unknown source %d", e.src)
				case k > 0 && e.less(prev):
					d.fail("events of day %d not sorted", day)
				case day == minDay && e.ms < minMS, day == maxDay && e.ms > maxMS:
					d.fail("time out of range")
				}
				es = append(es, e)
				prev = e
				last = max(last, e.ms)
			}
			if d.err != nil {
				break
			}
			s.buckets = append(s.buckets, newBucket(day, es))
			x.events += len(es)
			x.latest = max(x.latest, day*dayMS+int64(last))
			if int64(prev.p) >= x.maxP {
				x.maxP = int64(prev.p) + 1
			}
		}
		s.recount()
	}
	for _, m := range []map[string]*roaring.Bitmap{x.types, x.consent, x.tags} {
		for i, n := 0, d.count(2); i < n && d.err == nil; i++ {
			k := d.str()
			if _, dup := m[k]; dup {
				d.fail("duplicate type, purpose or tag %q", k)
			}
			bm := roaring.BitmapOf(d.list(true)...)
			if !bm.IsEmpty() && bm.AndCardinality(x.live) != bm.GetCardinality() {
				d.fail("facts of a profile that is not live")
			}
			m[k] = bm
		}
	}
	for i, n := 0, d.count(2); i < n && d.err == nil; i++ {
		name := d.str()
		if _, dup := x.traits[name]; dup {
			d.fail("duplicate trait %q", name)
		}
		t := &trait{byStr: make(map[string]*traitValue), of: make(map[uint32]*traitValue)}
		x.traits[name] = t
		nv := d.count(2)
		if nv == 0 {
			d.fail("trait %q without values", name)
		}
		for j := 0; j < nv && d.err == nil; j++ {
			v := &traitValue{s: d.str()}
			if _, dup := t.byStr[v.s]; dup {
				d.fail("duplicate value of trait %q", name)
			}
			v.num, v.isNum = parseNum(v.s)
			ids := d.list(true)
			for _, p := range ids {
				if t.of[p] != nil {
					d.fail("two values of trait %q for one profile", name)
				}
				if !x.live.Contains(p) {
					d.fail("facts of a profile that is not live")
				}
				t.of[p] = v
			}
			v.bm = roaring.BitmapOf(ids...)
			t.byStr[v.s] = v
		}
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail("%d unexpected bytes at the end", len(d.b))
	}
	if d.err != nil {
		return nil, d.err
	}
	x.version.Store(version)
	return x, nil
}

// newBucket builds a bucket from entries already sorted by (p, ms, src).
func newBucket(day int64, es []entry) *bucket {
	b := &bucket{day: day, bm: roaring.New()}
	const fill = maxChunk * 3 / 4 // room to grow before the first split
	for len(es) > 0 {
		n := min(fill, len(es))
		c := make([]entry, n)
		copy(c, es[:n])
		b.ev.chunks = append(b.ev.chunks, c)
		b.ev.n += n
		es = es[n:]
	}
	var ids []uint32
	for _, c := range b.ev.chunks {
		for _, e := range c {
			if len(ids) == 0 || ids[len(ids)-1] != e.p {
				ids = append(ids, e.p)
			}
		}
	}
	b.bm.AddMany(ids)
	return b
}
