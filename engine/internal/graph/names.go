package graph

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// Limits on one call. The engine enforces them; the language and the
// loaders call the same validators, so a name one accepts the others accept.
const (
	MaxNameLen  = 128     // event names, sources, trait names, purposes, tags, segment names
	MaxTraitLen = 1024    // one trait value
	MaxTraits   = 64      // traits in one SET
	MaxPropsLen = 1 << 16 // PROPS of one event, bytes of JSON
	MaxIDs      = 32      // identifiers in one call, by default
)

// CheckName checks a name (what says which: "event name", "source", ...):
// 1 to MaxNameLen bytes of UTF-8 without control characters.
func CheckName(what, s string) error {
	switch {
	case s == "":
		return Errorf(Invalid, s, "%s is empty", what)
	case len(s) > MaxNameLen:
		return Errorf(TooLarge, s, "%s %q is longer than %d bytes", what, Clip(s), MaxNameLen)
	case !utf8.ValidString(s):
		return Errorf(Invalid, s, "%s is not valid UTF-8", what)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return Errorf(Invalid, s, "%s %q contains the control character %U", what, Clip(s), r)
		}
	}
	return nil
}

// CheckValue checks a trait value: at most MaxTraitLen bytes of UTF-8
// without NUL.
func CheckValue(name, v string) error {
	if len(v) > MaxTraitLen {
		return Errorf(TooLarge, v, "trait %s: a value of %d bytes is longer than %d", name, len(v), MaxTraitLen)
	}
	if !utf8.ValidString(v) {
		return Errorf(Invalid, v, "trait %s: the value is not valid UTF-8", name)
	}
	for i := 0; i < len(v); i++ {
		if v[i] == 0 {
			return Errorf(Invalid, v, "trait %s: the value contains NUL", name)
		}
	}
	return nil
}

// CheckProps checks an event's properties: empty, or a JSON object of at
// most MaxPropsLen bytes of valid UTF-8.
func CheckProps(b []byte) error {
	_, err := CompactProps(b)
	return err
}

// CompactProps checks an event's properties as CheckProps does and returns
// them compacted (nil when empty), in one pass over the bytes.
func CompactProps(b []byte) ([]byte, error) {
	if len(b) == 0 {
		return nil, nil
	}
	if len(b) > MaxPropsLen {
		return nil, Errorf(TooLarge, string(b), "PROPS of %d bytes; the most is %d", len(b), MaxPropsLen)
	}
	if !utf8.Valid(b) {
		return nil, Errorf(Invalid, string(b), "PROPS is not valid UTF-8")
	}
	var buf bytes.Buffer
	buf.Grow(len(b))
	if err := json.Compact(&buf, b); err != nil || buf.Len() == 0 || buf.Bytes()[0] != '{' {
		return nil, Errorf(Invalid, string(b), "PROPS must be a JSON object")
	}
	return buf.Bytes(), nil
}
