package engine

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	"github.com/idgraph/idgraph/engine/internal/graph"
	"github.com/idgraph/idgraph/engine/internal/store"
)

// The erasure journal. Every FORGET records the salted hashes of the
// identifiers it erased (never the identifiers) in the same commit, and,
// once committed, appends the entry to the file erasures.journal in the
// backup directory (catching up at open and before each backup, should a
// crash have come in between). Restoring a backup replays the entries
// newer than the backup, so a restored store never brings back someone
// forgotten after the backup was taken.

// JournalFile is the name of the erasure journal in the backup directory.
const JournalFile = "erasures.journal"

type journalEntry struct {
	Seq      uint64   `json:"seq"`
	Time     int64    `json:"time"` // Unix ms of the FORGET
	Suppress bool     `json:"suppress,omitempty"`
	Hashes   []string `json:"hashes"` // hex of the salted SHA-256 of each erased identifier
}

func journalName(seq uint64) string { return fmt.Sprintf("%020d", seq) }

// journal records an erasure in the transaction.
func (a *applier) journal(seq uint64, now int64, suppress bool, hashes [][32]byte) {
	e := journalEntry{Seq: seq, Time: now, Suppress: suppress}
	for _, h := range hashes {
		e.Hashes = append(e.Hashes, hex.EncodeToString(h[:]))
	}
	b, _ := json.Marshal(&e)
	a.tx.PutNamed(store.NamedJournal, journalName(seq), b)
}

// syncJournal appends to the journal file every entry the store holds that
// the file lacks.
func (db *DB) syncJournal() error {
	if db.opts.BackupDir == "" || db.bst == nil {
		return nil
	}
	snap := db.st.View()
	all, err := snap.NamedAll(store.NamedJournal)
	snap.Close()
	if err != nil || len(all) == 0 {
		return err
	}
	path := filepath.Join(db.opts.BackupDir, JournalFile)
	have := uint64(0)
	if f, err := os.Open(path); err == nil {
		err := readJournal(f, func(e journalEntry) { have = max(have, e.Seq) })
		f.Close()
		if err != nil {
			return fmt.Errorf("read %s: %w", path, err)
		}
	}
	names := make([]string, 0, len(all))
	for n := range all {
		names = append(names, n)
	}
	sort.Strings(names)
	if err := os.MkdirAll(db.opts.BackupDir, 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	for _, n := range names {
		if seq, _ := strconv.ParseUint(n, 10, 64); seq > have {
			w.Write(all[n])
			w.WriteByte('\n')
		}
	}
	err = w.Flush()
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func readJournal(r io.Reader, f func(journalEntry)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var e journalEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return fmt.Errorf("a journal line is damaged: %w", err)
		}
		f(e)
	}
	return sc.Err()
}

// Restore loads a backup into the new, empty store opts describes and
// replays the erasures of journal (if not nil) that are newer than the
// backup: each identifier whose salted hash is listed is forgotten again
// (with SUPPRESS when the original was). It returns the number of
// identifiers forgotten by the replay.
func Restore(opts Options, backup, journal io.Reader) (int, error) {
	if !opts.InMemory {
		if entries, err := os.ReadDir(opts.Dir); err == nil && len(entries) > 0 {
			return 0, invalid(opts.Dir, "%s is not empty; restore only into an empty directory", opts.Dir)
		}
	}
	opts.ErasureDelay = -1
	db, err := Open(opts)
	if err != nil {
		return 0, err
	}
	if err := db.Restore(backup); err != nil {
		db.Close()
		return 0, err
	}
	if err := db.Close(); err != nil {
		return 0, err
	}
	if journal == nil {
		return 0, nil
	}
	if db, err = Open(opts); err != nil {
		return 0, err
	}
	n, err := db.replayJournal(journal)
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	return n, err
}

func (db *DB) replayJournal(r io.Reader) (int, error) {
	snap := db.st.View()
	meta, err := snap.Meta()
	if err != nil {
		snap.Close()
		return 0, err
	}
	// Every identifier of the store, by its salted hash.
	byHash := map[[32]byte]string{}
	err = snap.ScanIdents(func(typ, val string, _, _ uint32) error {
		byHash[db.suppressHash(graph.ID{Type: typ, Value: val})] = typ + ":" + val
		return nil
	})
	snap.Close()
	if err != nil {
		return 0, err
	}
	n := 0
	err = readJournal(r, func(e journalEntry) {
		if e.Seq <= meta.Seq || err != nil {
			return // the backup already holds this erasure
		}
		for _, hx := range e.Hashes {
			var h [32]byte
			if b, herr := hex.DecodeString(hx); herr == nil && len(b) == 32 {
				copy(h[:], b)
			}
			id, ok := byHash[h]
			if !ok {
				continue
			}
			if _, ferr := db.Forget(context.Background(), id, e.Suppress); ferr != nil && !errors.Is(ferr, ErrNotFound) {
				err = ferr
				return
			}
			n++
		}
	})
	return n, err
}
