package load

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Sources given to GA4 rows by their platform, unless GA4Options.Source
// names one for every row.
const (
	ga4SourceWeb = "web"
	ga4SourceApp = "app"
)

// ga4NotSet is the placeholder GA4 shows for a dimension without a value.
// It is not a value of the user's, so it never becomes an identifier.
const ga4NotSet = "(not set)"

// GA4Options configures the reading of GA4 BigQuery export rows.
type GA4Options struct {
	// Source is the source of every GA4 row. Empty means by platform:
	// "web" for WEB rows, "app" for IOS and ANDROID rows.
	Source string
}

// ga4Row holds the top-level members of a GA4 row that the mapping reads,
// each as JSON text, nil when missing or null.
type ga4Row struct {
	eventName, eventTimestamp, userID, userPseudoID, platform, device []byte
	eventParams, userProperties, privacyInfo, ecommerce, items        []byte

	// Whether these keys appear at all, null or not: what detection looks at.
	hasEventName, hasPseudoID, hasTimestamp, hasType, hasIDs bool
}

// isGA4 reports whether the row has the shape of a GA4 export row: an
// "event_name" with a "user_pseudo_id" or an "event_timestamp", and neither
// of the "type" and "ids" fields that mark a Segment call and our own shape.
func (r *ga4Row) isGA4() bool {
	return r.hasEventName && (r.hasPseudoID || r.hasTimestamp) && !r.hasType && !r.hasIDs
}

// set records one top-level member; later members of the same name win, as
// they do when a line is decoded.
func (r *ga4Row) set(k, v []byte) bool {
	if isNullToken(v) {
		v = nil
	}
	switch {
	case keyIs(k, "event_name"):
		r.eventName, r.hasEventName = v, true
	case keyIs(k, "event_timestamp"):
		r.eventTimestamp, r.hasTimestamp = v, true
	case keyIs(k, "user_id"):
		r.userID = v
	case keyIs(k, "user_pseudo_id"):
		r.userPseudoID, r.hasPseudoID = v, true
	case keyIs(k, "platform"):
		r.platform = v
	case keyIs(k, "device"):
		r.device = v
	case keyIs(k, "event_params"):
		r.eventParams = v
	case keyIs(k, "user_properties"):
		r.userProperties = v
	case keyIs(k, "privacy_info"):
		r.privacyInfo = v
	case keyIs(k, "ecommerce"):
		r.ecommerce = v
	case keyIs(k, "items"):
		r.items = v
	case keyIs(k, "type"):
		r.hasType = true
	case keyIs(k, "ids"):
		r.hasIDs = true
	}
	return true
}

// walkGA4Row reads the members of a line without decoding it into a map,
// which costs more than the rest of parsing a GA4 row. It reports false
// when the line is not a valid JSON object; the caller then decodes it to
// report why.
func walkGA4Row(line []byte) (ga4Row, bool) {
	var r ga4Row
	if !json.Valid(line) || !eachMember(line, r.set) {
		return ga4Row{}, false
	}
	return r, true
}

// ga4RowOf takes the members of a line already decoded into a map.
func ga4RowOf(obj map[string]json.RawMessage) ga4Row {
	r := ga4Row{}
	if _, ok := obj["event_name"]; !ok {
		return r // not a GA4 row; nothing else matters
	}
	for _, name := range [...]string{"event_name", "event_timestamp", "user_id", "user_pseudo_id", "platform", "device",
		"event_params", "user_properties", "privacy_info", "ecommerce", "items", "type", "ids"} {
		if v, ok := obj[name]; ok {
			r.set([]byte(`"`+name+`"`), v)
		}
	}
	return r
}

// ga4Value is the value of one entry of event_params or user_properties:
// each member is its JSON text, nil when missing or null. The export sets at
// most one of the four values. Integers (int_value, set_timestamp_micros)
// are JSON strings in the export, as BigQuery writes every INT64 in JSON;
// numbers are accepted too.
type ga4Value struct {
	String, Int, Float, Double, SetTimestampMicros []byte
}

