package engine

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/idgraph/idgraph/engine/internal/graph"
	"github.com/idgraph/idgraph/engine/internal/store"
	"github.com/idgraph/idgraph/engine/internal/writer"
	"github.com/idgraph/idgraph/index"
	"github.com/vmihailenco/msgpack/v5"
)

// The change feed (SPEC.md §4.3): entries with increasing cursors, written
// in the same commit as the change that causes them.
//
// Profiles merged, split or forgotten and identifiers moved are recorded by
// the operations that do it. Saved segments are watched: just before each
// commit the engine lays the commit's index deltas over the index
// (index.Overlay) and asks the Watcher, for every profile the commit
// changes, whether it is in each saved segment; a profile whose answer
// differs from the members the feed last reported (kept in the store, in
// chunks, and in memory) enters or leaves, with reason "data". A tick at
// least once a minute evaluates every saved segment at the clock and
// reports the profiles whose membership the clock alone changed, with
// reason "time"; it also drops entries older than the retention.
//
// Entries hold ids only — profile ids, identifier node ids, segment names —
// and identifiers are looked up when an entry is read: after FORGET the
// feed holds nothing of the erased identifiers, and an entry that named
// one shows it empty.

// The kinds of Change.
const (
	ChangeEntered   = "segment.entered"
	ChangeLeft      = "segment.left"
	ChangeMerged    = "profile.merged"
	ChangeSplit     = "profile.split"
	ChangeMoved     = "identifier.moved"
	ChangeForgotten = "profile.forgotten"
)

// ChangeKinds lists the kinds, in the order of their codes.
var ChangeKinds = []string{ChangeEntered, ChangeLeft, ChangeMerged, ChangeSplit, ChangeMoved, ChangeForgotten}

// The reasons of segment entries.
const (
	ReasonData = "data"
	ReasonTime = "time"
)

// Change is one entry of the change feed.
type Change struct {
	Cursor  uint64
	Time    time.Time
	Kind    string
	Profile uint32
	Segment string   // segment.entered, segment.left
	Reason  string   // segment.entered, segment.left: data or time
	From    uint32   // profile.merged: the merged-away profile; identifier.moved: the profile it left
	Into    []uint32 // profile.split: the new profiles
	ID      string   // identifier.moved: the identifier ("" once forgotten)
	node    uint32
}

// Watcher decides saved segments' membership for the feed; the query
// package provides one (query.Watcher). The engine calls it on its writer
// goroutine, with the saved segments of the moment (name → expression).
type Watcher interface {
	// Members returns the live profiles in saved segment name at now.
	Members(db *DB, v *index.View, name string, segments map[string]string, now time.Time) (*roaring.Bitmap, error)
	// Holds reports whether live profile p is in it, reading p through r.
	Holds(db *DB, r index.ProfileReader, name string, segments map[string]string, p uint32, now time.Time) (bool, error)
}

// SetWatcher makes db watch saved segments with w when Options.Watch was
// not given (query.NewExecutor does it); the first evaluation follows at
// once. Membership changed by writes made before has reason "time".
func (db *DB) SetWatcher(w Watcher) {
	if w == nil || !db.watcher.CompareAndSwap(nil, &w) || db.w == nil {
		return
	}
	db.tickNow()
}

func (db *DB) watch() Watcher {
	if p := db.watcher.Load(); p != nil {
		return *p
	}
	return nil
}

// stamp records the time of an operation in its transaction: entries are
// stamped, and segments evaluated, at the latest.
func (db *DB) stamp(r writer.Reader, now int64) {
	if l := db.local(r); now > l.now {
		l.now = now
	}
}

// change records a structural entry of the current transaction.
func (a *applier) change(c Change) { a.l.changes = append(a.l.changes, c) }

// --- encoding ---

type changeRec struct {
	K uint8    `msgpack:"k"`
	T int64    `msgpack:"t"`
	P uint32   `msgpack:"p"`
	S string   `msgpack:"s,omitempty"`
	R uint8    `msgpack:"r,omitempty"`
	F uint32   `msgpack:"f,omitempty"`
	I []uint32 `msgpack:"i,omitempty"`
	N uint32   `msgpack:"n,omitempty"`
}

