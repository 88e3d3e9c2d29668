// Package graph is the pure domain of the identity graph: identifier types
// and their normalisation, the block list, the validators of every name and
// value a write carries, the resolution rules of SPEC.md §3 (Resolve, behind
// the Resolver interface), the replay of a component from nothing (Scratch),
// and the one place a profile's derived state is made (Summary and Derive).
//
// It does no I/O and knows nothing of storage: the engine's ingest path
// implements Resolver over the store, re-resolution and `check` over a
// Scratch, and all three run the same Resolve. What a profile shows (member
// counts, first and last seen, traits, consent, tags) is a Summary: one per
// member, combined with Summary.Add, so that Derive (a fold over the
// members, used by recomputation and by check) and the incremental updates
// of the hot path (a join, a merge, one more event) cannot disagree.
package graph
