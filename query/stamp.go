package query

import "context"

// A Stamp says for how long a reply stays the reply its statement would
// get: while no commit lands after the one it read (the store's commit
// generation stays the same), no type, saved segment or computed trait is
// defined or dropped (engine.DB.DefsVersion stays the same), and the clock
// stays within [from, until). The clock matters through saved segments'
// and computed traits' windows, which take in and drop events as it moves
// (evaluator.bound, Window.changesAt). The zero Stamp holds never.
//
// A caller that keeps a reply, such as the server's cache of encoded WHO
// replies, asks Holds before it hands the reply out again.
type Stamp struct {
	ok          bool
	gen, defs   uint64
	from, until int64 // Unix ms
}

// WhoStamped runs WHO id as Exec(ctx, s, []string{"WHO", id}) does, and
// stamps its reply. A reply that is not a profile (nil, an error) gets the
// zero Stamp.
func (x *Executor) WhoStamped(ctx context.Context, s *Session, id string) (Value, Stamp, error) {
	if s == nil {
		s = &Session{}
	}
	s.Warnings = nil
	args := []string{"WHO", id}
	st, _, err := prepare(s, args)
	if err != nil {
		return Value{}, Stamp{}, err
	}
	v, stamp, err := x.who(&call{x: x, ctx: ctx, s: s, st: st, args: args})
	if err != nil {
		return Value{}, Stamp{}, coded(err, args)
	}
	return v, stamp, nil
}

// Holds reports whether a reply stamped st is still the reply its
// statement would get now.
func (x *Executor) Holds(ctx context.Context, st Stamp) bool {
	if !st.ok {
		return false
	}
	now := x.clock(ctx).UnixMilli()
	return now >= st.from && now < st.until && x.db.Gen() == st.gen && x.db.DefsVersion() == st.defs
}

// IsZero reports whether st is the zero Stamp, which holds never.
func (st Stamp) IsZero() bool { return !st.ok }

// SameGen reports whether st and o were read at the same commit
// generation with the same definitions.
func (st Stamp) SameGen(o Stamp) bool { return st.gen == o.gen && st.defs == o.defs }

// OlderThan reports whether st was read before o: at an earlier commit
// generation, or with older definitions.
func (st Stamp) OlderThan(o Stamp) bool {
	return st.gen < o.gen || (st.gen == o.gen && st.defs < o.defs)
}
