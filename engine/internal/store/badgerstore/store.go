// Package badgerstore keeps the engine's records in Badger (managed mode:
// the store chooses every commit's version, so a snapshot of generation g
// reads exactly the commits up to g). Keys and codecs are in keys.go and
// codec.go; decoded records are cached per generation (cache.go).
package badgerstore

import (
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"sync"
	"sync/atomic"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
	"github.com/dgraph-io/badger/v4/skl"
	"github.com/idgraph/idgraph/engine/internal/store"
)

// Options configure a Store. The zero value of each field is its default.
type Options struct {
	Dir        string
	InMemory   bool
	SyncWrites bool
	// EncryptionKey (16, 24 or 32 bytes) encrypts tables and logs at rest.
	EncryptionKey []byte
	Logger        *slog.Logger
	// CacheBytes bounds the decoded-record cache (default 64 MiB; negative
	// disables it).
	CacheBytes int64
	// MemTableBytes is the size of one memtable (default 64 MiB).
	MemTableBytes int64
	// BlockCacheBytes bounds Badger's block cache (default 64 MiB).
	BlockCacheBytes int64
	// ReadOnly opens the store for reading only (check, backup of a stopped
	// store); Begin then panics.
	ReadOnly bool
	// Salt, when set, is the salt a new store is created with (the nodes of
	// a cluster share one); an existing store must hold the same.
	Salt []byte
}

// Store is the Badger implementation of store.Store.
type Store struct {
	opts  Options
	db    *badger.DB
	gen   atomic.Uint64 // latest committed generation
	cache *cache

	pinMu sync.Mutex
	pins  map[uint64]int // generations readers hold

	open atomic.Bool // a Txn is open

	suppressions atomic.Int64 // suppressed hashes written (at least the number stored)

	written [256]atomic.Uint64 // keys written since open, by prefix
}

var _ store.Store = (*Store)(nil)

func (o Options) badger() badger.Options {
	mem := o.MemTableBytes
	if mem <= 0 {
		mem = 64 << 20
	}
	bc := o.BlockCacheBytes
	if bc <= 0 {
		bc = 64 << 20
	}
	bo := badger.DefaultOptions(o.Dir).
		WithInMemory(o.InMemory).
		WithSyncWrites(o.SyncWrites).
		WithNumVersionsToKeep(1).
		WithDetectConflicts(false).
		WithLogger(logger{o.Logger}).
		WithMetricsEnabled(false).
		WithCompactL0OnClose(true).
		WithReadOnly(o.ReadOnly).
		// Checksums of every block read are verified, so a flipped byte in
		// a table is reported instead of read as data.
		WithChecksumVerificationMode(options.OnBlockRead).
		// Memory: three memtables, a bounded block cache and two
		// compactors (Badger's defaults are five, 256 MiB and four): on two
		// cores more compactors only compete with the writer, and each
		// holds table-building buffers.
		WithMemTableSize(mem).
		WithNumMemtables(3).
		WithBlockCacheSize(bc).
		WithNumCompactors(2)
	if maxBatch := mem * 15 / 100; maxBatch < bo.ValueThreshold {
		// Small memtables (tests) take small transactions: values past
		// half of one go to the value log.
		bo = bo.WithValueThreshold(maxBatch / 2)
	}
	if o.InMemory {
		bo.Dir, bo.ValueDir = "", ""
	}
	if len(o.EncryptionKey) > 0 {
		bo = bo.WithEncryptionKey(o.EncryptionKey).WithIndexCacheSize(64 << 20)
	}
	return bo
}

