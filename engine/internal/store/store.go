// Package store is the engine's storage seam: typed records (nodes,
// profiles, facts, link records and events, partners, meta) behind three
// interfaces, Store, Snapshot and Txn. Encoding, keys, caches and the
// storage engine are an implementation's business: badgerstore keeps them
// in Badger, memstore in maps (for tests, and as the second opinion of the
// metamorphic test).
//
// # Generations
//
// Every commit gets the next generation number (1, 2, ...). A Snapshot
// reads the store exactly as it was after the commit of its generation, and
// keeps reading that moment however many commits follow, so a reader that
// pins one generation for its store snapshot and its index view sees one
// moment. Only one Txn is open at a time (the engine has a single writer);
// it reads the latest generation plus its own writes.
//
// # Ownership
//
// Records a Snapshot returns are shared and must not be changed. Records a
// Txn returns are the caller's copies: change them and Put them back; a
// change without a Put is lost.
package store

import (
	"errors"
	"iter"
	"time"

	"github.com/idgraph/idgraph/engine/internal/graph"
)

// Errors callers branch on.
var (
	// ErrNotFound: the record does not exist.
	ErrNotFound = errors.New("store: not found")
	// ErrTxnFull: the transaction holds more than the store can commit at
	// once. The writer commits what came before and retries the operation
	// alone.
	ErrTxnFull = errors.New("store: transaction too large")
	// ErrCorrupt: a stored record cannot be decoded.
	ErrCorrupt = errors.New("store: corrupt record")
)

// Node is an identifier: its type, its normalised value and the profile
// that holds it.
type Node struct {
	Type, Value string
	Profile     uint32
}

// ID renders the identifier as "type:value".
func (n *Node) ID() string { return n.Type + ":" + n.Value }

// Member is one identifier of a profile.
type Member struct {
	Node uint32
	ID   string // "type:value"
}

// Profile is a customer profile, or (Into != 0) the forwarding pointer a
// merged-away profile leaves behind, with nothing else set.
type Profile struct {
	Into    uint32
	Created int64 // Unix ms
	Members []Member
	graph.Summary
}

// Clone returns a deep copy.
func (p *Profile) Clone() *Profile {
	c := &Profile{Into: p.Into, Created: p.Created, Summary: p.Summary.Clone()}
	if p.Members != nil {
		c.Members = append(make([]Member, 0, len(p.Members)+1), p.Members...)
	}
	return c
}

// RecordKey locates a link record: records are kept under their anchor, in
// time order, and Seq (the arrival order) makes each key unique.
type RecordKey struct {
	Anchor uint32
	Time   int64 // Unix ms
	Seq    uint64
}

// Less orders keys as the store does: by anchor, time, seq.
func (k RecordKey) Less(o RecordKey) bool {
	if k.Anchor != o.Anchor {
		return k.Anchor < o.Anchor
	}
	if k.Time != o.Time {
		return k.Time < o.Time
	}
	return k.Seq < o.Seq
}

// Record is what one TRACK (an event) or MERGE showed: the identifiers seen
// together, kept under the anchor (the first by priority). Its link sets
// are the record of truth that profiles are a replay of.
type Record struct {
	RecordKey
	Event  bool // false: a MERGE, which links and never counts as an event
	Name   string
	Source string
	// IDs are the identifiers the call carried, anchor first, in
	// resolution order; FORGET removes erased ones.
	IDs []uint32
	// Sets are the link sets: one set (the IDs) when the call carried two
	// or more identifiers, none otherwise; UNLINK and FORGET split and
	// shrink them. Rules holds, aligned with Sets, the decision of the last
	// resolution for each member ("" linked; see graph.Decision).
	Sets  [][]uint32
	Rules [][]string
	Props []byte // a compact JSON object, or nil
}

// Linked reports whether the record links anything.
func (r *Record) Linked() bool { return len(r.Sets) > 0 }

// Holds reports whether n is in one of the link sets.
func (r *Record) Holds(n uint32) bool {
	for _, s := range r.Sets {
		for _, m := range s {
			if m == n {
				return true
			}
		}
	}
	return false
}

