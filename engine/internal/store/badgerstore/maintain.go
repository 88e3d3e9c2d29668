package badgerstore

import (
	"fmt"
	"math"

	"github.com/idgraph/idgraph/engine/internal/store"

	"github.com/dgraph-io/badger/v4"
)

// CollectGarbage rewrites value-log files that are mostly stale.
func (s *Store) CollectGarbage(ratio float64) {
	if s.opts.InMemory {
		return
	}
	for s.db.RunValueLogGC(ratio) == nil {
	}
}

// FlushMemtables writes the memtables out to tables, so that their
// write-ahead files, which hold every recent value, are deleted. Badger
// has no call for that; dropping a prefix flushes first, so the store drops
// the marker a FORGET leaves (store.NamedFlush), when there is one. Writes
// are blocked meanwhile: call it with no transaction open.
//
// upTo is a generation no new reader will ask for anything older than;
// versions it supersedes may go (unless a pinned reader holds an older
// one), so the flush and the compaction of level 0 that follows already
// drop erased values.
func (s *Store) FlushMemtables(upTo uint64) error {
	s.db.SetDiscardTs(s.floorUpTo(upTo))
	return s.db.DropPrefix([]byte{byte(store.NamedFlush)})
}

// floorUpTo is the oldest generation still readable: upTo, or an older one
// a pinned reader holds.
func (s *Store) floorUpTo(upTo uint64) uint64 {
	s.pinMu.Lock()
	defer s.pinMu.Unlock()
	floor := upTo
	for g := range s.pins {
		floor = min(floor, g)
	}
	return floor
}

// CompactOut rewrites the tables of a live store into one level, which
// drops deletion markers and superseded versions older than every open
// reader, then garbage-collects the value log: after FlushMemtables, erased
// values leave the files. Writes go on meanwhile. upTo is a generation no
// new reader will ask for anything older than (the caller's index has
// reached it); versions it supersedes may go unless a pinned reader holds
// an older generation.
func (s *Store) CompactOut(upTo uint64) error {
	if s.opts.InMemory {
		return nil
	}
	s.db.SetDiscardTs(s.floorUpTo(upTo))
	if err := s.db.Flatten(1); err != nil {
		return fmt.Errorf("compact erased values: %w", err)
	}
	for s.db.RunValueLogGC(0.01) == nil {
	}
	return nil
}

// CompactErased makes deleted and overwritten values leave the files of a
// closed store: it reopens the store, compacts every level into one (which
// drops deletion markers and old versions), garbage-collects the value log
// and closes it again.
func CompactErased(o Options) error {
	bdb, err := badger.OpenManaged(o.badger())
	if err != nil {
		return err
	}
	bdb.SetDiscardTs(bdb.MaxVersion())
	err = bdb.Flatten(1)
	for err == nil {
		if gcErr := bdb.RunValueLogGC(0.01); gcErr != nil {
			break
		}
	}
	if cerr := bdb.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("compact erased values: %w", err)
	}
	return nil
}

// RotateKey re-encrypts the store's data keys under a new master key. The
// store must be closed. Data is encrypted with data keys (rotated by Badger
// every ten days); those are kept in a registry encrypted with the master
// key, so rotating the master key rewrites only the registry.
func RotateKey(dir string, oldKey, newKey []byte) error {
	reg, err := badger.OpenKeyRegistry(badger.KeyRegistryOptions{Dir: dir, ReadOnly: true, EncryptionKey: oldKey})
	if err != nil {
		return fmt.Errorf("open key registry with the old key: %w", err)
	}
	defer reg.Close()
	if err := badger.WriteKeyRegistry(reg, badger.KeyRegistryOptions{Dir: dir, EncryptionKey: newKey}); err != nil {
		return fmt.Errorf("write key registry: %w", err)
	}
	return nil
}

// ScanAllVersions calls f for every entry Badger holds in its memtables
// and tables — every version, deletion markers and expired entries
// included — decoded (decompressed, decrypted). With a raw scan of the
// other files, it shows whether erased values are still anywhere.
func (s *Store) ScanAllVersions(f func(key, value []byte, deleted bool)) error {
	txn := s.db.NewTransactionAt(math.MaxUint64, false)
	defer txn.Discard()
	it := txn.NewIterator(badger.IteratorOptions{AllVersions: true, PrefetchValues: false})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		item := it.Item()
		var v []byte
		if !item.IsDeletedOrExpired() {
			var err error
			if v, err = item.ValueCopy(nil); err != nil {
				return err
			}
		}
		f(item.Key(), v, item.IsDeletedOrExpired())
	}
	return nil
}
