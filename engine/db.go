package engine

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/idgraph/idgraph/engine/internal/graph"
	"github.com/idgraph/idgraph/engine/internal/store"
	"github.com/idgraph/idgraph/engine/internal/store/badgerstore"
	"github.com/idgraph/idgraph/engine/internal/store/memstore"
	"github.com/idgraph/idgraph/engine/internal/writer"
	"github.com/idgraph/idgraph/index"
)

// Backend selects the storage implementation.
type Backend uint8

const (
	// Badger keeps the store in Badger (on disk, or in memory with
	// InMemory). The default.
	Badger Backend = iota
	// Memory keeps every record in plain Go maps: slow, for tests. Close
	// loses everything.
	Memory
)

// Options configure a DB. Start from DefaultOptions and adjust; the zero
// value of every field is its documented default.
type Options struct {
	// Dir is the data directory; it is created if missing.
	Dir string
	// InMemory keeps a Badger store in memory (tests, benchmarks); Dir is
	// ignored.
	InMemory bool
	// Backend selects the store implementation (default Badger).
	Backend Backend
	// SyncWrites fsyncs every group commit. Without it an acknowledged
	// write survives a crash of the process (kill -9) but not of the machine.
	SyncWrites bool
	// Types are identifier types declared in addition to the built-in ones.
	Types []TypeSpec
	// Blocked are the junk values dropped from every call; nil means
	// DefaultBlocked().
	Blocked []string
	// AllowZeroIDs turns off blocking of values made only of '0' and '-'
	// and of placeholder phones.
	AllowZeroIDs bool
	// MaxIDs is the most identifiers one call may carry (default 32).
	MaxIDs int
	// MaxBatch is the most operations one group commit takes (default 2000).
	MaxBatch int
	// CacheBytes bounds the cache of decoded records that WHO and the
	// writer read (default 64 MiB; negative disables it).
	CacheBytes int64
	// MemTableBytes is the size of one of Badger's three memtables
	// (default 64 MiB).
	MemTableBytes int64
	// EncryptionKey, when set (16, 24 or 32 bytes), encrypts the data at rest.
	EncryptionKey []byte
	// Logger receives storage messages; nil discards them.
	Logger *slog.Logger
	// Now is the clock for writes without an explicit time (default time.Now).
	Now func() time.Time
	// DedupWindow is how long a Record's MessageID is remembered (default
	// 24 hours, as Segment's own de-duplication).
	DedupWindow time.Duration
	// ReadOnly opens the store for reading only (check, offline backup);
	// writes fail.
	ReadOnly bool
	// ErasureDelay is how long after a FORGET its values are compacted out
	// of the files while serving (default 2 minutes; FORGETs within it share
	// one erasure). Negative: only at Close.
	ErasureDelay time.Duration
	// Salt, when set, is the salt a new store is created with, for the
	// hashes of suppressed and erased identifiers (default: random). The
	// nodes of a cluster share one; an existing store must hold the same.
	Salt []byte
	// BackupDir is where BACKUP writes backups and where the erasure journal
	// (erasures.journal) is kept beside them. It must be outside Dir.
	// Default: Dir with "-backups" appended ("" for in-memory stores).
	BackupDir string
	// DiskReserve is the free space below which writes are refused with
	// ERR NOSPACE while reads go on (default 256 MiB; negative: no check).
	// A store opened with less free space than this opens read-only.
	DiskReserve int64
	// Watch decides saved segments' membership for the change feed
	// (query.Watcher{}); nil: until SetWatcher, the feed has no segment
	// entries.
	Watch Watcher
	// ChangesRetention is how long change feed entries are kept (default
	// 7 days).
	ChangesRetention time.Duration
	// ChangesTick is how often saved segments are evaluated at the clock,
	// for the entries the clock alone causes (default 30 seconds; at most
	// a minute is what SPEC.md asks).
	ChangesTick time.Duration
}

