package badgerstore

import (
	"encoding/binary"
	"errors"
	"iter"
	"slices"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/idgraph/idgraph/engine/internal/graph"
	"github.com/idgraph/idgraph/engine/internal/store"
)

// txn buffers the writer's typed writes and serves its reads: its own
// writes first, then the committed generation it builds on (through the
// cache). Nothing is encoded until Commit; then every buffered record is
// encoded once, however often it was put.
type txn struct {
	reader // committed state at base
	base   uint64

	meta *store.Meta
	// wroteMeta is the meta record write wrote, for the cache.
	wroteMeta *store.Meta
	nodes     map[uint32]*store.Node // nil: deleted
	idents    map[string][2]uint32   // identifier keys to write; {0,0}: delete
	profs     map[uint32]*store.Profile
	facts     map[uint32]*graph.Facts
	records   map[uint32]map[store.RecordKey]*store.Record // by anchor; nil: deleted
	partners  map[uint32]map[uint32]bool                   // node → anchor → present
	suppr     map[[32]byte]bool
	messages  map[string]message
	named     map[namedRef][]byte // nil: deleted
	blobs     map[string][]byte   // kind byte + key; nil: deleted
	// known holds the committed nodes that the identifier records read
	// describe whole: an identifier record is kept in step with its node
	// (type and value in its key, node and profile in its value), so a
	// node found through its identifier needs no read of its own.
	known map[uint32]store.Node

	bytes   int      // estimated bytes buffered (a record put twice counts twice)
	nrecs   int      // distinct record keys buffered (in records)
	nparts  int      // distinct partner keys buffered (in partners)
	written [256]int // keys written at commit, by prefix
}

type message struct {
	until int64
	ttl   time.Duration
}

type namedRef struct {
	kind store.Named
	name string
}

func newTxn(s *Store) *txn {
	base := s.gen.Load()
	return &txn{
		reader: reader{s: s, gen: base}, base: base,
		nodes: map[uint32]*store.Node{}, idents: map[string][2]uint32{},
		profs: map[uint32]*store.Profile{}, facts: map[uint32]*graph.Facts{},
		records: map[uint32]map[store.RecordKey]*store.Record{}, partners: map[uint32]map[uint32]bool{},
		suppr: map[[32]byte]bool{}, messages: map[string]message{}, named: map[namedRef][]byte{},
		blobs: map[string][]byte{},
	}
}

// Size estimates what the transaction will write: its distinct records,
// and their bytes (counted at each put, so an estimate from above).
func (t *txn) Size() (int, int) {
	n := len(t.nodes) + len(t.idents) + len(t.profs)*2 + len(t.facts) + len(t.suppr) + len(t.messages) + len(t.named) + len(t.blobs) + 1
	return n + t.nrecs + t.nparts, t.bytes
}

// --- reads: own writes first ---

func (t *txn) Meta() (store.Meta, error) {
	if t.meta != nil {
		return t.meta.Clone(), nil
	}
	m, err := t.reader.Meta()
	return m, err
}

func (t *txn) Ident(typ, val string) (uint32, uint32, error) {
	if v, ok := t.idents[string(identKey(typ, val))]; ok {
		if v[0] == 0 {
			return 0, 0, store.ErrNotFound
		}
		return v[0], v[1], nil
	}
	n, p, err := t.reader.Ident(typ, val)
	if err == nil {
		if t.known == nil {
			t.known = map[uint32]store.Node{}
		}
		t.known[n] = store.Node{Type: typ, Value: val, Profile: p}
	}
	return n, p, err
}

func (t *txn) Node(n uint32) (*store.Node, error) {
	if rec, ok := t.nodes[n]; ok {
		if rec == nil {
			return nil, store.ErrNotFound
		}
		return rec, nil
	}
	if rec, ok := t.known[n]; ok {
		return &rec, nil
	}
	rec, err := t.reader.node(n)
	if err != nil {
		return nil, err
	}
	c := *rec
	return &c, nil
}

func (t *txn) Profile(p uint32) (*store.Profile, error) {
	if rec, ok := t.profs[p]; ok {
		if rec == nil {
			return nil, store.ErrNotFound
		}
		return rec, nil
	}
	rec, err := t.reader.profile(p)
	if err != nil {
		return nil, err
	}
	return rec.Clone(), nil
}