// Clone returns a deep copy.
func (r *Record) Clone() *Record {
	c := *r
	c.IDs = append([]uint32(nil), r.IDs...)
	c.Sets = make([][]uint32, len(r.Sets))
	for i, s := range r.Sets {
		c.Sets[i] = append([]uint32(nil), s...)
	}
	c.Rules = make([][]string, len(r.Rules))
	for i, s := range r.Rules {
		c.Rules[i] = append([]string(nil), s...)
	}
	c.Props = append([]byte(nil), r.Props...)
	if len(r.Props) == 0 {
		c.Props = nil
	}
	if len(r.Sets) == 0 {
		c.Sets, c.Rules = nil, nil
	}
	return &c
}

// Meta holds the engine's counters and store-wide settings.
type Meta struct {
	Node    uint32 // last node id allocated
	Profile uint32 // last profile id allocated
	Seq     uint64 // last arrival seq allocated
	Salt    []byte // for the hashes of suppressed identifiers
	// Erase is set by FORGET and cleared once erased values have been
	// compacted out of the files; EraseSeq is the seq of the last FORGET,
	// so an erasure that started before it does not clear Erase.
	Erase    bool
	EraseSeq uint64
	// Purge lists forgotten nodes whose events are still to be deleted.
	Purge []uint32
	// ChangeFirst is the cursor of the oldest change feed entry kept (0:
	// none was ever written), ChangeLast that of the latest.
	ChangeFirst, ChangeLast uint64
}

// Clone returns a deep copy.
func (m Meta) Clone() Meta {
	m.Salt = append([]byte(nil), m.Salt...)
	m.Purge = append([]uint32(nil), m.Purge...)
	return m
}

// Range selects link records of one anchor.
type Range struct {
	// From and To bound the keys (inclusive); nil means open.
	From, To *RecordKey
	// Reverse iterates newest first.
	Reverse bool
	// EventsOnly skips MERGE records; LinkedOnly skips records that link
	// nothing. Both are decided from the key, without reading values.
	EventsOnly, LinkedOnly bool
	// KeysOnly fills only the key, Event and (as a non-nil empty Sets)
	// whether the record is linked; cheap when values are not needed.
	KeysOnly bool
}

// Named is a kind of small named record (saved segments, declared types,
// computed traits): a few of them, read whole at open.
type Named byte

// The kinds of named records.
const (
	NamedSegment Named = 'S'
	NamedType    Named = 'T'
	NamedCompute Named = 'C'
	NamedJournal Named = 'J' // the erasure journal (hashes only)
	NamedPaths   Named = 'P' // event property paths the index keeps
	NamedCursor  Named = 'K' // feed cursors consumers acknowledged (webhooks)
	// NamedFlush marks a pending erasure: the store may use it to find
	// what must leave its write-ahead files (badgerstore flushes its
	// memtables by dropping it).
	NamedFlush Named = 'z'
)

// Blob is a kind of ordered binary record the engine keeps for itself:
// the change feed's entries, by cursor, and the saved segments' members as
// the feed last reported them.
type Blob byte

// The kinds of Blob.
const (
	BlobChange Blob = 'f' // key: cursor (8 bytes, big-endian)
	BlobWatch  Blob = 'w' // key: segment name, 0, high 16 bits of profile ids
)

// Reader is what a Snapshot and a Txn can read.
type Reader interface {
	// Gen is the generation read: a Snapshot's pinned one, or for a Txn
	// the generation it builds on.
	Gen() uint64
	Meta() (Meta, error)
	// Ident returns an identifier's node and the profile that holds it.
	Ident(typ, value string) (node, profile uint32, err error)
	Node(n uint32) (*Node, error)
	Profile(p uint32) (*Profile, error)
	// Facts returns what was said of node n (empty when nothing).
	Facts(n uint32) (graph.Facts, error)
	Record(k RecordKey) (*Record, error)
	// Records iterates the records anchored on a node, in key order.
	Records(anchor uint32, r Range) iter.Seq2[*Record, error]
	// Partners lists, ascending, the anchors of records whose link sets
	// hold n (n itself excluded).
	Partners(n uint32) ([]uint32, error)
	// HasPartner reports whether a record anchored on a holds n.
	HasPartner(n, a uint32) (bool, error)
	// Suppressed reports a hash recorded by Suppress.
	Suppressed(h [32]byte) (bool, error)
	// MaySuppress is false when no hash was ever recorded by Suppress, so
	// that callers can skip hashing identifiers at all.
	MaySuppress() bool
	// Message returns until when a message id is remembered.
	Message(id string) (until int64, ok bool, err error)
	// NamedAll returns every named record of a kind.
	NamedAll(kind Named) (map[string][]byte, error)
	// Blobs calls f with the blobs of a kind whose keys are at least from,
	// in key order, until f returns false. Whether a Txn sees its own blob
	// writes is left open (the engine never reads one it has pending). f
	// must not keep key or value.
	Blobs(kind Blob, from []byte, f func(key, value []byte) bool) error
}