// DefaultOptions returns the options for a store in dir.
func DefaultOptions(dir string) Options {
	return Options{Dir: dir, MaxIDs: graph.MaxIDs, MaxBatch: 2000, CacheBytes: 64 << 20,
		Now: time.Now, DedupWindow: 24 * time.Hour, ErasureDelay: 2 * time.Minute, DiskReserve: 256 << 20,
		ChangesRetention: 7 * 24 * time.Hour, ChangesTick: 30 * time.Second}
}

// DB is an identity graph. All methods are safe for concurrent use.
//
// Writes are funnelled to one writer goroutine that applies them in group
// commits and acknowledges each after its commit; reads run on a snapshot
// of one committed generation and never wait for disk writes.
type DB struct {
	opts Options
	st   store.Store
	bst  *badgerstore.Store // nil for the memory backend
	idx  *index.Index
	w    *writer.Writer

	types atomic.Pointer[graph.Types] // readers' table; the writer's may be newer within a transaction
	bl    graph.Blocklist
	salt  []byte

	roPaths sync.Mutex // serialises RegisterPaths on a read-only store
	segMu   sync.RWMutex
	segs    map[string]string // saved segments, name → expression text
	comps   map[string]string // computed traits, name → definition text; replaced, never changed
	compsV  uint64            // counts the changes to comps
	// defsV counts the changes to the definitions readers use: types,
	// saved segments and computed traits (DefsVersion).
	defsV atomic.Uint64

	snapPath string
	restored bool // Restore replaced the store: Close must not save the index

	batches, ops atomic.Uint64

	erase     erasure
	eraseDone chan struct{}
	gcDone    chan struct{}
	quit      chan struct{} // closed by Close: background loops stop
	closed    atomic.Bool

	space space // free space on the data disk, for DiskReserve

	watcher  atomic.Pointer[Watcher]
	mirror   map[string]*roaring.Bitmap // segment → members last reported; the writer's
	feedMu   sync.Mutex
	feedWake chan struct{} // closed when entries are committed
	tickDone chan struct{}
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
	if opts.CacheBytes == 0 {
		opts.CacheBytes = def.CacheBytes
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.DedupWindow <= 0 {
		opts.DedupWindow = def.DedupWindow
	}
	if opts.ErasureDelay == 0 {
		opts.ErasureDelay = def.ErasureDelay
	}
	if opts.DiskReserve == 0 {
		opts.DiskReserve = def.DiskReserve
	}
	if opts.ChangesRetention <= 0 {
		opts.ChangesRetention = def.ChangesRetention
	}
	if opts.ChangesTick <= 0 {
		opts.ChangesTick = def.ChangesTick
	}
	if opts.Blocked == nil {
		opts.Blocked = DefaultBlocked()
	}
	if opts.BackupDir == "" && !opts.InMemory && opts.Backend != Memory && opts.Dir != "" {
		opts.BackupDir = filepath.Clean(opts.Dir) + "-backups"
	}
	if opts.BackupDir != "" && inside(opts.BackupDir, opts.Dir) {
		return nil, invalid(opts.BackupDir, "the backup directory %s is inside the data directory %s: backups must live elsewhere", opts.BackupDir, opts.Dir)
	}
	if n := len(opts.EncryptionKey); n != 0 && n != 16 && n != 24 && n != 32 {
		return nil, invalid("", "an encryption key is 16, 24 or 32 bytes, not %d", n)
	}
	db := &DB{opts: opts, bl: graph.NewBlocklist(opts.Blocked, opts.AllowZeroIDs),
		gcDone: make(chan struct{}), eraseDone: make(chan struct{}), quit: make(chan struct{}),
		feedWake: make(chan struct{}), tickDone: make(chan struct{})}
	if opts.Watch != nil {
		w := opts.Watch
		db.watcher.Store(&w)
	}
	db.erase.kick = make(chan struct{}, 1)
	switch opts.Backend {
	case Memory:
		db.st = memstore.New(memstore.Options{Salt: opts.Salt})
	default:
		if !opts.InMemory && opts.Dir == "" {
			return nil, invalid("", "no data directory given")
		}
		if !opts.InMemory {
			if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
				return nil, fmt.Errorf("create %s: %w", opts.Dir, err)
			}
		}
		if !opts.InMemory && !opts.ReadOnly && db.space.low(opts.Dir, opts.DiskReserve) {
			// Opening for writes creates memtable files; on a full disk
			// that crashes. Serve reads; writes get ERR NOSPACE.
			db.opts.ReadOnly, db.space.readOnly = true, true
			if opts.Logger != nil {
				opts.Logger.Warn("the data disk is nearly full: opened read-only; writes are refused until a restart with more free space",
					"free_bytes", db.space.free.Load(), "reserve_bytes", opts.DiskReserve)
			}
		}
		bs, err := badgerstore.Open(db.storeOptions())
		if err != nil {
			return nil, fmt.Errorf("open store %s: %w", opts.Dir, err)
		}
		db.st, db.bst = bs, bs
		// An encrypted store keeps no plaintext index snapshot beside it:
		// the index is rebuilt from the (encrypted) events on open.
		if !opts.InMemory && len(opts.EncryptionKey) == 0 {
			db.snapPath = opts.Dir + "/index.snapshot"
		}
	}
	if err := db.load(); err != nil {
		db.st.Close()
		return nil, err
	}
	if !db.opts.ReadOnly {
		db.w = writer.New(writer.Config{Store: db.st, Index: db.idx, MaxBatch: opts.MaxBatch,
			EndOp: db.endOp, BeforeCommit: db.beforeCommit, Pending: db.pendingPurge, OnError: db.logError})
		go db.tickLoop()
		if db.watch() != nil {
			db.tickNow() // what the clock changed while the store was closed
		}
	} else {
		close(db.tickDone)
	}
	go db.gcLoop()
	go db.erasureLoop()
	if !opts.InMemory && db.bst != nil && opts.DiskReserve > 0 {
		go db.space.watch(opts.Dir, opts.DiskReserve, db.quit)
	}
	if db.w != nil && db.Stats().ErasePending {
		db.scheduleErasure() // a FORGET's erasure that a crash interrupted
	}
	if db.w != nil {
		if err := db.syncJournal(); err != nil {
			db.logError(fmt.Errorf("erasure journal: %w", err))
		}
	}
	return db, nil
}

