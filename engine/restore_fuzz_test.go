package engine_test

import (
	"bytes"
	"testing"

	"github.com/idgraph/idgraph/engine"
)

// FuzzRestore: a damaged or foreign backup, or a damaged erasure journal,
// is refused with an error by Restore, never a panic.
func FuzzRestore(f *testing.F) {
	db, err := engine.Open(engine.DefaultOptions(f.TempDir()))
	if err != nil {
		f.Fatal(err)
	}
	track(f, db, "view", 1, "cookie:fz", "email:fuzz@example.com")
	var backup bytes.Buffer
	if _, err := db.Backup(&backup); err != nil {
		f.Fatal(err)
	}
	db.Close()
	b := backup.Bytes()
	journal := []byte(`{"seq":3,"time":1764000000000,"hashes":["00"]}` + "\n")
	f.Add(b, journal)
	f.Add(b[:len(b)/2], journal[:10])
	f.Add(append(append([]byte{}, b[:len(b)-1]...), b[len(b)-1]^0xff), []byte("{}\n"))
	f.Add([]byte("not a backup"), []byte("not json\n"))
	f.Add([]byte{}, []byte{})
	// The seeds themselves: the whole backup restores; a cut or changed
	// one is refused.
	for i, c := range []struct {
		backup []byte
		ok     bool
	}{{b, true}, {b[:len(b)/2], false}, {b[:len(b)-1], false}, {append(append([]byte{}, b[:len(b)-1]...), b[len(b)-1]^0xff), false}, {[]byte("not a backup"), false}} {
		_, err := engine.Restore(engine.DefaultOptions(f.TempDir()), bytes.NewReader(c.backup), nil)
		if (err == nil) != c.ok {
			f.Errorf("backup %d (%d of %d bytes): restore error %v, want ok=%v", i, len(c.backup), len(b), err, c.ok)
		}
	}
	f.Fuzz(func(t *testing.T, backup, journal []byte) {
		engine.Restore(engine.DefaultOptions(t.TempDir()), bytes.NewReader(backup), bytes.NewReader(journal))
	})
}
