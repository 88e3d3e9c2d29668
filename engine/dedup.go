package engine

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// MaxMessageIDLen bounds a Record's MessageID.
const MaxMessageIDLen = 256

// seenMessage reports whether a record with this message id was applied
// within the de-duplication window, counting the open transaction.
func (w *writer) seenMessage(id string) (bool, error) {
	if len(id) > MaxMessageIDLen {
		return false, fmt.Errorf("%w: messageId of %d bytes; the most is %d", ErrTooLarge, len(id), MaxMessageIDLen)
	}
	item, err := w.txn.Get(messageKey(id))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	var until int64
	err = item.Value(func(v []byte) error {
		if len(v) == 8 {
			until = int64(binary.BigEndian.Uint64(v))
		}
		return nil
	})
	return err == nil && until > w.now, err
}

// rememberMessage records a message id until the window ends. Badger drops
// the key by itself once its TTL has passed.
func (w *writer) rememberMessage(id string) error {
	until := w.now + w.db.opts.DedupWindow.Milliseconds()
	v := make([]byte, 8)
	binary.BigEndian.PutUint64(v, uint64(until))
	k := messageKey(id)
	w.entries++
	w.bytes += len(k) + len(v)
	return w.txn.SetEntry(badger.NewEntry(k, v).WithTTL(w.db.opts.DedupWindow))
}
