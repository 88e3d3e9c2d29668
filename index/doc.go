// Package index holds the in-memory behavioural indexes that answer the
// atoms of segment expressions exactly: DID (with windows, sources and
// TIMES), HAS, TRAIT, CONSENT, and the set of live profiles that NOT is
// relative to. Sets of profiles are roaring bitmaps of dense uint32 ids;
// the query executor combines the bitmaps it gets with And, Or and AndNot.
//
// # Layout
//
// Events are grouped by name and UTC day into buckets. A bucket holds
//
//   - a bitmap of the profiles with at least one event that day, and
//   - every event occurrence as a 12-byte entry (profile, millisecond within
//     the day, source id), kept sorted by (profile, ms, source) in chunks of
//     at most 512 entries.
//
// DID e over a window is the OR of the bitmaps of the whole days inside the
// window plus a scan of the entries of the (at most two) partial days at its
// ends, so bounds are exact to the millisecond while a 30-day window costs
// 30 small ORs. ORs of whole-day spans are cached; a write to a bucket drops
// the cached spans that contain its day, and since live traffic writes to
// today while windows end at now (a partial day), the spans of past days
// stay cached. Under a source filter or property conditions, a run of whole
// days is the OR of the profiles of its matching entries, cached the same
// way under a key that names the filter. A TIMES comparison scans the
// entries of the buckets in the window: the entries are the exact multiset,
// so counts need no second structure that could drift from the first.
// Per-profile reads (a saved segment or a computed trait for WHO) probe
// only the day buckets that a series' 32-day blocks mark for the profile
// (a mark p*32 + day in the block, found by one ordered seek per block),
// and View.Unchanged tells callers that keep values computed from a
// profile's events whether they still hold. TIMES counts and comparisons
// of computed traits add up a block of 32k profile ids at a time over
// every bucket of the window (scan.go), so the tally stays in the CPU's
// cache however many profiles there are; SUM reads a dense column of each
// path's numbers. Comparisons that hold for zero (< n, <= n, = 0) start
// from the live profiles and take away those whose count fails, so
// profiles that never did the event are included.
//
// Sorting entries by profile makes Remove and Move a binary search per
// event: a merge relabels exactly the moved events and touches only the
// buckets of their days, never all bitmaps. Chunking bounds the memmove of
// an insert on a busy day, so out-of-order history loads stay cheap.
//
// Measured on 2 shared cores with 1M profiles and 20M events over 365 days
// and 20 names: about 17 bytes per event in the index (12-byte entries in
// chunks about 75% full, plus day bitmaps); DID over 7 or 30 days well under
// a millisecond with the span cache warm, a few milliseconds cold; moving
// ten events a few microseconds. BenchmarkDidWithin7d, BenchmarkAbandonedCart
// and BenchmarkMove10Events reproduce these (IDGRAPH_BENCH_PROFILES and
// IDGRAPH_BENCH_EVENTS set the scale).
//
// HAS and CONSENT are one bitmap per identifier type and per purpose.
// TRAIT keeps, per trait name, a bitmap per distinct value and a map from
// profile to its value; ordered comparisons OR the bitmaps of the values
// that satisfy them (numbers compare as numbers, see Index.Trait).
//
// # Ownership and concurrency
//
// The engine's single writer goroutine calls the writer methods; readers
// run concurrently under a read lock and always get bitmaps they own. See
// Index for the exact contract, and Index.Version for caching results.
//
// # Persistence
//
// WriteTo stores only the facts (events, live set, attributes) in a
// versioned, checksummed format; Read rebuilds every derived bitmap, so a
// snapshot can never hold a bitmap that disagrees with its events. Equal
// compares two indexes' content and checks each one's derived structures.
//
// The package imports nothing else from this module.
package index
