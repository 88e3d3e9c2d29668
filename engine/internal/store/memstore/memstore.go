// Package memstore is an in-memory store.Store: every record kept as
// versions by generation in plain maps, written to be obviously right
// rather than fast. Tests use it, and the metamorphic test compares the
// engine over it with the engine over Badger.
package memstore

import (
	"cmp"
	"crypto/rand"
	"fmt"
	"iter"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/idgraph/idgraph/engine/internal/graph"
	"github.com/idgraph/idgraph/engine/internal/store"
)

type version[V any] struct {
	gen uint64
	v   V
	del bool
}

// vmap keeps every version of every key.
type vmap[K comparable, V any] struct{ m map[K][]version[V] }

func newVmap[K comparable, V any]() *vmap[K, V] { return &vmap[K, V]{m: map[K][]version[V]{}} }

func (m *vmap[K, V]) get(k K, gen uint64) (V, bool) {
	vs := m.m[k]
	for i := len(vs) - 1; i >= 0; i-- {
		if vs[i].gen <= gen {
			return vs[i].v, !vs[i].del
		}
	}
	var zero V
	return zero, false
}

func (m *vmap[K, V]) set(k K, gen uint64, v V, del bool) {
	vs := m.m[k]
	if n := len(vs); n > 0 && vs[n-1].gen == gen {
		vs[n-1] = version[V]{gen, v, del}
		return
	}
	m.m[k] = append(vs, version[V]{gen, v, del})
}

// drop removes the versions of generation gen (a discarded transaction).
func (m *vmap[K, V]) drop(gen uint64) {
	for k, vs := range m.m {
		if n := len(vs); n > 0 && vs[n-1].gen == gen {
			if n == 1 {
				delete(m.m, k)
			} else {
				m.m[k] = vs[:n-1]
			}
		}
	}
}

func (m *vmap[K, V]) live(gen uint64, less func(a, b K) int) []K {
	var out []K
	for k := range m.m {
		if _, ok := m.get(k, gen); ok {
			out = append(out, k)
		}
	}
	slices.SortFunc(out, less)
	return out
}

// Store is an in-memory store.Store.
type Store struct {
	mu     sync.RWMutex
	gen    uint64 // latest committed
	open   bool
	limits store.Limits

	meta     *vmap[struct{}, store.Meta]
	idents   *vmap[string, [2]uint32]
	nodes    *vmap[uint32, store.Node]
	profs    *vmap[uint32, *store.Profile]
	facts    *vmap[uint32, graph.Facts]
	records  *vmap[store.RecordKey, *store.Record]
	partners *vmap[[2]uint32, bool]
	suppr    *vmap[[32]byte, bool]
	messages *vmap[string, int64]
	named    *vmap[string, []byte] // kind byte + name
	blobs    *vmap[string, []byte] // kind byte + key
}

var _ store.Store = (*Store)(nil)

// Options configure a Store.
type Options struct {
	// Limits replaces the transaction bounds (default: large).
	Limits store.Limits
	// Salt is the store's salt (default: random).
	Salt []byte
}

// New returns an empty store at generation 1 (the meta record with a salt).
func New(o Options) *Store {
	s := &Store{
		limits: o.Limits,
		meta:   newVmap[struct{}, store.Meta](), idents: newVmap[string, [2]uint32](),
		nodes: newVmap[uint32, store.Node](), profs: newVmap[uint32, *store.Profile](),
		facts: newVmap[uint32, graph.Facts](), records: newVmap[store.RecordKey, *store.Record](),
		partners: newVmap[[2]uint32, bool](), suppr: newVmap[[32]byte, bool](),
		messages: newVmap[string, int64](), named: newVmap[string, []byte](), blobs: newVmap[string, []byte](),
	}
	if s.limits == (store.Limits{}) {
		s.limits = store.Limits{SoftEntries: 20000, SoftBytes: 4 << 20, HardEntries: 1 << 30, HardBytes: 1 << 40}
	}
	salt := o.Salt
	if len(salt) == 0 {
		salt = make([]byte, 16)
		rand.Read(salt)
	}
	s.gen = 1
	s.meta.set(struct{}{}, 1, store.Meta{Salt: salt}, false)
	return s
}

