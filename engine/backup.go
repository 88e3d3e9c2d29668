package engine

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/idgraph/idgraph/engine/internal/graph"
	"github.com/idgraph/idgraph/engine/internal/store"
	"github.com/idgraph/idgraph/engine/internal/store/badgerstore"
)

// Backup writes a consistent copy of the store (one generation: live keys
// only, no deleted ones) to w while it keeps serving, and returns the bytes
// written.
func (db *DB) Backup(w io.Writer) (int64, error) {
	if db.bst == nil {
		return 0, invalid("", "the memory backend has no backups")
	}
	return db.bst.Backup(w)
}

// BackupToDir writes a backup into Options.BackupDir (outside the data
// directory), named by the time, brings the erasure journal there up to
// date, and returns the backup's path and size. It refuses when the backup
// would leave less free space there than Options.DiskReserve.
func (db *DB) BackupToDir() (string, int64, error) {
	if db.opts.BackupDir == "" || db.bst == nil {
		return "", 0, invalid("", "this store has no backup directory (in memory)")
	}
	dir := db.opts.BackupDir
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", 0, err
	}
	if err := db.syncJournal(); err != nil {
		return "", 0, fmt.Errorf("erasure journal: %w", err)
	}
	if db.opts.DiskReserve > 0 {
		lsm, vlog := db.bst.Size()
		if free, ok := freeBytes(dir); ok && free-lsm-vlog < db.opts.DiskReserve {
			return "", 0, graph.Errorf(graph.NoSpace, "", "a backup of about %d MiB would leave %d MiB free in %s, below the reserve of %d MiB",
				(lsm+vlog)>>20, (free-lsm-vlog)>>20, dir, db.opts.DiskReserve>>20)
		}
	}
	path := filepath.Join(dir, "backup-"+time.Now().UTC().Format("20060102T150405.000Z")+".bak")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return "", 0, err
	}
	n, err := db.Backup(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return "", 0, err
	}
	abs, _ := filepath.Abs(path)
	return abs, n, nil
}

// Restore loads a backup into the store, which must be freshly created and
// empty; reopen it afterwards (the index is rebuilt on open).
func (db *DB) Restore(r io.Reader) error {
	if db.bst == nil {
		return invalid("", "the memory backend has no backups")
	}
	if db.st.Gen() > 1 {
		return invalid("", "restore needs a new, empty data directory")
	}
	if err := db.bst.Restore(r); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if db.snapPath != "" {
		os.Remove(db.snapPath)
	}
	db.restored = true
	return nil
}

// RotateKey re-encrypts the store's data keys under a new master key. The
// store must be closed; afterwards it opens with newKey and no longer with
// oldKey.
func RotateKey(dir string, oldKey, newKey []byte) error {
	for _, k := range [][]byte{oldKey, newKey} {
		if n := len(k); n != 16 && n != 24 && n != 32 {
			return invalid("", "an encryption key is 16, 24 or 32 bytes, not %d", n)
		}
	}
	return badgerstore.RotateKey(dir, oldKey, newKey)
}

// Stats are figures for INFO.
type Stats struct {
	Nodes, Profiles uint32 // ids allocated so far
	Seq             uint64 // records and facts so far
	Gen             uint64 // commits so far
	Batches, Ops    uint64 // submissions and operations since open
	LSMBytes        int64
	VlogBytes       int64
	CacheEntries    int    // decoded records cached
	CacheBytes      int64  // their estimated size
	CacheHotBytes   int64  // of which records queries have read (kept longest)
	CacheHits       uint64 // cache lookups that found the record, since open
	CacheMisses     uint64 // and that read the store
	PurgePending    int    // forgotten identifiers whose records are still being deleted
	ErasePending    bool   // a FORGET whose values are not yet compacted out of the files
	// KeysWritten counts the keys written (set or deleted) since open, in
	// all and by kind ("record", "profile", "partner", ...).
	KeysWritten   uint64
	KeysWrittenBy map[string]uint64
}

// Stats returns figures about the store.
func (db *DB) Stats() Stats {
	st := Stats{Gen: db.st.Gen(), Batches: db.batches.Load(), Ops: db.ops.Load()}
	_ = db.snapshot(func(s store.Snapshot) error {
		m, err := s.Meta()
		if err != nil {
			return err
		}
		st.Nodes, st.Profiles, st.Seq = m.Node, m.Profile, m.Seq
		st.PurgePending, st.ErasePending = len(m.Purge), m.Erase
		return nil
	})
	if db.bst != nil {
		st.LSMBytes, st.VlogBytes = db.bst.Size()
		cs := db.bst.CacheStats()
		st.CacheEntries, st.CacheBytes, st.CacheHotBytes = cs.Entries, cs.Bytes, cs.HotBytes
		st.CacheHits, st.CacheMisses = cs.Hits, cs.Misses
		st.KeysWritten, st.KeysWrittenBy = db.bst.KeysWritten()
	}
	return st
}
