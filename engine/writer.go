package engine

import (
	"errors"
	"fmt"
	"sort"

	"github.com/dgraph-io/badger/v4"
	"github.com/idgraph/idgraph/index"
	"github.com/vmihailenco/msgpack/v5"
)

// request is a caller's list of operations, acknowledged together.
type request struct {
	ops  []op
	res  []Result
	errs []error
	err  error
	done chan struct{}
}

// maxForwardHops bounds a walk along forwarding pointers. Each points at a
// strictly older (smaller) id, so no real chain is longer than the number
// of profiles; the bound only guards against a corrupt store.
const maxForwardHops = 1<<32 - 1

// The writer commits mid-batch, between operations, past these sizes, to
// stay clear of Badger's transaction limits (about 10 MB with 64 MiB
// memtables). An operation that still does not fit is retried alone.
const (
	txnEntriesSoftLimit = 20000
	txnBytesSoftLimit   = 4 << 20
)

// full reports whether the open transaction, with the records its commit
// will still write, is past the soft limits.
func (w *writer) full() bool {
	pending := len(w.dirtyNodes)*2 + len(w.dirtyProfs)
	return w.entries+pending > txnEntriesSoftLimit || w.bytes+pending*256 > txnBytesSoftLimit
}

// profile is the writer's decoded profile record.
type profile struct {
	rec    profRec
	counts map[int]int // members per type code; rec.Counts holds the same by name
}

// count changes the number of members of type code typ by delta, in both
// counts and the record's by-name copy, so neither is ever recomputed.
func (pr *profile) count(tt *typeTable, typ, delta int) {
	pr.counts[typ] += delta
	name := tt.specs[typ].Name
	if pr.rec.Counts == nil {
		pr.rec.Counts = map[string]int{}
	}
	if n := pr.rec.Counts[name] + delta; n > 0 {
		pr.rec.Counts[name] = n
	} else {
		delete(pr.rec.Counts, name)
	}
}

// writer is the single goroutine's state: the open transaction and caches of
// what it has read or written. Only the writer goroutine touches it.
type writer struct {
	db      *DB
	tt      *typeTable
	meta    metaRec
	txn     *badger.Txn
	bytes   int         // bytes set in the open transaction
	snap    *badger.Txn // read-only view of what is committed; prefix scans read it plus the overlay
	entries int
	ov      overlay // what the open transaction changed under scanned prefixes

	ids   map[string]uint32 // identKey → node, 0 = known absent
	nodes map[uint32]*nodeRec
	profs map[uint32]*profile

	dirtyNodes map[uint32]bool
	dirtyProfs map[uint32]bool
	metaDirty  bool

	idxOps        []func(*index.Index) // applied after the commit
	touched       map[uint32]bool      // profiles whose attributes changed in this op
	now           int64                // ms, fixed per operation
	seq           uint64               // arrival seq of the current operation
	forgot        bool                 // a FORGET committed: schedule erasure
	fresh         map[uint32]bool      // nodes created by the current operation
	identsChanged map[string]bool      // identifier keys this transaction writes or deletes
	born          map[uint32]bool      // profiles created by the current operation
	pendingSuppr  map[[32]byte]bool    // identifiers this transaction suppresses
	anchor        uint32               // the anchor node of the last TRACK or MERGE
}

func newWriter(db *DB, meta metaRec) *writer {
	w := &writer{db: db, meta: meta}
	w.resetCache()
	return w
}

func (w *writer) resetCache() {
	w.ids = make(map[string]uint32)
	w.nodes = make(map[uint32]*nodeRec)
	w.profs = make(map[uint32]*profile)
	w.dirtyNodes = make(map[uint32]bool)
	w.dirtyProfs = make(map[uint32]bool)
	w.touched = make(map[uint32]bool)
	w.fresh = make(map[uint32]bool)
	w.born = make(map[uint32]bool)
	w.identsChanged = make(map[string]bool)
	w.pendingSuppr = make(map[[32]byte]bool)
}

