package engine_test

import (
	"bytes"
	"errors"
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
	db, err = engine.Open(engine.DefaultOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if hits := erasedAnywhere(t, db, dir, secrets...); len(hits) > 0 {
		t.Fatalf("erased values still stored after FORGET and a clean shutdown: %v", hits)
	}
	if hits := erasedAnywhere(t, db, dir, "other-visitor-5555"); len(hits) == 0 {
		t.Fatal("compaction lost data that was not forgotten")
	}
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
	track(t, db, "register", 1, "email:"+secret)
	// The most a profile may hold, past Badger's 1 MiB value threshold (a
	// value beyond it would live in the value log): 1,000 traits with
	// 100-byte names and 1 KiB values, in 20 calls of 50.
	for i := 0; i < 20; i++ {
		traits := make([]engine.Trait, 50)
		for j := range traits {
			v := fmt.Sprintf("%s-%04d-", secret, i*50+j)
			traits[j] = engine.Trait{Name: fmt.Sprintf("t%04d_%s", i*50+j, strings.Repeat("n", 94)),
				Value: v + strings.Repeat("Q", engine.MaxTraitLen-len(v))}
		}
		if _, err := db.SetTraits(ctx, "email:"+secret, traits, at(2)); err != nil {
			t.Fatal(err)
		}
	}
	p := who(t, db, "email:"+secret)
	size := 0
	for k, v := range p.Traits {
		size += len(k) + len(v)
	}
	if len(p.Traits) != engine.MaxProfileTraits || size <= 1<<20 {
		t.Fatalf("traits: %d, %d bytes; want %d past 1 MiB", len(p.Traits), size, engine.MaxProfileTraits)
	}
	// check reads the long facts back, chunk by chunk, and finds them whole.
	if problems, err := db.Check(); err != nil || len(problems) > 0 {
		t.Fatalf("check of a profile with long facts: %v %v", problems, err)
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

// A backup never carries an erased identifier, and restoring an older
// backup replays the erasure journal: nobody forgotten comes back.
func TestRestoreNeverResurrectsTheForgotten(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	opts := engine.DefaultOptions(data)
	opts.ErasureDelay = -1
	db, err := engine.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	track(t, db, "signup", 1, "email:gone-early@example.com", "user:early")
	track(t, db, "signup", 2, "email:gone-later@example.com", "user:later")
	track(t, db, "signup", 3, "email:stays@example.com", "user:stays")
	if _, err := db.Forget(ctx, "user:early", false); err != nil {
		t.Fatal(err)
	}
	path, _, err := db.BackupToDir()
	if err != nil {
		t.Fatal(err)
	}
	if inside, _ := filepath.Rel(data, path); !strings.HasPrefix(inside, "..") {
		t.Fatalf("backup %s written inside the data directory", path)
	}
	if _, err := db.Forget(ctx, "email:gone-later@example.com", true); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if bytes.Contains(b, []byte("gone-early")) {
		t.Fatal("the backup holds an identifier erased before it was taken")
	}
	journal := filepath.Join(filepath.Dir(path), engine.JournalFile)
	// The backup taken before the second FORGET holds that person (until it
	// is deleted); the journal beside it holds only hashes.
	if hits := filesContaining(t, filepath.Dir(journal), "gone-early"); len(hits) > 0 {
		t.Fatalf("the backup directory holds an identifier erased before the backup: %v", hits)
	}
	if hits := filesContaining(t, journal, "gone-later", "later"); len(hits) > 0 {
		t.Fatalf("the journal holds identifiers in clear: %v", hits)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	jf, err := os.Open(journal)
	if err != nil {
		t.Fatal(err)
	}
	defer jf.Close()
	restored := filepath.Join(dir, "restored")
	n, err := engine.Restore(engine.DefaultOptions(restored), f, jf)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Fatalf("journal replay forgot %d identifiers, want 2 (gone-later and user:later)", n)
	}
	rdb, err := engine.Open(engine.DefaultOptions(restored))
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	for _, id := range []string{"email:gone-early@example.com", "user:early", "email:gone-later@example.com", "user:later"} {
		if _, err := rdb.Who(id); !errors.Is(err, engine.ErrNotFound) {
			t.Errorf("%s came back with the restore: %v", id, err)
		}
	}
	wantIDs(t, rdb, "user:stays", "email:stays@example.com", "user:stays")
	// The later FORGET was with SUPPRESS, and so is its replay.
	if r := track(t, rdb, "view", 5, "email:gone-later@example.com", "cookie:x"); len(r.Suppressed) != 1 {
		t.Fatalf("suppression not restored: %+v", r)
	}
	if problems, err := rdb.Check(); err != nil || len(problems) > 0 {
		t.Fatalf("check: %v %v", err, problems)
	}
}

func TestBackupsOfAnEncryptedStoreAreEncrypted(t *testing.T) {
	dir := t.TempDir()
	key := bytes.Repeat([]byte{7}, 32)
	opts := engine.DefaultOptions(filepath.Join(dir, "data"))
	opts.EncryptionKey = key
	db, err := engine.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	track(t, db, "signup", 1, "email:secret-in-backup@example.com")
	var buf bytes.Buffer
	if _, err := db.Backup(&buf); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if bytes.Contains(buf.Bytes(), []byte("secret-in-backup")) {
		t.Fatal("the backup of an encrypted store is plaintext")
	}
	// Without the key, or with another, it does not restore.
	if _, err := engine.Restore(engine.DefaultOptions(filepath.Join(dir, "nokey")), bytes.NewReader(buf.Bytes()), nil); err == nil {
		t.Fatal("restored an encrypted backup without its key")
	}
	other := engine.DefaultOptions(filepath.Join(dir, "otherkey"))
	other.EncryptionKey = bytes.Repeat([]byte{8}, 32)
	if _, err := engine.Restore(other, bytes.NewReader(buf.Bytes()), nil); err == nil {
		t.Fatal("restored an encrypted backup with another key")
	}
	// A damaged byte is caught.
	bad := append([]byte(nil), buf.Bytes()...)
	bad[len(bad)/2] ^= 1
	damaged := engine.DefaultOptions(filepath.Join(dir, "damaged"))
	damaged.EncryptionKey = key
	if _, err := engine.Restore(damaged, bytes.NewReader(bad), nil); err == nil {
		t.Fatal("restored a damaged backup")
	}
	good := engine.DefaultOptions(filepath.Join(dir, "good"))
	good.EncryptionKey = key
	if _, err := engine.Restore(good, bytes.NewReader(buf.Bytes()), nil); err != nil {
		t.Fatal(err)
	}
	rdb, err := engine.Open(good)
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	wantIDs(t, rdb, "email:secret-in-backup@example.com", "email:secret-in-backup@example.com")
}

// A flipped byte in a table is caught: the store does not open, or every
// read of it fails, or check reports it — never silent, never a panic.
func TestCorruptTablesAreReported(t *testing.T) {
	src := t.TempDir()
	db, err := engine.Open(engine.DefaultOptions(src))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 300; i++ {
		track(t, db, "view", i%20, fmt.Sprintf("cookie:c%03d", i), fmt.Sprintf("email:e%03d@x.io", i%50))
	}
	db.Close()
	tables, _ := filepath.Glob(filepath.Join(src, "*.sst"))
	if len(tables) == 0 {
		t.Fatal("no table written")
	}
	st, _ := os.Stat(tables[0])
	for k := 0; k < 16; k++ {
		dir := t.TempDir()
		copyDir(t, src, dir)
		table := filepath.Join(dir, filepath.Base(tables[0]))
		b, _ := os.ReadFile(table)
		off := int(st.Size()) * k / 16
		b[off] ^= 0x5a
		os.WriteFile(table, b, 0o600)
		opts := engine.DefaultOptions(dir)
		opts.ReadOnly = true
		db, err := engine.Open(opts)
		if err != nil {
			continue // refused to open, with the error
		}
		problems, err := db.Check()
		db.Close()
		if err == nil && len(problems) == 0 {
			t.Errorf("byte %d of %s flipped: the store opened and check found nothing", off, filepath.Base(table))
		}
	}
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}
