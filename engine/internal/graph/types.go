package graph

import (
	"sort"
	"strings"
	"unicode/utf8"
)

// Normalisation rules an identifier type can use.
const (
	NormTrim  = "trim"  // strip surrounding white space
	NormLower = "lower" // trim, then lower-case ASCII letters
	NormUpper = "upper" // trim, then upper-case ASCII letters
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

// IsBuiltin reports whether name is a built-in type.
func IsBuiltin(name string) bool {
	for _, s := range BuiltinTypes() {
		if s.Name == name {
			return true
		}
	}
	return false
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

// Validate checks a type declaration.
func (t TypeSpec) Validate() error {
	switch {
	case !ValidTypeName(t.Name):
		return Errorf(Invalid, t.Name, "type name %q must match [a-z][a-z0-9_]{0,31}", Clip(t.Name))
	case t.Name == ProfileType:
		return Errorf(Invalid, t.Name, "type name %q is reserved", t.Name)
	case t.Limit < 1 || t.Limit > 100000:
		return Errorf(Invalid, "", "type %s: limit %d out of range 1..100000", t.Name, t.Limit)
	case t.Priority < 1 || t.Priority > 1000:
		return Errorf(Invalid, "", "type %s: priority %d out of range 1..1000", t.Name, t.Priority)
	}
	switch t.Normalize {
	case NormTrim, NormLower, NormUpper, NormPhone:
		return nil
	}
	return Errorf(Invalid, t.Normalize, "type %s: normalisation %q is not one of trim, lower, upper, phone", t.Name, Clip(t.Normalize))
}

// Types is an immutable table of the known identifier types. A type's code
// is its position in the table; codes are not stable across runs and are
// never stored.
type Types struct {
	specs  []TypeSpec
	byName map[string]int
}

// NewTypes builds a table; every spec must be valid and names distinct.
func NewTypes(specs []TypeSpec) (*Types, error) {
	t := &Types{byName: make(map[string]int, len(specs))}
	for _, s := range specs {
		if err := s.Validate(); err != nil {
			return nil, err
		}
		if _, dup := t.byName[s.Name]; dup {
			return nil, Errorf(Conflict, s.Name, "type %s declared twice", s.Name)
		}
		t.byName[s.Name] = len(t.specs)
		t.specs = append(t.specs, s)
	}
	return t, nil
}

// With returns a table with one more type.
func (t *Types) With(s TypeSpec) (*Types, error) {
	return NewTypes(append(append([]TypeSpec(nil), t.specs...), s))
}

// Code returns the code of a type name.
func (t *Types) Code(name string) (int, bool) {
	c, ok := t.byName[name]
	return c, ok
}

// Spec returns the spec of a type code.
func (t *Types) Spec(code int) TypeSpec { return t.specs[code] }

// Lookup returns the spec of a type name.
func (t *Types) Lookup(name string) (TypeSpec, bool) {
	c, ok := t.byName[name]
	if !ok {
		return TypeSpec{}, false
	}
	return t.specs[c], true
}

// Sorted returns the specs by priority, then name.
func (t *Types) Sorted() []TypeSpec {
	out := append([]TypeSpec(nil), t.specs...)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Priority != out[j].Priority {
			return out[i].Priority < out[j].Priority
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// DefaultBlocked are the junk values dropped from every event (compared
// case-insensitively). Values made only of '0' and '-' are blocked too
// unless the block list allows zero ids.
func DefaultBlocked() []string {
	return []string{"", "null", "undefined", "none", "nil", "nan", "anonymous",
		"unknown", "[object object]", "-1"}
}

// Blocklist decides which values are junk.
type Blocklist struct {
	values     map[string]bool
	allowZeros bool
}

// NewBlocklist builds a block list; allowZeros turns off the rule for
// values made only of '0' and '-'.
func NewBlocklist(values []string, allowZeros bool) Blocklist {
	b := Blocklist{values: make(map[string]bool, len(values)), allowZeros: allowZeros}
	for _, v := range values {
		b.values[foldLower(strings.TrimSpace(v))] = true
	}
	return b
}

// blocked reports whether a value, raw (trimmed) or normalised, is junk.
// Both are checked, so that normalisation cannot turn a junk value into a
// plausible one (a phone "-1" becomes "1").
func (b Blocklist) blocked(rule, raw, norm string) bool {
	if b.values[foldLower(raw)] || b.values[foldLower(norm)] {
		return true
	}
	if b.allowZeros {
		return false
	}
	if zeros(raw) || zeros(norm) {
		return true
	}
	return rule == NormPhone && placeholderPhone(norm)
}

// zeros reports a non-empty value made only of '0' and '-'.
func zeros(v string) bool {
	if v == "" {
		return false
	}
	for i := 0; i < len(v); i++ {
		if v[i] != '0' && v[i] != '-' {
			return false
		}
	}
	return true
}

// placeholderPhone reports a normalised phone that is only zeros, or only
// zeros after a country code of at most three digits when it has at least
// seven: "+0000", "+7 000 000 00 00", "+1 000 000 0000".
func placeholderPhone(v string) bool {
	d := strings.TrimPrefix(v, "+")
	if d == "" {
		return false
	}
	return strings.Trim(d, "0") == "" || len(d) >= 7 && strings.Trim(d[3:], "0") == ""
}

// ID is a parsed, normalised identifier.
type ID struct {
	Type  string
	Value string
}

func (id ID) String() string { return id.Type + ":" + id.Value }

// foldLower lower-cases ASCII letters only: other characters are kept as
// they are, so that look-alikes (the Kelvin sign K, U+212A) never fold onto
// an ASCII address.
func foldLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; c >= 'A' && c <= 'Z' {
					b[j] = c + 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// foldUpper upper-cases ASCII letters only.
func foldUpper(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'a' && c <= 'z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; c >= 'a' && c <= 'z' {
					b[j] = c - ('a' - 'A')
				}
			}
			return string(b)
		}
	}
	return s
}

// Normalize applies a normalisation rule to a raw value.
func Normalize(rule, v string) string {
	v = strings.TrimSpace(v)
	switch rule {
	case NormLower:
		return foldLower(v)
	case NormUpper:
		return foldUpper(v)
	case NormPhone:
		var b strings.Builder
		if strings.HasPrefix(v, "+") {
			b.WriteByte('+')
		}
		for i := 0; i < len(v); i++ {
			if c := v[i]; c >= '0' && c <= '9' {
				b.WriteByte(c)
			}
		}
		if b.Len() == 1 && strings.HasPrefix(v, "+") {
			return ""
		}
		return b.String()
	}
	return v
}

// SplitID separates "type:value" without judging either part.
func SplitID(s string) (typ, val string, err error) {
	i := strings.IndexByte(s, ':')
	if i < 0 {
		return "", "", Errorf(BadID, s, "%q has no type: write type:value, e.g. email:ann@example.com", Clip(s))
	}
	return s[:i], s[i+1:], nil
}

// ParseID parses and normalises one identifier. blocked reports a junk value
// (not an error: callers drop it and say so). The returned code is the
// type's code in t.
func (t *Types) ParseID(s string, bl Blocklist) (id ID, code int, blocked bool, err error) {
	typ, raw, err := SplitID(s)
	if err != nil {
		return ID{}, 0, false, err
	}
	if typ == ProfileType {
		return ID{}, 0, false, Errorf(BadID, s, "%q addresses a profile; it cannot be linked or tracked", Clip(s))
	}
	c, ok := t.byName[typ]
	if !ok {
		if !ValidTypeName(typ) {
			return ID{}, 0, false, Errorf(BadID, s, "%q: type %q must match [a-z][a-z0-9_]{0,31}", Clip(s), Clip(typ))
		}
		return ID{}, 0, false, Errorf(BadID, s, "%q: unknown type %q (see TYPES)", Clip(s), typ)
	}
	if !utf8.ValidString(raw) {
		return ID{}, 0, false, Errorf(BadID, s, "%q: the value is not valid UTF-8", Clip(s))
	}
	if len(raw) > 4*MaxValueLen {
		return ID{}, 0, false, Errorf(TooLarge, s, "%s: a value of %d bytes is longer than %d", typ, len(raw), MaxValueLen)
	}
	rule := t.specs[c].Normalize
	val := Normalize(rule, raw)
	if len(val) > MaxValueLen {
		return ID{}, 0, false, Errorf(TooLarge, s, "%s: a value of %d bytes is longer than %d", typ, len(val), MaxValueLen)
	}
	if i := controlAt(val); i >= 0 {
		return ID{}, 0, false, Errorf(BadID, s, "%q: the value contains the control character %U", Clip(s), rune(val[i]))
	}
	id = ID{typ, val}
	if bl.blocked(rule, strings.TrimSpace(raw), val) {
		return id, c, true, nil
	}
	if val == "" {
		return ID{}, 0, false, Errorf(BadID, s, "%q: the value is empty", Clip(s))
	}
	return id, c, false, nil
}

// controlAt returns the index of the first ASCII control byte in s, or -1.
func controlAt(s string) int {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f {
			return i
		}
	}
	return -1
}
