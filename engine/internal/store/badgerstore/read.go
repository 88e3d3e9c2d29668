package badgerstore

import (
	"encoding/binary"
	"errors"
	"iter"

	"github.com/dgraph-io/badger/v4"
	"github.com/idgraph/idgraph/engine/internal/graph"
	"github.com/idgraph/idgraph/engine/internal/store"
)

// reader reads one generation: the cache first, then a Badger transaction
// opened at that generation on first need. Snapshots use it directly; the
// writer's transaction reads committed state through it.
type reader struct {
	s       *Store
	gen     uint64
	txn     *badger.Txn
	release func()
	// hot: what this reader reads is what queries ask for (a snapshot),
	// not only what the writer needs; see cache.
	hot bool
}

func (r *reader) btxn() *badger.Txn {
	if r.txn == nil {
		r.txn = r.s.db.NewTransactionAt(r.gen, false)
	}
	return r.txn
}

func (r *reader) close() {
	if r.txn != nil {
		r.txn.Discard()
		r.txn = nil
	}
	if r.release != nil {
		r.release()
		r.release = nil
	}
}

func (r *reader) get(key []byte, f func([]byte) error) (err error) {
	defer guard(&err)
	item, err := r.btxn().Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return store.ErrNotFound
	}
	if err != nil {
		return err
	}
	return item.Value(f)
}

func (r *reader) Gen() uint64 { return r.gen }

func (r *reader) Meta() (store.Meta, error) {
	if m := r.s.cache.metaAt(r.gen); m != nil {
		return m.Clone(), nil
	}
	var m store.Meta
	err := r.get(metaKey, func(v []byte) error {
		var err error
		m, _, err = decodeMeta(v)
		return err
	})
	if err != nil {
		return m, err
	}
	kept := m.Clone()
	r.s.cache.fill(r.gen, func() { r.s.cache.meta = &kept })
	return m, nil
}

// cached returns pt's entry for k from the cache, or load's, which it
// then puts into the cache (a snapshot's reads into the hot tier).
func cached[K comparable, V comparable](r *reader, pt *part[K, V], k K, load func() (V, error)) (V, error) {
	if v, ok := lookup(r.s.cache, pt, k, r.gen, r.hot); ok {
		return v, nil
	}
	v, err := load()
	if err != nil {
		return v, err
	}
	r.s.cache.fill(r.gen, func() { pt.put(tierOf(r.hot), k, v) })
	return v, nil
}

// Ident caches an identifier that is not stored too, as node 0 (nodes
// count from 1): an identifier read ahead of the writer is as often new
// as known, and the writer would otherwise ask Badger again.
func (r *reader) Ident(typ, val string) (uint32, uint32, error) {
	key := identKey(typ, val)
	v, err := cached(r, &r.s.cache.idents, string(key), func() ([2]uint32, error) {
		var v [2]uint32
		err := r.get(key, func(b []byte) error {
			var err error
			v[0], v[1], err = parseIdentValue(b)
			return err
		})
		if errors.Is(err, store.ErrNotFound) {
			return [2]uint32{}, nil
		}
		return v, err
	})
	if err == nil && v[0] == 0 {
		err = store.ErrNotFound
	}
	return v[0], v[1], err
}

// getAs reads key's value and decodes it with dec.
func getAs[T any](r *reader, key []byte, dec func([]byte) (T, error)) (T, error) {
	var out T
	err := r.get(key, func(v []byte) error {
		var err error
		out, err = dec(v)
		return err
	})
	return out, err
}

// node returns the shared (cached) record: callers that may change it
// clone it.
func (r *reader) node(n uint32) (*store.Node, error) {
	return cached(r, &r.s.cache.nodes, n, func() (*store.Node, error) {
		return getAs(r, nodeKey(n), decodeNode)
	})
}

func (r *reader) Node(n uint32) (*store.Node, error) { return r.node(n) }

func (r *reader) profile(p uint32) (*store.Profile, error) {
	return cached(r, &r.s.cache.profs, p, func() (*store.Profile, error) {
		rec, err := getAs(r, profileKey(p), decodeProfile)
		if err == nil && rec.Into == 0 {
			rec.Facts, err = r.profileFacts(p)
		}
		return rec, err
	})
}

// profileFacts reads a profile's combined facts, kept apart from the
// profile record so that the record every event rewrites stays small.
func (r *reader) profileFacts(p uint32) (graph.Facts, error) {
	v, err := r.readChunked(pPFacts, p)
	if errors.Is(err, store.ErrNotFound) {
		return graph.Facts{}, nil
	}
	if err != nil {
		return graph.Facts{}, err
	}
	return decodeFacts(v)
}

func (r *reader) Profile(p uint32) (*store.Profile, error) { return r.profile(p) }

func (r *reader) Facts(n uint32) (graph.Facts, error) {
	v, err := r.readChunked(pFacts, n)
	if errors.Is(err, store.ErrNotFound) {
		return graph.Facts{}, nil
	}
	if err != nil {
		return graph.Facts{}, err
	}
	return decodeFacts(v)
}

func (r *reader) Record(k store.RecordKey) (*store.Record, error) {
	return getAs(r, recordKey(k), func(v []byte) (*store.Record, error) { return decodeRecord(k, v) })
}