// ga4Member is one member of an object being assembled: name is the key
// decoded, key its JSON text, val the value's JSON text.
type ga4Member struct {
	name     string
	key, val []byte
}

// parseGA4 maps one row of the GA4 BigQuery export; the table in the
// package doc and in MAPPING.md is the specification of this function.
//
// The row reaches it validated and split into its top-level members
// (walkGA4Row, or ga4RowOf for a line decoded already). Nested objects are
// walked in place (eachMember) rather than decoded: GA4 rows are large and
// mostly null, and decoding each nested object into a map made parsing
// them 2.5 times slower.
func parseGA4(row *ga4Row, opts GA4Options) (Record, string) {
	var rec Record
	var ok bool

	if row.eventName == nil {
		return Record{}, `no "event_name"`
	}
	if rec.Event, ok = jsonString(row.eventName); !ok || rec.Event == "" {
		return Record{}, `"event_name" must be a non-empty string`
	}

	if row.eventTimestamp == nil {
		return Record{}, `no "event_timestamp"`
	}
	micros, ok := ga4Int(row.eventTimestamp)
	if !ok {
		return Record{}, fmt.Sprintf(`bad "event_timestamp" %s: want whole microseconds since 1970`, row.eventTimestamp)
	}
	rec.Time = time.UnixMicro(micros).UTC()

	var platform string
	if raw := row.platform; raw != nil {
		if platform, ok = jsonString(raw); !ok {
			return Record{}, `"platform" must be a string`
		}
		platform = strings.ToUpper(strings.TrimSpace(platform))
	}
	app := platform == "IOS" || platform == "ANDROID"

	var adID, limited []byte
	if raw := row.device; raw != nil {
		walked := eachMember(raw, func(k, v []byte) bool {
			switch {
			case keyIs(k, "advertising_id"):
				adID = v
			case keyIs(k, "is_limited_ad_tracking"):
				limited = v
			}
			return true
		})
		if !walked {
			return Record{}, `"device" must be a JSON object`
		}
	}

	ids := idList{}
	pseudoType := "cookie"
	if app {
		pseudoType = "app"
	}
	for _, s := range []struct {
		typ, key string
		raw      []byte
	}{{"user", "user_id", row.userID}, {pseudoType, "user_pseudo_id", row.userPseudoID}} {
		if s.raw == nil {
			continue
		}
		v, reason := rawIDValue(s.raw, s.key)
		if reason != "" {
			return Record{}, reason
		}
		if v != "" && !strings.EqualFold(strings.TrimSpace(v), ga4NotSet) {
			ids.add(s.typ, v)
		}
	}
	if adID != nil && !isNullToken(adID) {
		v, reason := rawIDValue(adID, "device.advertising_id")
		if reason != "" {
			return Record{}, reason
		}
		if v != "" && !strings.EqualFold(strings.TrimSpace(v), ga4NotSet) && !isYes(limited) {
			switch platform {
			case "IOS":
				ids.add("idfa", v)
			case "ANDROID":
				ids.add("aaid", v)
			}
		}
	}
	if len(ids.list) == 0 {
		return Record{}, "no identifiers: the row has no user_id, user_pseudo_id or device.advertising_id"
	}
	rec.IDs = ids.list

	rec.Source = opts.Source
	if rec.Source == "" {
		rec.Source = ga4SourceWeb
		if app {
			rec.Source = ga4SourceApp
		}
	}

	var props []ga4Member
	reason := ga4Params(row.eventParams, "event_params", func(key []byte, name string, v *ga4Value) string {
		js, _, ok, reason := v.typed("event_params", name)
		if ok {
			props = append(props, ga4Member{name, key, js})
		}
		return reason
	})
	if reason != "" {
		return Record{}, reason
	}
	if raw := row.ecommerce; raw != nil {
		e, ok := ga4Clean(raw, "total_item_quantity", "unique_items")
		if !ok {
			return Record{}, `"ecommerce" must be a JSON object`
		}
		if e != nil {
			props = append(props, ga4Member{"ecommerce", []byte(`"ecommerce"`), e})
		}
	}
	if raw := row.items; raw != nil {
		items, ok := ga4Items(raw)
		if !ok {
			return Record{}, `"items" must be an array of objects`
		}
		if items != nil {
			props = append(props, ga4Member{"items", []byte(`"items"`), items})
		}
	}
	rec.Props = ga4Props(props)

	reason = ga4Params(row.userProperties, "user_properties", func(_ []byte, name string, v *ga4Value) string {
		_, text, ok, reason := v.typed("user_properties", name)
		if !ok {
			return reason
		}
		if raw := v.SetTimestampMicros; raw != nil {
			set, ok := ga4Int(raw)
			if !ok {
				return fmt.Sprintf(`user_properties %q: bad "set_timestamp_micros" %s: want whole microseconds since 1970`, name, raw)
			}
			if set > micros {
				return "" // set after this event: a later row carries it
			}
		}
		if rec.Traits == nil {
			rec.Traits = make(map[string]string, 4)
		}
		rec.Traits[name] = text
		return ""
	})
	if reason != "" {
		return Record{}, reason
	}

	var analytics, ads []byte
	if raw := row.privacyInfo; raw != nil {
		walked := eachMember(raw, func(k, v []byte) bool {
			switch {
			case keyIs(k, "analytics_storage"):
				analytics = v
			case keyIs(k, "ads_storage"):
				ads = v
			}
			return true
		})
		if !walked {
			return Record{}, `"privacy_info" must be a JSON object`
		}
	}
	for _, c := range []struct {
		raw     []byte
		purpose string
	}{{analytics, "analytics"}, {ads, "ads"}} {
		s, _ := jsonString(c.raw)
		var grant bool
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "yes":
			grant = true
		case "no":
		default:
			continue // missing, null, unset or unknown: no decision
		}
		if rec.Consent == nil {
			rec.Consent = make(map[string]bool, 2)
		}
		rec.Consent[c.purpose] = grant
	}
	return rec, ""
}

