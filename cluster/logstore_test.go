package cluster

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/raft"
	wal "github.com/hashicorp/raft-wal"
	"github.com/hashicorp/raft-wal/metadb"
)

// openSealedLog opens a sealed raft-wal in dir.
func openSealedLog(t *testing.T, dir string) (*sealedLog, func()) {
	t.Helper()
	c, err := openSealCodec(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	meta := &metadb.BoltMetaDB{}
	w, err := wal.Open(dir, wal.WithMetaStore(meta), wal.WithSegmentSize(1<<20))
	if err != nil {
		t.Fatal(err)
	}
	last, _ := w.LastIndex()
	c.setLoadedMax(last)
	return &sealedLog{WAL: w, c: c}, func() { w.Close(); meta.Close() }
}

func logEntry(i uint64, data string) *raft.Log {
	return &raft.Log{Index: i, Term: 1, Type: raft.LogCommand, Data: []byte(data)}
}

func TestSealedLogHoldsNoPlaintextAndReopens(t *testing.T) {
	dir := t.TempDir()
	s, closeLog := openSealedLog(t, dir)
	if err := s.StoreLogs([]*raft.Log{logEntry(1, "TRACK signup email:secret-a@example.com"), logEntry(2, "SET email:secret-a@example.com name=Ann")}); err != nil {
		t.Fatal(err)
	}
	closeLog()
	assertNoFileHolds(t, dir, "secret-a@example.com")
	s, closeLog = openSealedLog(t, dir)
	defer closeLog()
	var l raft.Log
	if err := s.GetLog(2, &l); err != nil {
		t.Fatal(err)
	}
	if string(l.Data) != "SET email:secret-a@example.com name=Ann" || l.Index != 2 || l.Term != 1 {
		t.Fatalf("entry 2 after a reopen = %+v", l)
	}
}

func TestDestroyedEpochsCannotBeRead(t *testing.T) {
	dir := t.TempDir()
	s, closeLog := openSealedLog(t, dir)
	defer closeLog()
	if err := s.StoreLogs([]*raft.Log{logEntry(1, "old one"), logEntry(2, "old two")}); err != nil {
		t.Fatal(err)
	}
	upTo, err := s.c.rotate()
	if err != nil {
		t.Fatal(err)
	}
	if upTo != 2 {
		t.Fatalf("rotate: older epochs sealed up to %d, want 2", upTo)
	}
	if err := s.StoreLogs([]*raft.Log{logEntry(3, "new three")}); err != nil {
		t.Fatal(err)
	}
	_, cur := s.c.epochs()
	if err := s.c.destroyBefore(cur); err != nil {
		t.Fatal(err)
	}
	var l raft.Log
	err = s.GetLog(1, &l)
	if err == nil || !strings.Contains(err.Error(), "destroyed") {
		t.Fatalf("reading an entry of a destroyed epoch: %v", err)
	}
	if err := s.GetLog(3, &l); err != nil || string(l.Data) != "new three" {
		t.Fatalf("entry of the current epoch: %q, %v", l.Data, err)
	}
	eps, _ := s.c.epochs()
	if len(eps) != 1 {
		t.Fatalf("epochs after destroying the older ones: %v", eps)
	}
	// The keys file no longer holds the destroyed key.
	b, err := os.ReadFile(filepath.Join(dir, keysFile))
	if err != nil {
		t.Fatal(err)
	}
	c2, err := openSealCodec(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(c2.keys) != 1 || bytes.Contains(b, []byte(`"1"`)) {
		t.Fatalf("keys file after the erasure: %s", b)
	}
}

func TestSealedEntryBoundToItsIndex(t *testing.T) {
	c, err := openSealCodec(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	c.mu.RLock()
	sealed, err := c.seal(7, []byte("payload"))
	c.mu.RUnlock()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.open(8, sealed); err == nil {
		t.Fatal("an entry sealed for index 7 opened as index 8")
	}
	if got, err := c.open(7, sealed); err != nil || string(got) != "payload" {
		t.Fatalf("open = %q, %v", got, err)
	}
	for _, bad := range [][]byte{nil, {0, 0, 0, 1}, sealed[:10]} {
		if _, err := c.open(7, bad); err == nil {
			t.Errorf("open(%x) succeeded", bad)
		}
	}
}

// assertNoFileHolds fails if any file under dir holds value.
func assertNoFileHolds(t *testing.T, dir, value string) {
	t.Helper()
	n := 0
	filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		n++
		if bytes.Contains(b, []byte(value)) {
			t.Errorf("%s holds %q", path, value)
		}
		return nil
	})
	if n == 0 {
		t.Fatalf("no file under %s", dir)
	}
}

func TestKeysFileSealedWithTheStoreKey(t *testing.T) {
	dir := t.TempDir()
	key := bytes.Repeat([]byte{7}, 32)
	c, err := openSealCodec(dir, key)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, keysFile))
	if bytes.Contains(b, []byte("current")) || !bytes.HasPrefix(b, []byte(keysMagic)) {
		t.Fatalf("keys file of an encrypted store: %q", b)
	}
	c2, err := openSealCodec(dir, key)
	if err != nil || !bytes.Equal(c2.raw[c2.cur], c.raw[c.cur]) {
		t.Fatalf("reopen with the key: %v", err)
	}
	for _, k := range [][]byte{nil, bytes.Repeat([]byte{8}, 32)} {
		if _, err := openSealCodec(dir, k); err == nil {
			t.Errorf("opened a sealed keys file with key %x", k)
		}
	}
	plain := t.TempDir()
	if _, err := openSealCodec(plain, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := openSealCodec(plain, key); err == nil {
		t.Error("an unsealed keys file opened with a key")
	}
}
