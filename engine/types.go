package engine

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"
)

// Normalisation rules an identifier type can use.
const (
	NormTrim  = "trim"  // strip surrounding white space
	NormLower = "lower" // trim, then lower-case
	NormUpper = "upper" // trim, then upper-case
	NormPhone = "phone" // keep a leading '+' and the digits
)

// MaxValueLen is the largest identifier value, in bytes after normalisation.
const MaxValueLen = 1024

// ProfileType is the pseudo-type that addresses a profile by its id
// (`profile:42`). It is accepted wherever a statement looks a profile up and
// refused wherever identifiers are linked; it never becomes a node.
const ProfileType = "profile"

// TypeSpec declares an identifier type and the rules resolution applies to it.
type TypeSpec struct {
	Name      string // [a-z][a-z0-9_]{0,31}
	Limit     int    // most identifiers of this type one profile may hold
	Priority  int    // lower comes first when choosing an event's anchor
	Exclusive bool   // belongs to one profile at a time and moves to a new claimant
	Normalize string // NormTrim, NormLower, NormUpper or NormPhone
}

// BuiltinTypes are the identifier types every store knows (SPEC.md §2).
func BuiltinTypes() []TypeSpec {
	return []TypeSpec{
		{"user", 1, 1, false, NormTrim},
		{"email", 5, 2, false, NormLower},
		{"phone", 5, 3, false, NormPhone},
		{"device", 20, 4, true, NormLower},
		{"push", 20, 5, true, NormTrim},
		{"webpush", 20, 6, true, NormTrim},
		{"app", 50, 7, false, NormTrim},
		{"cookie", 200, 8, false, NormTrim},
		{"idfa", 20, 9, false, NormLower},
		{"aaid", 20, 9, false, NormLower},
		{"telegram", 5, 10, false, NormTrim},
		{"serial", 100, 11, false, NormUpper},
	}
}

// DefaultBlocked are the junk values dropped from every event (compared
// case-insensitively after normalisation). Values made only of '0' and '-'
// are blocked too unless Options.AllowZeroIDs is set.
func DefaultBlocked() []string {
	return []string{"", "null", "undefined", "none", "nil", "nan", "anonymous",
		"unknown", "[object object]", "-1"}
}

// Errors callers branch on. Every error the engine returns for bad input
// wraps ErrInvalid; the more precise ones wrap both.
var (
	ErrInvalid  = errors.New("invalid input")
	ErrBadID    = fmt.Errorf("%w: bad identifier", ErrInvalid)
	ErrNotFound = errors.New("not found")
	ErrTooLarge = fmt.Errorf("%w: too large", ErrInvalid)
	ErrClosed   = errors.New("engine: closed")
)

