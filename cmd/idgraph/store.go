package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"

	"github.com/idgraph/idgraph/engine"
)

// A store's files hold personal data, so every command that opens one
// makes them private to their owner before it does: the process runs with
// umask 077 (Badger creates its tables and logs 0600 but its memtables and
// pid file 0666, and the engine's own files follow the umask too), and an
// existing data directory whose group or others may enter it, or files
// they may read, are tightened to 0700/0600 with a warning.

// openStore opens the store the flags name, privately.
func openStore(s storeFlags, logger *slog.Logger, stderr io.Writer) (*engine.DB, error) {
	dir := *s.data
	opts, err := s.options(logger, stderr)
	if err != nil {
		return nil, err
	}
	if err := s.applyMemoryLimit(); err != nil {
		return nil, err
	}
	if err := privateDataDir(dir, stderr); err != nil {
		return nil, err
	}
	db, err := engine.Open(opts)
	if err != nil {
		if msg, held := heldByAnother(dir, err); held {
			return nil, exitError{1, msg}
		}
		return nil, err
	}
	return db, nil
}

// options are the engine options the flags give.
func (s storeFlags) options(logger *slog.Logger, stderr io.Writer) (engine.Options, error) {
	opts := engine.DefaultOptions(*s.data)
	opts.SyncWrites = *s.sync
	opts.Logger = logger
	if s.erasureDelay != 0 {
		opts.ErasureDelay = s.erasureDelay
	}
	if s.backupDir != nil {
		opts.BackupDir = *s.backupDir
	}
	if s.dedup != nil {
		opts.DedupWindow = *s.dedup
	}
	if s.retention != nil {
		opts.ChangesRetention = *s.retention
	}
	if s.cache != nil {
		n, err := parseSize(*s.cache)
		if err != nil {
			return opts, exitError{2, "--cache: " + err.Error()}
		}
		opts.CacheBytes = n
		if n == 0 {
			opts.CacheBytes = -1 // none
		}
	}
	if *s.encKeyFile != "" {
		key, err := readKey(*s.encKeyFile, stderr)
		if err != nil {
			return opts, err
		}
		opts.EncryptionKey = key
	}
	return opts, nil
}

// applyMemoryLimit sets the process's soft memory limit from
// --memory-limit (left as GOMEMLIMIT made it when the flag is not given).
// Memory held by the store is bounded by its own options (the record
// cache, Badger's memtables and block cache); the limit makes the garbage
// collector return the rest sooner: at 100k people a load peaks at 1.13
// GiB without one and at 0.94 GiB with 700m, 8% slower (README, Memory).
func (s storeFlags) applyMemoryLimit() error {
	if s.memLimit == nil || *s.memLimit == "" {
		return nil
	}
	n, err := parseSize(*s.memLimit)
	if err != nil || n == 0 {
		return exitError{2, fmt.Sprintf("--memory-limit %q: want a size such as 900m or 2g", *s.memLimit)}
	}
	debug.SetMemoryLimit(n)
	return nil
}

// privateDataDir sets umask 077 for the rest of the process, creates dir
// 0700 if it is missing, and tightens an existing store (a directory with
// Badger's MANIFEST; any other directory is left as it is).
func privateDataDir(dir string, stderr io.Writer) error {
	restrictUmask()
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return os.MkdirAll(dir, 0o700)
	}
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return exitError{1, fmt.Sprintf("%s is not a directory", dir)}
	}
	if _, err := os.Stat(filepath.Join(dir, "MANIFEST")); err != nil {
		// Not a store (yet): what it holds is not ours to change; the
		// files the store adds are private through the umask.
		return nil
	}
	tightened := 0
	tighten := func(path string, info fs.FileInfo) {
		if perm := info.Mode().Perm(); perm&0o077 != 0 && info.Mode()&fs.ModeSymlink == 0 {
			if os.Chmod(path, perm&^0o077) == nil {
				tightened++
			}
		}
	}
	tighten(dir, fi)
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == dir {
			return nil
		}
		rel, _ := filepath.Rel(dir, path)
		if d.IsDir() && rel != "backups" {
			return fs.SkipDir // only the store's own folder and its backups
		}
		if !storeFile(rel) {
			return nil
		}
		if info, err := d.Info(); err == nil {
			tighten(path, info)
		}
		return nil
	})
	if tightened > 0 {
		fmt.Fprintf(stderr, "warning: %s held %d file(s) or folder(s) that its group or others could read; they are now private to their owner\n", dir, tightened)
	}
	return nil
}

// storeFile reports whether a path relative to the data directory is one
// the store writes: Badger's files, the index snapshot, the backups.
func storeFile(rel string) bool {
	if rel == "backups" || strings.HasPrefix(rel, "backups"+string(filepath.Separator)) {
		return true
	}
	switch rel {
	case "MANIFEST", "KEYREGISTRY", "DISCARD", "LOCK":
		return true
	}
	if strings.HasPrefix(rel, "index.snapshot") {
		return true
	}
	for _, ext := range []string{".sst", ".vlog", ".mem"} {
		if strings.HasSuffix(rel, ext) {
			return true
		}
	}
	return false
}

// heldByAnother recognises Badger's directory-lock error and says what it
// means for a user of idgraph.
func heldByAnother(dir string, err error) (string, bool) {
	if !strings.Contains(err.Error(), "Another process is using this Badger database") {
		return "", false
	}
	who := "another process"
	if b, rerr := os.ReadFile(filepath.Join(dir, "LOCK")); rerr == nil {
		if pid := strings.TrimSpace(string(b)); pid != "" {
			who += " (pid " + pid + ")"
		}
	}
	return fmt.Sprintf("%s is in use by %s, most likely a running `idgraph serve`: "+
		"talk to the server with --addr HOST:PORT instead of --data, or stop it first", dir, who), true
}

// requireStore refuses a directory that holds no store, so that a typo in
// --data is an error rather than a new, empty store.
func requireStore(dir string) error {
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return exitError{1, fmt.Sprintf("no store at %s: the directory does not exist", dir)}
	}
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return exitError{1, fmt.Sprintf("%s is not a directory", dir)}
	}
	if _, err := os.Stat(filepath.Join(dir, "MANIFEST")); err != nil {
		return exitError{1, fmt.Sprintf("%s is not an idgraph store (it has no MANIFEST): check the path", dir)}
	}
	return nil
}

// readKey reads an encryption key file: 16, 24 or 32 bytes, surrounding
// white space ignored; one that its group or others may read is used with
// a warning.
func readKey(path string, stderr io.Writer) ([]byte, error) {
	if path == "" {
		return nil, exitError{2, "no key file given"}
	}
	key, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("encryption key: %w", err)
	}
	warnReadable(path, stderr)
	key = []byte(strings.TrimSpace(string(key)))
	if n := len(key); n != 16 && n != 24 && n != 32 {
		return nil, fmt.Errorf("encryption key in %s: %d bytes; it must be 16, 24 or 32", path, n)
	}
	return key, nil
}
