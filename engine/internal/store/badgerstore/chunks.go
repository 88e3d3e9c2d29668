package badgerstore

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
	"github.com/idgraph/idgraph/engine/internal/store"
)

// A profile's facts can grow large (merges add traits up). Every value is
// kept below Badger's value threshold so that nothing ever lives in the
// value log, whose newest file is never rewritten (an erased value there
// would stay): facts longer than factsChunk are split over chunk keys
// q profile chunk#, and the main key holds a marker with their count.
const (
	factsChunk   = 256 << 10
	chunkedMark  = 0xC1 // first byte of a main value that lists chunks (never a codec version)
	chunkKeySize = 7
)

func pfactsChunkKey(p uint32, i int) []byte {
	k := make([]byte, chunkKeySize)
	k[0] = pPFacts
	binary.BigEndian.PutUint32(k[1:], p)
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

// readChunked reads a value that may be chunked.
func (r *reader) readChunked(p uint32) ([]byte, error) {
	var main []byte
	err := r.get(pfactsKey(p), func(v []byte) error {
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
		err := r.get(pfactsChunkKey(p, i), func(v []byte) error {
			out = append(out, v...)
			return nil
		})
		if errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("%w: profile %d facts chunk %d missing", store.ErrCorrupt, p, i)
		}
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// writeChunked writes a profile's encoded facts (nil: delete them),
// chunked when long, and deletes chunks the old value had beyond the new.
func (t *txn) writeChunked(bt *badger.Txn, p uint32, enc []byte) error {
	old := 0
	err := t.reader.get(pfactsKey(p), func(v []byte) error {
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
		t.written[pPFacts]++
		if err := bt.Delete(pfactsKey(p)); err != nil {
			return err
		}
	case len(enc) <= factsChunk:
		t.written[pPFacts]++
		if err := bt.Set(pfactsKey(p), enc); err != nil {
			return err
		}
	default:
		n = (len(enc) + factsChunk - 1) / factsChunk
		if n > 1<<16-1 {
			return fmt.Errorf("profile %d: facts of %d bytes are too large to store", p, len(enc))
		}
		for i := 0; i < n; i++ {
			t.written[pPFacts]++
			if err := bt.Set(pfactsChunkKey(p, i), enc[i*factsChunk:min(len(enc), (i+1)*factsChunk)]); err != nil {
				return err
			}
		}
		t.written[pPFacts]++
		if err := bt.Set(pfactsKey(p), binary.AppendUvarint([]byte{chunkedMark}, uint64(n))); err != nil {
			return err
		}
	}
	for i := n; i < old; i++ {
		t.written[pPFacts]++
		if err := bt.Delete(pfactsChunkKey(p, i)); err != nil {
			return err
		}
	}
	return nil
}
