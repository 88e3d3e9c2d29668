package badgerstore

import (
	"fmt"

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