func (db *DB) storeOptions() badgerstore.Options {
	return badgerstore.Options{Dir: db.opts.Dir, InMemory: db.opts.InMemory, SyncWrites: db.opts.SyncWrites,
		EncryptionKey: db.opts.EncryptionKey, Logger: db.opts.Logger, CacheBytes: db.opts.CacheBytes,
		MemTableBytes: db.opts.MemTableBytes, ReadOnly: db.opts.ReadOnly, Salt: db.opts.Salt}
}

// load reads the salt, declared types and saved segments, and brings the
// index up: from its snapshot when that matches the store, else rebuilt
// from the records.
func (db *DB) load() error {
	snap := db.st.View()
	defer snap.Close()
	meta, err := snap.Meta()
	if err != nil {
		return fmt.Errorf("read store: %w", err)
	}
	db.salt = meta.Salt
	if len(db.opts.Salt) > 0 && !bytes.Equal(db.opts.Salt, meta.Salt) {
		return invalid("", "the store was created with another salt than Options.Salt")
	}
	declared, err := snap.NamedAll(store.NamedType)
	if err != nil {
		return fmt.Errorf("read store: %w", err)
	}
	specs := append(BuiltinTypes(), db.opts.Types...)
	for _, v := range declared {
		ts, err := decodeTypeSpec(v)
		if err != nil {
			return err
		}
		if !containsType(specs, ts.Name) {
			specs = append(specs, ts)
		}
	}
	tt, err := graph.NewTypes(specs)
	if err != nil {
		return err
	}
	db.types.Store(tt)
	segs, err := snap.NamedAll(store.NamedSegment)
	if err != nil {
		return fmt.Errorf("read store: %w", err)
	}
	comps, err := snap.NamedAll(store.NamedCompute)
	if err != nil {
		return err
	}
	texts := func(m map[string][]byte) map[string]string {
		out := make(map[string]string, len(m))
		for k, v := range m {
			out[k] = string(v)
		}
		return out
	}
	db.segMu.Lock()
	db.segs, db.comps = texts(segs), texts(comps)
	db.compsV++
	db.segMu.Unlock()
	if db.mirror, err = loadMirror(snap); err != nil {
		return err
	}
	idx, err := db.loadIndex(snap)
	if err != nil {
		return err
	}
	db.idx = idx
	return nil
}