// run is the writer goroutine: it takes whatever requests are queued (up to
// MaxBatch operations), applies them in order and commits once.
func (db *DB) run() {
	defer close(db.done)
	for {
		select {
		case r := <-db.reqs:
			db.applyBatch(db.collect(r))
		case <-db.quit:
			for {
				select {
				case r := <-db.reqs:
					db.applyBatch(db.collect(r))
				default:
					return
				}
			}
		}
	}
}

func (db *DB) collect(first *request) []*request {
	batch := []*request{first}
	n := len(first.ops)
	for n < db.opts.MaxBatch {
		select {
		case r := <-db.reqs:
			batch = append(batch, r)
			n += len(r.ops)
		default:
			return batch
		}
	}
	return batch
}

type opRef struct {
	r *request
	i int
}

func (db *DB) applyBatch(batch []*request) {
	w := db.w
	w.tt = db.types.Load()
	var inTxn []opRef
	fail := func(err error) {
		for _, ref := range inTxn {
			ref.r.errs[ref.i] = err
		}
		inTxn = inTxn[:0]
		if w.txn != nil {
			w.txn.Discard()
			w.txn = nil
			w.snap.Discard()
		}
		w.reload()
	}
	commit := func() {
		if w.txn == nil {
			return
		}
		if err := w.commit(); err != nil {
			fail(fmt.Errorf("commit: %w", err))
			return
		}
		inTxn = inTxn[:0]
	}
	// discard drops the open transaction and everything the writer
	// believed because of it.
	discard := func() {
		if w.txn != nil {
			w.txn.Discard()
			w.txn = nil
			w.snap.Discard()
		}
		w.reload()
	}
	// run applies one operation in the open transaction and files its
	// outcome. It reports false when the operation did not fit in what is
	// left of the transaction.
	run := func(ref opRef) bool {
		if w.txn == nil {
			w.begin()
		}
		res, err := w.apply(&ref.r.ops[ref.i])
		switch {
		case err == nil:
			ref.r.res[ref.i] = res
			inTxn = append(inTxn, ref)
		case errors.Is(err, badger.ErrTxnTooBig):
			return false
		case clean(err):
			ref.r.errs[ref.i] = err
		default:
			ref.r.errs[ref.i] = err
			fail(fmt.Errorf("aborted: another operation in the same commit failed: %w", err))
		}
		return true
	}
	for _, r := range batch {
		for i := range r.ops {
			if w.txn != nil && w.full() {
				commit()
			}
			ref := opRef{r, i}
			if run(ref) {
				continue
			}
			// Too big for what is left of the transaction: redo the
			// operations before it in a transaction of their own, commit
			// them, then try this one alone.
			redo := append([]opRef(nil), inTxn...)
			inTxn = inTxn[:0]
			discard()
			for _, prev := range redo {
				if !run(prev) {
					prev.r.errs[prev.i] = fmt.Errorf("%w: the operation does not fit in one transaction", ErrTooLarge)
					discard()
					inTxn = inTxn[:0]
				}
			}
			commit()
			if !run(ref) {
				discard()
				r.errs[i] = fmt.Errorf("%w: the operation touches more data than one transaction can hold (%d keys, %d bytes so far)", ErrTooLarge, w.entries, w.bytes)
			}
		}
	}
	commit()
	if len(w.meta.Purge) > 0 {
		if err := db.purge(&w.meta); err != nil {
			// The list stays in the store; the next open finishes it.
			db.logPurgeError(err)
		}
	}
	db.stats.batches.Add(1)
	for _, r := range batch {
		db.stats.ops.Add(uint64(len(r.ops)))
		close(r.done)
	}
	if max(len(w.nodes), len(w.profs), len(w.ids)) > db.opts.CacheSize {
		w.resetCache()
	}
}

// clean reports an error raised before its operation changed anything.
func clean(err error) bool {
	return errors.Is(err, ErrInvalid) || errors.Is(err, ErrNotFound)
}

