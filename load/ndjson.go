package load

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/idgraph/idgraph/engine"
	"sort"
	"strconv"
	"strings"
	"time"
)

// parseJSONLine parses one non-blank NDJSON line. It returns the reason the
// line is rejected, or "".
func parseJSONLine(line []byte, opts Options) (Record, string) {
	// A GA4 row is read without decoding it into a map first (see
	// walkGA4Row); only lines that may be one pay for the attempt.
	if opts.Format == FormatGA4 || opts.Format == FormatAuto && bytes.Contains(line, []byte(`"event_name"`)) {
		if row, ok := walkGA4Row(line); ok && (opts.Format == FormatGA4 || row.isGA4()) {
			return parseGA4(&row, opts.GA4)
		}
	}
	// A line of our shape has none of the members a Segment call or a GA4
	// row is known by, so the walk cannot take one of those for ours.
	if opts.Format == FormatNDJSON || opts.Format == FormatAuto {
		if rec, ok := walkOurs(line); ok {
			return rec, ""
		}
	}
	return decodeJSONLine(line, opts)
}

// decodeJSONLine parses a line by decoding it into a map of its members
// first: the general way, which every line walkOurs declines takes.
func decodeJSONLine(line []byte, opts Options) (Record, string) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(line, &obj); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return Record{}, "not a JSON object"
		}
		return Record{}, "not valid JSON: " + strings.TrimPrefix(err.Error(), "json: ")
	}
	if obj == nil { // the line was null
		return Record{}, "not a JSON object"
	}
	switch opts.Format {
	case FormatSegment:
		return segmentCall(obj)
	case FormatNDJSON:
		return parseOurs(obj)
	case FormatGA4:
		row := ga4RowOf(obj)
		return parseGA4(&row, opts.GA4)
	}
	if isSegmentCall(obj) {
		return segmentCall(obj)
	}
	if row := ga4RowOf(obj); row.isGA4() {
		return parseGA4(&row, opts.GA4)
	}
	return parseOurs(obj)
}

// parseOurs maps this project's own event shape; see the package doc.
func parseOurs(obj map[string]json.RawMessage) (Record, string) {
	if unknown := unknownFields(obj); len(unknown) > 0 {
		if len(unknown) == 1 {
			return Record{}, fmt.Sprintf("unknown field %q (known: event, ids, time, source, props, traits, consent, tags, message_id)", unknown[0])
		}
		return Record{}, fmt.Sprintf("unknown fields %s (known: event, ids, time, source, props, traits, consent, tags, message_id)", quoteList(unknown))
	}
	var rec Record

	if raw, ok := present(obj, "event"); ok {
		var s string
		if json.Unmarshal(raw, &s) != nil || s == "" {
			return Record{}, `"event" must be a non-empty string`
		}
		rec.Event = s
	}

	raw, ok := present(obj, "ids")
	if !ok {
		return Record{}, "no identifiers"
	}
	var ids []json.RawMessage
	if json.Unmarshal(raw, &ids) != nil {
		return Record{}, `"ids" must be an array of strings`
	}
	if len(ids) == 0 {
		return Record{}, "no identifiers"
	}
	rec.IDs = make([]string, len(ids))
	for i, id := range ids {
		if len(id) == 0 || id[0] != '"' || json.Unmarshal(id, &rec.IDs[i]) != nil {
			return Record{}, `"ids" must be an array of strings`
		}
	}

	if raw, ok := present(obj, "time"); ok {
		t, reason := parseJSONTime(raw)
		if reason != "" {
			return Record{}, reason
		}
		rec.Time = t
	}

	if raw, ok := present(obj, "source"); ok {
		if json.Unmarshal(raw, &rec.Source) != nil {
			return Record{}, `"source" must be a string`
		}
	}

	if raw, ok := present(obj, "message_id"); ok {
		if json.Unmarshal(raw, &rec.MessageID) != nil {
			return Record{}, `"message_id" must be a string`
		}
	}

	if raw, ok := present(obj, "props"); ok {
		p, ok := compactObject(raw)
		if !ok {
			return Record{}, `"props" must be a JSON object`
		}
		rec.Props = p
	}

	if raw, ok := present(obj, "traits"); ok {
		var m map[string]json.RawMessage
		if json.Unmarshal(raw, &m) != nil {
			return Record{}, `"traits" must be a JSON object`
		}
		for _, k := range sortedKeys(m) {
			s, ok, err := scalarString(m[k])
			if err != nil {
				return Record{}, fmt.Sprintf("trait %q must be a string, number or boolean", k)
			}
			if ok {
				if rec.Traits == nil {
					rec.Traits = make(map[string]string, len(m))
				}
				rec.Traits[k] = s
			}
		}
	}

	if raw, ok := present(obj, "consent"); ok {
		var m map[string]json.RawMessage
		if json.Unmarshal(raw, &m) != nil {
			return Record{}, `"consent" must be a JSON object`
		}
		for _, k := range sortedKeys(m) {
			var s string
			if json.Unmarshal(m[k], &s) != nil {
				return Record{}, fmt.Sprintf(`consent %q must be "grant" or "deny"`, k)
			}
			var grant bool
			switch strings.ToLower(s) {
			case "grant":
				grant = true
			case "deny":
			default:
				return Record{}, fmt.Sprintf(`consent %q must be "grant" or "deny"`, k)
			}
			if rec.Consent == nil {
				rec.Consent = make(map[string]bool, len(m))
			}
			rec.Consent[k] = grant
		}
	}

	if raw, ok := present(obj, "tags"); ok {
		if json.Unmarshal(raw, &rec.Tags) != nil {
			return Record{}, `"tags" must be an array of strings, like ["vip","b2b"]`
		}
		for _, t := range rec.Tags {
			if t == "" {
				return Record{}, `"tags" holds an empty tag`
			}
		}
		if len(rec.Tags) == 0 {
			rec.Tags = nil
		}
	}
	return rec, ""
}

