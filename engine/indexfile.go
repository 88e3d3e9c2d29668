package engine

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/idgraph/idgraph/engine/internal/store"
	"github.com/idgraph/idgraph/index"
)

// The index lives in memory. Close writes a snapshot stamped with the
// store's generation; Open uses it only when the stamp matches the store
// (a clean shutdown), and otherwise rebuilds the index from the records, so
// after a crash the index always equals a recomputation.

func (db *DB) loadIndex(snap store.Snapshot) (*index.Index, error) {
	gen := snap.Gen()
	if db.snapPath != "" {
		if x, err := readIndexFile(db.snapPath, gen); err == nil {
			x.Apply(gen, nil)
			return x, nil
		}
	}
	x := index.New()
	if err := rebuildIndex(snap, x); err != nil {
		return nil, fmt.Errorf("rebuild index: %w", err)
	}
	x.Apply(gen, nil)
	return x, nil
}

func readIndexFile(path string, gen uint64) (*index.Index, error) {
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
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("save index: %w", err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	var stamp [8]byte
	v := db.idx.View()
	binary.BigEndian.PutUint64(stamp[:], v.Gen())
	v.Close()
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

// rebuildIndex recomputes the index from a snapshot: every event for the
// profile holding its anchor, every live profile's attributes.
func rebuildIndex(snap store.Snapshot, x *index.Index) error {
	meta, err := snap.Meta()
	if err != nil {
		return err
	}
	// The property paths kept per event name, before any event arrives.
	paths, err := snap.NamedAll(store.NamedPaths)
	if err != nil {
		return err
	}
	for name, b := range paths {
		var ps []string
		if err := json.Unmarshal(b, &ps); err != nil {
			return fmt.Errorf("%w: property paths of %s", store.ErrCorrupt, name)
		}
		x.ReplaceSeries(name, ps, nil)
	}
	purging := map[uint32]bool{}
	for _, n := range meta.Purge {
		purging[n] = true // forgotten: their records are being deleted
	}
	profOf := map[uint32]uint32{}
	var ds []index.Delta
	flush := func() {
		x.Apply(0, ds)
		ds = ds[:0]
	}
	err = snap.ScanRecords(func(rec *store.Record) error {
		if !rec.Event || purging[rec.Anchor] {
			return nil
		}
		p, ok := profOf[rec.Anchor]
		if !ok {
			nr, err := snap.Node(rec.Anchor)
			if err != nil {
				return fmt.Errorf("event anchored on node %d: %w", rec.Anchor, err)
			}
			p = nr.Profile
			profOf[rec.Anchor] = p
		}
		ds = append(ds, index.Delta{Kind: index.DeltaAdd, P: p, Events: []index.Event{{Name: rec.Name, Source: rec.Source, Time: rec.Time, Props: rec.Props}}})
		if len(ds) >= 4096 {
			flush()
		}
		return nil
	})
	if err != nil {
		return err
	}
	err = snap.ScanProfiles(func(p uint32, pr *store.Profile) error {
		if pr.Into == 0 {
			ds = append(ds, index.Delta{Kind: index.DeltaSetAttrs, P: p, Attrs: attrsOf(pr)})
			if len(ds) >= 4096 {
				flush()
			}
		}
		return nil
	})
	flush()
	return err
}