func (w *writer) begin() {
	w.txn = w.db.bdb.NewTransaction(true)
	w.snap = w.db.bdb.NewTransaction(false)
	w.ov.reset()
	w.bytes = 0
	w.entries = 0
	w.idxOps = w.idxOps[:0]
}

// reload drops everything the writer believed after a failed transaction.
func (w *writer) reload() {
	w.resetCache()
	w.idxOps = w.idxOps[:0]
	w.forgot = false
	w.tt = w.db.types.Load()
	_ = w.db.bdb.View(func(txn *badger.Txn) error { return getMsg(txn, metaKey, &w.meta) })
}

func (w *writer) commit() error {
	for n := range w.dirtyNodes {
		rec := w.nodes[n]
		var err error
		if rec == nil {
			err = w.del(nodeKey(n))
		} else {
			err = w.put(nodeKey(n), rec)
			if err == nil {
				k := identKey(rec.Type, rec.Value)
				w.identsChanged[string(k)] = true
				err = w.setRaw(k, identValue(n, rec.Profile))
			}
		}
		if err != nil {
			return err
		}
	}
	for p := range w.dirtyProfs {
		pr := w.profs[p]
		var err error
		if pr == nil {
			err = w.del(profileKey(p))
		} else {
			err = w.put(profileKey(p), &pr.rec)
		}
		if err != nil {
			return err
		}
	}
	w.meta.Gen++
	if err := w.put(metaKey, &w.meta); err != nil {
		return err
	}
	w.db.pcache.invalidate(w.dirtyProfs, w.identsChanged)
	err := w.txn.Commit()
	w.db.pcache.invalidate(w.dirtyProfs, w.identsChanged)
	clear(w.identsChanged)
	clear(w.pendingSuppr)
	w.txn = nil
	w.snap.Discard()
	clear(w.dirtyNodes)
	clear(w.dirtyProfs)
	if err != nil {
		return err
	}
	for _, f := range w.idxOps {
		f(w.db.idx)
	}
	w.idxOps = w.idxOps[:0]
	if w.forgot {
		w.forgot = false
		select {
		case w.db.gcKick <- struct{}{}:
		default:
		}
	}
	return nil
}

func (w *writer) countNames(c map[int]int) map[string]int {
	out := make(map[string]int, len(c))
	for t, n := range c {
		if n > 0 {
			out[w.tt.specs[t].Name] = n
		}
	}
	return out
}

func (w *writer) put(key []byte, v any) error {
	b, err := msgpack.Marshal(v)
	if err != nil {
		return err
	}
	return w.setRaw(key, b)
}

func (w *writer) setRaw(key, val []byte) error {
	w.entries++
	w.bytes += len(key) + len(val)
	w.db.stats.keys.Add(1)
	w.db.stats.keysBy[key[0]].Add(1)
	return w.txn.Set(key, val)
}

func (w *writer) del(key []byte) error {
	w.entries++
	w.bytes += len(key)
	w.db.stats.keys.Add(1)
	return w.txn.Delete(key)
}

func (w *writer) index(f func(*index.Index)) { w.idxOps = append(w.idxOps, f) }

// after runs f once the current transaction has committed.
func (w *writer) after(f func()) { w.idxOps = append(w.idxOps, func(*index.Index) { f() }) }

// --- reads through the transaction and the cache ---