func unknownFields(obj map[string]json.RawMessage) []string {
	var unknown []string
	for k := range obj {
		if _, ok := ourField[k]; !ok {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	return unknown
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q, ", ")
}

// present returns obj[key] unless it is missing or JSON null: an optional
// field set to null counts as not given.
func present(obj map[string]json.RawMessage, key string) (json.RawMessage, bool) {
	raw, ok := obj[key]
	if !ok || isNull(raw) {
		return nil, false
	}
	return raw, true
}

// isCompact reports whether raw, JSON text, has no space outside its
// strings (what json.Compact would remove).
func isCompact(raw []byte) bool {
	for i := 0; i < len(raw); i++ {
		switch raw[i] {
		case ' ', '\t', '\n', '\r':
			return false
		case '"':
			e := stringEnd(raw, i)
			if e < 0 {
				return false
			}
			i = e - 1
		}
	}
	return true
}

func isNull(raw json.RawMessage) bool {
	return string(bytes.TrimSpace(raw)) == "null"
}

// parseJSONTime reads "time": an RFC 3339 string or a number of Unix
// milliseconds, by the engine's rule (engine.ParseTime), as TRACK ... AT
// reads it: a number of 10 or 11 digits is refused as ambiguous.
func parseJSONTime(raw json.RawMessage) (time.Time, string) {
	raw = bytes.TrimSpace(raw)
	var s string
	if len(raw) == 0 || raw[0] != '"' {
		s = string(raw)
	} else {
		var ok bool
		if s, ok = jsonString(raw); !ok {
			return time.Time{}, fmt.Sprintf("bad time %s: use RFC 3339 or Unix milliseconds", raw)
		}
		if isDigits(s) { // a number in a string is not a time
			return time.Time{}, fmt.Sprintf("bad time %q: use RFC 3339, or Unix milliseconds as a JSON number", s)
		}
	}
	t, err := engine.ParseTime(s)
	if err != nil {
		var ee *engine.Error
		if errors.As(err, &ee) {
			return time.Time{}, ee.Msg
		}
		return time.Time{}, err.Error()
	}
	return t, ""
}

// scalarString converts a JSON scalar to a trait value: strings as they are,
// numbers as their literal text, booleans as "true" or "false". A null gives
// ok == false; an object or array is an error.
func scalarString(raw json.RawMessage) (s string, ok bool, err error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "", false, nil
	}
	switch c := raw[0]; {
	case c == '"':
		if s, ok := jsonString(raw); ok {
			return s, true, nil
		}
		return "", false, fmt.Errorf("not a JSON string")
	case c == 'n':
		return "", false, nil
	case c == 't', c == 'f':
		return string(raw), true, nil
	case c == '-' || c >= '0' && c <= '9':
		return string(raw), true, nil
	}
	return "", false, fmt.Errorf("not a scalar")
}

// compactObject returns raw as a compact JSON object in fresh memory, or
// false when it is not an object.
func compactObject(raw json.RawMessage) (json.RawMessage, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, false
	}
	if isCompact(raw) && json.Valid(raw) {
		return bytes.Clone(raw), true
	}
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return nil, false
	}
	return b.Bytes(), true
}