func (t *txn) Facts(n uint32) (graph.Facts, error) {
	if f, ok := t.facts[n]; ok {
		if f == nil {
			return graph.Facts{}, nil
		}
		return f.Clone(), nil
	}
	return t.reader.Facts(n)
}

func (t *txn) Record(k store.RecordKey) (*store.Record, error) {
	if rec, ok := t.records[k.Anchor][k]; ok {
		if rec == nil {
			return nil, store.ErrNotFound
		}
		return rec.Clone(), nil
	}
	return t.reader.Record(k)
}

// Records merges the committed records of anchor with the buffered ones.
func (t *txn) Records(anchor uint32, rg store.Range) iter.Seq2[*store.Record, error] {
	own := t.records[anchor]
	if len(own) == 0 {
		return t.reader.records(anchor, rg)
	}
	return func(yield func(*store.Record, error) bool) {
		mine := make([]store.RecordKey, 0, len(own))
		for k := range own {
			if rg.From != nil && k.Less(*rg.From) || rg.To != nil && rg.To.Less(k) {
				continue
			}
			mine = append(mine, k)
		}
		slices.SortFunc(mine, func(a, b store.RecordKey) int {
			if a == b {
				return 0
			}
			if a.Less(b) != rg.Reverse {
				return -1
			}
			return 1
		})
		before := func(a, b store.RecordKey) bool { return a.Less(b) != rg.Reverse }
		emit := func(k store.RecordKey) bool {
			rec := own[k]
			if rec == nil || rg.EventsOnly && !rec.Event || rg.LinkedOnly && !rec.Linked() {
				return true
			}
			return yield(rec.Clone(), nil)
		}
		i := 0
		for rec, err := range t.reader.records(anchor, rg) {
			if err != nil {
				yield(nil, err)
				return
			}
			for i < len(mine) && before(mine[i], rec.RecordKey) {
				if !emit(mine[i]) {
					return
				}
				i++
			}
			if i < len(mine) && mine[i] == rec.RecordKey {
				if !emit(mine[i]) {
					return
				}
				i++
				continue
			}
			if _, changed := own[rec.RecordKey]; changed {
				continue
			}
			if !yield(rec, nil) {
				return
			}
		}
		for ; i < len(mine); i++ {
			if !emit(mine[i]) {
				return
			}
		}
	}
}

func (t *txn) Partners(n uint32) ([]uint32, error) {
	out, err := t.reader.Partners(n)
	if err != nil || len(t.partners[n]) == 0 {
		return out, err
	}
	d := t.partners[n]
	kept := out[:0]
	for _, a := range out {
		if present, changed := d[a]; !changed || present {
			kept = append(kept, a)
		}
	}
	for a, present := range d {
		if present && !slices.Contains(kept, a) {
			kept = append(kept, a)
		}
	}
	slices.Sort(kept)
	return kept, nil
}

func (t *txn) MaySuppress() bool { return len(t.suppr) > 0 || t.reader.MaySuppress() }

func (t *txn) HasPartner(n, a uint32) (bool, error) {
	if present, ok := t.partners[n][a]; ok {
		return present, nil
	}
	return t.reader.HasPartner(n, a)
}

func (t *txn) Suppressed(h [32]byte) (bool, error) {
	if t.suppr[h] {
		return true, nil
	}
	return t.reader.Suppressed(h)
}

func (t *txn) Message(id string) (int64, bool, error) {
	if m, ok := t.messages[id]; ok {
		return m.until, true, nil
	}
	return t.reader.Message(id)
}

func (t *txn) NamedAll(kind store.Named) (map[string][]byte, error) {
	out, err := t.reader.NamedAll(kind)
	if err != nil {
		return nil, err
	}
	for ref, v := range t.named {
		if ref.kind != kind {
			continue
		}
		if v == nil {
			delete(out, ref.name)
		} else {
			out[ref.name] = v
		}
	}
	return out, nil
}

// --- writes ---

func (t *txn) PutMeta(m store.Meta) {
	c := m.Clone()
	t.meta = &c
	t.bytes += 64 + len(m.Salt) + 4*len(m.Purge)
}

