package cluster

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"

	"github.com/hashicorp/raft"
	wal "github.com/hashicorp/raft-wal"
)

// The log's entries are sealed, each under the key of the epoch it was
// written in, so that an erasure can make the entries before it unreadable
// even where a log segment file still holds their bytes: raft-wal deletes
// whole segment files when the log is truncated, but the segment being
// written keeps entries on both sides of the truncation point. After a
// FORGET, the node starts a new epoch, truncates the log past every entry
// of the older epochs (eraser.go) and then destroys their keys.

// keysFile holds the keys of the live epochs, in the raft directory.
const keysFile = "keys"

// sealCodec seals the Data of log entries with AES-256-GCM under the
// current epoch's key. Sealed layout: epoch (4 bytes, big-endian), nonce
// (12), ciphertext and tag; the entry's index is the additional data, so
// a sealed payload cannot be moved to another entry.
//
// mu guards every field. Sealing holds it for reading for a whole
// StoreLogs call, so rotate (which holds it for writing) returns only once
// no entry is being stored under the old epoch any more, and maxIndex of
// the old epoch is final.
type sealCodec struct {
	path string
	// master, when set (the store's encryption key), seals the keys file.
	master cipher.AEAD
	mu     sync.RWMutex
	cur    uint32
	keys   map[uint32]cipher.AEAD
	raw    map[uint32][]byte
	// maxIndex is the highest log index sealed under each epoch (for
	// epochs loaded from the keys file: the log's last index at open).
	maxIndex map[uint32]uint64
	maxMu    sync.Mutex // serialises updates of maxIndex under mu's read lock
}

type keysJSON struct {
	Current uint32            `json:"current"`
	Keys    map[string][]byte `json:"keys"`
}

// keysMagic starts a keys file sealed with the store's encryption key.
const keysMagic = "idgraph-sealed-keys\n"

// openSealCodec loads the keys file in dir, creating it with a first epoch
// when missing. With master (the store's encryption key, 16, 24 or 32
// bytes) the file is sealed with it, so the log is encrypted at rest when
// the store is.
func openSealCodec(dir string, master []byte) (*sealCodec, error) {
	c := &sealCodec{path: filepath.Join(dir, keysFile), keys: map[uint32]cipher.AEAD{},
		raw: map[uint32][]byte{}, maxIndex: map[uint32]uint64{}}
	if len(master) > 0 {
		blk, err := aes.NewCipher(master)
		if err != nil {
			return nil, fmt.Errorf("keys file: %w", err)
		}
		if c.master, err = cipher.NewGCM(blk); err != nil {
			return nil, err
		}
	}
	b, err := os.ReadFile(c.path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := c.addEpoch(1); err != nil {
			return nil, err
		}
		c.cur = 1
		return c, c.save()
	case err != nil:
		return nil, err
	}
	if b, err = c.unsealFile(b); err != nil {
		return nil, err
	}
	var kj keysJSON
	if err := json.Unmarshal(b, &kj); err != nil {
		return nil, fmt.Errorf("read %s: %w", c.path, err)
	}
	for s, k := range kj.Keys {
		e, err := strconv.ParseUint(s, 10, 32)
		if err != nil || len(k) != 32 {
			return nil, fmt.Errorf("read %s: a damaged key", c.path)
		}
		if err := c.setKey(uint32(e), k); err != nil {
			return nil, err
		}
	}
	if _, ok := c.keys[kj.Current]; !ok {
		return nil, fmt.Errorf("read %s: the current epoch %d has no key", c.path, kj.Current)
	}
	c.cur = kj.Current
	return c, nil
}

// setLoadedMax records, for the epochs loaded from the file, that they may
// have sealed entries up to last.
func (c *sealCodec) setLoadedMax(last uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for e := range c.keys {
		c.maxIndex[e] = max(c.maxIndex[e], last)
	}
}

func (c *sealCodec) addEpoch(e uint32) error {
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return err
	}
	return c.setKey(e, k)
}

func (c *sealCodec) setKey(e uint32, k []byte) error {
	blk, err := aes.NewCipher(k)
	if err != nil {
		return err
	}
	aead, err := cipher.NewGCM(blk)
	if err != nil {
		return err
	}
	c.keys[e], c.raw[e] = aead, k
	return nil
}

// save writes the keys file atomically (a new file renamed over the old
// one, both synced), so a destroyed key is in no file afterwards.
func (c *sealCodec) save() error {
	kj := keysJSON{Current: c.cur, Keys: map[string][]byte{}}
	for e, k := range c.raw {
		kj.Keys[strconv.FormatUint(uint64(e), 10)] = k
	}
	b, err := json.Marshal(&kj)
	if err != nil {
		return err
	}
	if c.master != nil {
		nonce := make([]byte, c.master.NonceSize())
		if _, err := rand.Read(nonce); err != nil {
			return err
		}
		b = c.master.Seal(append([]byte(keysMagic), nonce...), nonce, b, []byte(keysMagic))
	}
	return writeFileAtomic(c.path, b)
}