// ga4Params calls fn for each entry of raw, the array of {key, value}
// objects of the named field, in order, and stops at the first reason fn
// returns. An entry without a key is an error; a missing or null value is
// passed on as a value with nothing set. A nil raw has no entries.
func ga4Params(raw []byte, field string, fn func(key []byte, name string, v *ga4Value) string) string {
	if raw == nil {
		return ""
	}
	var reason string
	n := 0
	walked := eachElement(raw, func(e []byte) bool {
		n++
		var key []byte
		var v ga4Value
		bad := false
		if !isNullToken(e) && !eachMember(e, func(k, m []byte) bool {
			switch {
			case keyIs(k, "key"):
				key = m
				bad = m[0] != '"' && !isNullToken(m)
			case keyIs(k, "value"):
				v = ga4Value{}
				bad = !isNullToken(m) && !eachMember(m, v.set)
			}
			return !bad
		}) || bad {
			return false
		}
		name, _ := jsonString(key)
		if name == "" {
			reason = fmt.Sprintf("%s entry %d has no key", field, n)
			return false
		}
		reason = fn(key, name, &v)
		return reason == ""
	})
	if !walked && reason == "" {
		return fmt.Sprintf("%q must be an array of {key, value} objects", field)
	}
	return reason
}

// set records one member of a value object; it never stops the walk.
func (v *ga4Value) set(k, m []byte) bool {
	if isNullToken(m) {
		m = nil
	}
	switch {
	case keyIs(k, "string_value"):
		v.String = m
	case keyIs(k, "int_value"):
		v.Int = m
	case keyIs(k, "float_value"):
		v.Float = m
	case keyIs(k, "double_value"):
		v.Double = m
	case keyIs(k, "set_timestamp_micros"):
		v.SetTimestampMicros = m
	}
	return true
}

