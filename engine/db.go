package engine

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/idgraph/idgraph/index"
	"github.com/vmihailenco/msgpack/v5"
)

// Options configure a DB. Start from DefaultOptions and adjust.
type Options struct {
	// Dir is the data directory; it is created if missing.
	Dir string
	// InMemory keeps everything in memory (tests, benchmarks); Dir is ignored.
	InMemory bool
	// SyncWrites fsyncs every group commit. Without it an acknowledged
	// write survives a crash of the process (kill -9) but not of the machine.
	SyncWrites bool
	// Types are identifier types declared in addition to the built-in ones.
	Types []TypeSpec
	// Blocked are the junk values dropped from every call; nil means
	// DefaultBlocked(). Compared case-insensitively after normalisation.
	Blocked []string
	// AllowZeroIDs turns off blocking of values made only of '0' and '-'.
	AllowZeroIDs bool
	// MaxIDs is the most identifiers one call may carry (default 32).
	MaxIDs int
	// MaxBatch is the most operations one group commit applies (default 2000).
	MaxBatch int
	// ReadCacheSize bounds the profiles kept decoded for WHO (default
	// 200,000; negative disables the cache).
	ReadCacheSize int
	// CacheSize bounds the writer's cache: identifiers, nodes and profiles,
	// each (default 500,000); past it the cache is emptied after a commit.
	CacheSize int
	// EncryptionKey, when set (16, 24 or 32 bytes), encrypts the data at rest.
	EncryptionKey []byte
	// Logger receives storage messages; nil discards them.
	Logger *slog.Logger
	// Now is the clock for writes without an explicit time (default time.Now).
	Now func() time.Time
	// DedupWindow is how long a Record's MessageID is remembered (default
	// 24 hours, as Segment's own de-duplication).
	DedupWindow time.Duration
}

// DefaultOptions returns the options for a store in dir.
func DefaultOptions(dir string) Options {
	return Options{Dir: dir, MaxIDs: 32, MaxBatch: 2000, CacheSize: 500_000, ReadCacheSize: 200_000, Now: time.Now,
		DedupWindow: 24 * time.Hour}
}

// DB is an identity graph. All methods are safe for concurrent use: writes
// are funnelled to one writer goroutine that applies them in group commits
// (one Badger transaction per batch) and acknowledges each after its batch
// commits; reads run on Badger snapshots and never wait for the writer.
type DB struct {
	opts  Options
	bdb   *badger.DB
	types atomic.Pointer[typeTable]
	bl    blocklist
	idx   *index.Index

	reqs     chan *request
	quit     chan struct{}
	done     chan struct{}
	closeMu  sync.RWMutex // held for reading while submitting; Close takes it to stop submissions
	closed   bool
	gcKick   chan struct{}
	gcDone   chan struct{}
	stats    stats
	snapPath string

	restored bool // Restore replaced the store: Close must not save the index

	segMu sync.RWMutex
	segs  map[string]string // saved segments; the writer updates it after commit

	supprMu sync.RWMutex
	suppr   map[[32]byte]bool // suppressed identifiers' salted hashes

	w      *writer // owned by the writer goroutine after Open returns
	pcache *profileCache
}

type stats struct {
	batches, ops atomic.Uint64
	keys         atomic.Uint64      // keys written (set or deleted)
	keysBy       [256]atomic.Uint64 // keys set, by prefix
}

// Open opens (creating if needed) the store in opts.Dir.
func Open(opts Options) (*DB, error) {
	def := DefaultOptions(opts.Dir)
	if opts.MaxIDs <= 0 {
		opts.MaxIDs = def.MaxIDs
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = def.MaxBatch
	}
	if opts.CacheSize <= 0 {
		opts.CacheSize = def.CacheSize
	}
	if opts.ReadCacheSize == 0 {
		opts.ReadCacheSize = def.ReadCacheSize
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.DedupWindow <= 0 {
		opts.DedupWindow = def.DedupWindow
	}
	if opts.Blocked == nil {
		opts.Blocked = DefaultBlocked()
	}
	if !opts.InMemory {
		if opts.Dir == "" {
			return nil, invalid("no data directory given")
		}
		if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
			return nil, fmt.Errorf("create %s: %w", opts.Dir, err)
		}
	}
	db0 := &DB{opts: opts}
	bo := db0.badgerOptions()
	bdb, err := badger.Open(bo)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", opts.Dir, err)
	}
	return openDB(opts, bdb)
}

