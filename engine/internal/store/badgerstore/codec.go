package badgerstore

import (
	"encoding/binary"
	"fmt"

	"github.com/idgraph/idgraph/engine/internal/graph"
	"github.com/idgraph/idgraph/engine/internal/store"
)

// Records read on every write and every WHO (nodes, profiles, link
// records, facts) have hand-written codecs: a version byte, then varints and
// length-prefixed strings in a fixed order, no reflection. Decoding never
// trusts a length: corrupt bytes give store.ErrCorrupt, never a panic.

const codecVersion = 1

type enc struct{ b []byte }

func (e *enc) u8(v byte)        { e.b = append(e.b, v) }
func (e *enc) uvarint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *enc) varint(v int64)   { e.b = binary.AppendVarint(e.b, v) }
func (e *enc) str(s string)     { e.uvarint(uint64(len(s))); e.b = append(e.b, s...) }
func (e *enc) bytes(s []byte)   { e.uvarint(uint64(len(s))); e.b = append(e.b, s...) }
func (e *enc) bool(v bool) {
	if v {
		e.u8(1)
	} else {
		e.u8(0)
	}
}

type dec struct {
	b   []byte
	err error
}

func (d *dec) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", store.ErrCorrupt, what)
	}
	d.b = nil
}

func (d *dec) u8() byte {
	if len(d.b) < 1 {
		d.fail("truncated")
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *dec) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *dec) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *dec) u32() uint32 {
	v := d.uvarint()
	if v > 1<<32-1 {
		d.fail("id out of range")
		return 0
	}
	return uint32(v)
}

// count reads a length that must fit in what is left (each item takes at
// least one byte), so a corrupt length cannot make us allocate gigabytes.
func (d *dec) count() int {
	v := d.uvarint()
	if v > uint64(len(d.b)) {
		d.fail("length past the end")
		return 0
	}
	return int(v)
}