// typed returns the value as JSON for props and as text for traits. The
// first of string_value, int_value, float_value and double_value that is not
// null is the value; ok is false when all are null. A string int_value
// becomes a JSON number; a float given as a string becomes a number when it
// is finite and stays a string ("NaN", "Infinity") otherwise.
func (v *ga4Value) typed(field, key string) (js []byte, text string, ok bool, reason string) {
	if raw := v.String; raw != nil {
		if text, ok = jsonString(raw); !ok {
			return nil, "", false, fmt.Sprintf("%s %q: string_value must be a string", field, key)
		}
		return raw, text, true, ""
	}
	if raw := v.Int; raw != nil {
		n, ok := ga4Int(raw)
		if !ok {
			return nil, "", false, fmt.Sprintf("%s %q: int_value %s is not an integer", field, key, raw)
		}
		text = strconv.FormatInt(n, 10)
		return []byte(text), text, true, ""
	}
	for i, raw := range [...][]byte{v.Float, v.Double} {
		if raw == nil {
			continue
		}
		name := [...]string{"float_value", "double_value"}[i]
		if raw[0] != '"' {
			if _, err := strconv.ParseFloat(string(raw), 64); err != nil && !isRangeErr(err) {
				return nil, "", false, fmt.Sprintf("%s %q: %s %s is not a number", field, key, name, raw)
			}
			return raw, string(raw), true, ""
		}
		s, _ := jsonString(raw)
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil && !isRangeErr(err) {
			return nil, "", false, fmt.Sprintf("%s %q: %s %q is not a number", field, key, name, s)
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return raw, s, true, ""
		}
		text = strconv.FormatFloat(f, 'g', -1, 64)
		return []byte(text), text, true, ""
	}
	return nil, "", false, ""
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// ga4Int reads a BigQuery INT64 as exported to JSON: a string of digits, or
// a JSON number without fraction or exponent.
func ga4Int(raw []byte) (int64, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		s, ok := jsonString(raw)
		if !ok {
			return 0, false
		}
		raw = []byte(strings.TrimSpace(s))
	}
	n, err := strconv.ParseInt(string(raw), 10, 64)
	return n, err == nil
}

// isYes reports whether a GA4 flag is set: "Yes" (any case), or true.
func isYes(raw []byte) bool {
	if string(raw) == "true" {
		return true
	}
	s, ok := jsonString(raw)
	return ok && strings.EqualFold(strings.TrimSpace(s), "yes")
}

// ga4Clean returns the object raw without its null members, with the named
// INT64 members turned from strings into numbers, as compact JSON; nil when
// no member is left, and false when raw is not an object.
func ga4Clean(raw []byte, ints ...string) ([]byte, bool) {
	var b []byte
	nested := false
	ok := eachMember(raw, func(k, v []byte) bool {
		if isNullToken(v) {
			return true
		}
		if v[0] == '"' {
			for _, name := range ints {
				if keyIs(k, name) {
					if n, ok := ga4Int(v); ok {
						v = strconv.AppendInt(nil, n, 10)
					}
					break
				}
			}
		}
		nested = nested || v[0] == '{' || v[0] == '['
		if b == nil {
			b = append(b, '{')
		} else {
			b = append(b, ',')
		}
		b = append(append(append(b, k...), ':'), v...)
		return true
	})
	if !ok {
		return nil, false
	}
	if b == nil {
		return nil, true
	}
	b = append(b, '}')
	if nested {
		var c bytes.Buffer
		if json.Compact(&c, b) != nil {
			return nil, false
		}
		b = c.Bytes()
	}
	return b, true
}

// ga4Items returns the items array with each item cleaned as by ga4Clean
// (quantity is an INT64) and null entries left out; nil when none is left,
// and false when raw is not an array of objects.
func ga4Items(raw []byte) ([]byte, bool) {
	var b []byte
	ok := eachElement(raw, func(e []byte) bool {
		if isNullToken(e) {
			return true
		}
		item, ok := ga4Clean(e, "quantity")
		if !ok {
			return false
		}
		if item == nil {
			item = []byte("{}")
		}
		if b == nil {
			b = append(b, '[')
		} else {
			b = append(b, ',')
		}
		b = append(b, item...)
		return true
	})
	if !ok {
		return nil, false
	}
	if b != nil {
		b = append(b, ']')
	}
	return b, true
}