func (s *Store) Gen() uint64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.gen
}

func (s *Store) Limits() store.Limits { return s.limits }
func (s *Store) Pin(uint64) func()    { return func() {} }
func (s *Store) Close() error         { return nil }
func (s *Store) View() store.Snapshot { return &view{s: s, gen: s.Gen()} }

// AheadView is View: the memory store has no cache to warm.
func (s *Store) AheadView() store.Snapshot { return s.View() }
func (s *Store) Discard(t store.Txn)       { s.end(t.(*txn), false) }
func (s *Store) Commit(t store.Txn) (uint64, error) {
	tx := t.(*txn)
	e, b := tx.Size()
	if e > s.limits.HardEntries || b > s.limits.HardBytes {
		s.end(tx, false)
		return 0, store.ErrTxnFull
	}
	return s.end(tx, true), nil
}

func (s *Store) ViewAt(gen uint64) (store.Snapshot, error) {
	if gen > s.Gen() {
		return nil, fmt.Errorf("generation %d is not committed yet", gen)
	}
	return &view{s: s, gen: gen}, nil
}

func (s *Store) Begin() store.Txn {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.open {
		panic("memstore: a transaction is already open")
	}
	s.open = true
	return &txn{view: view{s: s, gen: s.gen + 1}}
}

func (s *Store) end(t *txn, commit bool) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.open = false
	if commit {
		s.gen = t.gen
		return s.gen
	}
	for _, d := range []interface{ drop(uint64) }{s.meta, s.idents, s.nodes, s.profs, s.facts, s.records,
		s.partners, s.suppr, s.messages, s.named, s.blobs} {
		d.drop(t.gen)
	}
	return 0
}

// view reads generation gen; the open transaction's view reads gen+1,
// where its own writes are.
type view struct {
	s   *Store
	gen uint64
}

func (v *view) rlock() func() { v.s.mu.RLock(); return v.s.mu.RUnlock }

func (v *view) Close()      {}
func (v *view) Gen() uint64 { return v.gen }

func (v *view) Meta() (store.Meta, error) {
	defer v.rlock()()
	m, _ := v.s.meta.get(struct{}{}, v.gen)
	return m.Clone(), nil
}

func (v *view) Ident(typ, val string) (uint32, uint32, error) {
	defer v.rlock()()
	x, ok := v.s.idents.get(typ+"\x00"+val, v.gen)
	if !ok {
		return 0, 0, store.ErrNotFound
	}
	return x[0], x[1], nil
}

func (v *view) Node(n uint32) (*store.Node, error) {
	defer v.rlock()()
	rec, ok := v.s.nodes.get(n, v.gen)
	if !ok {
		return nil, store.ErrNotFound
	}
	return &rec, nil
}

func (v *view) Profile(p uint32) (*store.Profile, error) {
	defer v.rlock()()
	rec, ok := v.s.profs.get(p, v.gen)
	if !ok {
		return nil, store.ErrNotFound
	}
	return rec.Clone(), nil
}

func (v *view) Facts(n uint32) (graph.Facts, error) {
	defer v.rlock()()
	f, _ := v.s.facts.get(n, v.gen)
	return f.Clone(), nil
}

func (v *view) Record(k store.RecordKey) (*store.Record, error) {
	defer v.rlock()()
	rec, ok := v.s.records.get(k, v.gen)
	if !ok {
		return nil, store.ErrNotFound
	}
	return rec.Clone(), nil
}

func cmpKey(a, b store.RecordKey) int {
	if a == b {
		return 0
	}
	if a.Less(b) {
		return -1
	}
	return 1
}

func (v *view) Records(anchor uint32, rg store.Range) iter.Seq2[*store.Record, error] {
	return func(yield func(*store.Record, error) bool) {
		unlock := v.rlock()
		var recs []*store.Record
		for k := range v.s.records.m {
			if k.Anchor != anchor || rg.From != nil && k.Less(*rg.From) || rg.To != nil && rg.To.Less(k) {
				continue
			}
			rec, ok := v.s.records.get(k, v.gen)
			if !ok || rg.EventsOnly && !rec.Event || rg.LinkedOnly && !rec.Linked() {
				continue
			}
			recs = append(recs, rec.Clone())
		}
		unlock()
		slices.SortFunc(recs, func(a, b *store.Record) int { return cmpKey(a.RecordKey, b.RecordKey) })
		if rg.Reverse {
			slices.Reverse(recs)
		}
		for _, r := range recs {
			if !yield(r, nil) {
				return
			}
		}
	}
}

