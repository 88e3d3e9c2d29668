package engine_test

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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

// erasedAnywhere reports where any needle remains: in any entry Badger holds
// (every version and deletion marker, decoded), and in the raw bytes of
// every file under dir.
func erasedAnywhere(t *testing.T, db *engine.DB, dir string, needles ...string) []string {
	t.Helper()
	var hits []string
	err := db.RawEntries(func(k, v []byte, deleted bool) {
		for _, n := range needles {
			if bytes.Contains(k, []byte(n)) || bytes.Contains(v, []byte(n)) {
				hits = append(hits, fmt.Sprintf("entry %q (deleted %v) holds %s", k, deleted, n))
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return append(hits, filesContaining(t, dir, needles...)...)
}

func TestForgetErasesOnlineWhileServing(t *testing.T) {
	dir := t.TempDir()
	opts := engine.DefaultOptions(dir)
	opts.ErasureDelay = 10 * time.Millisecond
	db, err := engine.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	secrets := []string{"online-erase-4412@example.com", "Bartholomew-Quince"}
	track(t, db, "register", 1, "email:"+secrets[0], "cookie:online-keep-1")
	if _, err := db.SetTraits(ctx, "email:"+secrets[0], []engine.Trait{{Name: "name", Value: secrets[1]}}, at(2)); err != nil {
		t.Fatal(err)
	}
	track(t, db, "view", 3, "cookie:bystander-8080")
	if hits := erasedAnywhere(t, db, dir, secrets...); len(hits) == 0 {
		t.Fatal("the secrets should be stored before FORGET (the test is not looking in the right place)")
	}
	if _, err := db.Forget(ctx, "email:"+secrets[0], false); err != nil {
		t.Fatal(err)
	}
	// The erasure runs in the background; wait for it (bounded).
	deadline := time.Now().Add(2 * time.Minute)
	for db.Erasure().Pending {
		if time.Now().After(deadline) {
			t.Fatalf("erasure still pending: %+v", db.Erasure())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if hits := erasedAnywhere(t, db, dir, secrets...); len(hits) > 0 {
		t.Fatalf("erased values still stored while serving: %v", hits)
	}
	// Writes and reads go on.
	track(t, db, "view", 4, "cookie:bystander-8080")
	if p := who(t, db, "cookie:bystander-8080"); p.Events != 2 {
		t.Fatalf("bystander: %+v", p)
	}
}

func TestForgetErasesLargeProfiles(t *testing.T) {
	dir := t.TempDir()
	opts := engine.DefaultOptions(dir)
	opts.ErasureDelay = -1 // at Close
	db, err := engine.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	secret := "big-profile-erase@example.com"
	value := strings.Repeat("Q", 900)
	track(t, db, "register", 1, "email:"+secret)
	// More than a megabyte of traits: 16 calls of 60 traits of 1 KB.
	for i := 0; i < 16; i++ {
		traits := make([]engine.Trait, 60)
		for j := range traits {
			traits[j] = engine.Trait{Name: fmt.Sprintf("t%d_%d", i, j), Value: fmt.Sprintf("%s-%04d-%s", secret, i*60+j, value)}
		}
		if _, err := db.SetTraits(ctx, "email:"+secret, traits, at(2)); err != nil {
			t.Fatal(err)
		}
	}
	if p := who(t, db, "email:"+secret); len(p.Traits) != 960 {
		t.Fatalf("traits: %d", len(p.Traits))
	}
	if _, err := db.Forget(ctx, "email:"+secret, false); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if db, err = engine.Open(opts); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if hits := erasedAnywhere(t, db, dir, secret); len(hits) > 0 {
		t.Fatalf("a large profile's values still stored after FORGET: %d places, e.g. %v", len(hits), hits[0])
	}
}