// Open opens (creating if needed) a store.
func Open(o Options) (*Store, error) {
	if !o.InMemory {
		if o.Dir == "" {
			return nil, errors.New("no data directory given")
		}
		if err := os.MkdirAll(o.Dir, 0o700); err != nil {
			return nil, fmt.Errorf("create %s: %w", o.Dir, err)
		}
	}
	db, err := badger.OpenManaged(o.badger())
	if err != nil {
		return nil, err
	}
	max := o.CacheBytes
	if max == 0 {
		max = 64 << 20
	}
	s := &Store{opts: o, db: db, cache: newCache(max), pins: map[uint64]int{}}
	gen, err := s.readGen()
	if err != nil {
		db.Close()
		return nil, err
	}
	if gen == 0 && !o.ReadOnly {
		// A new store: the first commit writes the meta record with a salt
		// for suppression hashes.
		salt := o.Salt
		if len(salt) == 0 {
			salt = make([]byte, 16)
			if _, err := rand.Read(salt); err != nil {
				db.Close()
				return nil, err
			}
		}
		txn := db.NewTransactionAt(0, true)
		defer txn.Discard()
		if err := txn.Set(metaKey, encodeMeta(store.Meta{Salt: salt}, 1)); err != nil {
			db.Close()
			return nil, err
		}
		if err := txn.CommitAt(1, nil); err != nil {
			db.Close()
			return nil, err
		}
		gen = 1
	}
	s.gen.Store(gen)
	s.cache.reset(gen)
	if err := s.countSuppressions(); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// countSuppressions counts the suppressed hashes stored.
func (s *Store) countSuppressions() error {
	txn := s.db.NewTransactionAt(math.MaxUint64, false)
	defer txn.Discard()
	it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{pSuppr}})
	defer it.Close()
	n := int64(0)
	for it.Rewind(); it.Valid(); it.Next() {
		n++
	}
	s.suppressions.Store(n)
	return nil
}

// readGen reads the generation of the last commit from the meta record.
func (s *Store) readGen() (uint64, error) {
	txn := s.db.NewTransactionAt(math.MaxUint64, false)
	defer txn.Discard()
	item, err := txn.Get(metaKey)
	if errors.Is(err, badger.ErrKeyNotFound) {
		it := txn.NewIterator(badger.IteratorOptions{})
		defer it.Close()
		if it.Rewind(); it.Valid() {
			return 0, errors.New("the data directory holds data but no idgraph meta record: it is not an idgraph store of this version")
		}
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var gen uint64
	err = item.Value(func(v []byte) error {
		_, g, err := decodeMeta(v)
		gen = g
		return err
	})
	return gen, err
}

// Gen returns the latest committed generation.
func (s *Store) Gen() uint64 { return s.gen.Load() }

// Limits returns Badger's transaction bounds: it refuses a transaction
// past 15% of a memtable or that many skiplist nodes. The hard limits keep
// a margin for the estimates' error.
func (s *Store) Limits() store.Limits {
	mem := s.opts.MemTableBytes
	if mem <= 0 {
		mem = 64 << 20
	}
	maxBytes := int(mem * 15 / 100)
	maxCount := maxBytes / int(skl.MaxNodeSize)
	return store.Limits{
		SoftEntries: min(20000, maxCount/4), SoftBytes: min(4<<20, maxBytes/2),
		HardEntries: maxCount * 3 / 4, HardBytes: maxBytes * 3 / 4,
	}
}

// pin registers a reader of generation gen.
func (s *Store) pin(gen uint64) func() {
	s.pinMu.Lock()
	s.pins[gen]++
	s.pinMu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.pinMu.Lock()
			if s.pins[gen]--; s.pins[gen] <= 0 {
				delete(s.pins, gen)
			}
			s.pinMu.Unlock()
		})
	}
}

// Pin keeps generation gen readable until the returned function is called.
func (s *Store) Pin(gen uint64) func() { return s.pin(gen) }

// floor is the oldest generation a reader may still ask for: the oldest
// pinned, and never newer than the one before the latest (a reader that
// took its generation from the index, which lags the store by at most one
// commit, may not have pinned it yet).
func (s *Store) floor() uint64 {
	s.pinMu.Lock()
	defer s.pinMu.Unlock()
	f := s.gen.Load()
	if f > 0 {
		f--
	}
	for g := range s.pins {
		f = min(f, g)
	}
	return f
}

// View opens a snapshot of the latest generation.
func (s *Store) View() store.Snapshot { return s.latest(true) }