// inside reports whether path is dir or lies under it.
func inside(path, dir string) bool {
	if dir == "" {
		return false
	}
	p, err1 := filepath.Abs(path)
	d, err2 := filepath.Abs(dir)
	if err1 != nil || err2 != nil {
		return false
	}
	rel, err := filepath.Rel(d, p)
	return err == nil && (rel == "." || !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && rel != "..")
}

func containsType(specs []TypeSpec, name string) bool {
	for _, s := range specs {
		if s.Name == name {
			return true
		}
	}
	return false
}

// Close stops accepting writes, finishes the queued ones, saves the index
// snapshot and closes the store. If a FORGET happened, the erased values
// are then compacted out of the files.
func (db *DB) Close() error {
	if db.closed.Swap(true) {
		return nil
	}
	close(db.quit)
	<-db.eraseDone
	<-db.tickDone
	if db.w != nil {
		db.w.Close()
	}
	<-db.gcDone
	var errs []error
	erase := false
	if !db.opts.ReadOnly {
		snap := db.st.View()
		meta, err := snap.Meta()
		snap.Close()
		if err != nil {
			errs = append(errs, err)
		}
		erase = meta.Erase
		if !db.restored {
			if err := db.saveIndex(); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if err := db.st.Close(); err != nil {
		errs = append(errs, err)
	}
	if erase && len(errs) == 0 && db.bst != nil && !db.opts.InMemory {
		if err := db.finishErasure(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Index returns the behavioural index the segment statements read. The
// writer updates it after each commit; callers only read it, through
// Index().View() to see one moment.
func (db *DB) Index() *index.Index { return db.idx }

// Gen returns the generation of the last commit.
func (db *DB) Gen() uint64 { return db.st.Gen() }

// DefsVersion counts the changes to the definitions that shape replies:
// declared types, saved segments and computed traits. It moves after a
// change is visible, so a reply built after reading it, from the
// definitions then, is stale once it moves (a definition is a commit too,
// but readers see it a moment after its generation).
func (db *DB) DefsVersion() uint64 { return db.defsV.Load() }

func (db *DB) logError(err error) {
	if db.opts.Logger != nil {
		db.opts.Logger.Error("engine maintenance", "err", err)
	}
}

// view runs f on one moment: an index view and a store snapshot of the
// same generation. Keep f short: the writer waits for open index views
// before it applies the next commit.
func (db *DB) view(f func(v *index.View, s store.Snapshot) error) error {
	v := db.idx.View()
	defer v.Close()
	s, err := db.st.ViewAt(v.Gen())
	if err != nil {
		return err
	}
	defer s.Close()
	return f(v, s)
}

// snapshot runs f on a snapshot of the latest generation (reads that do
// not need the index: TIMELINE, WHY).
func (db *DB) snapshot(f func(s store.Snapshot) error) error {
	s := db.st.View()
	defer s.Close()
	return f(s)
}