func encodeChange(c Change) []byte {
	r := changeRec{K: uint8(slices.Index(ChangeKinds, c.Kind)), T: c.Time.UnixMilli(), P: c.Profile, S: c.Segment,
		F: c.From, I: c.Into, N: c.node}
	switch c.Reason {
	case ReasonData:
		r.R = 1
	case ReasonTime:
		r.R = 2
	}
	b, err := msgpack.Marshal(&r)
	if err != nil {
		panic(err) // plain fields always encode
	}
	return b
}

func decodeChange(cursor uint64, b []byte) (Change, error) {
	var r changeRec
	if err := msgpack.Unmarshal(b, &r); err != nil || int(r.K) >= len(ChangeKinds) {
		return Change{}, fmt.Errorf("%w: change %d", store.ErrCorrupt, cursor)
	}
	c := Change{Cursor: cursor, Time: time.UnixMilli(r.T).UTC(), Kind: ChangeKinds[r.K], Profile: r.P, Segment: r.S,
		From: r.F, Into: r.I, node: r.N}
	switch r.R {
	case 1:
		c.Reason = ReasonData
	case 2:
		c.Reason = ReasonTime
	}
	return c, nil
}

func cursorKey(c uint64) []byte { return binary.BigEndian.AppendUint64(nil, c) }

// --- the members last reported, per saved segment ---

// watchKey is the key of one chunk of a segment's members: the profiles
// whose ids share their high 16 bits.
func watchKey(segment string, hi uint16) []byte {
	k := append([]byte(segment), 0)
	return binary.BigEndian.AppendUint16(k, hi)
}

// loadMirror reads the members last reported for every segment.
func loadMirror(r store.Reader) (map[string]*roaring.Bitmap, error) {
	out := map[string]*roaring.Bitmap{}
	var err error
	serr := r.Blobs(store.BlobWatch, nil, func(k, v []byte) bool {
		if len(k) < 3 || k[len(k)-3] != 0 {
			err = fmt.Errorf("%w: watched segment key %q", store.ErrCorrupt, k)
			return false
		}
		name, hi := string(k[:len(k)-3]), uint32(binary.BigEndian.Uint16(k[len(k)-2:]))
		low := roaring.New()
		if _, e := low.FromBuffer(slices.Clone(v)); e != nil {
			err = fmt.Errorf("%w: members of segment %q: %v", store.ErrCorrupt, name, e)
			return false
		}
		bm := out[name]
		if bm == nil {
			bm = roaring.New()
			out[name] = bm
		}
		it := low.Iterator()
		for it.HasNext() {
			bm.Add(hi<<16 | it.Next())
		}
		return true
	})
	return out, errors.Join(serr, err)
}

// putMembers writes the chunks of bm that changed (those holding an id of
// changed), deleting empty ones.
func putMembers(tx *writer.Tx, segment string, bm *roaring.Bitmap, changed []uint32) {
	his := map[uint16]bool{}
	for _, p := range changed {
		his[uint16(p>>16)] = true
	}
	for hi := range his {
		low := roaring.New()
		lo, up := uint64(hi)<<16, uint64(hi)<<16+1<<16
		it := bm.Iterator()
		it.AdvanceIfNeeded(uint32(lo))
		for it.HasNext() {
			p := it.Next()
			if uint64(p) >= up {
				break
			}
			low.Add(p & 0xffff)
		}
		if low.IsEmpty() {
			tx.DeleteBlob(store.BlobWatch, watchKey(segment, hi))
			continue
		}
		b, err := low.ToBytes()
		if err != nil {
			panic(err) // in-memory serialisation does not fail
		}
		tx.PutBlob(store.BlobWatch, watchKey(segment, hi), b)
	}
}

// deleteMembers deletes every chunk of a segment's members.
func deleteMembers(tx *writer.Tx, segment string, bm *roaring.Bitmap) {
	his := map[uint16]bool{}
	it := bm.Iterator()
	for it.HasNext() {
		his[uint16(it.Next()>>16)] = true
	}
	for hi := range his {
		tx.DeleteBlob(store.BlobWatch, watchKey(segment, hi))
	}
}

// --- before each commit ---