// AheadView opens a snapshot of the latest generation whose reads go to
// the cache's cold tier, as the writer's own do.
func (s *Store) AheadView() store.Snapshot { return s.latest(false) }

func (s *Store) latest(hot bool) store.Snapshot {
	s.pinMu.Lock()
	gen := s.gen.Load()
	s.pins[gen]++
	s.pinMu.Unlock()
	return s.newSnapshot(gen, hot, func() {
		s.pinMu.Lock()
		if s.pins[gen]--; s.pins[gen] <= 0 {
			delete(s.pins, gen)
		}
		s.pinMu.Unlock()
	})
}

// ViewAt opens a snapshot of generation gen.
func (s *Store) ViewAt(gen uint64) (store.Snapshot, error) {
	if gen > s.gen.Load() {
		return nil, fmt.Errorf("generation %d is not committed yet (latest %d)", gen, s.gen.Load())
	}
	release := s.pin(gen)
	return s.newSnapshot(gen, true, release), nil
}

// Begin opens the writer's transaction.
func (s *Store) Begin() store.Txn {
	if s.opts.ReadOnly {
		panic("badgerstore: Begin on a read-only store")
	}
	if !s.open.CompareAndSwap(false, true) {
		panic("badgerstore: a transaction is already open")
	}
	return newTxn(s)
}

// Discard drops an open transaction.
func (s *Store) Discard(t store.Txn) {
	tx := t.(*txn)
	tx.close()
	s.open.Store(false)
}

// Commit writes the transaction as the next generation.
func (s *Store) Commit(t store.Txn) (uint64, error) {
	tx := t.(*txn)
	defer func() {
		tx.close()
		s.open.Store(false)
	}()
	gen := tx.base + 1
	bt := s.db.NewTransactionAt(tx.base, true)
	defer bt.Discard()
	if err := tx.write(bt, gen); err != nil {
		if errors.Is(err, badger.ErrTxnTooBig) {
			return 0, store.ErrTxnFull
		}
		return 0, err
	}
	if err := bt.CommitAt(gen, nil); err != nil {
		if errors.Is(err, badger.ErrTxnTooBig) {
			return 0, store.ErrTxnFull
		}
		return 0, err
	}
	tx.publish(gen)
	s.gen.Store(gen)
	s.db.SetDiscardTs(s.floor())
	return gen, nil
}

// Close closes the store.
func (s *Store) Close() error { return s.db.Close() }

// Size returns the bytes of the LSM tree and of the value log.
func (s *Store) Size() (lsm, vlog int64) { return s.db.Size() }

// KeysWritten returns the keys written (set or deleted) since open, in all
// and by the name of their kind (see keys.go).
func (s *Store) KeysWritten() (uint64, map[string]uint64) {
	names := map[byte]string{pIdent: "identifier", pNode: "node", pFacts: "facts", pProfile: "profile",
		pPFacts: "profile facts", pRecord: "record", pPartner: "partner", pSuppr: "suppressed",
		pMessage: "message", pMeta: "meta", byte(store.BlobChange): "change", byte(store.BlobWatch): "watch"}
	by := map[string]uint64{}
	var total uint64
	for p := range s.written {
		if n := s.written[p].Load(); n > 0 {
			total += n
			name := names[byte(p)]
			if name == "" {
				name = "named " + string(rune(p))
			}
			by[name] += n
		}
	}
	return total, by
}

// CacheStats returns the decoded-record cache's figures.
func (s *Store) CacheStats() CacheStats { return s.cache.stats() }

type logger struct{ l *slog.Logger }

func (b logger) Errorf(f string, a ...any) {
	if b.l != nil {
		b.l.Error(fmt.Sprintf(f, a...), "component", "badger")
	}
}
func (b logger) Warningf(f string, a ...any) {
	if b.l != nil {
		b.l.Warn(fmt.Sprintf(f, a...), "component", "badger")
	}
}
func (b logger) Infof(string, ...any)  {}
func (b logger) Debugf(string, ...any) {}