func (w *writer) lookup(id ID) (uint32, error) {
	k := identKey(id.Type, id.Value)
	if n, ok := w.ids[string(k)]; ok {
		return n, nil
	}
	item, err := w.txn.Get(k)
	if errors.Is(err, badger.ErrKeyNotFound) {
		w.ids[string(k)] = 0
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var n uint32
	err = item.Value(func(v []byte) error {
		if len(v) != 8 {
			return fmt.Errorf("corrupt identifier record for %s", id)
		}
		n = uint32(v[0])<<24 | uint32(v[1])<<16 | uint32(v[2])<<8 | uint32(v[3])
		return nil
	})
	w.ids[string(k)] = n
	return n, err
}

func (w *writer) node(n uint32) (*nodeRec, error) {
	if rec, ok := w.nodes[n]; ok && rec != nil {
		return rec, nil
	}
	rec := new(nodeRec)
	if err := getMsg(w.txn, nodeKey(n), rec); err != nil {
		return nil, fmt.Errorf("node %d: %w", n, err)
	}
	w.nodes[n] = rec
	return rec, nil
}

func (w *writer) prof(p uint32) (*profile, error) {
	if pr, ok := w.profs[p]; ok && pr != nil {
		return pr, nil
	}
	pr := &profile{}
	if err := getMsg(w.txn, profileKey(p), &pr.rec); err != nil {
		return nil, fmt.Errorf("profile %d: %w", p, err)
	}
	pr.counts = make(map[int]int, len(pr.rec.Counts))
	for name, c := range pr.rec.Counts {
		t, ok := w.tt.byName[name]
		if !ok {
			return nil, fmt.Errorf("profile %d counts unknown type %q", p, name)
		}
		pr.counts[t] = c
	}
	w.profs[p] = pr
	return pr, nil
}

// live follows forwarding pointers from p to the profile that holds its
// members now; 0 when there is none (forgotten or never existed).
func (w *writer) live(p uint32) (uint32, error) {
	for hops := 0; hops <= maxForwardHops && p != 0; hops++ {
		pr, err := w.prof(p)
		if errors.Is(err, badger.ErrKeyNotFound) {
			return 0, nil
		}
		if err != nil {
			return 0, err
		}
		if pr.rec.Into == 0 {
			return p, nil
		}
		p = pr.rec.Into
	}
	return 0, nil
}

func (w *writer) facts(n uint32) (*factsRec, error) {
	f := new(factsRec)
	err := getMsg(w.txn, factsKey(n), f)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return f, nil
	}
	return f, err
}

func (w *writer) members(p uint32) ([]uint32, error) {
	pr, err := w.loadMembers(p)
	if err != nil {
		return nil, err
	}
	out := make([]uint32, len(pr.rec.Mem))
	for i, m := range pr.rec.Mem {
		out[i] = m.Node
	}
	return out, nil
}

func (w *writer) loadMembers(p uint32) (*profile, error) {
	pr, err := w.prof(p)
	if err != nil {
		return nil, err
	}
	return pr, nil
}

// anchored is an event as the index and the profile counters need it.
type anchored struct {
	key []byte
	ev  index.Event
}

func (w *writer) nodeEvents(n uint32) ([]anchored, error) {
	var out []anchored
	d := w.ov.events[n]
	for _, a := range d {
		if a != nil {
			out = append(out, *a)
		}
	}
	it := w.snap.NewIterator(badger.IteratorOptions{Prefix: eventPrefix(n), PrefetchValues: true})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		item := it.Item()
		if _, changed := d[string(item.Key())]; changed {
			continue
		}
		_, t, _ := parseEventKey(item.Key())
		var er eventRec
		if err := item.Value(func(v []byte) error { return msgpack.Unmarshal(v, &er) }); err != nil {
			return nil, err
		}
		out = append(out, anchored{key: item.KeyCopy(nil), ev: index.Event{Name: er.Name, Source: er.Source, Time: t}})
	}
	return out, nil
}

func evs(as []anchored) []index.Event {
	out := make([]index.Event, len(as))
	for i, a := range as {
		out[i] = a.ev
	}
	return out
}

// --- writes ---

func (w *writer) newNode(id ID) (uint32, error) {
	w.meta.Node++
	n := w.meta.Node
	w.ids[string(identKey(id.Type, id.Value))] = n
	w.nodes[n] = &nodeRec{Type: id.Type, Value: id.Value}
	w.dirtyNodes[n] = true
	w.fresh[n] = true
	return n, nil
}

