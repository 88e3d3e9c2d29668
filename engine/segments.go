package engine

import (
	"context"

	"github.com/dgraph-io/badger/v4"
)

// SaveSegment stores a named segment expression (its text; the query layer
// parses and validates it). Saving an existing name replaces it.
func (db *DB) SaveSegment(ctx context.Context, name, expr string) error {
	if err := validName("segment name", name, 64); err != nil {
		return err
	}
	_, err := db.submitOne(ctx, op{kind: opSaveSegment, name: name, expr: expr})
	return err
}

// DropSegment removes a named segment and reports whether it existed.
func (db *DB) DropSegment(ctx context.Context, name string) (bool, error) {
	if _, ok, err := db.Segment(name); err != nil || !ok {
		return false, err
	}
	_, err := db.submitOne(ctx, op{kind: opDropSegment, name: name})
	return err == nil, err
}

// Segment returns a saved segment's expression.
func (db *DB) Segment(name string) (string, bool, error) {
	db.segMu.RLock()
	defer db.segMu.RUnlock()
	expr, ok := db.segs[name]
	return expr, ok, nil
}

// Segments returns every saved segment, name → expression. Saved segments
// are few and read on every WHO, so they are kept in memory too.
func (db *DB) Segments() (map[string]string, error) {
	db.segMu.RLock()
	defer db.segMu.RUnlock()
	out := make(map[string]string, len(db.segs))
	for k, v := range db.segs {
		out[k] = v
	}
	return out, nil
}

func (db *DB) loadSegments(txn *badger.Txn) error {
	db.segs = map[string]string{}
	it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{pSegment}, PrefetchValues: true})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		v, err := it.Item().ValueCopy(nil)
		if err != nil {
			return err
		}
		db.segs[string(it.Item().Key()[1:])] = string(v)
	}
	return nil
}

// Stats are figures for INFO.
type Stats struct {
	Nodes, Profiles uint32 // ids allocated so far
	Seq             uint64 // link records and events so far
	Batches, Ops    uint64 // group commits and operations since open
	Keys            uint64 // keys set or deleted since open
	LSMBytes        int64
	VlogBytes       int64
}

// Stats returns figures about the store.
func (db *DB) Stats() Stats {
	var meta metaRec
	_ = db.bdb.View(func(txn *badger.Txn) error { return getMsg(txn, metaKey, &meta) })
	lsm, vlog := db.bdb.Size()
	return Stats{Nodes: meta.Node, Profiles: meta.Profile, Seq: meta.Seq,
		Batches: db.stats.batches.Load(), Ops: db.stats.ops.Load(), Keys: db.stats.keys.Load(), LSMBytes: lsm, VlogBytes: vlog}
}

func (db *DB) setSegment(name, expr string, present bool) {
	db.segMu.Lock()
	defer db.segMu.Unlock()
	if present {
		db.segs[name] = expr
	} else {
		delete(db.segs, name)
	}
}

// KeysWritten returns how many keys the writer has set or deleted since
// open, in all and per key prefix (see keys.go).
func (db *DB) KeysWritten() (uint64, map[string]uint64) {
	by := map[string]uint64{}
	for i := range db.stats.keysBy {
		if n := db.stats.keysBy[i].Load(); n > 0 {
			by[string(rune(i))] = n
		}
	}
	return db.stats.keys.Load(), by
}