// records iterates committed records of one anchor.
func (r *reader) records(anchor uint32, rg store.Range) iter.Seq2[*store.Record, error] {
	return func(yield func(*store.Record, error) bool) {
		prefix := u32Key(pRecord, anchor)
		// Values are read in place, not prefetched: an anchor holds few
		// records, their values are inline in the tables, and a prefetch
		// only copies them (a merge reads the events of each identifier it
		// moves this way).
		c := &cursor{it: r.btxn().NewIterator(badger.IteratorOptions{Prefix: prefix, Reverse: rg.Reverse})}
		defer c.close()
		var seek []byte
		switch {
		case !rg.Reverse && rg.From != nil:
			seek = recordKey(*rg.From)
		case rg.Reverse && rg.To != nil:
			seek = recordKey(*rg.To)
		case rg.Reverse:
			seek = append(prefix, 0xff)
		default:
			seek = prefix
		}
		for ok := c.seek(seek); ok; ok = c.next() {
			item := c.it.Item()
			k, ok := parseRecordKey(item.Key())
			if !ok {
				if !yield(nil, store.ErrCorrupt) {
					return
				}
				continue
			}
			if !rg.Reverse && rg.To != nil && rg.To.Less(k) || rg.Reverse && rg.From != nil && k.Less(*rg.From) {
				return
			}
			rec, err := readRecord(k, c, rg)
			if err != nil {
				yield(nil, err)
				return
			}
			if rec == nil {
				continue
			}
			if !yield(rec, nil) {
				return
			}
		}
		if c.err != nil {
			yield(nil, c.err)
		}
	}
}

// readRecord decodes a record unless the range's filters drop it (nil).
func readRecord(k store.RecordKey, c *cursor, rg store.Range) (*store.Record, error) {
	if rg.KeysOnly && !rg.EventsOnly && !rg.LinkedOnly {
		return &store.Record{RecordKey: k}, nil
	}
	var rec *store.Record
	err := c.value(func(v []byte) error {
		var err error
		rec, err = decodeRecord(k, v)
		return err
	})
	if err != nil {
		return nil, err
	}
	if rg.EventsOnly && !rec.Event || rg.LinkedOnly && !rec.Linked() {
		return nil, nil
	}
	return rec, nil
}

func (r *reader) Records(anchor uint32, rg store.Range) iter.Seq2[*store.Record, error] {
	return r.records(anchor, rg)
}

func (r *reader) Partners(n uint32) ([]uint32, error) {
	prefix := u32Key(pPartner, n)
	c := &cursor{it: r.btxn().NewIterator(badger.IteratorOptions{Prefix: prefix})}
	defer c.close()
	var out []uint32
	for ok := c.rewind(); ok; ok = c.next() {
		k := c.it.Item().Key()
		if len(k) != 9 {
			return nil, store.ErrCorrupt
		}
		out = append(out, binary.BigEndian.Uint32(k[5:]))
	}
	return out, c.err
}

// HasPartner is cached, absent entries too: the commit that adds or
// deletes one replaces its entry.
func (r *reader) HasPartner(n, a uint32) (bool, error) {
	return cached(r, &r.s.cache.partners, [2]uint32{n, a}, func() (bool, error) {
		return r.exists(partnerKey(n, a))
	})
}

func (r *reader) exists(key []byte) (ok bool, err error) {
	defer guard(&err)
	_, err = r.btxn().Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return false, nil
	}
	return err == nil, err
}

func (r *reader) Suppressed(h [32]byte) (bool, error) { return r.exists(supprKey(h)) }

func (r *reader) MaySuppress() bool { return r.s.suppressions.Load() > 0 }

func (r *reader) Message(id string) (int64, bool, error) {
	var until int64
	err := r.get(messageKey(id), func(v []byte) error {
		if len(v) != 8 {
			return store.ErrCorrupt
		}
		until = int64(binary.BigEndian.Uint64(v))
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return 0, false, nil
	}
	return until, err == nil, err
}

func (r *reader) NamedAll(kind store.Named) (map[string][]byte, error) {
	out := map[string][]byte{}
	c := &cursor{it: r.btxn().NewIterator(badger.IteratorOptions{Prefix: []byte{byte(kind)}, PrefetchValues: true})}
	defer c.close()
	for ok := c.rewind(); ok; ok = c.next() {
		k := c.it.Item().KeyCopy(nil)
		if err := c.value(func(v []byte) error {
			out[string(k[1:])] = append([]byte(nil), v...)
			return nil
		}); err != nil {
			return nil, err
		}
	}
	return out, c.err
}

func (r *reader) Blobs(kind store.Blob, from []byte, f func(key, value []byte) bool) error {
	c := &cursor{it: r.btxn().NewIterator(badger.IteratorOptions{Prefix: []byte{byte(kind)}, PrefetchValues: true, PrefetchSize: 64})}
	defer c.close()
	for ok := c.seek(blobKey(kind, from)); ok; ok = c.next() {
		k := c.it.Item().Key()
		more := true
		if err := c.value(func(v []byte) error {
			more = f(k[1:], v)
			return nil
		}); err != nil {
			return err
		}
		if !more {
			break
		}
	}
	return c.err
}

// snapshot is a store.Snapshot.
type snapshot struct{ reader }

func (s *Store) newSnapshot(gen uint64, hot bool, release func()) *snapshot {
	return &snapshot{reader{s: s, gen: gen, release: release, hot: hot}}
}

func (s *snapshot) Close() { s.close() }