func (db *DB) badgerOptions() badger.Options {
	opts := db.opts
	bo := badger.DefaultOptions(opts.Dir).
		WithInMemory(opts.InMemory).
		WithSyncWrites(opts.SyncWrites).
		WithNumVersionsToKeep(1).
		WithDetectConflicts(false).
		WithLogger(badgerLogger{opts.Logger}).
		WithMetricsEnabled(false).
		WithCompactL0OnClose(true).
		// Memory: three 64 MiB memtables, a 64 MiB block cache and two
		// compactors (Badger's defaults are five, 256 MiB and four) — on two
		// cores more compactors only compete with the writer, and each
		// holds table-building buffers.
		WithNumMemtables(3).
		WithBlockCacheSize(64 << 20).
		WithNumCompactors(2)
	if opts.InMemory {
		bo.Dir, bo.ValueDir = "", ""
	}
	if len(opts.EncryptionKey) > 0 {
		bo = bo.WithEncryptionKey(opts.EncryptionKey).WithIndexCacheSize(64 << 20)
	}
	return bo
}

func openDB(opts Options, bdb *badger.DB) (*DB, error) {
	db := &DB{
		opts:   opts,
		bdb:    bdb,
		bl:     newBlocklist(opts.Blocked, opts.AllowZeroIDs),
		reqs:   make(chan *request, 1024),
		quit:   make(chan struct{}),
		done:   make(chan struct{}),
		gcKick: make(chan struct{}, 1),
		gcDone: make(chan struct{}),
		suppr:  map[[32]byte]bool{},
		pcache: newProfileCache(opts.ReadCacheSize),
	}
	// An encrypted store keeps no plaintext index snapshot beside it: the
	// index is rebuilt from the (encrypted) events on open instead.
	if !opts.InMemory && len(opts.EncryptionKey) == 0 {
		db.snapPath = opts.Dir + "/index.snapshot"
	}
	if err := db.load(); err != nil {
		bdb.Close()
		return nil, err
	}
	go db.run()
	go db.gcLoop()
	return db, nil
}

// load reads the meta record and declared types and brings the index up:
// from its snapshot when that matches the store, else rebuilt from events.
func (db *DB) load() error {
	var meta metaRec
	var declared []TypeSpec
	err := db.bdb.View(func(txn *badger.Txn) error {
		if err := getMsg(txn, metaKey, &meta); err != nil && !errors.Is(err, badger.ErrKeyNotFound) {
			return err
		}
		if err := db.loadSegments(txn); err != nil {
			return err
		}
		sit := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{pSuppr}})
		for sit.Rewind(); sit.Valid(); sit.Next() {
			var h [32]byte
			copy(h[:], sit.Item().Key()[1:])
			db.suppr[h] = true
		}
		sit.Close()
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{pType}, PrefetchValues: true})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			var ts TypeSpec
			if err := it.Item().Value(func(v []byte) error { return msgpack.Unmarshal(v, &ts) }); err != nil {
				return err
			}
			declared = append(declared, ts)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("read store: %w", err)
	}
	specs := append(BuiltinTypes(), db.opts.Types...)
	for _, d := range declared {
		if !containsType(specs, d.Name) {
			specs = append(specs, d)
		}
	}
	tt, err := newTypeTable(specs)
	if err != nil {
		return err
	}
	db.types.Store(tt)
	if len(meta.Salt) == 0 {
		meta.Salt = make([]byte, 16)
		if _, err := rand.Read(meta.Salt); err != nil {
			return err
		}
		if err := db.bdb.Update(func(txn *badger.Txn) error { return setMsg(txn, metaKey, &meta) }); err != nil {
			return fmt.Errorf("write store: %w", err)
		}
	}
	// A FORGET whose event purge a crash interrupted is finished first.
	if err := db.purge(&meta); err != nil {
		return err
	}
	db.w = newWriter(db, meta)
	idx, err := db.loadIndex(meta.Gen)
	if err != nil {
		return err
	}
	db.idx = idx
	return nil
}

func removeFile(path string) { os.Remove(path) }