// ga4Props assembles the props object with its keys sorted; of members of
// the same name the last one is kept (so ecommerce and items, added last,
// win over event_params of those names). Nil when there are none.
func ga4Props(members []ga4Member) json.RawMessage {
	if len(members) == 0 {
		return nil
	}
	sort.SliceStable(members, func(i, j int) bool { return members[i].name < members[j].name })
	b := []byte{'{'}
	for i, m := range members {
		if i+1 < len(members) && members[i+1].name == m.name {
			continue
		}
		if len(b) > 1 {
			b = append(b, ',')
		}
		key := m.key
		if bytes.IndexByte(key, '\\') >= 0 {
			key = quoteJSON(m.name) // written plainly, as marshalObject does
		}
		b = append(append(append(b, key...), ':'), m.val...)
	}
	return append(b, '}')
}

// quoteJSON returns s as a JSON string without HTML escaping.
func quoteJSON(s string) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(s) // a string always encodes
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// The walkers below read JSON that has already been validated (a member
// of a decoded document). On anything else they stop and report false
// rather than guess; they never index out of range.

// eachMember calls fn with each member of the object raw, in order: its key
// as JSON text (with the quotes) and its value as JSON text. It stops when
// fn returns false. It reports false when raw is not an object.
func eachMember(raw []byte, fn func(key, val []byte) bool) bool {
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return false
	}
	if i = skipSpace(raw, i+1); i < len(raw) && raw[i] == '}' {
		return true
	}
	for {
		ke := stringEnd(raw, i)
		if ke < 0 {
			return false
		}
		key := raw[i:ke]
		if i = skipSpace(raw, ke); i >= len(raw) || raw[i] != ':' {
			return false
		}
		i = skipSpace(raw, i+1)
		ve := valueEnd(raw, i)
		if ve < 0 {
			return false
		}
		if !fn(key, raw[i:ve]) {
			return true
		}
		if i = skipSpace(raw, ve); i >= len(raw) {
			return false
		}
		switch raw[i] {
		case ',':
			i = skipSpace(raw, i+1)
		case '}':
			return true
		default:
			return false
		}
	}
}

// eachElement calls fn with each element of the array raw, in order, as
// JSON text, and reports false when raw is not an array or fn returned
// false.
func eachElement(raw []byte, fn func(val []byte) bool) bool {
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '[' {
		return false
	}
	if i = skipSpace(raw, i+1); i < len(raw) && raw[i] == ']' {
		return true
	}
	for {
		ve := valueEnd(raw, i)
		if ve < 0 || !fn(raw[i:ve]) {
			return false
		}
		if i = skipSpace(raw, ve); i >= len(raw) {
			return false
		}
		switch raw[i] {
		case ',':
			i = skipSpace(raw, i+1)
		case ']':
			return true
		default:
			return false
		}
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index after the JSON string starting at b[i], or -1.
func stringEnd(b []byte, i int) int {
	if i >= len(b) || b[i] != '"' {
		return -1
	}
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return -1
}

// valueEnd returns the index after the JSON value starting at b[i], or -1.
func valueEnd(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				e := stringEnd(b, j)
				if e < 0 {
					return -1
				}
				j = e - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	}
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\t' && b[j] != '\n' && b[j] != '\r' {
		j++
	}
	if j == i {
		return -1
	}
	return j
}

// keyIs reports whether the JSON string key decodes to name.
func keyIs(key []byte, name string) bool {
	if len(key) == len(name)+2 && string(key[1:len(key)-1]) == name {
		return true
	}
	if bytes.IndexByte(key, '\\') < 0 {
		return false
	}
	s, ok := jsonString(key)
	return ok && s == name
}

// jsonString decodes the JSON string raw; false when raw is not a string.
// A string without escapes and in valid UTF-8 is taken as it is, which is
// what decoding gives, without the decoder's cost.
func jsonString(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	inner := raw[1 : len(raw)-1]
	plain, ascii := true, true
	for _, c := range inner {
		if c == '\\' || c == '"' || c < 0x20 {
			plain = false
			break
		}
		ascii = ascii && c < utf8.RuneSelf
	}
	if plain && (ascii || utf8.Valid(inner)) {
		return string(inner), true
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

func isNullToken(raw []byte) bool { return string(raw) == "null" }
