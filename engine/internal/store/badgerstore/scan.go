package badgerstore

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/dgraph-io/badger/v4"
	"github.com/idgraph/idgraph/engine/internal/graph"
	"github.com/idgraph/idgraph/engine/internal/store"
)

func (r *reader) scan(prefix byte, keysOnly bool, f func(k, v []byte) error) error {
	c := &cursor{it: r.btxn().NewIterator(badger.IteratorOptions{Prefix: []byte{prefix}, PrefetchValues: !keysOnly, PrefetchSize: 256})}
	defer c.close()
	for ok := c.rewind(); ok; ok = c.next() {
		item := c.it.Item()
		if keysOnly {
			if err := f(item.Key(), nil); err != nil {
				return err
			}
			continue
		}
		if err := c.value(func(v []byte) error { return f(item.Key(), v) }); err != nil {
			return err
		}
	}
	return c.err
}

func corruptKey(k []byte) error { return fmt.Errorf("%w: key %q", store.ErrCorrupt, k) }

func (r *reader) ScanIdents(f func(typ, value string, node, profile uint32) error) error {
	return r.scan(pIdent, false, func(k, v []byte) error {
		i := bytes.IndexByte(k, 0)
		if i < 0 {
			return corruptKey(k)
		}
		n, p, err := parseIdentValue(v)
		if err != nil {
			return err
		}
		return f(string(k[1:i]), string(k[i+1:]), n, p)
	})
}

func (r *reader) ScanNodes(f func(n uint32, node *store.Node) error) error {
	return r.scan(pNode, false, func(k, v []byte) error {
		if len(k) != 5 {
			return corruptKey(k)
		}
		rec, err := decodeNode(v)
		if err != nil {
			return err
		}
		return f(binary.BigEndian.Uint32(k[1:]), rec)
	})
}

func (r *reader) ScanProfiles(f func(p uint32, pr *store.Profile) error) error {
	facts := map[uint32]graph.Facts{}
	err := r.scanFacts(pPFacts, func(p uint32, fs graph.Facts) error {
		facts[p] = fs
		return nil
	})
	if err != nil {
		return err
	}
	return r.scan(pProfile, false, func(k, v []byte) error {
		if len(k) != 5 {
			return corruptKey(k)
		}
		rec, err := decodeProfile(v)
		if err != nil {
			return err
		}
		p := binary.BigEndian.Uint32(k[1:])
		if rec.Into == 0 {
			rec.Facts = facts[p]
		}
		return f(p, rec)
	})
}

func (r *reader) ScanFacts(f func(n uint32, facts graph.Facts) error) error {
	return r.scanFacts(pFacts, f)
}

// scanFacts calls f with every facts value under prefix (a node's or a
// profile's), a chunked one assembled from its chunks, which sort right
// after its main key (chunks.go).
func (r *reader) scanFacts(prefix byte, f func(id uint32, facts graph.Facts) error) error {
	var chunked uint32 // the id whose chunks are being gathered
	var left int       // chunks still to come
	var buf []byte
	err := r.scan(prefix, false, func(k, v []byte) error {
		if len(k) != 5 && len(k) != chunkKeySize {
			return corruptKey(k)
		}
		id := binary.BigEndian.Uint32(k[1:5])
		switch {
		case len(k) == chunkKeySize && left > 0 && id == chunked:
			buf = append(buf, v...)
			if left--; left > 0 {
				return nil
			}
			fs, err := decodeFacts(buf)
			if err != nil {
				return err
			}
			return f(id, fs)
		case len(k) != 5 || left > 0:
			return corruptKey(k)
		}
		n, err := chunkCount(v)
		if err != nil {
			return err
		}
		if n > 0 {
			chunked, left, buf = id, n, buf[:0]
			return nil
		}
		fs, err := decodeFacts(v)
		if err != nil {
			return err
		}
		return f(id, fs)
	})
	if err == nil && left > 0 {
		err = fmt.Errorf("%w: facts %c%d: %d chunks missing", store.ErrCorrupt, prefix, chunked, left)
	}
	return err
}

func (r *reader) ScanRecords(f func(*store.Record) error) error {
	return r.scan(pRecord, false, func(k, v []byte) error {
		key, ok := parseRecordKey(k)
		if !ok {
			return corruptKey(k)
		}
		rec, err := decodeRecord(key, v)
		if err != nil {
			return err
		}
		return f(rec)
	})
}

func (r *reader) ScanPartners(f func(n, a uint32) error) error {
	return r.scan(pPartner, true, func(k, _ []byte) error {
		if len(k) != 9 {
			return corruptKey(k)
		}
		return f(binary.BigEndian.Uint32(k[1:]), binary.BigEndian.Uint32(k[5:]))
	})
}
