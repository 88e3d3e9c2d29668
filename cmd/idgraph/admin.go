package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/idgraph/idgraph/engine"
)

func cmdCheck(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("check", "check --data DIR", stderr)
	st := addStoreFlags(fs)
	hubMin := fs.Int("hub-min", 100, "warn about identifiers refused with at least this many profiles")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := requireStore(*st.data); err != nil {
		return err
	}
	db, err := st.open(nil, stderr)
	if err != nil {
		return err
	}
	defer db.Close()
	problems, err := db.Check()
	if err != nil {
		return err
	}
	for _, p := range problems {
		fmt.Fprintln(stdout, p)
	}
	hubs, err := db.Hubs(*hubMin, 20)
	if err != nil {
		return err
	}
	for _, h := range hubs {
		fmt.Fprintf(stdout, "warning: %s was refused with %d profiles (%d links): a shared or default value? Consider blocking it.\n", h.ID, h.Profiles, h.Refused)
	}
	if len(problems) > 0 {
		return exitError{1, fmt.Sprintf("%d problem(s) found", len(problems))}
	}
	fmt.Fprintln(stdout, "ok: every invariant holds")
	return nil
}

func cmdBackup(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("backup", "backup --data DIR --out FILE | --addr HOST:PORT [--out FILE]", stderr)
	st := addStoreFlags(fs)
	out := fs.String("out", "", "file to write the backup to (created 0600)")
	addr := fs.String("addr", "", "back up a running server (online); it writes into its --backup-dir")
	pass := addSecretFlags(fs, "password", "password for --addr")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *addr != "" {
		password, err := pass.value(stderr)
		if err != nil {
			return err
		}
		return backupOnline(ctx, *addr, password, *out, stdout)
	}
	if *out == "" {
		return exitError{2, "--out FILE is required"}
	}
	if err := requireStore(*st.data); err != nil {
		return err
	}
	db, err := st.open(nil, stderr)
	if err != nil {
		return err
	}
	defer db.Close()
	f, err := createPrivate(*out)
	if err != nil {
		return err
	}
	n, err := db.Backup(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(*out)
		return err
	}
	fmt.Fprintf(stdout, "backup written to %s (%d bytes)\n", *out, n)
	return nil
}

func cmdRestore(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("restore", "restore --data DIR [--journal FILE] FILE", stderr)
	st := addStoreFlags(fs)
	journal := fs.String("journal", "", "erasure journal to replay (default: "+engine.JournalFile+" beside the backup, when there is one)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return exitError{2, "name the backup FILE"}
	}
	if entries, err := os.ReadDir(*st.data); err == nil && len(entries) > 0 {
		return exitError{1, fmt.Sprintf("%s is not empty; restore only into an empty directory", *st.data)}
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	defer f.Close()
	jpath := *journal
	if jpath == "" {
		if p := filepath.Join(filepath.Dir(fs.Arg(0)), engine.JournalFile); fileExists(p) {
			jpath = p
		}
	}
	var jr io.Reader
	if jpath != "" {
		jf, err := os.Open(jpath)
		if err != nil {
			return err
		}
		defer jf.Close()
		jr = jf
	}
	if err := privateDataDir(*st.data, stderr); err != nil {
		return err
	}
	opts, err := st.options(nil, stderr)
	if err != nil {
		return err
	}
	n, err := engine.Restore(opts, f, jr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "restored %s into %s\n", fs.Arg(0), *st.data)
	if jpath != "" {
		fmt.Fprintf(stdout, "replayed the erasure journal %s: %d identifier(s) forgotten after the backup erased again\n", jpath, n)
	} else {
		fmt.Fprintf(stderr, "warning: no erasure journal beside %s: anyone forgotten after this backup was taken is back in %s; restore again with --journal (the %s in the server's --backup-dir)\n",
			fs.Arg(0), *st.data, engine.JournalFile)
	}
	return nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func cmdRotateKey(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("rotate-key", "rotate-key --data DIR --encryption-key-file OLD --new-key-file NEW", stderr)
	data := fs.String("data", "./idgraph-data", "data directory (the server must be stopped)")
	oldFile := fs.String("encryption-key-file", "", "file holding the current key")
	newFile := fs.String("new-key-file", "", "file holding the new key")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	oldKey, err := readKey(*oldFile, stderr)
	if err != nil {
		return err
	}
	newKey, err := readKey(*newFile, stderr)
	if err != nil {
		return err
	}
	if err := requireStore(*data); err != nil {
		return err
	}
	restrictUmask()
	if err := engine.RotateKey(*data, oldKey, newKey); err != nil {
		if msg, held := heldByAnother(*data, err); held {
			return exitError{1, msg}
		}
		return err
	}
	fmt.Fprintf(stdout, "%s now opens with the key in %s\n", *data, *newFile)
	return nil
}

// backupOnline asks a running server for a backup (BACKUP) and, when the
// file it wrote is reachable from here, copies it to out.
func backupOnline(ctx context.Context, addr, pass, out string, stdout io.Writer) error {
	c, err := dialServer(ctx, addr, pass)
	if err != nil {
		return err
	}
	defer c.Close()
	reply, err := c.Do(ctx, "BACKUP")
	if err != nil {
		return err
	}
	v, _ := reply.([]any)
	var path string
	var size int64
	for i := 0; i+1 < len(v); i += 2 {
		switch v[i] {
		case "path":
			path, _ = v[i+1].(string)
		case "bytes":
			size, _ = v[i+1].(int64)
		}
	}
	if out == "" {
		fmt.Fprintf(stdout, "backup written by the server to %s (%d bytes)\n", path, size)
		return nil
	}
	src, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("the server wrote %s, which is not readable from here: %w", path, err)
	}
	defer src.Close()
	dst, err := createPrivate(out)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	if err := dst.Close(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backup written to %s (%d bytes; the server's copy is %s)\n", out, size, path)
	return nil
}

// createPrivate creates (or truncates) a file that only its owner may
// read: a backup holds everything the store does.
func createPrivate(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	if err := f.Chmod(0o600); err != nil { // an existing file keeps its mode otherwise
		f.Close()
		return nil, err
	}
	return f, nil
}
