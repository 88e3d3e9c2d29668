package engine_test

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/idgraph/idgraph/engine"
)

// filesContaining lists the files under dir whose bytes contain any needle.
func filesContaining(t *testing.T, dir string, needles ...string) []string {
	t.Helper()
	var hits []string
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range needles {
			if bytes.Contains(b, []byte(n)) {
				hits = append(hits, filepath.Base(path)+" holds "+n)
			}
		}
		return nil
	})
	return hits
}

func TestForgetLeavesNoBytesInFiles(t *testing.T) {
	dir := t.TempDir()
	db, err := engine.Open(engine.DefaultOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	secrets := []string{"erase-me-7781@example.com", "ERASEDSERIAL9931", "Zebediah-Quux"}
	track(t, db, "register", 1, "email:"+secrets[0], "serial:"+secrets[1], "cookie:keepme-cookie-0001")
	if _, err := db.SetTraits(ctx, "email:"+secrets[0], []engine.Trait{{Name: "name", Value: secrets[2]}}, at(2)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Track(ctx, engine.Event{Name: "purchase", IDs: []string{"email:" + secrets[0]}, Time: at(3), Props: []byte(`{"note":"` + secrets[2] + `"}`)}); err != nil {
		t.Fatal(err)
	}
	track(t, db, "view", 4, "cookie:other-visitor-5555")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if hits := filesContaining(t, dir, secrets...); len(hits) == 0 {
		t.Fatal("the secrets should be on disk before FORGET (test is not looking in the right place)")
	}
	db, err = engine.Open(engine.DefaultOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Forget(ctx, "serial:"+secrets[1], false); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if hits := filesContaining(t, dir, secrets...); len(hits) > 0 {
		t.Fatalf("erased values still on disk after FORGET and a clean shutdown: %v", hits)
	}
	if hits := filesContaining(t, dir, "other-visitor-5555"); len(hits) == 0 {
		t.Fatal("compaction lost data that was not forgotten")
	}
	db, err = engine.Open(engine.DefaultOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	wantIDs(t, db, "cookie:other-visitor-5555", "cookie:other-visitor-5555")
	if problems, err := db.Check(); err != nil || len(problems) > 0 {
		t.Fatalf("check: %v %v", err, problems)
	}
}

func TestEncryptionAtRestAndKeyRotation(t *testing.T) {
	dir := t.TempDir()
	k1 := []byte("0123456789abcdef0123456789abcdef")
	k2 := []byte("fedcba9876543210fedcba9876543210")
	opts := engine.DefaultOptions(dir)
	opts.EncryptionKey = k1
	db, err := engine.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	track(t, db, "register", 1, "email:very-secret-4411@example.com")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if hits := filesContaining(t, dir, "very-secret-4411"); len(hits) > 0 {
		t.Fatalf("plaintext on disk with encryption on: %v", hits)
	}
	if err := engine.RotateKey(dir, k1, k2); err != nil {
		t.Fatal(err)
	}
	if _, err := engine.Open(opts); err == nil {
		t.Fatal("the old key still opens the store after rotation")
	}
	opts.EncryptionKey = k2
	db, err = engine.Open(opts)
	if err != nil {
		t.Fatalf("open with the new key: %v", err)
	}
	defer db.Close()
	wantIDs(t, db, "email:very-secret-4411@example.com", "email:very-secret-4411@example.com")
	if got := who(t, db, "email:very-secret-4411@example.com").Events; got != 1 {
		t.Fatalf("events after rotation and index rebuild: %d", got)
	}
}
