package badgerstore

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
	"github.com/idgraph/idgraph/engine/internal/store"
)

// Facts can grow large: a profile's (merges add traits up) and a node's
// (up to MaxProfileTraits traits set on one identifier). Every value is
// kept below Badger's value threshold so that nothing ever lives in the
// value log, whose newest file is never rewritten (an erased value there
// would stay): facts longer than factsChunk are split over chunk keys
// prefix id chunk# (q for a profile's, t for a node's), and the main key
// holds a marker with their count.
const (
	factsChunk   = 256 << 10
	chunkedMark  = 0xC1 // first byte of a main value that lists chunks (never a codec version)
	chunkKeySize = 7
)

func chunkKey(prefix byte, id uint32, i int) []byte {
	k := make([]byte, chunkKeySize)
	k[0] = prefix
	binary.BigEndian.PutUint32(k[1:], id)
	binary.BigEndian.PutUint16(k[5:], uint16(i))
	return k
}

// chunkCount returns how many chunks a main value lists (0: not chunked).
func chunkCount(v []byte) (int, error) {
	if len(v) == 0 || v[0] != chunkedMark {
		return 0, nil
	}
	n, k := binary.Uvarint(v[1:])
	if k <= 0 || n == 0 || n > 1<<16-1 {
		return 0, fmt.Errorf("%w: bad chunk count in profile facts", store.ErrCorrupt)
	}
	return int(n), nil
}

// readChunked reads the value of prefix id, which may be chunked.
func (r *reader) readChunked(prefix byte, id uint32) ([]byte, error) {
	var main []byte
	err := r.get(u32Key(prefix, id), func(v []byte) error {
		main = append([]byte(nil), v...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	n, err := chunkCount(main)
	if err != nil || n == 0 {
		return main, err
	}
	var out []byte
	for i := 0; i < n; i++ {
		err := r.get(chunkKey(prefix, id, i), func(v []byte) error {
			out = append(out, v...)
			return nil
		})
		if errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("%w: facts %c%d chunk %d missing", store.ErrCorrupt, prefix, id, i)
		}
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// writeChunked writes the encoded facts of prefix id (nil: delete them),
// chunked when long, and deletes chunks the old value had beyond the new.
func (t *txn) writeChunked(bt *badger.Txn, prefix byte, id uint32, enc []byte) error {
	main := u32Key(prefix, id)
	old := 0
	err := t.reader.get(main, func(v []byte) error {
		var err error
		old, err = chunkCount(v)
		return err
	})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	n := 0
	switch {
	case enc == nil:
		t.written[prefix]++
		if err := bt.Delete(main); err != nil {
			return err
		}
	case len(enc) <= factsChunk:
		t.written[prefix]++
		if err := bt.Set(main, enc); err != nil {
			return err
		}
	default:
		n = (len(enc) + factsChunk - 1) / factsChunk
		if n > 1<<16-1 {
			return fmt.Errorf("facts %c%d of %d bytes are too large to store", prefix, id, len(enc))
		}
		for i := 0; i < n; i++ {
			t.written[prefix]++
			if err := bt.Set(chunkKey(prefix, id, i), enc[i*factsChunk:min(len(enc), (i+1)*factsChunk)]); err != nil {
				return err
			}
		}
		t.written[prefix]++
		if err := bt.Set(main, binary.AppendUvarint([]byte{chunkedMark}, uint64(n))); err != nil {
			return err
		}
	}
	for i := n; i < old; i++ {
		t.written[prefix]++
		if err := bt.Delete(chunkKey(prefix, id, i)); err != nil {
			return err
		}
	}
	return nil
}
