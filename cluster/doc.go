// Package cluster replicates idgraph's ordered log on Raft
// (github.com/hashicorp/raft), so that several machines hold the same
// profiles and the loss of one of them loses nothing (SPEC.md §8).
//
// # Design
//
// idgraph's profiles are the replay of a totally ordered record of writes
// (SPEC.md §3), and the engine's single writer is deterministic: the same
// write statements applied in the same order from the same state give the
// same profiles, ids and replies. So the unit of replication is the write
// statement. Every statement that writes (TRACK, MERGE, RECORD, SET,
// CONSENT, UNLINK, FORGET, SEGMENT SAVE/DROP, TYPES DECLARE; BACKUP stays
// local) becomes one entry of the Raft log carrying its words, the session's
// client name (the default source) and the "now" the leader decided when it
// wrote the entry. Every node's state machine (fsm.go) applies committed
// entries in log order through its own query.Executor under engine.WithNow,
// and so computes the same thing. Reads never touch the log: they are
// answered by the node asked, from what it has applied. A Node is also an
// httpapi.Backend: the HTTP API on a node sends its tracking records
// through the log as one entry per request (ApplyRecords) and its JSON
// API's writes as statements.
//
// Any node accepts writes. A follower forwards the entry to the leader over
// the replication port (one TCP port per node carries Raft's own traffic and
// a small net/rpc service, told apart by the first byte of a connection:
// mux.go, rpc.go). A write is acknowledged once a majority holds it and the
// node that received it has applied it, and the reply is that node's own
// result for the entry, so a client reads its own writes where it wrote
// them. A node that cannot find a leader reachable within
// Config.WriteTimeout answers ERR UNAVAILABLE and goes on serving reads.
//
// Nothing that varies between nodes is decided by the nodes that apply: the
// leader stamps "now", a FORGET's identifier is resolved to profile:<id> by
// the leader before the entry is written (so the entry itself carries no
// identifier), and the salt of the suppression and erasure hashes is drawn
// once by the first leader and written in the first entry of the log (the
// init entry); every store of the cluster is created with it.
//
// # Storage
//
// A node's directory (engine.Options.Dir) holds its store as a single node
// would, and Raft's state in raft/ inside it: the log in raft/wal
// (github.com/hashicorp/raft-wal, segment files that truncation deletes
// whole), the snapshots in raft/snapshots (only the latest is kept), and the
// keys of the log's entries in raft/keys. A snapshot is the store's own
// consistent backup (engine.DB.Backup) behind a small header.
//
// The store is derived state. The engine does not record which log entry a
// commit came from, so a restarted node cannot tell which entries its store
// already holds; it therefore starts from an empty store, which Raft fills
// from the latest snapshot and the log entries after it. A new or lagging
// node catches up the same way, from the leader's snapshot when the leader
// no longer holds the entries it lacks.
//
// # Erasure
//
// SPEC.md §5 asks that the values a FORGET erased leave every file idgraph
// writes, and the log holds every statement that carried them. Each entry is
// sealed (AES-256-GCM) under the log's current key (logstore.go). After a
// FORGET is applied, each node starts a new key, takes a snapshot (which no
// longer holds the erased values), truncates the log up to it, keeps only
// that snapshot, and then destroys the keys of the entries that came before:
// whatever bytes of them a log segment still holds can no longer be read by
// anyone. The store's own files are erased by the engine (ErasureDelay).
//
// # Membership
//
// Membership is static: every node is started with the same member list
// and bootstraps the same configuration; members are not added or removed
// while the cluster runs.
package cluster
