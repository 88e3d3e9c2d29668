package badgerstore

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"math"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// A backup is the live keys of one generation, in key order, in a format of
// our own: deleted keys and old versions are never in it (Badger's own
// backup keeps deletion markers, whose keys would carry erased values).
//
//	magic "IDGRAPH-BACKUP" 0x00, version byte, flags byte (bit 0: encrypted)
//	when encrypted: an 8-byte random salt, then the body sealed in chunks (seal.go)
//	body: frames: uvarint len(key) > 0, key, uvarint len(value), value, varint expiresAt (Unix s, 0 = never)
//	      uvarint 0, then the CRC-32C (Castagnoli) of every byte of the body before it, 4 bytes big-endian
var backupMagic = []byte("IDGRAPH-BACKUP\x00")

const backupVersion = 1

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Backup writes the latest generation to w and returns the bytes written.
// It reads a pinned snapshot, so it runs beside writes.
func (s *Store) Backup(w io.Writer) (int64, error) {
	gen := s.gen.Load()
	release := s.pin(gen)
	defer release()
	txn := s.db.NewTransactionAt(gen, false)
	defer txn.Discard()
	out := &countWriter{w: w}
	var sealer *sealWriter
	body := io.Writer(out)
	if len(s.opts.EncryptionKey) > 0 {
		aead, err := backupAEAD(s.opts.EncryptionKey)
		if err != nil {
			return 0, err
		}
		var salt [8]byte
		if _, err := rand.Read(salt[:]); err != nil {
			return 0, err
		}
		out.Write(backupMagic)
		out.Write([]byte{backupVersion, 1})
		out.Write(salt[:])
		sealer = newSealWriter(out, aead, salt)
		body = sealer
	} else {
		out.Write(backupMagic)
		out.Write([]byte{backupVersion, 0})
	}
	h := crc32.New(castagnoli)
	cw := &countWriter{w: io.MultiWriter(body, h)}
	bw := bufio.NewWriterSize(cw, 1<<20)
	it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, PrefetchSize: 256})
	defer it.Close()
	var buf []byte
	for it.Rewind(); it.Valid(); it.Next() {
		item := it.Item()
		if item.IsDeletedOrExpired() {
			continue
		}
		buf = binary.AppendUvarint(buf[:0], uint64(len(item.Key())))
		buf = append(buf, item.Key()...)
		err := item.Value(func(v []byte) error {
			buf = binary.AppendUvarint(buf, uint64(len(v)))
			buf = append(buf, v...)
			return nil
		})
		if err != nil {
			return cw.n, err
		}
		buf = binary.AppendVarint(buf, int64(item.ExpiresAt()))
		if _, err := bw.Write(buf); err != nil {
			return cw.n, err
		}
	}
	bw.WriteByte(0)
	if err := bw.Flush(); err != nil {
		return out.n, err
	}
	var sum [4]byte
	binary.BigEndian.PutUint32(sum[:], h.Sum32())
	if _, err := body.Write(sum[:]); err != nil {
		return out.n, err
	}
	if sealer != nil {
		if err := sealer.Close(); err != nil {
			return out.n, err
		}
	}
	return out.n, nil
}

// Restore loads a backup into this store, which must be empty (freshly
// created). Reopen the store afterwards.
func (s *Store) Restore(r io.Reader) error {
	if s.gen.Load() > 1 {
		return errors.New("restore needs an empty store")
	}
	if err := s.db.DropAll(); err != nil {
		return err
	}
	in := bufio.NewReaderSize(r, 1<<20)
	head := make([]byte, len(backupMagic)+2)
	if _, err := io.ReadFull(in, head); err != nil || !bytes.Equal(head[:len(backupMagic)], backupMagic) {
		return errors.New("not an idgraph backup")
	}
	if head[len(backupMagic)] != backupVersion {
		return fmt.Errorf("backup format %d; this idgraph reads %d", head[len(backupMagic)], backupVersion)
	}
	var body io.Reader = in
	switch head[len(backupMagic)+1] {
	case 0:
	case 1:
		if len(s.opts.EncryptionKey) == 0 {
			return errors.New("the backup is encrypted: restore it into a store opened with its encryption key")
		}
		aead, err := backupAEAD(s.opts.EncryptionKey)
		if err != nil {
			return err
		}
		o := &openReader{r: in, aead: aead}
		if _, err := io.ReadFull(in, o.salt[:]); err != nil {
			return fmt.Errorf("backup truncated: %w", err)
		}
		body = o
	default:
		return fmt.Errorf("backup flags %#x unknown", head[len(backupMagic)+1])
	}
	br := &hashReader{r: bufio.NewReaderSize(body, 1<<20), h: crc32.New(castagnoli)}
	// Everything is written at version 1; the meta record carries the
	// generation the backup was taken at, and reads start there.
	wb := s.db.NewWriteBatchAt(1)
	defer wb.Cancel()
	for {
		kl, err := binary.ReadUvarint(br)
		if err != nil {
			return fmt.Errorf("backup truncated: %w", err)
		}
		if kl == 0 {
			break
		}
		key, err := readN(br, kl)
		if err != nil {
			return err
		}
		vl, err := binary.ReadUvarint(br)
		if err != nil {
			return fmt.Errorf("backup truncated: %w", err)
		}
		val, err := readN(br, vl)
		if err != nil {
			return err
		}
		exp, err := binary.ReadVarint(br)
		if err != nil {
			return fmt.Errorf("backup truncated: %w", err)
		}
		e := badger.NewEntry(key, val)
		if exp > 0 {
			left := time.Until(time.Unix(exp, 0))
			if left <= 0 {
				continue
			}
			e = e.WithTTL(left)
		}
		if err := wb.SetEntry(e); err != nil {
			return err
		}
	}
	want := br.h.Sum32()
	var sum [4]byte
	if _, err := io.ReadFull(br.r, sum[:]); err != nil {
		return fmt.Errorf("backup truncated: %w", err)
	}
	if binary.BigEndian.Uint32(sum[:]) != want {
		return errors.New("backup checksum mismatch: the file is damaged")
	}
	if err := wb.Flush(); err != nil {
		return err
	}
	gen, err := s.readGen()
	if err != nil {
		return err
	}
	s.gen.Store(gen)
	s.cache.reset(gen)
	return nil
}

func readN(r io.Reader, n uint64) ([]byte, error) {
	if n > math.MaxInt32 {
		return nil, errors.New("backup damaged: a record longer than 2 GiB")
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, fmt.Errorf("backup truncated: %w", err)
	}
	return b, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// hashReader hashes exactly the bytes consumed from r.
type hashReader struct {
	r *bufio.Reader
	h hash.Hash32
}

func (h *hashReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	h.h.Write(p[:n])
	return n, err
}

func (h *hashReader) ReadByte() (byte, error) {
	b, err := h.r.ReadByte()
	if err == nil {
		h.h.Write([]byte{b})
	}
	return b, err
}