// beforeCommit writes the transaction's feed entries: those its operations
// recorded, and the saved segments its profiles entered or left (or, on a
// tick, that the clock moved them into or out of).
func (db *DB) beforeCommit(tx *writer.Tx) error {
	l := db.local(tx)
	out := l.changes
	now := l.now
	if now == 0 {
		now = db.now()
	}
	if w := db.watch(); w != nil && (len(tx.Deltas()) > 0 || l.tick || l.defsChanged) {
		segs, err := db.segmentsIn(tx, l)
		if err != nil {
			return err
		}
		entries, err := db.watchCommit(tx, w, l, segs, time.UnixMilli(now).UTC())
		if err != nil {
			return err
		}
		out = append(out, entries...)
	}
	if len(out) == 0 {
		return nil
	}
	meta, err := tx.Meta()
	if err != nil {
		return err
	}
	if meta.ChangeFirst == 0 {
		meta.ChangeFirst = meta.ChangeLast + 1
	}
	t := time.UnixMilli(now).UTC()
	for i := range out {
		meta.ChangeLast++
		out[i].Cursor, out[i].Time = meta.ChangeLast, t
		tx.PutBlob(store.BlobChange, cursorKey(meta.ChangeLast), encodeChange(out[i]))
	}
	tx.PutMeta(meta)
	if l.meta != nil {
		*l.meta = meta
	}
	tx.After(func(uint64) { db.notifyChanges() })
	return nil
}

// segmentsIn returns the saved segments as the transaction leaves them.
func (db *DB) segmentsIn(tx *writer.Tx, l *txLocal) (map[string]string, error) {
	if !l.defsChanged {
		return db.SegmentDefs(), nil // read only
	}
	all, err := tx.NamedAll(store.NamedSegment)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(all))
	for k, v := range all {
		out[k] = string(v)
	}
	return out, nil
}

// watchCommit compares each saved segment's members after the transaction
// with those last reported.
func (db *DB) watchCommit(tx *writer.Tx, w Watcher, l *txLocal, segs map[string]string, now time.Time) ([]Change, error) {
	v := db.idx.View()
	defer v.Close()
	ov := v.Overlay(tx.Deltas())
	touched := ov.Touched()
	holds := func(name string, p uint32) bool {
		if !ov.Live(p) {
			return false
		}
		h, err := w.Holds(db, ov, name, segs, p, now)
		if err != nil {
			db.logError(fmt.Errorf("change feed: segment %s: %w", name, err))
			return false
		}
		return h
	}
	var out []Change
	next := map[string]*roaring.Bitmap{}
	var dropped []string
	for name, bm := range db.mirror {
		if _, ok := segs[name]; !ok {
			deleteMembers(tx, name, bm)
			dropped = append(dropped, name)
		}
	}
	for _, name := range sortedNames(segs) {
		old, known := db.mirror[name]
		if !known || l.defsChanged && (l.redefined[name] || l.allRedefined) {
			members, err := w.Members(db, v, name, segs, now)
			if err != nil {
				db.logError(fmt.Errorf("change feed: segment %s: %w", name, err))
				continue
			}
			for _, p := range touched {
				if holds(name, p) {
					members.Add(p)
				} else {
					members.Remove(p)
				}
			}
			if known { // a new definition: its difference is data
				out = append(out, diff(name, old, members, ReasonData)...)
				deleteMembers(tx, name, old)
			}
			putMembers(tx, name, members, members.ToArray())
			next[name] = members
			continue
		}
		nm := old
		var changed []uint32
		set := func(p uint32, in bool, reason string) {
			if nm.Contains(p) == in {
				return
			}
			if nm == old {
				nm = old.Clone()
			}
			kind := ChangeLeft
			if in {
				nm.Add(p)
				kind = ChangeEntered
			} else {
				nm.Remove(p)
			}
			changed = append(changed, p)
			out = append(out, Change{Kind: kind, Profile: p, Segment: name, Reason: reason})
		}
		if l.tick {
			members, err := w.Members(db, v, name, segs, now)
			if err != nil {
				db.logError(fmt.Errorf("change feed: segment %s: %w", name, err))
			} else {
				x := roaring.Xor(members, old)
				for _, p := range touched {
					x.Remove(p)
				}
				it := x.Iterator()
				for it.HasNext() {
					p := it.Next()
					set(p, members.Contains(p), ReasonTime)
				}
			}
		}
		for _, p := range touched {
			set(p, holds(name, p), ReasonData)
		}
		if len(changed) > 0 {
			putMembers(tx, name, nm, changed)
			next[name] = nm
		}
	}
	tx.After(func(uint64) {
		for _, name := range dropped {
			delete(db.mirror, name)
		}
		for name, bm := range next {
			db.mirror[name] = bm
		}
	})
	return out, nil
}

