package engine

import (
	"context"
	"errors"
	"fmt"

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
	var expr string
	err := db.bdb.View(func(txn *badger.Txn) error {
		item, err := txn.Get(segmentKey(name))
		if err != nil {
			return err
		}
		v, err := item.ValueCopy(nil)
		expr = string(v)
		return err
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("segment %s: %w", name, err)
	}
	return expr, true, nil
}

// Segments returns every saved segment, name → expression.
func (db *DB) Segments() (map[string]string, error) {
	out := map[string]string{}
	err := db.bdb.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{pSegment}, PrefetchValues: true})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			out[string(it.Item().Key()[1:])] = string(v)
		}
		return nil
	})
	return out, err
}

// Stats are figures for INFO.
type Stats struct {
	Nodes, Profiles uint32 // ids allocated so far
	Seq             uint64 // link records and events so far
	Batches, Ops    uint64 // group commits and operations since open
	LSMBytes        int64
	VlogBytes       int64
}

// Stats returns figures about the store.
func (db *DB) Stats() Stats {
	var meta metaRec
	_ = db.bdb.View(func(txn *badger.Txn) error { return getMsg(txn, metaKey, &meta) })
	lsm, vlog := db.bdb.Size()
	return Stats{Nodes: meta.Node, Profiles: meta.Profile, Seq: meta.Seq,
		Batches: db.stats.batches.Load(), Ops: db.stats.ops.Load(), LSMBytes: lsm, VlogBytes: vlog}
}