func (t *txn) PutNode(n uint32, rec *store.Node) {
	t.nodes[n] = rec
	t.bytes += 16 + len(rec.Type) + len(rec.Value)
	k := string(identKey(rec.Type, rec.Value))
	t.idents[k] = [2]uint32{n, rec.Profile}
	t.bytes += len(k) + 8
}

func (t *txn) DeleteNode(n uint32) {
	if old, err := t.Node(n); err == nil {
		k := string(identKey(old.Type, old.Value))
		t.idents[k] = [2]uint32{}
		t.bytes += len(k)
	}
	t.nodes[n] = nil
	t.bytes += 5
}

func (t *txn) PutProfile(p uint32, rec *store.Profile) {
	t.profs[p] = rec
	t.bytes += int(profileBytes(rec)) / 2
}

func (t *txn) DeleteProfile(p uint32) {
	t.profs[p] = nil
	t.bytes += 5
}

func (t *txn) PutFacts(n uint32, f graph.Facts) {
	if f.Empty() {
		t.facts[n] = nil
		t.bytes += 5
		return
	}
	c := f.Clone()
	t.facts[n] = &c
	t.bytes += 64 + 64*(len(f.Traits)+len(f.Consent)+len(f.Tags))
}

func (t *txn) PutRecord(r *store.Record) {
	m := t.records[r.Anchor]
	if m == nil {
		m = map[store.RecordKey]*store.Record{}
		t.records[r.Anchor] = m
	}
	if _, ok := m[r.RecordKey]; !ok {
		t.nrecs++
	}
	m[r.RecordKey] = r
	t.bytes += recordKeyLen + 16 + len(r.Name) + len(r.Source) + len(r.Props) + 6*len(r.IDs)*(1+len(r.Sets))
}

func (t *txn) DeleteRecord(k store.RecordKey) {
	m := t.records[k.Anchor]
	if m == nil {
		m = map[store.RecordKey]*store.Record{}
		t.records[k.Anchor] = m
	}
	if _, ok := m[k]; !ok {
		t.nrecs++
	}
	m[k] = nil
	t.bytes += recordKeyLen
}

func (t *txn) setPartner(n, a uint32, present bool) {
	d := t.partners[n]
	if d == nil {
		d = map[uint32]bool{}
		t.partners[n] = d
	}
	if _, ok := d[a]; !ok {
		t.nparts++
	}
	d[a] = present
	t.bytes += 9
}

func (t *txn) AddPartner(n, a uint32)    { t.setPartner(n, a, true) }
func (t *txn) DeletePartner(n, a uint32) { t.setPartner(n, a, false) }

func (t *txn) Suppress(h [32]byte) {
	t.suppr[h] = true
	t.bytes += 33
}

func (t *txn) PutMessage(id string, until int64, ttl time.Duration) {
	t.messages[id] = message{until: until, ttl: ttl}
	t.bytes += len(id) + 9
}

func (t *txn) PutNamed(kind store.Named, name string, value []byte) {
	t.named[namedRef{kind, name}] = append([]byte{}, value...)
	t.bytes += len(name) + len(value) + 1
}

func (t *txn) DeleteNamed(kind store.Named, name string) {
	t.named[namedRef{kind, name}] = nil
	t.bytes += len(name) + 1
}

func (t *txn) PutBlob(kind store.Blob, key, value []byte) {
	t.blobs[string(blobKey(kind, key))] = append([]byte{}, value...)
	t.bytes += len(key) + len(value) + 1
}

func (t *txn) DeleteBlob(kind store.Blob, key []byte) {
	t.blobs[string(blobKey(kind, key))] = nil
	t.bytes += len(key) + 1
}

type (
	nodeRef    uint32
	profileRef uint32
	factsRef   uint32
)

