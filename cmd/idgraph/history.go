package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/idgraph/idgraph/query"
)

// The shell's history holds what was typed, identifiers included, so it is
// treated like the data: the file is private to its owner (0600; a wider
// one is tightened with a warning), "purge-history" in the shell or
// "idgraph query --purge-history" deletes it, and a FORGET drops every line
// that names one of the forgotten profile's identifiers — as typed, or as
// the server stores it — from the history in memory and on disk at once.

const historyName = ".idgraph_history"

// historyPath is ~/.idgraph_history, or "" when there is no home directory.
func historyPath() string {
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		return ""
	}
	return filepath.Join(home, historyName)
}

// history ties a line editor's history to the file.
type history struct {
	ed     lineEditor
	path   string
	stderr io.Writer
}

// openHistory loads the history file into ed, tightening its mode first.
func openHistory(ed lineEditor, stderr io.Writer) *history {
	h := &history{ed: ed, path: historyPath(), stderr: stderr}
	if h.path == "" {
		return h
	}
	fi, err := os.Stat(h.path)
	if err != nil {
		return h
	}
	if fi.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(h.path, 0o600); err != nil {
			fmt.Fprintf(stderr, "warning: %s is readable by others (mode %v) and could not be made private: %v\n", h.path, fi.Mode().Perm(), err)
		} else {
			fmt.Fprintf(stderr, "warning: %s was readable by others (mode %v); it is now 0600\n", h.path, fi.Mode().Perm())
		}
	}
	if f, err := os.Open(h.path); err == nil {
		ed.ReadHistory(f)
		f.Close()
	}
	return h
}

// save writes the history to its file, private to its owner.
func (h *history) save() {
	if h.path == "" {
		return
	}
	if err := writePrivate(h.path, func(w io.Writer) error {
		_, err := h.ed.WriteHistory(w)
		return err
	}); err != nil {
		fmt.Fprintf(h.stderr, "warning: history not saved: %v\n", err)
	}
}

// purge forgets every line, in memory and on disk.
func (h *history) purge(stdout io.Writer) {
	h.ed.ClearHistory()
	if h.path == "" {
		fmt.Fprintln(stdout, "history purged")
		return
	}
	if err := os.Remove(h.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(h.stderr, "warning: %v\n", err)
		return
	}
	fmt.Fprintf(stdout, "history purged (%s deleted)\n", h.path)
}

// forget drops the lines naming any of ids, and saves at once, so that a
// shell that is killed later leaves nothing behind either.
func (h *history) forget(ids []string) {
	var buf bytes.Buffer
	h.ed.WriteHistory(&buf)
	kept, dropped := dropNaming(buf.String(), ids)
	if dropped == 0 {
		return
	}
	h.ed.ClearHistory()
	h.ed.ReadHistory(strings.NewReader(kept))
	h.save()
}

// purgeHistoryFile is "idgraph query --purge-history".
func purgeHistoryFile(stdout io.Writer) error {
	path := historyPath()
	if path == "" {
		return exitError{1, "no home directory, so no history file"}
	}
	err := os.Remove(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		fmt.Fprintf(stdout, "no history at %s\n", path)
		return nil
	case err != nil:
		return err
	}
	fmt.Fprintf(stdout, "history purged (%s deleted)\n", path)
	return nil
}

// scrubHistoryFile drops the lines naming ids from the history file, for a
// FORGET run outside the shell.
func scrubHistoryFile(ids []string, stderr io.Writer) {
	path := historyPath()
	if path == "" {
		return
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return
	}
	kept, dropped := dropNaming(string(b), ids)
	if dropped == 0 {
		return
	}
	if err := writePrivate(path, func(w io.Writer) error {
		_, err := io.WriteString(w, kept)
		return err
	}); err != nil {
		fmt.Fprintf(stderr, "warning: history not scrubbed: %v\n", err)
	}
}

// forgetTargets returns, for a FORGET statement, the identifiers whose
// lines leave the history once it succeeds: the one given, and every
// identifier of its profile (asked with WHO before it is erased). It
// returns nil for any other statement.
func forgetTargets(ctx context.Context, r runner, words []string) []string {
	if len(words) < 2 || !strings.EqualFold(words[0], "FORGET") {
		return nil
	}
	ids := []string{words[1]}
	v, _, err := r.run(ctx, []string{"WHO", words[1]})
	if err != nil || v.Kind != query.KindMap {
		return ids
	}
	if members, ok := v.Get("ids"); ok {
		for _, m := range members.Arr {
			if m.Kind == query.KindString {
				ids = append(ids, m.Str)
			}
		}
	}
	return ids
}

// dropNaming removes the lines of text that name one of ids, comparing
// without regard to case: the whole "type:value", or the value alone when
// it is at least four bytes long (shorter values are too common to tell).
func dropNaming(text string, ids []string) (kept string, dropped int) {
	var needles []string
	for _, id := range ids {
		id = strings.ToLower(strings.TrimSpace(id))
		if id == "" {
			continue
		}
		needles = append(needles, id)
		if _, v, ok := strings.Cut(id, ":"); ok && len(v) >= 4 {
			needles = append(needles, v)
		}
	}
	var b strings.Builder
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(nil, maxShellLine)
lines:
	for sc.Scan() {
		lower := strings.ToLower(sc.Text())
		for _, n := range needles {
			if strings.Contains(lower, n) {
				dropped++
				continue lines
			}
		}
		b.WriteString(sc.Text())
		b.WriteByte('\n')
	}
	return b.String(), dropped
}

// writePrivate replaces path with what write produces, through a file
// created 0600 beside it and renamed over it, so that the file is never
// readable by others, not even for a moment, and never half written.
func writePrivate(path string, write func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	err = f.Chmod(0o600)
	if err == nil {
		err = write(f)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// maxShellLine is the longest line the plain reader and the history filter
// take: a statement with a 64 KiB PROPS object fits many times over.
const maxShellLine = 16 << 20

// plainLines reads statements from a pipe or a file, one a line, and keeps
// a history as liner does.
type plainLines struct {
	sc   *bufio.Scanner
	hist []string
}

func newPlainLines(r io.Reader) *plainLines {
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, maxShellLine)
	return &plainLines{sc: sc}
}

func (p *plainLines) Prompt(string) (string, error) {
	if p.sc.Scan() {
		return p.sc.Text(), nil
	}
	if err := p.sc.Err(); err != nil {
		return "", err
	}
	return "", io.EOF
}

func (p *plainLines) AppendHistory(item string) { p.hist = append(p.hist, item) }

func (p *plainLines) ReadHistory(r io.Reader) (int, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, maxShellLine)
	n := 0
	for sc.Scan() {
		p.hist = append(p.hist, sc.Text())
		n++
	}
	return n, sc.Err()
}

func (p *plainLines) WriteHistory(w io.Writer) (int, error) {
	for i, h := range p.hist {
		if _, err := io.WriteString(w, h+"\n"); err != nil {
			return i, err
		}
	}
	return len(p.hist), nil
}

func (p *plainLines) ClearHistory() { p.hist = nil }

func (p *plainLines) Close() error { return nil }
