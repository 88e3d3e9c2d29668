// Package engine is the identity graph: identifiers as nodes, the records
// that showed them together as link groups, and the customer profiles that
// SPEC.md §3's rules derive from them, stored in Badger.
//
// # The surface
//
// Open a store with Open(DefaultOptions(dir)); then Track, Merge,
// SetTraits, Consent, Unlink and Forget write, Who, Why and Timeline read,
// Apply writes many operations in few commits (bulk loads), Check verifies
// every invariant, Backup and Restore copy the store, and Close closes it.
// Every method is safe for concurrent use.
//
// # The guarantee
//
// The profiles are, at every moment, what replaying every link record still
// on file, in arrival order, through the rules gives. The ingest path applies
// the rules incrementally; UNLINK and FORGET rewrite the record and replay
// the touched component from nothing. Both call one rule function, resolve
// (resolve.go), through the resolver interface: ingest implements it over the
// store (ingest.go), re-resolution over a scratch copy (reresolve.go). The
// replay test (replay_test.go) holds the engine to an independent model.
//
// # Writes
//
// One goroutine owns all writes (writer.go). It takes whatever operations
// are queued, applies them in order inside one Badger transaction, commits
// once and then acknowledges each; an acknowledged write is committed. Each
// operation validates its input before it changes anything, so a bad call
// changes nothing and does not disturb its batch. The writer caches nodes
// and profiles it has read; readers never see the cache, only committed
// snapshots, so they never wait for the writer.
//
// # Storage
//
// keys.go lists the key layout. Events are stored under their anchor node,
// so a merge never moves an event: it relabels the younger profile's
// members (bounded by the type limits) and leaves a forwarding pointer. WHO
// is two point reads: identifier → (node, profile), profile → record with
// its member list.
//
// # Index
//
// The behavioural index (package index) lives in memory. The writer queues
// its updates and applies them after the commit, so the index is never
// ahead of the store. Close saves a snapshot stamped with the commit
// generation; Open uses it only when the stamp matches, else rebuilds it
// from the events, so after a crash it equals a recomputation.
//
// # Erasure
//
// FORGET deletes keys; Badger keeps old versions in its tables until
// compaction, so Close compacts a store with pending erasures into one level
// and garbage-collects the value log: after a clean shutdown the erased
// bytes are in no file (erasure_test.go scans for them).
package engine