// Snapshot is a read-only view of one generation. Close it when done.
type Snapshot interface {
	Reader
	Scanner
	Close()
}

// Scanner reads whole record kinds, in key order (ids ascending), for the
// index rebuild, `check` and operators' statements. An error returned by f
// stops the scan and is returned.
type Scanner interface {
	ScanIdents(f func(typ, value string, node, profile uint32) error) error
	ScanNodes(f func(n uint32, node *Node) error) error
	ScanProfiles(f func(p uint32, pr *Profile) error) error
	ScanFacts(f func(n uint32, facts graph.Facts) error) error
	ScanRecords(f func(r *Record) error) error
	ScanPartners(f func(n, anchor uint32) error) error
}

// Txn is the open transaction of the single writer. Writes are buffered
// and visible to its own reads; Commit makes them durable and visible to
// snapshots of the next generation together.
type Txn interface {
	Reader
	PutMeta(Meta)
	// PutNode stores a node and keeps its identifier key in step.
	PutNode(n uint32, node *Node)
	// DeleteNode deletes a node and its identifier key.
	DeleteNode(n uint32)
	PutProfile(p uint32, pr *Profile)
	DeleteProfile(p uint32)
	// PutFacts stores what was said of a node; empty facts delete them.
	PutFacts(n uint32, f graph.Facts)
	PutRecord(r *Record)
	DeleteRecord(k RecordKey)
	AddPartner(n, a uint32)
	DeletePartner(n, a uint32)
	Suppress(h [32]byte)
	// PutMessage remembers a message id until the given time; the store
	// may forget it after ttl.
	PutMessage(id string, until int64, ttl time.Duration)
	PutNamed(kind Named, name string, value []byte)
	DeleteNamed(kind Named, name string)
	PutBlob(kind Blob, key, value []byte)
	DeleteBlob(kind Blob, key []byte)
	// Size is an estimate of what the transaction will write.
	Size() (entries, bytes int)
}

// Limits are the store's bounds on one transaction: past Soft the writer
// commits between operations; an operation that takes a transaction past
// Hard is retried alone, and fails when alone it still does not fit.
type Limits struct {
	SoftEntries, SoftBytes int
	HardEntries, HardBytes int
}

// Store is a database of records.
type Store interface {
	// View opens a snapshot of the latest committed generation.
	View() Snapshot
	// AheadView opens a snapshot of the latest committed generation for
	// reading ahead of the writer: what it reads a caching store keeps as
	// the writer's working set, not as what queries ask for.
	AheadView() Snapshot
	// ViewAt opens a snapshot of generation gen, which must be at most the
	// latest and not older than what the store still keeps (Pin).
	ViewAt(gen uint64) (Snapshot, error)
	// Gen returns the latest committed generation.
	Gen() uint64
	// Begin opens the writer's transaction. Only one may be open.
	Begin() Txn
	// Commit makes txn durable as generation Gen()+1 and returns it. On
	// error nothing of txn is applied (ErrTxnFull: it was too large).
	Commit(txn Txn) (uint64, error)
	// Discard drops an open transaction.
	Discard(txn Txn)
	// Pin keeps generation gen readable until the returned function is
	// called (long reads: exports, backups).
	Pin(gen uint64) func()
	Limits() Limits
	Close() error
}