func (w *writer) newProfile() (uint32, *profile) {
	w.meta.Profile++
	p := w.meta.Profile
	pr := &profile{rec: profRec{Created: w.now}, counts: map[int]int{}}
	w.profs[p] = pr
	w.dirtyProfs[p] = true
	w.touched[p] = true
	w.born[p] = true
	return p, pr
}

func (w *writer) setMember(p, n uint32, rec *nodeRec) error {
	pr, err := w.loadMembers(p)
	if err != nil {
		return err
	}
	pr.rec.Mem = append(pr.rec.Mem, memberEntry{Node: n, ID: rec.Type + ":" + rec.Value})
	w.dirtyProfs[p] = true
	return nil
}

func (w *writer) delMember(p, n uint32) error {
	pr, err := w.loadMembers(p)
	if err != nil {
		return err
	}
	for i, m := range pr.rec.Mem {
		if m.Node == n {
			pr.rec.Mem = append(pr.rec.Mem[:i:i], pr.rec.Mem[i+1:]...)
			break
		}
	}
	w.dirtyProfs[p] = true
	return nil
}

func (w *writer) addEvent(a anchored, val []byte) error {
	anchor, _, _ := parseEventKey(a.key)
	w.ov.setEvent(anchor, a.key, &a)
	return w.setRaw(a.key, val)
}

func (w *writer) delEvent(key []byte) error {
	anchor, _, _ := parseEventKey(key)
	w.ov.setEvent(anchor, key, nil)
	return w.del(key)
}

func (w *writer) addNodeGroup(n uint32, seq uint64) error {
	w.ov.setGroup(n, seq, true)
	return w.setRaw(nodeGroupKey(n, seq), nil)
}

func (w *writer) delNodeGroup(n uint32, seq uint64) error {
	w.ov.setGroup(n, seq, false)
	return w.del(nodeGroupKey(n, seq))
}

// overlay records what the open transaction added to or removed from the
// prefixes the writer scans (events, node → groups), so scans read
// the committed snapshot plus this, instead of making Badger sort all the
// transaction's pending writes on every iterator.
type overlay struct {
	events map[uint32]map[string]*anchored
	groups map[uint32]map[uint64]bool
}

func (o *overlay) reset() {
	o.events = map[uint32]map[string]*anchored{}
	o.groups = map[uint32]map[uint64]bool{}
}

func (o *overlay) setEvent(n uint32, key []byte, a *anchored) {
	d := o.events[n]
	if d == nil {
		d = map[string]*anchored{}
		o.events[n] = d
	}
	d[string(key)] = a
}

func (o *overlay) setGroup(n uint32, seq uint64, present bool) {
	d := o.groups[n]
	if d == nil {
		d = map[uint64]bool{}
		o.groups[n] = d
	}
	d[seq] = present
}

// flushAttrs tells the index the attributes of every profile the current
// operation touched that is still live.
func (w *writer) flushAttrs() {
	ps := make([]uint32, 0, len(w.touched))
	for p := range w.touched {
		ps = append(ps, p)
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i] < ps[j] })
	for _, p := range ps {
		pr := w.profs[p]
		if pr == nil || pr.rec.Into != 0 {
			continue
		}
		a := recAttrs(&pr.rec)
		p := p
		w.index(func(x *index.Index) { x.SetAttrs(p, a) })
	}
	clear(w.touched)
}

func mergeTraits(dst map[string]stamped, src map[string]stamped) map[string]stamped {
	for k, v := range src {
		if cur, ok := dst[k]; !ok || newer(v.T, v.S, cur.T, cur.S) {
			if dst == nil {
				dst = map[string]stamped{}
			}
			dst[k] = v
		}
	}
	return dst
}

func mergeConsent(dst map[string]consentVal, src map[string]consentVal) map[string]consentVal {
	for k, v := range src {
		if cur, ok := dst[k]; !ok || newer(v.T, v.S, cur.T, cur.S) {
			if dst == nil {
				dst = map[string]consentVal{}
			}
			dst[k] = v
		}
	}
	return dst
}
