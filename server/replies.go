package server

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/idgraph/idgraph/query"
)

// whoStamper is an Executor whose WHO replies come stamped with how long
// they hold (query.Executor is one). For such an Executor the server keeps
// the encoded replies of the WHOs it answered, so that a WHO asked again
// before anything changes is a lookup and a copy.
type whoStamper interface {
	WhoStamped(ctx context.Context, s *query.Session, id string) (query.Value, query.Stamp, error)
	Holds(ctx context.Context, st query.Stamp) bool
}

// replies is the server's cache of encoded WHO replies, keyed by the
// protocol and the identifier as asked, bounded in bytes. An entry is
// handed out only while its stamp holds (query.Executor.Holds). Every entry
// of an older commit generation is dead once a newer one is kept, so
// keeping the first reply of a newer generation drops them all: the cache
// holds replies of one generation at most, and replies that an erasure
// made stale are gone at the next WHO answered afresh.
type replies struct {
	x     whoStamper
	limit int64

	mu    sync.RWMutex
	gen   query.Stamp // a stamp of the generation held (zero: none yet)
	m     map[string]cachedReply
	bytes int64

	hits, misses atomic.Int64
}

type cachedReply struct {
	stamp query.Stamp
	enc   []byte
}

// entryOverhead approximates what an entry holds beyond its key's bytes
// and its reply's capacity: the map slot (key header, stamp, slice
// header), the map's spare slots and the allocator's rounding.
const entryOverhead = 128

// maxCachedKey is the longest identifier whose reply is kept (an
// identifier's value is at most 1 KiB after normalisation, its raw form
// up to four times that); a longer one is answered afresh, without the
// connection keeping a key buffer that long.
const maxCachedKey = 256

// maxCachedReply is the largest reply kept (conn.who does not encode a
// larger one for the cache): a profile with thousands of identifiers is
// answered afresh each time rather than crowd out hundreds of others.
const maxCachedReply = 16 << 10

func newReplies(x whoStamper, limit int64) *replies {
	return &replies{x: x, limit: limit, m: map[string]cachedReply{}}
}

// get returns the encoded reply kept for key while its stamp holds. key is
// looked up without being copied.
func (r *replies) get(ctx context.Context, key []byte) ([]byte, bool) {
	r.mu.RLock()
	e, ok := r.m[string(key)]
	r.mu.RUnlock()
	if ok && r.x.Holds(ctx, e.stamp) {
		r.hits.Add(1)
		return e.enc, true
	}
	r.misses.Add(1)
	return nil, false
}

// put keeps enc, stamped st, for key.
func (r *replies) put(key []byte, st query.Stamp, enc []byte) {
	size := entrySize(len(key), enc)
	if size > r.limit {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !st.SameGen(r.gen) {
		if st.OlderThan(r.gen) {
			return // a reply read before the generation held: already stale
		}
		clear(r.m)
		r.bytes, r.gen = 0, st
	}
	if old, ok := r.m[string(key)]; ok {
		r.bytes -= entrySize(len(key), old.enc)
		delete(r.m, string(key))
	}
	for r.bytes+size > r.limit && len(r.m) > 0 {
		// Full: drop about a tenth, any (map order), as Redis's
		// allkeys-random does.
		n := max(len(r.m)/10, 1)
		for k, e := range r.m {
			if n == 0 {
				break
			}
			r.bytes -= entrySize(len(k), e.enc)
			delete(r.m, k)
			n--
		}
	}
	r.m[string(key)] = cachedReply{stamp: st, enc: enc}
	r.bytes += size
}

// entrySize is what an entry of a key of klen bytes and reply enc counts
// against the bound.
func entrySize(klen int, enc []byte) int64 { return int64(klen+cap(enc)) + entryOverhead }

// stats returns the entries and bytes held, and the hits and misses since
// the server started.
func (r *replies) stats() (entries int, bytes, hits, misses int64) {
	r.mu.RLock()
	entries, bytes = len(r.m), r.bytes
	r.mu.RUnlock()
	return entries, bytes, r.hits.Load(), r.misses.Load()
}