func (db *DB) logPurgeError(err error) {
	if db.opts.Logger != nil {
		db.opts.Logger.Error("purging forgotten events; the next open retries", "err", err)
	}
}

func containsType(specs []TypeSpec, name string) bool {
	for _, s := range specs {
		if s.Name == name {
			return true
		}
	}
	return false
}

// compactErased runs after a FORGET, on the closed store: reopened, every
// level is compacted into one, which drops deleted keys and superseded
// versions, then the value log is garbage-collected. Only then are erased
// values gone from the files (SPEC.md §5).
func (db *DB) compactErased() error {
	bdb, err := badger.Open(db.badgerOptions())
	if err != nil {
		return err
	}
	err = bdb.Flatten(1)
	for err == nil {
		if gcErr := bdb.RunValueLogGC(0.01); gcErr != nil {
			break
		}
	}
	if err == nil {
		err = bdb.Update(func(txn *badger.Txn) error {
			var meta metaRec
			if err := getMsg(txn, metaKey, &meta); err != nil {
				return err
			}
			meta.Erase = false
			return setMsg(txn, metaKey, &meta)
		})
	}
	if cerr := bdb.Close(); err == nil {
		err = cerr
	}
	return err
}

// Close stops accepting writes, finishes the queued ones, saves the index
// snapshot and closes the store.
func (db *DB) Close() error {
	db.closeMu.Lock()
	if db.closed {
		db.closeMu.Unlock()
		return nil
	}
	db.closed = true
	db.closeMu.Unlock()
	close(db.quit)
	<-db.done
	close(db.gcKick)
	<-db.gcDone
	var errs []error
	if !db.restored {
		if err := db.saveIndex(); err != nil {
			errs = append(errs, err)
		}
	}
	erase := db.w.meta.Erase
	if err := db.bdb.Close(); err != nil {
		errs = append(errs, err)
	}
	if erase && len(errs) == 0 && !db.opts.InMemory {
		if err := db.compactErased(); err != nil {
			errs = append(errs, fmt.Errorf("erase forgotten values: %w", err))
		}
	}
	return errors.Join(errs...)
}

// Index returns the behavioural index the segment statements read. It is
// updated by the writer after each commit; callers only read it.
func (db *DB) Index() *index.Index { return db.idx }

// Types returns the identifier types, by priority.
func (db *DB) Types() []TypeSpec { return db.types.Load().sorted() }

// submit hands ops to the writer and waits for their batch to commit.
func (db *DB) submit(ctx context.Context, ops []op) ([]Result, []error, error) {
	db.closeMu.RLock()
	if db.closed {
		db.closeMu.RUnlock()
		return nil, nil, ErrClosed
	}
	r := &request{ops: ops, res: make([]Result, len(ops)), errs: make([]error, len(ops)), done: make(chan struct{})}
	select {
	case db.reqs <- r:
	case <-ctx.Done():
		db.closeMu.RUnlock()
		return nil, nil, ctx.Err()
	}
	db.closeMu.RUnlock()
	// Once queued, the write happens; wait for it even if ctx ends, so the
	// caller never mistakes an applied write for a failed one.
	<-r.done
	return r.res, r.errs, r.err
}

func (db *DB) submitOne(ctx context.Context, o op) (Result, error) {
	res, errs, err := db.submit(ctx, []op{o})
	if err != nil {
		return Result{}, err
	}
	return res[0], errs[0]
}

type badgerLogger struct{ l *slog.Logger }

func (b badgerLogger) Errorf(f string, a ...any) {
	if b.l != nil {
		b.l.Error(fmt.Sprintf(f, a...), "component", "badger")
	}
}
func (b badgerLogger) Warningf(f string, a ...any) {
	if b.l != nil {
		b.l.Warn(fmt.Sprintf(f, a...), "component", "badger")
	}
}
func (b badgerLogger) Infof(string, ...any)  {}
func (b badgerLogger) Debugf(string, ...any) {}

func getMsg(txn *badger.Txn, key []byte, v any) error {
	item, err := txn.Get(key)
	if err != nil {
		return err
	}
	return item.Value(func(b []byte) error { return msgpack.Unmarshal(b, v) })
}

func setMsg(txn *badger.Txn, key []byte, v any) error {
	b, err := msgpack.Marshal(v)
	if err != nil {
		return err
	}
	return txn.Set(key, b)
}
