package engine

import (
	"time"

	"github.com/idgraph/idgraph/engine/internal/graph"
)

// TypeSpec declares an identifier type and the rules resolution applies to
// it: Name ([a-z][a-z0-9_]{0,31}), Limit (most identifiers of the type one
// profile holds), Priority (lower comes first when choosing an event's
// anchor), Exclusive (belongs to one profile at a time and moves to a new
// claimant) and Normalize (NormTrim, NormLower, NormUpper or NormPhone).
type TypeSpec = graph.TypeSpec

// Normalisation rules an identifier type can use.
const (
	NormTrim  = graph.NormTrim  // strip surrounding white space
	NormLower = graph.NormLower // trim, then lower-case ASCII letters
	NormUpper = graph.NormUpper // trim, then upper-case ASCII letters
	NormPhone = graph.NormPhone // keep a leading '+' and the digits
)

// ProfileType is the pseudo-type that addresses a profile by its id
// (`profile:42`): accepted wherever a statement looks a profile up, refused
// wherever identifiers are linked; it never becomes a node.
const ProfileType = graph.ProfileType

// Limits of one call. The language and the loaders check names with
// CheckName, so whatever the engine accepts they can address.
const (
	MaxNameLen  = graph.MaxNameLen  // event names, sources, traits, purposes, tags, segment names
	MaxTraitLen = graph.MaxTraitLen // one trait value, bytes
	MaxTraits   = graph.MaxTraits   // traits in one SET
	MaxPropsLen = graph.MaxPropsLen // PROPS of one event, bytes of JSON
	MaxValueLen = graph.MaxValueLen // an identifier value, bytes after normalisation
	// DefaultSource names the channel of a call that names none.
	DefaultSource = "default"
	// MaxMessageIDLen bounds a Record's MessageID.
	MaxMessageIDLen = 256
	// MaxProfileTraits and MaxProfileTags bound what SET and TAG may give
	// one profile (a merge of two full profiles may hold more).
	MaxProfileTraits = 1000
	MaxProfileTags   = 1000
)

// BuiltinTypes are the identifier types every store knows (SPEC.md §2).
func BuiltinTypes() []TypeSpec { return graph.BuiltinTypes() }

// DefaultBlocked are the junk values dropped from every call (compared
// case-insensitively, before and after normalisation); values made only of
// '0' and '-', and placeholder phones, are blocked too unless
// Options.AllowZeroIDs is set.
func DefaultBlocked() []string { return graph.DefaultBlocked() }

// ValidTypeName reports whether s is a well-formed type name.
func ValidTypeName(s string) bool { return graph.ValidTypeName(s) }

// CheckName checks a name of the kind what ("event name", "source", "trait
// name", "purpose", "tag", "segment name"): 1 to MaxNameLen bytes of UTF-8
// without control characters. It returns an *Error with Arg = s.
func CheckName(what, s string) error { return graph.CheckName(what, s) }

// CheckValue checks a trait value.
func CheckValue(name, v string) error { return graph.CheckValue(name, v) }

// CheckProps checks an event's PROPS: empty, or a JSON object of at most
// MaxPropsLen bytes of valid UTF-8.
func CheckProps(b []byte) error { return graph.CheckProps(b) }

// ID is a parsed, normalised identifier.
type ID = graph.ID

// ParseID parses and normalises an identifier with the store's types and
// block list, exactly as a write would. blocked reports a junk value (a
// write drops it and says so); err is an *Error of kind BadID or TooLarge.
func (db *DB) ParseID(s string) (id ID, blocked bool, err error) {
	id, _, blocked, err = db.types.Load().ParseID(s, db.bl)
	return id, blocked, err
}

// Types returns the identifier types, by priority.
func (db *DB) Types() []TypeSpec { return db.types.Load().Sorted() }

// ParseTime reads a time as every input of idgraph writes it: RFC 3339 or
// Unix milliseconds, 1970 to 9999, in UTC to the millisecond. A number of
// 10 or 11 digits is refused as ambiguous (it reads as Unix seconds too),
// with a hint. The language and the loaders all call it.
func ParseTime(s string) (time.Time, error) { return graph.ParseTime(s) }
