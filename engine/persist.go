package engine

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/idgraph/idgraph/index"
	"github.com/vmihailenco/msgpack/v5"
)

// The index lives in memory. Close writes a snapshot stamped with the
// store's commit generation; Open uses it only when the stamp matches the
// store (a clean shutdown), and otherwise rebuilds the index from the events
// and profiles, so after a crash the index always equals a recomputation.

func (db *DB) loadIndex(gen uint64) (*index.Index, error) {
	if db.snapPath != "" {
		if x, err := readSnapshot(db.snapPath, gen); err == nil {
			return x, nil
		}
	}
	return db.rebuildIndex()
}

func readSnapshot(path string, gen uint64) (*index.Index, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	var stamp [8]byte
	if _, err := io.ReadFull(r, stamp[:]); err != nil {
		return nil, err
	}
	if binary.BigEndian.Uint64(stamp[:]) != gen {
		return nil, errors.New("index snapshot is stale")
	}
	return index.Read(r)
}

func (db *DB) saveIndex() error {
	if db.snapPath == "" {
		return nil
	}
	tmp := db.snapPath + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("save index: %w", err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	var stamp [8]byte
	binary.BigEndian.PutUint64(stamp[:], db.w.meta.Gen)
	bw.Write(stamp[:])
	_, err = db.idx.WriteTo(bw)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, db.snapPath)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("save index: %w", err)
	}
	return nil
}

// rebuildIndex recomputes the index from the store: every event for the
// profile holding its anchor, every live profile's attributes.
func (db *DB) rebuildIndex() (*index.Index, error) {
	x := index.New()
	tt := db.types.Load()
	err := db.bdb.View(func(txn *badger.Txn) error {
		return rebuildInto(txn, tt, x)
	})
	if err != nil {
		return nil, fmt.Errorf("rebuild index: %w", err)
	}
	return x, nil
}

func rebuildInto(txn *badger.Txn, tt *typeTable, x *index.Index) error {
	profOf := map[uint32]uint32{}
	it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{pEvent}, PrefetchValues: true, PrefetchSize: 256})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		item := it.Item()
		anchor, t, _ := parseEventKey(item.Key())
		p, ok := profOf[anchor]
		if !ok {
			var nr nodeRec
			if err := getMsg(txn, nodeKey(anchor), &nr); err != nil {
				return fmt.Errorf("event anchored on node %d: %w", anchor, err)
			}
			p = nr.Profile
			profOf[anchor] = p
		}
		var er eventRec
		if err := item.Value(func(v []byte) error { return msgpack.Unmarshal(v, &er) }); err != nil {
			return err
		}
		x.Add(p, index.Event{Name: er.Name, Source: er.Source, Time: t})
	}
	pit := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{pProfile}, PrefetchValues: true})
	defer pit.Close()
	for pit.Rewind(); pit.Valid(); pit.Next() {
		var pr profRec
		if err := pit.Item().Value(func(v []byte) error { return msgpack.Unmarshal(v, &pr) }); err != nil {
			return err
		}
		if pr.Into != 0 {
			continue
		}
		p := binary.BigEndian.Uint32(pit.Item().Key()[1:])
		x.SetAttrs(p, recAttrs(&pr))
	}
	return nil
}

// recAttrs is what the index knows of a live profile: its identifier types,
// traits and consent.
func recAttrs(pr *profRec) index.Attrs {
	a := index.Attrs{Traits: map[string]string{}, Consent: map[string]bool{}}
	for t, c := range pr.Counts {
		if c > 0 {
			a.Types = append(a.Types, t)
		}
	}
	sortStrings(a.Types)
	for k, v := range pr.Traits {
		if v.V != "" {
			a.Traits[k] = v.V
		}
	}
	for k, v := range pr.Consent {
		a.Consent[k] = v.Grant
	}
	return a
}

// gcLoop reclaims space: on a schedule, and soon after a FORGET so that
// erased values leave the files.
func (db *DB) gcLoop() {
	defer close(db.gcDone)
	tick := time.NewTicker(10 * time.Minute)
	defer tick.Stop()
	for {
		select {
		case _, ok := <-db.gcKick:
			if !ok {
				return
			}
			db.collectGarbage()
		case <-tick.C:
			db.collectGarbage()
		}
	}
}

func (db *DB) collectGarbage() {
	if db.opts.InMemory {
		return
	}
	for db.bdb.RunValueLogGC(0.5) == nil {
	}
}