// diff returns the entries that take a segment from members a to b.
func diff(name string, a, b *roaring.Bitmap, reason string) []Change {
	var out []Change
	x := roaring.Xor(a, b)
	it := x.Iterator()
	for it.HasNext() {
		p := it.Next()
		kind := ChangeLeft
		if b.Contains(p) {
			kind = ChangeEntered
		}
		out = append(out, Change{Kind: kind, Profile: p, Segment: name, Reason: reason})
	}
	return out
}

func sortedNames(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// --- the clock and the retention ---

// tickOp evaluates every saved segment at the clock, and drops entries
// older than the retention.
type tickOp struct {
	db  *DB
	now int64
}

func (o *tickOp) Plan(r writer.Reader) (writer.Plan, error) {
	o.db.stamp(r, o.now)
	o.db.local(r).tick = true
	return o, nil
}

// maxTrim bounds the entries one tick deletes.
const maxTrim = 20000

func (o *tickOp) Apply(tx *writer.Tx) (any, error) {
	db := o.db
	meta, err := tx.Meta()
	if err != nil || meta.ChangeFirst == 0 {
		return Result{}, err
	}
	before := o.now - db.opts.ChangesRetention.Milliseconds()
	first, n := meta.ChangeFirst, 0
	var derr error
	err = tx.Blobs(store.BlobChange, cursorKey(first), func(k, v []byte) bool {
		c := binary.BigEndian.Uint64(k)
		ch, e := decodeChange(c, v)
		if e != nil {
			derr = e
			return false
		}
		if ch.Time.UnixMilli() >= before || n == maxTrim {
			return false
		}
		tx.DeleteBlob(store.BlobChange, cursorKey(c))
		first, n = c+1, n+1
		return true
	})
	if err = errors.Join(err, derr); err != nil || n == 0 {
		return Result{}, err
	}
	meta.ChangeFirst = first
	tx.PutMeta(meta)
	if l := db.local(tx); l.meta != nil {
		*l.meta = meta
	}
	return Result{}, nil
}

// tickNow runs a tick now, waiting for it.
func (db *DB) tickNow() {
	if _, err := db.submitOne(context.Background(), &tickOp{db: db, now: db.now()}); err != nil && !errors.Is(err, writer.ErrClosed) {
		db.logError(fmt.Errorf("change feed tick: %w", err))
	}
}

// tickLoop ticks every Options.ChangesTick while the store is open.
func (db *DB) tickLoop() {
	defer close(db.tickDone)
	t := time.NewTicker(db.opts.ChangesTick)
	defer t.Stop()
	for {
		select {
		case <-db.quit:
			return
		case <-t.C:
			if db.tickDue() {
				db.tickNow()
			}
		}
	}
}

// tickDue reports whether a tick has anything to do: saved segments to
// evaluate at the clock (with a watcher), or feed entries that may have
// aged out. A tick is a commit, so a store with neither is left alone
// (a commit would end every WHO reply the server keeps, for nothing).
func (db *DB) tickDue() bool {
	return db.watch() != nil && len(db.SegmentDefs()) > 0 || db.hasChanges()
}

func (db *DB) hasChanges() bool {
	snap := db.st.View()
	defer snap.Close()
	m, err := snap.Meta()
	return err == nil && m.ChangeFirst != 0
}

// --- reading ---

// ErrExpiredCursor is wrapped by the error for a cursor older than the
// oldest entry kept.
var ErrExpiredCursor = errors.New("expired cursor")

// ChangePage asks Changes for entries.
type ChangePage struct {
	// After is the cursor to read after; Latest reads only entries after
	// the latest one; neither: from the oldest kept.
	After  uint64
	Latest bool
	Start  bool // After is not set: from the oldest entry kept
	// Limit is the most entries returned (default 100).
	Limit int
	// Kinds and Segments, when set, keep entries of those kinds and (for
	// segment entries) segments.
	Kinds, Segments []string
	// Scan bounds the entries read to find Limit that pass the filters
	// (default 100,000).
	Scan int
}

// Changes returns feed entries after the page's cursor, oldest first, and
// the cursor a next page should start after (that of the last entry read,
// whether returned or filtered out).
func (db *DB) Changes(page ChangePage) ([]Change, uint64, error) {
	if page.Limit <= 0 {
		page.Limit = 100
	}
	if page.Scan <= 0 {
		page.Scan = 100000
	}
	var out []Change
	var last uint64
	err := db.snapshot(func(s store.Snapshot) error {
		meta, err := s.Meta()
		if err != nil {
			return err
		}
		after := page.After
		switch {
		case page.Latest:
			after = meta.ChangeLast
		case page.Start:
			after = max(meta.ChangeFirst, 1) - 1
		case meta.ChangeFirst > 0 && after+1 < meta.ChangeFirst:
			e := graph.Errorf(graph.NotFound, fmt.Sprint(after), "%v: cursor %d is older than the oldest entry kept, %d: read again from there (CHANGES AFTER %d)",
				ErrExpiredCursor, after, meta.ChangeFirst, meta.ChangeFirst-1)
			e.Err = ErrExpiredCursor
			return e
		}
		last = after
		read := 0
		var derr error
		err = s.Blobs(store.BlobChange, cursorKey(after+1), func(k, v []byte) bool {
			c := binary.BigEndian.Uint64(k)
			ch, e := decodeChange(c, v)
			if e != nil {
				derr = e
				return false
			}
			last = c
			read++
			if keep(ch, page) {
				if ch.node != 0 {
					if n, err := s.Node(ch.node); err == nil {
						ch.ID = n.ID()
					}
				}
				out = append(out, ch)
			}
			return len(out) < page.Limit && read < page.Scan
		})
		return errors.Join(err, derr)
	})
	return out, last, err
}

func keep(c Change, page ChangePage) bool {
	if len(page.Kinds) > 0 && !slices.Contains(page.Kinds, c.Kind) {
		return false
	}
	if len(page.Segments) > 0 && (c.Segment == "" || !slices.Contains(page.Segments, c.Segment)) {
		return false
	}
	return true
}

// ChangesLast returns the cursor of the latest entry (0: none yet).
func (db *DB) ChangesLast() uint64 {
	snap := db.st.View()
	defer snap.Close()
	m, _ := snap.Meta()
	return m.ChangeLast
}

// ChangesWake returns a channel closed by the next commit that writes
// entries (or by Close): BLOCK waits on it.
func (db *DB) ChangesWake() <-chan struct{} {
	db.feedMu.Lock()
	defer db.feedMu.Unlock()
	return db.feedWake
}

func (db *DB) notifyChanges() {
	db.feedMu.Lock()
	defer db.feedMu.Unlock()
	close(db.feedWake)
	db.feedWake = make(chan struct{})
}

// TickChanges evaluates every saved segment at the clock now, as the tick
// every Options.ChangesTick does, and returns once its entries are
// committed (tests and operators who cannot wait for the tick).
func (db *DB) TickChanges() {
	if db.w != nil {
		db.tickNow()
	}
}

// --- consumers' cursors ---

// SetCursor durably records that consumer name (a webhook) has been
// acknowledged every feed entry up to cursor.
func (db *DB) SetCursor(ctx context.Context, name string, cursor uint64) error {
	if err := graph.CheckName("consumer name", name); err != nil {
		return err
	}
	_, err := db.submitOne(ctx, &cursorOp{name: name, cursor: cursor})
	return err
}

// Cursor returns the cursor consumer name last recorded with SetCursor.
func (db *DB) Cursor(name string) (uint64, bool, error) {
	var out uint64
	var ok bool
	err := db.snapshot(func(s store.Snapshot) error {
		all, err := s.NamedAll(store.NamedCursor)
		if err != nil {
			return err
		}
		if b, found := all[name]; found && len(b) == 8 {
			out, ok = binary.BigEndian.Uint64(b), true
		}
		return nil
	})
	return out, ok, err
}

type cursorOp struct {
	name   string
	cursor uint64
}

func (o *cursorOp) Plan(writer.Reader) (writer.Plan, error) { return o, nil }

func (o *cursorOp) Apply(tx *writer.Tx) (any, error) {
	tx.PutNamed(store.NamedCursor, o.name, cursorKey(o.cursor))
	return Result{}, nil
}