// write encodes the buffered records into a Badger transaction, meta last
// (stamped with the generation).
func (t *txn) write(bt *badger.Txn, gen uint64) error {
	set := func(k, v []byte) error { t.written[k[0]]++; return bt.Set(k, v) }
	del := func(k []byte) error { t.written[k[0]]++; return bt.Delete(k) }
	for k, v := range t.idents {
		var err error
		if v[0] == 0 {
			err = del([]byte(k))
		} else {
			err = set([]byte(k), identValue(v[0], v[1]))
		}
		if err != nil {
			return err
		}
	}
	for n, rec := range t.nodes {
		var err error
		if rec == nil {
			err = del(nodeKey(n))
		} else {
			err = set(nodeKey(n), encodeNode(rec))
		}
		if err != nil {
			return err
		}
	}
	for p, rec := range t.profs {
		if err := t.writeProfile(bt, p, rec); err != nil {
			return err
		}
	}
	for n, f := range t.facts {
		var enc []byte
		if f != nil {
			enc = encodeFacts(f)
		}
		if err := t.writeChunked(bt, pFacts, n, enc); err != nil {
			return err
		}
	}
	for _, m := range t.records {
		for k, rec := range m {
			var err error
			if rec == nil {
				err = del(recordKey(k))
			} else {
				err = set(recordKey(k), encodeRecord(rec))
			}
			if err != nil {
				return err
			}
		}
	}
	for n, d := range t.partners {
		for a, present := range d {
			var err error
			if present {
				err = set(partnerKey(n, a), nil)
			} else {
				err = del(partnerKey(n, a))
			}
			if err != nil {
				return err
			}
		}
	}
	for h := range t.suppr {
		if err := set(supprKey(h), nil); err != nil {
			return err
		}
	}
	for id, m := range t.messages {
		v := make([]byte, 8)
		binary.BigEndian.PutUint64(v, uint64(m.until))
		t.written[pMessage]++
		if err := bt.SetEntry(badger.NewEntry(messageKey(id), v).WithTTL(m.ttl)); err != nil {
			return err
		}
	}
	for ref, v := range t.named {
		var err error
		if v == nil {
			err = del(namedKey(ref.kind, ref.name))
		} else {
			err = set(namedKey(ref.kind, ref.name), v)
		}
		if err != nil {
			return err
		}
	}
	for k, v := range t.blobs {
		var err error
		if v == nil {
			err = del([]byte(k))
		} else {
			err = set([]byte(k), v)
		}
		if err != nil {
			return err
		}
	}
	meta := t.meta
	if meta == nil {
		m, err := t.reader.Meta()
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		meta = &m
	}
	t.wroteMeta = meta
	return set(metaKey, encodeMeta(*meta, gen))
}

// writeProfile writes a profile record, and its facts only when they
// changed: an event rewrites the small record, never the traits.
func (t *txn) writeProfile(bt *badger.Txn, p uint32, rec *store.Profile) error {
	t.written[pProfile]++
	if rec == nil {
		if err := bt.Delete(profileKey(p)); err != nil {
			return err
		}
		return t.writeChunked(bt, pPFacts, p, nil)
	}
	if err := bt.Set(profileKey(p), encodeProfile(rec)); err != nil {
		return err
	}
	var old graph.Facts
	if cur, err := t.reader.profile(p); err == nil && cur.Into == 0 {
		old = cur.Facts
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if rec.Into != 0 || rec.Facts.Empty() {
		if !old.Empty() {
			return t.writeChunked(bt, pPFacts, p, nil)
		}
		return nil
	}
	if factsEqual(&old, &rec.Facts) {
		return nil
	}
	return t.writeChunked(bt, pPFacts, p, encodeFacts(&rec.Facts))
}

// publish moves the cache to generation gen with what this transaction
// wrote.
func (t *txn) publish(gen uint64) {
	t.s.suppressions.Add(int64(len(t.suppr)))
	for p, n := range t.written {
		if n > 0 {
			t.s.written[p].Add(uint64(n))
		}
	}
	c := t.s.cache
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen = gen
	c.meta = t.wroteMeta
	if !c.enabled() {
		return
	}
	for k, v := range t.idents {
		c.idents.write(k, v, v[0] == 0)
	}
	for n, rec := range t.nodes {
		c.nodes.write(n, rec, rec == nil)
	}
	for p, rec := range t.profs {
		c.profs.write(p, rec, rec == nil)
	}
	for n, d := range t.partners {
		for a, present := range d {
			c.partners.write([2]uint32{n, a}, present, false)
		}
	}
	c.trim()
}

func (t *txn) close() { t.reader.close() }