// unsealFile opens the keys file's bytes: sealed with the master key, or
// plain JSON when the store is not encrypted.
func (c *sealCodec) unsealFile(b []byte) ([]byte, error) {
	sealed := len(b) >= len(keysMagic) && string(b[:len(keysMagic)]) == keysMagic
	switch {
	case sealed && c.master == nil:
		return nil, fmt.Errorf("%s is sealed with an encryption key: give the store's key", c.path)
	case !sealed && c.master != nil:
		return nil, fmt.Errorf("%s was written without an encryption key: a node keeps the encryption it was created with", c.path)
	case !sealed:
		return b, nil
	}
	ns := c.master.NonceSize()
	if len(b) < len(keysMagic)+ns {
		return nil, fmt.Errorf("%s is damaged", c.path)
	}
	plain, err := c.master.Open(nil, b[len(keysMagic):len(keysMagic)+ns], b[len(keysMagic)+ns:], []byte(keysMagic))
	if err != nil {
		return nil, fmt.Errorf("%s: the encryption key does not open it", c.path)
	}
	return plain, nil
}

// seal returns data sealed under the current epoch for the entry at
// index. Callers hold mu for reading.
func (c *sealCodec) seal(index uint64, data []byte) ([]byte, error) {
	aead := c.keys[c.cur]
	ns := aead.NonceSize()
	out := make([]byte, 4+ns, 4+ns+len(data)+aead.Overhead())
	binary.BigEndian.PutUint32(out, c.cur)
	if _, err := rand.Read(out[4:]); err != nil {
		return nil, err
	}
	var ad [8]byte
	binary.BigEndian.PutUint64(ad[:], index)
	out = aead.Seal(out, out[4:4+ns], data, ad[:])
	c.bumpMax(c.cur, index)
	return out, nil
}

func (c *sealCodec) bumpMax(e uint32, idx uint64) {
	c.maxMu.Lock()
	if idx > c.maxIndex[e] {
		c.maxIndex[e] = idx
	}
	c.maxMu.Unlock()
}

// open returns the data of the entry at index, sealed by seal.
func (c *sealCodec) open(index uint64, b []byte) ([]byte, error) {
	if len(b) < 4 {
		return nil, errors.New("sealed log entry too short")
	}
	e := binary.BigEndian.Uint32(b)
	c.mu.RLock()
	aead, ok := c.keys[e]
	c.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("log entry %d of epoch %d: its key was destroyed by an erasure", index, e)
	}
	ns := aead.NonceSize()
	if len(b) < 4+ns+aead.Overhead() {
		return nil, errors.New("sealed log entry too short")
	}
	var ad [8]byte
	binary.BigEndian.PutUint64(ad[:], index)
	plain, err := aead.Open(nil, b[4:4+ns], b[4+ns:], ad[:])
	if err != nil {
		return nil, fmt.Errorf("open sealed log entry %d: %w", index, err)
	}
	return plain, nil
}

// sealedLog is the node's raft.LogStore and StableStore: raft-wal, with
// every entry's Data and Extensions sealed by the codec. (raft-wal's own
// Codec hook cannot be used: v0.4 records every segment as written with
// its built-in codec and then refuses to reopen it under any other.)
type sealedLog struct {
	*wal.WAL
	c *sealCodec
}

func (s *sealedLog) StoreLog(l *raft.Log) error { return s.StoreLogs([]*raft.Log{l}) }

func (s *sealedLog) StoreLogs(logs []*raft.Log) error {
	s.c.mu.RLock()
	defer s.c.mu.RUnlock()
	out := make([]*raft.Log, len(logs))
	for i, l := range logs {
		cp := *l
		var err error
		if cp.Data, err = s.c.seal(l.Index, l.Data); err != nil {
			return err
		}
		if len(l.Extensions) > 0 {
			if cp.Extensions, err = s.c.seal(l.Index, l.Extensions); err != nil {
				return err
			}
		}
		out[i] = &cp
	}
	return s.WAL.StoreLogs(out)
}

func (s *sealedLog) GetLog(index uint64, l *raft.Log) error {
	if err := s.WAL.GetLog(index, l); err != nil {
		return err
	}
	var err error
	if l.Data, err = s.c.open(index, l.Data); err != nil {
		return err
	}
	if len(l.Extensions) > 0 {
		l.Extensions, err = s.c.open(index, l.Extensions)
	}
	return err
}

// rotate starts a new epoch and returns the highest log index sealed under
// any older one (0 when none).
func (c *sealCodec) rotate() (uint64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	next := c.cur + 1
	if err := c.addEpoch(next); err != nil {
		return 0, err
	}
	old := c.cur
	c.cur = next
	if err := c.save(); err != nil {
		c.cur = old
		delete(c.keys, next)
		delete(c.raw, next)
		return 0, err
	}
	var upTo uint64
	for e, m := range c.maxIndex {
		if e < next {
			upTo = max(upTo, m)
		}
	}
	return upTo, nil
}

// destroyBefore forgets the keys of every epoch older than e and rewrites
// the keys file without them.
func (c *sealCodec) destroyBefore(e uint32) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.keys {
		if k < e {
			delete(c.keys, k)
			clear(c.raw[k])
			delete(c.raw, k)
			delete(c.maxIndex, k)
		}
	}
	return c.save()
}

// epochs returns the live epochs, oldest first, and the current one.
func (c *sealCodec) epochs() ([]uint32, uint32) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]uint32, 0, len(c.keys))
	for e := range c.keys {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, c.cur
}

// writeFileAtomic replaces path with b: a temporary file in the same
// directory, synced, renamed over path, and the directory synced.
func writeFileAtomic(path string, b []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
