package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A mistyped --data is an error, and creates nothing.
func TestBackupAndCheckRefuseADirectoryThatIsNoStore(t *testing.T) {
	parent := t.TempDir()
	typo := filepath.Join(parent, "typo")
	out := filepath.Join(parent, "x.bak")
	for _, args := range [][]string{
		{"backup", "--data", typo, "--out", out},
		{"check", "--data", typo},
	} {
		stdout, errb, code := runCmd(t, args...)
		if code != 1 || !strings.Contains(errb, "no store at "+typo+": the directory does not exist") {
			t.Errorf("%s: exit %d: %s %s", args[0], code, stdout, errb)
		}
	}
	if entries, _ := os.ReadDir(parent); len(entries) != 0 {
		t.Errorf("left behind: %v", entries)
	}
	// A directory that exists but holds no store.
	empty := filepath.Join(parent, "empty")
	os.Mkdir(empty, 0o700)
	os.WriteFile(filepath.Join(empty, "notes.txt"), []byte("x"), 0o600)
	for _, args := range [][]string{
		{"backup", "--data", empty, "--out", out},
		{"check", "--data", empty},
	} {
		_, errb, code := runCmd(t, args...)
		if code != 1 || !strings.Contains(errb, empty+" is not an idgraph store") {
			t.Errorf("%s: exit %d: %s", args[0], code, errb)
		}
	}
	if entries, _ := os.ReadDir(empty); len(entries) != 1 {
		t.Errorf("files written into a directory that is no store: %v", entries)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a backup file was written: %v", err)
	}
}

// query --data and check --data on a store that a server holds say so and
// point at --addr, instead of Badger's lock error.
func TestStoreHeldByAServerSuggestsAddr(t *testing.T) {
	dir := t.TempDir()
	startServer(t, dir)
	for _, args := range [][]string{
		{"query", "--data", dir, "WHO cookie:a"},
		{"check", "--data", dir},
		{"backup", "--data", dir, "--out", filepath.Join(t.TempDir(), "b.bak")},
	} {
		_, errb, code := runCmd(t, args...)
		if code != 1 || !strings.Contains(errb, dir+" is in use by another process (pid ") ||
			!strings.Contains(errb, "talk to the server with --addr HOST:PORT instead of --data") ||
			strings.Contains(errb, "Badger") {
			t.Errorf("%s: exit %d: %s", args[0], code, errb)
		}
	}
}

// Backups hold everything the store does: they are created private.
func TestBackupFileIsPrivate(t *testing.T) {
	dir := t.TempDir()
	runCmd(t, "query", "--data", dir, "TRACK login user:u email:e@x.io")
	bk := filepath.Join(t.TempDir(), "b.bak")
	os.WriteFile(bk, nil, 0o644) // an existing file keeps no wider mode
	os.Chmod(bk, 0o644)
	if _, errb, code := runCmd(t, "backup", "--data", dir, "--out", bk); code != 0 {
		t.Fatal(errb)
	}
	if fi, err := os.Stat(bk); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("backup mode %v, %v", fi.Mode().Perm(), err)
	}
}

// Only the store's own files are tightened: --data pointed at a directory
// that holds other things changes none of them, before or after a store
// is made there.
func TestOnlyTheStoresFilesAreTightened(t *testing.T) {
	dir := t.TempDir()
	other := filepath.Join(dir, "photo.jpg")
	sub := filepath.Join(dir, "album")
	// Modes set with Chmod: an earlier test may have left umask 077.
	os.WriteFile(other, []byte("x"), 0o644)
	os.Mkdir(sub, 0o755)
	os.WriteFile(filepath.Join(sub, "a.jpg"), []byte("x"), 0o644)
	for path, mode := range map[string]os.FileMode{other: 0o644, sub: 0o755, filepath.Join(sub, "a.jpg"): 0o644, dir: 0o755} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
	}
	if _, errb, code := runCmd(t, "query", "--data", dir, "PING"); code != 0 {
		t.Fatal(errb)
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o755 {
		t.Errorf("a directory that was not a store became %v", fi.Mode().Perm())
	}
	if _, errb, code := runCmd(t, "query", "--data", dir, "PING"); code != 0 { // now it is one
		t.Fatal(errb)
	}
	for path, want := range map[string]os.FileMode{other: 0o644, sub: 0o755, filepath.Join(sub, "a.jpg"): 0o644, dir: 0o700} {
		if fi, _ := os.Stat(path); fi.Mode().Perm() != want {
			t.Errorf("%s: %v, want %v", path, fi.Mode().Perm(), want)
		}
	}
	if open := modesOpen(t, dir); len(open) != 3 {
		t.Errorf("open to others: %v; want only the three that are not the store's", open)
	}
}
