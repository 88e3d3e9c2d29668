package load

import (
	"bytes"
	"encoding/json"
	"strings"
)

// Lines of our own shape are the bulk of every load and of every RECORD a
// server receives (`idgraph load --addr` sends each record as one), so they
// are read in one walk of the line: the standard decoder first decodes
// the whole object into a map and then decodes each field again, about 60
// allocations for a line of a purchase. walkOurs validates the line once
// (json.Valid) and takes each field from the walk.
//
// It is a fast path, not a second parser: on any line whose answer it is
// not sure to give exactly — a member it does not know, a member twice, a
// value of the wrong kind, anything parseOurs would reject — it declines,
// and the line goes the decoding way, which gives the record or the reason.
// TestWalkOursAgreesWithDecoding and FuzzWalkOurs hold it to that.

// ourField numbers the top-level members of our shape (for the walk's
// duplicate check). Anything else is rejected, so that a typo such as
// "evnt" cannot drop data silently.
var ourField = map[string]uint{
	"event": 0, "ids": 1, "time": 2, "source": 3, "props": 4,
	"traits": 5, "consent": 6, "tags": 7, "message_id": 8,
}

// walkOurs returns the record of a line of our own shape, as parseOurs
// gives it, or false when the line must be decoded instead.
func walkOurs(line []byte) (Record, bool) {
	if !json.Valid(line) {
		return Record{}, false
	}
	var rec Record
	var seen uint
	ok := true
	walked := eachMember(line, func(key, val []byte) bool {
		f, known := fieldOf(key)
		if !known || seen&(1<<f) != 0 {
			ok = false
			return false
		}
		seen |= 1 << f
		if isNullToken(val) {
			return true // as if absent
		}
		switch f {
		case 0:
			rec.Event, ok = stringValue(val)
			ok = ok && rec.Event != ""
		case 1:
			rec.IDs, ok = stringElements(val)
			ok = ok && len(rec.IDs) > 0
		case 2:
			var reason string
			rec.Time, reason = parseJSONTime(val)
			ok = reason == ""
		case 3:
			rec.Source, ok = stringValue(val)
		case 4:
			rec.Props, ok = compactObject(val)
		case 5:
			rec.Traits, ok = walkTraits(val)
		case 6:
			rec.Consent, ok = walkConsent(val)
		case 7:
			rec.Tags, ok = stringElements(val)
			ok = ok && !hasEmpty(rec.Tags)
			if len(rec.Tags) == 0 {
				rec.Tags = nil
			}
		case 8:
			rec.MessageID, ok = stringValue(val)
		}
		return ok
	})
	if !walked || !ok || len(rec.IDs) == 0 {
		return Record{}, false
	}
	return rec, true
}

// fieldOf names the member of ours whose key is the JSON string key, which
// must be written without escapes.
func fieldOf(key []byte) (uint, bool) {
	if len(key) < 2 || bytes.IndexByte(key, '\\') >= 0 {
		return 0, false
	}
	f, ok := ourField[string(key[1:len(key)-1])]
	return f, ok
}

// stringValue decodes a JSON string; false for any other value.
func stringValue(raw []byte) (string, bool) {
	if len(raw) == 0 || raw[0] != '"' {
		return "", false
	}
	return jsonString(raw)
}

// stringElements decodes an array of strings; false when it is not one.
func stringElements(raw []byte) ([]string, bool) {
	out := []string{}
	ok := eachElement(raw, func(v []byte) bool {
		s, ok := stringValue(v)
		out = append(out, s)
		return ok
	})
	return out, ok
}

func hasEmpty(ss []string) bool {
	for _, s := range ss {
		if s == "" {
			return true
		}
	}
	return false
}

// eachNewMember is eachMember over an object whose keys must be distinct
// (a key twice would leave the decoder's map with the last value, which
// the walk does not reproduce): false when raw is not an object, a key
// repeats, or fn returned false.
func eachNewMember(raw []byte, fn func(key string, val []byte) bool) bool {
	var keys []string
	ok := true
	walked := eachMember(raw, func(k, v []byte) bool {
		key, isString := jsonString(k)
		for _, seen := range keys {
			if seen == key {
				isString = false
			}
		}
		keys = append(keys, key)
		ok = isString && fn(key, v)
		return ok
	})
	return walked && ok
}

// walkTraits reads "traits" as parseOurs does: scalars as text, nulls
// left out; false on anything else.
func walkTraits(raw []byte) (map[string]string, bool) {
	var m map[string]string
	ok := eachNewMember(raw, func(k string, v []byte) bool {
		s, set, err := scalarString(v)
		if err != nil {
			return false
		}
		if set {
			if m == nil {
				m = make(map[string]string)
			}
			m[k] = s
		}
		return true
	})
	return m, ok
}

// walkConsent reads "consent" as parseOurs does; false on anything but
// "grant" or "deny" (in any case).
func walkConsent(raw []byte) (map[string]bool, bool) {
	var m map[string]bool
	ok := eachNewMember(raw, func(k string, v []byte) bool {
		s, ok := stringValue(v)
		if !ok {
			return false
		}
		lower := strings.ToLower(s)
		grant := lower == "grant"
		if !grant && lower != "deny" {
			return false
		}
		if m == nil {
			m = make(map[string]bool)
		}
		m[k] = grant
		return true
	})
	return m, ok
}
