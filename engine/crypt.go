package engine

import (
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// RotateKey re-encrypts the store's data keys under a new master key. The
// store must be closed. Data is encrypted with data keys (rotated by Badger
// every ten days); those are kept in a registry encrypted with the master
// key, so rotating the master key rewrites only the registry. Afterwards the
// store opens with newKey and no longer with oldKey.
func RotateKey(dir string, oldKey, newKey []byte) error {
	for _, k := range [][]byte{oldKey, newKey} {
		if n := len(k); n != 16 && n != 24 && n != 32 {
			return invalid("an encryption key is 16, 24 or 32 bytes, not %d", n)
		}
	}
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
