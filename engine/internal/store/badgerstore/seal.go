package badgerstore

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// An encrypted store's backups are encrypted too: the backup body is cut
// into chunks of sealChunk bytes, each sealed with AES-256-GCM under a key
// derived from the store's master key. A chunk's nonce is the backup's
// random 8-byte salt and the chunk's number, and its additional data says
// whether it is the last one, so chunks cannot be reordered, dropped or
// cut off unnoticed.
const sealChunk = 64 << 10

func backupAEAD(masterKey []byte) (cipher.AEAD, error) {
	k := sha256.Sum256(append(append([]byte(nil), masterKey...), "idgraph backup v1"...))
	block, err := aes.NewCipher(k[:])
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

type sealWriter struct {
	w    io.Writer
	aead cipher.AEAD
	salt [8]byte
	n    uint32
	buf  []byte
}

func newSealWriter(w io.Writer, aead cipher.AEAD, salt [8]byte) *sealWriter {
	return &sealWriter{w: w, aead: aead, salt: salt, buf: make([]byte, 0, sealChunk)}
}

func (s *sealWriter) nonce() []byte {
	n := make([]byte, 12)
	copy(n, s.salt[:])
	binary.BigEndian.PutUint32(n[8:], s.n)
	return n
}

func (s *sealWriter) seal(final bool) error {
	ad := []byte{0}
	if final {
		ad[0] = 1
	}
	out := s.aead.Seal(nil, s.nonce(), s.buf, ad)
	var l [4]byte
	binary.BigEndian.PutUint32(l[:], uint32(len(out)))
	if _, err := s.w.Write(l[:]); err != nil {
		return err
	}
	if _, err := s.w.Write(out); err != nil {
		return err
	}
	s.n++
	s.buf = s.buf[:0]
	return nil
}

func (s *sealWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		k := min(len(p), sealChunk-len(s.buf))
		s.buf = append(s.buf, p[:k]...)
		p = p[k:]
		if len(s.buf) == sealChunk {
			if err := s.seal(false); err != nil {
				return n - len(p), err
			}
		}
	}
	return n, nil
}

// Close seals the last chunk.
func (s *sealWriter) Close() error { return s.seal(true) }

type openReader struct {
	r     io.Reader
	aead  cipher.AEAD
	salt  [8]byte
	n     uint32
	buf   []byte
	final bool
}

var errBadKey = errors.New("the backup cannot be opened with this key, or it is damaged")

func (o *openReader) Read(p []byte) (int, error) {
	for len(o.buf) == 0 {
		if o.final {
			return 0, io.EOF
		}
		var l [4]byte
		if _, err := io.ReadFull(o.r, l[:]); err != nil {
			return 0, fmt.Errorf("backup truncated: %w", err)
		}
		size := binary.BigEndian.Uint32(l[:])
		if size > sealChunk+64 {
			return 0, errBadKey
		}
		c := make([]byte, size)
		if _, err := io.ReadFull(o.r, c); err != nil {
			return 0, fmt.Errorf("backup truncated: %w", err)
		}
		nonce := make([]byte, 12)
		copy(nonce, o.salt[:])
		binary.BigEndian.PutUint32(nonce[8:], o.n)
		plain, err := o.aead.Open(nil, nonce, c, []byte{0})
		if err != nil {
			if plain, err = o.aead.Open(nil, nonce, c, []byte{1}); err != nil {
				return 0, errBadKey
			}
			o.final = true
		}
		o.n++
		o.buf = plain
	}
	k := copy(p, o.buf)
	o.buf = o.buf[k:]
	return k, nil
}