func (v *view) Partners(n uint32) ([]uint32, error) {
	defer v.rlock()()
	var out []uint32
	for k := range v.s.partners.m {
		if k[0] == n {
			if _, ok := v.s.partners.get(k, v.gen); ok {
				out = append(out, k[1])
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

func (v *view) HasPartner(n, a uint32) (bool, error) {
	defer v.rlock()()
	_, ok := v.s.partners.get([2]uint32{n, a}, v.gen)
	return ok, nil
}

func (v *view) Suppressed(h [32]byte) (bool, error) {
	defer v.rlock()()
	_, ok := v.s.suppr.get(h, v.gen)
	return ok, nil
}

func (v *view) MaySuppress() bool {
	defer v.rlock()()
	return len(v.s.suppr.m) > 0
}

func (v *view) Message(id string) (int64, bool, error) {
	defer v.rlock()()
	until, ok := v.s.messages.get(id, v.gen)
	return until, ok, nil
}

func (v *view) Blobs(kind store.Blob, from []byte, f func(key, value []byte) bool) error {
	type kv struct{ k, v []byte }
	var all []kv
	func() {
		defer v.rlock()()
		for k := range v.s.blobs.m {
			if k[0] == byte(kind) && k[1:] >= string(from) {
				if b, ok := v.s.blobs.get(k, v.gen); ok {
					all = append(all, kv{[]byte(k[1:]), append([]byte(nil), b...)})
				}
			}
		}
	}()
	sort.Slice(all, func(i, j int) bool { return string(all[i].k) < string(all[j].k) })
	for _, e := range all {
		if !f(e.k, e.v) {
			break
		}
	}
	return nil
}

func (v *view) NamedAll(kind store.Named) (map[string][]byte, error) {
	defer v.rlock()()
	out := map[string][]byte{}
	for k := range v.s.named.m {
		if k[0] == byte(kind) {
			if b, ok := v.s.named.get(k, v.gen); ok {
				out[k[1:]] = append([]byte(nil), b...)
			}
		}
	}
	return out, nil
}

// --- Scanner ---

func scanAll[K comparable, V any](v *view, m *vmap[K, V], less func(a, b K) int, f func(K, V) error) error {
	unlock := v.rlock()
	keys := m.live(v.gen, less)
	vals := make([]V, len(keys))
	for i, k := range keys {
		vals[i], _ = m.get(k, v.gen)
	}
	unlock()
	for i, k := range keys {
		if err := f(k, vals[i]); err != nil {
			return err
		}
	}
	return nil
}

func (v *view) ScanIdents(f func(typ, value string, node, profile uint32) error) error {
	return scanAll(v, v.s.idents, strings.Compare, func(k string, x [2]uint32) error {
		typ, val, _ := strings.Cut(k, "\x00")
		return f(typ, val, x[0], x[1])
	})
}

func (v *view) ScanNodes(f func(uint32, *store.Node) error) error {
	return scanAll(v, v.s.nodes, cmp.Compare[uint32], func(n uint32, rec store.Node) error { return f(n, &rec) })
}

func (v *view) ScanProfiles(f func(uint32, *store.Profile) error) error {
	return scanAll(v, v.s.profs, cmp.Compare[uint32], func(p uint32, rec *store.Profile) error { return f(p, rec.Clone()) })
}

func (v *view) ScanFacts(f func(uint32, graph.Facts) error) error {
	return scanAll(v, v.s.facts, cmp.Compare[uint32], func(n uint32, fs graph.Facts) error { return f(n, fs.Clone()) })
}

func (v *view) ScanRecords(f func(*store.Record) error) error {
	return scanAll(v, v.s.records, cmpKey, func(_ store.RecordKey, r *store.Record) error { return f(r.Clone()) })
}

func (v *view) ScanPartners(f func(n, a uint32) error) error {
	less := func(a, b [2]uint32) int {
		if c := cmp.Compare(a[0], b[0]); c != 0 {
			return c
		}
		return cmp.Compare(a[1], b[1])
	}
	return scanAll(v, v.s.partners, less, func(k [2]uint32, _ bool) error { return f(k[0], k[1]) })
}

// txn writes generation gen = latest+1 directly into the maps; nobody else
// reads that generation until Commit publishes it, and Discard drops it.
type txn struct {
	view
	entries, bytes int
}

func (t *txn) wlock() func() { t.s.mu.Lock(); return t.s.mu.Unlock }

func (t *txn) Size() (int, int) { return t.entries, t.bytes }

func (t *txn) count(bytes int) { t.entries++; t.bytes += bytes }

func (t *txn) PutMeta(m store.Meta) {
	defer t.wlock()()
	t.s.meta.set(struct{}{}, t.gen, m.Clone(), false)
	t.count(64)
}

func (t *txn) PutNode(n uint32, rec *store.Node) {
	defer t.wlock()()
	t.s.nodes.set(n, t.gen, *rec, false)
	t.s.idents.set(rec.Type+"\x00"+rec.Value, t.gen, [2]uint32{n, rec.Profile}, false)
	t.count(64)
}

func (t *txn) DeleteNode(n uint32) {
	defer t.wlock()()
	if old, ok := t.s.nodes.get(n, t.gen); ok {
		t.s.idents.set(old.Type+"\x00"+old.Value, t.gen, [2]uint32{}, true)
	}
	t.s.nodes.set(n, t.gen, store.Node{}, true)
	t.count(16)
}

func (t *txn) PutProfile(p uint32, rec *store.Profile) {
	defer t.wlock()()
	t.s.profs.set(p, t.gen, rec.Clone(), false)
	t.count(64 + 32*len(rec.Members))
}

func (t *txn) DeleteProfile(p uint32) {
	defer t.wlock()()
	t.s.profs.set(p, t.gen, nil, true)
	t.count(16)
}

func (t *txn) PutFacts(n uint32, f graph.Facts) {
	defer t.wlock()()
	t.s.facts.set(n, t.gen, f.Clone(), f.Empty())
	t.count(64)
}

func (t *txn) PutRecord(r *store.Record) {
	defer t.wlock()()
	t.s.records.set(r.RecordKey, t.gen, r.Clone(), false)
	t.count(64 + len(r.Props))
}

func (t *txn) DeleteRecord(k store.RecordKey) {
	defer t.wlock()()
	t.s.records.set(k, t.gen, nil, true)
	t.count(24)
}

func (t *txn) AddPartner(n, a uint32) {
	defer t.wlock()()
	t.s.partners.set([2]uint32{n, a}, t.gen, true, false)
	t.count(9)
}

func (t *txn) DeletePartner(n, a uint32) {
	defer t.wlock()()
	t.s.partners.set([2]uint32{n, a}, t.gen, false, true)
	t.count(9)
}

func (t *txn) Suppress(h [32]byte) {
	defer t.wlock()()
	t.s.suppr.set(h, t.gen, true, false)
	t.count(33)
}

func (t *txn) PutMessage(id string, until int64, _ time.Duration) {
	defer t.wlock()()
	t.s.messages.set(id, t.gen, until, false)
	t.count(len(id) + 9)
}

func (t *txn) PutNamed(kind store.Named, name string, value []byte) {
	defer t.wlock()()
	t.s.named.set(string(rune(kind))+name, t.gen, append([]byte(nil), value...), false)
	t.count(len(name) + len(value))
}

func (t *txn) DeleteNamed(kind store.Named, name string) {
	defer t.wlock()()
	t.s.named.set(string(rune(kind))+name, t.gen, nil, true)
	t.count(len(name))
}

func (t *txn) PutBlob(kind store.Blob, key, value []byte) {
	defer t.wlock()()
	t.s.blobs.set(string(rune(kind))+string(key), t.gen, append([]byte(nil), value...), false)
	t.count(len(key) + len(value))
}

func (t *txn) DeleteBlob(kind store.Blob, key []byte) {
	defer t.wlock()()
	t.s.blobs.set(string(rune(kind))+string(key), t.gen, nil, true)
	t.count(len(key))
}