func (d *dec) raw() []byte {
	n := d.count()
	if d.err != nil {
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func (d *dec) str() string { return string(d.raw()) }

func (d *dec) bool() bool { return d.u8() != 0 }

func (d *dec) version(what string) {
	if v := d.u8(); d.err == nil && v != codecVersion {
		d.fail(fmt.Sprintf("%s record version %d", what, v))
	}
}

func (d *dec) end(what string) error {
	if d.err == nil && len(d.b) != 0 {
		d.fail(what + " record has trailing bytes")
	}
	return d.err
}

func encodeNode(n *store.Node) []byte {
	e := enc{b: make([]byte, 0, 8+len(n.Type)+len(n.Value))}
	e.u8(codecVersion)
	e.str(n.Type)
	e.str(n.Value)
	e.uvarint(uint64(n.Profile))
	return e.b
}

func decodeNode(b []byte) (*store.Node, error) {
	d := dec{b: b}
	d.version("node")
	n := &store.Node{Type: d.str(), Value: d.str(), Profile: d.u32()}
	return n, d.end("node")
}

func (e *enc) facts(f *graph.Facts) {
	e.uvarint(uint64(len(f.Traits)))
	for k, v := range f.Traits {
		e.str(k)
		e.str(v.V)
		e.varint(v.T)
		e.uvarint(v.S)
	}
	for _, m := range []map[string]graph.Flag{f.Consent, f.Tags} {
		e.uvarint(uint64(len(m)))
		for k, v := range m {
			e.str(k)
			e.bool(v.On)
			e.varint(v.T)
			e.uvarint(v.S)
		}
	}
}

func (d *dec) facts() graph.Facts {
	var f graph.Facts
	if n := d.count(); n > 0 {
		f.Traits = make(map[string]graph.Value, n)
		for ; n > 0 && d.err == nil; n-- {
			k := d.str()
			f.Traits[k] = graph.Value{V: d.str(), Stamp: graph.Stamp{T: d.varint(), S: d.uvarint()}}
		}
	}
	for _, m := range []*map[string]graph.Flag{&f.Consent, &f.Tags} {
		if n := d.count(); n > 0 {
			*m = make(map[string]graph.Flag, n)
			for ; n > 0 && d.err == nil; n-- {
				k := d.str()
				(*m)[k] = graph.Flag{On: d.bool(), Stamp: graph.Stamp{T: d.varint(), S: d.uvarint()}}
			}
		}
	}
	return f
}

func encodeFacts(f *graph.Facts) []byte {
	e := enc{b: make([]byte, 0, 64)}
	e.u8(codecVersion)
	e.facts(f)
	return e.b
}

func decodeFacts(b []byte) (graph.Facts, error) {
	d := dec{b: b}
	d.version("facts")
	f := d.facts()
	return f, d.end("facts")
}

func encodeProfile(p *store.Profile) []byte {
	e := enc{b: make([]byte, 0, 64+32*len(p.Members))}
	e.u8(codecVersion)
	e.uvarint(uint64(p.Into))
	if p.Into != 0 {
		return e.b
	}
	e.varint(p.Created)
	e.uvarint(uint64(len(p.Members)))
	for _, m := range p.Members {
		e.uvarint(uint64(m.Node))
		e.str(m.ID)
	}
	e.uvarint(uint64(len(p.Counts)))
	for _, tc := range p.Counts {
		e.str(tc.Type)
		e.uvarint(uint64(tc.N))
	}
	e.uvarint(uint64(p.Events))
	e.varint(p.First)
	e.varint(p.Last)
	return e.b
}

func decodeProfile(b []byte) (*store.Profile, error) {
	d := dec{b: b}
	d.version("profile")
	p := &store.Profile{Into: d.u32()}
	if p.Into != 0 {
		return p, d.end("profile")
	}
	p.Created = d.varint()
	if n := d.count(); n > 0 {
		p.Members = make([]store.Member, n, n+1)
		for i := range p.Members {
			p.Members[i] = store.Member{Node: d.u32(), ID: d.str()}
		}
	}
	if n := d.count(); n > 0 {
		// Sorted on the way in: stores written before Counts were a
		// slice hold them in a map's order.
		p.Counts = make(graph.Counts, 0, n)
		for ; n > 0 && d.err == nil; n-- {
			k := d.str()
			p.Counts.Add(k, int(d.uvarint()))
		}
	}
	p.Events = int64(d.uvarint())
	p.First = d.varint()
	p.Last = d.varint()
	return p, d.end("profile")
}

// factsEqual reports whether two facts hold the same values and stamps.
func factsEqual(a, b *graph.Facts) bool {
	return mapEqual(a.Traits, b.Traits) && mapEqual(a.Consent, b.Consent) && mapEqual(a.Tags, b.Tags)
}

func mapEqual[V comparable](a, b map[string]V) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func encodeRecord(r *store.Record) []byte {
	e := enc{b: make([]byte, 0, 16+len(r.Name)+len(r.Source)+8*len(r.IDs)+len(r.Props))}
	e.u8(codecVersion)
	e.bool(r.Event)
	e.str(r.Name)
	e.str(r.Source)
	e.uvarint(uint64(len(r.IDs)))
	for _, n := range r.IDs {
		e.uvarint(uint64(n))
	}
	e.uvarint(uint64(len(r.Sets)))
	for i, s := range r.Sets {
		e.uvarint(uint64(len(s)))
		for _, n := range s {
			e.uvarint(uint64(n))
		}
		var rules []string
		if i < len(r.Rules) {
			rules = r.Rules[i]
		}
		// Most rules are "" (linked): store only the non-empty ones.
		k := 0
		for _, x := range rules {
			if x != "" {
				k++
			}
		}
		e.uvarint(uint64(k))
		for j, x := range rules {
			if x != "" {
				e.uvarint(uint64(j))
				e.str(x)
			}
		}
	}
	e.bytes(r.Props)
	return e.b
}

func decodeRecord(k store.RecordKey, b []byte) (*store.Record, error) {
	d := dec{b: b}
	d.version("link")
	r := &store.Record{RecordKey: k, Event: d.bool(), Name: d.str(), Source: d.str()}
	if n := d.count(); n > 0 {
		r.IDs = make([]uint32, n)
		for i := range r.IDs {
			r.IDs[i] = d.u32()
		}
	}
	if n := d.count(); n > 0 {
		r.Sets = make([][]uint32, n)
		r.Rules = make([][]string, n)
		for i := range r.Sets {
			m := d.count()
			set := make([]uint32, m)
			for j := range set {
				set[j] = d.u32()
			}
			rules := make([]string, m)
			for c := d.count(); c > 0 && d.err == nil; c-- {
				j := d.uvarint()
				if j >= uint64(m) {
					d.fail("rule out of range")
					break
				}
				rules[j] = d.str()
			}
			r.Sets[i], r.Rules[i] = set, rules
		}
	}
	if p := d.raw(); len(p) > 0 {
		r.Props = append([]byte(nil), p...)
	}
	return r, d.end("link")
}

// identValue is the value of an identifier key: its node and profile.
func identValue(n, p uint32) []byte {
	v := make([]byte, 8)
	binary.BigEndian.PutUint32(v, n)
	binary.BigEndian.PutUint32(v[4:], p)
	return v
}

func parseIdentValue(v []byte) (n, p uint32, err error) {
	if len(v) != 8 {
		return 0, 0, fmt.Errorf("%w: identifier record of %d bytes", store.ErrCorrupt, len(v))
	}
	return binary.BigEndian.Uint32(v), binary.BigEndian.Uint32(v[4:]), nil
}