func badID(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadID, fmt.Sprintf(format, args...))
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// ValidTypeName reports whether s is a well-formed type name.
func ValidTypeName(s string) bool {
	if len(s) == 0 || len(s) > 32 || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

func (t TypeSpec) validate() error {
	if !ValidTypeName(t.Name) {
		return invalid("type name %q must match [a-z][a-z0-9_]{0,31}", t.Name)
	}
	if t.Name == ProfileType {
		return invalid("type name %q is reserved", t.Name)
	}
	if t.Limit < 1 || t.Limit > 100000 {
		return invalid("type %s: limit %d out of range 1..100000", t.Name, t.Limit)
	}
	if t.Priority < 1 || t.Priority > 1000 {
		return invalid("type %s: priority %d out of range 1..1000", t.Name, t.Priority)
	}
	switch t.Normalize {
	case NormTrim, NormLower, NormUpper, NormPhone:
	default:
		return invalid("type %s: normalisation %q is not one of trim, lower, upper, phone", t.Name, t.Normalize)
	}
	return nil
}

// typeTable is an immutable snapshot of the known types; declaring a type
// builds a new table.
type typeTable struct {
	specs  []TypeSpec // index = type code
	byName map[string]int
}

func newTypeTable(specs []TypeSpec) (*typeTable, error) {
	t := &typeTable{byName: make(map[string]int, len(specs))}
	for _, s := range specs {
		if err := s.validate(); err != nil {
			return nil, err
		}
		if _, dup := t.byName[s.Name]; dup {
			return nil, invalid("type %s declared twice", s.Name)
		}
		t.byName[s.Name] = len(t.specs)
		t.specs = append(t.specs, s)
	}
	return t, nil
}

func (t *typeTable) with(s TypeSpec) (*typeTable, error) {
	specs := append(append([]TypeSpec(nil), t.specs...), s)
	return newTypeTable(specs)
}

// sorted returns the specs by priority, then name.
func (t *typeTable) sorted() []TypeSpec {
	out := append([]TypeSpec(nil), t.specs...)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Priority != out[j].Priority {
			return out[i].Priority < out[j].Priority
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// blocklist decides which normalised values are junk.
type blocklist struct {
	values     map[string]bool
	allowZeros bool
}

func newBlocklist(values []string, allowZeros bool) blocklist {
	b := blocklist{values: make(map[string]bool, len(values)), allowZeros: allowZeros}
	for _, v := range values {
		b.values[strings.ToLower(strings.TrimSpace(v))] = true
	}
	return b
}

func (b blocklist) blocked(v string) bool {
	if b.values[strings.ToLower(v)] {
		return true
	}
	if b.allowZeros || v == "" {
		return false
	}
	for i := 0; i < len(v); i++ {
		if v[i] != '0' && v[i] != '-' {
			return false
		}
	}
	return true
}

// ID is a parsed, normalised identifier.
type ID struct {
	Type  string
	Value string
}

func (id ID) String() string { return id.Type + ":" + id.Value }

// normalize applies a type's normalisation to a raw value.
func normalize(rule, v string) string {
	switch rule {
	case NormLower:
		return strings.ToLower(strings.TrimSpace(v))
	case NormUpper:
		return strings.ToUpper(strings.TrimSpace(v))
	case NormPhone:
		v = strings.TrimSpace(v)
		var b strings.Builder
		for i := 0; i < len(v); i++ {
			c := v[i]
			if c >= '0' && c <= '9' {
				b.WriteByte(c)
			}
		}
		if b.Len() > 0 && strings.HasPrefix(v, "+") {
			return "+" + b.String()
		}
		return b.String()
	default:
		return strings.TrimSpace(v)
	}
}

// splitID separates "type:value" without judging either part.
func splitID(s string) (typ, val string, err error) {
	i := strings.IndexByte(s, ':')
	if i < 0 {
		return "", "", badID("%q has no type: write type:value, e.g. email:ann@example.com", clip(s))
	}
	return s[:i], s[i+1:], nil
}

// parseID parses and normalises one identifier. blocked reports a junk value
// (not an error: the caller drops it).
func (t *typeTable) parseID(s string, bl blocklist) (id ID, code int, blocked bool, err error) {
	typ, val, err := splitID(s)
	if err != nil {
		return ID{}, 0, false, err
	}
	if typ == ProfileType {
		return ID{}, 0, false, badID("%q addresses a profile; it cannot be linked or tracked", clip(s))
	}
	c, ok := t.byName[typ]
	if !ok {
		if !ValidTypeName(typ) {
			return ID{}, 0, false, badID("%q: type %q must match [a-z][a-z0-9_]{0,31}", clip(s), clip(typ))
		}
		return ID{}, 0, false, badID("%q: unknown type %q (see TYPES)", clip(s), typ)
	}
	if !utf8.ValidString(val) {
		return ID{}, 0, false, badID("%q: value is not valid UTF-8", clip(s))
	}
	if len(val) > 4*MaxValueLen {
		return ID{}, 0, false, badID("%s: value of %d bytes is longer than %d", typ, len(val), MaxValueLen)
	}
	val = normalize(t.specs[c].Normalize, val)
	if len(val) > MaxValueLen {
		return ID{}, 0, false, badID("%s: value of %d bytes is longer than %d", typ, len(val), MaxValueLen)
	}
	id = ID{typ, val}
	if bl.blocked(val) {
		return id, c, true, nil
	}
	if val == "" {
		return ID{}, 0, false, badID("%q: the value is empty", clip(s))
	}
	return id, c, false, nil
}

// clip shortens user input quoted back in error messages.
func clip(s string) string {
	if len(s) <= 64 {
		return s
	}
	cut := 64
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// validName checks event names, sources, trait names and purposes: 1..max
// bytes of printable UTF-8.
func validName(what, s string, max int) error {
	if s == "" {
		return invalid("%s is empty", what)
	}
	if len(s) > max {
		return invalid("%s %q is longer than %d bytes", what, clip(s), max)
	}
	if !utf8.ValidString(s) {
		return invalid("%s is not valid UTF-8", what)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return invalid("%s %q contains a control character", what, clip(s))
		}
	}
	return nil
}

func sortStrings(s []string) { sort.Strings(s) }
