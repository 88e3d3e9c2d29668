package load

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
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

// isGA4Row reports whether obj has the shape of a GA4 export row: an
// "event_name" with a "user_pseudo_id" or an "event_timestamp", and neither
// of the "type" and "ids" fields that mark a Segment call and our own shape.
func isGA4Row(obj map[string]json.RawMessage) bool {
	if _, ok := obj["event_name"]; !ok {
		return false
	}
	_, pseudo := obj["user_pseudo_id"]
	_, ts := obj["event_timestamp"]
	_, typ := obj["type"]
	_, ids := obj["ids"]
	return (pseudo || ts) && !typ && !ids
}

// ga4Param is one entry of event_params or user_properties.
type ga4Param struct {
	Key   *string   `json:"key"`
	Value *ga4Value `json:"value"`
}

// ga4Value holds one typed value; the export sets at most one of the four.
// Integers (int_value, set_timestamp_micros) are JSON strings in the export,
// as BigQuery writes every INT64 in JSON; numbers are accepted too.
type ga4Value struct {
	String             json.RawMessage `json:"string_value"`
	Int                json.RawMessage `json:"int_value"`
	Float              json.RawMessage `json:"float_value"`
	Double             json.RawMessage `json:"double_value"`
	SetTimestampMicros json.RawMessage `json:"set_timestamp_micros"`
}

// parseGA4 maps one row of the GA4 BigQuery export; the table in the
// package doc and in MAPPING.md is the specification of this function.
func parseGA4(obj map[string]json.RawMessage, opts GA4Options) (Record, string) {
	var rec Record

	raw, ok := present(obj, "event_name")
	if !ok {
		return Record{}, `no "event_name"`
	}
	if json.Unmarshal(raw, &rec.Event) != nil || rec.Event == "" {
		return Record{}, `"event_name" must be a non-empty string`
	}

	raw, ok = present(obj, "event_timestamp")
	if !ok {
		return Record{}, `no "event_timestamp"`
	}
	micros, ok := ga4Int(raw)
	if !ok {
		return Record{}, fmt.Sprintf(`bad "event_timestamp" %s: want whole microseconds since 1970`, raw)
	}
	rec.Time = time.UnixMicro(micros).UTC()

	var platform string
	if raw, ok := present(obj, "platform"); ok {
		if json.Unmarshal(raw, &platform) != nil {
			return Record{}, `"platform" must be a string`
		}
		platform = strings.ToUpper(strings.TrimSpace(platform))
	}
	app := platform == "IOS" || platform == "ANDROID"

	device, reason := objectField(obj, "device", "device")
	if reason != "" {
		return Record{}, reason
	}
	ids := idList{}
	pseudoType := "cookie"
	if app {
		pseudoType = "app"
	}
	for _, s := range []struct{ typ, key string }{{"user", "user_id"}, {pseudoType, "user_pseudo_id"}} {
		v, reason := idValue(obj, s.key, s.key)
		if reason != "" {
			return Record{}, reason
		}
		if v != "" && !strings.EqualFold(strings.TrimSpace(v), ga4NotSet) {
			ids.add(s.typ, v)
		}
	}
	adID, reason := idValue(device, "advertising_id", "device.advertising_id")
	if reason != "" {
		return Record{}, reason
	}
	if adID != "" && !strings.EqualFold(strings.TrimSpace(adID), ga4NotSet) && !isYes(device["is_limited_ad_tracking"]) {
		switch platform {
		case "IOS":
			ids.add("idfa", adID)
		case "ANDROID":
			ids.add("aaid", adID)
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

	props := map[string]json.RawMessage{}
	params, reason := ga4Params(obj, "event_params")
	if reason != "" {
		return Record{}, reason
	}
	for _, p := range params {
		js, _, ok, reason := p.Value.typed("event_params", *p.Key)
		if reason != "" {
			return Record{}, reason
		}
		if ok {
			props[*p.Key] = js
		}
	}
	if raw, ok := present(obj, "ecommerce"); ok {
		e, reason := ga4Object(raw, "ecommerce", "total_item_quantity", "unique_items")
		if reason != "" {
			return Record{}, reason
		}
		if e != nil {
			props["ecommerce"] = e
		}
	}
	if raw, ok := present(obj, "items"); ok {
		items, reason := ga4Items(raw)
		if reason != "" {
			return Record{}, reason
		}
		if items != nil {
			props["items"] = items
		}
	}
	rec.Props = marshalObject(props)

	uprops, reason := ga4Params(obj, "user_properties")
	if reason != "" {
		return Record{}, reason
	}
	for _, p := range uprops {
		_, text, ok, reason := p.Value.typed("user_properties", *p.Key)
		if reason != "" {
			return Record{}, reason
		}
		if !ok {
			continue
		}
		if raw := p.Value.SetTimestampMicros; given(raw) {
			set, ok := ga4Int(raw)
			if !ok {
				return Record{}, fmt.Sprintf(`user_properties %q: bad "set_timestamp_micros" %s: want whole microseconds since 1970`, *p.Key, raw)
			}
			if set > micros {
				continue // set after this event: a later row carries it
			}
		}
		if rec.Traits == nil {
			rec.Traits = make(map[string]string, len(uprops))
		}
		rec.Traits[*p.Key] = text
	}

	privacy, reason := objectField(obj, "privacy_info", "privacy_info")
	if reason != "" {
		return Record{}, reason
	}
	for _, c := range []struct{ field, purpose string }{{"analytics_storage", "analytics"}, {"ads_storage", "ads"}} {
		var s string
		if raw, ok := present(privacy, c.field); !ok || json.Unmarshal(raw, &s) != nil {
			continue
		}
		var grant bool
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "yes":
			grant = true
		case "no":
		default:
			continue // unset or unknown: no decision
		}
		if rec.Consent == nil {
			rec.Consent = make(map[string]bool, 2)
		}
		rec.Consent[c.purpose] = grant
	}
	return rec, ""
}

// ga4Params decodes the array of {key, value} at obj[field]. Entries with a
// null value are kept (typed reports them as unset); a missing key is an
// error.
func ga4Params(obj map[string]json.RawMessage, field string) ([]ga4Param, string) {
	raw, ok := present(obj, field)
	if !ok {
		return nil, ""
	}
	bad := fmt.Sprintf("%q must be an array of {key, value} objects", field)
	if raw[0] != '[' {
		return nil, bad
	}
	var params []ga4Param
	if json.Unmarshal(raw, &params) != nil {
		return nil, bad
	}
	for i, p := range params {
		if p.Key == nil || *p.Key == "" {
			return nil, fmt.Sprintf("%s entry %d has no key", field, i+1)
		}
	}
	return params, ""
}

// typed returns the value as JSON for props and as text for traits. The
// first of string_value, int_value, float_value and double_value that is not
// null is the value; ok is false when all are null. A string int_value
// becomes a JSON number; a float given as a string becomes a number when it
// is finite and stays a string ("NaN", "Infinity") otherwise.
func (v *ga4Value) typed(field, key string) (js json.RawMessage, text string, ok bool, reason string) {
	if v == nil {
		return nil, "", false, ""
	}
	if raw := v.String; given(raw) {
		if raw[0] != '"' || json.Unmarshal(raw, &text) != nil {
			return nil, "", false, fmt.Sprintf("%s %q: string_value must be a string", field, key)
		}
		return raw, text, true, ""
	}
	if raw := v.Int; given(raw) {
		n, ok := ga4Int(raw)
		if !ok {
			return nil, "", false, fmt.Sprintf("%s %q: int_value %s is not an integer", field, key, raw)
		}
		text = strconv.FormatInt(n, 10)
		return json.RawMessage(text), text, true, ""
	}
	for i, raw := range []json.RawMessage{v.Float, v.Double} {
		if !given(raw) {
			continue
		}
		name := [...]string{"float_value", "double_value"}[i]
		if raw[0] != '"' {
			if _, err := strconv.ParseFloat(string(raw), 64); err != nil && !isRangeErr(err) {
				return nil, "", false, fmt.Sprintf("%s %q: %s %s is not a number", field, key, name, raw)
			}
			return raw, string(raw), true, ""
		}
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return nil, "", false, fmt.Sprintf("%s %q: %s %s is not a number", field, key, name, raw)
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil && !isRangeErr(err) {
			return nil, "", false, fmt.Sprintf("%s %q: %s %q is not a number", field, key, name, s)
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return raw, s, true, ""
		}
		text = strconv.FormatFloat(f, 'g', -1, 64)
		return json.RawMessage(text), text, true, ""
	}
	return nil, "", false, ""
}

// given reports whether a member was present and not null.
func given(raw json.RawMessage) bool { return len(raw) > 0 && !isNull(raw) }

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// ga4Int reads a BigQuery INT64 as exported to JSON: a string of digits, or
// a JSON number without fraction or exponent.
func ga4Int(raw json.RawMessage) (int64, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return 0, false
		}
		raw = []byte(strings.TrimSpace(s))
	}
	n, err := strconv.ParseInt(string(raw), 10, 64)
	return n, err == nil
}

// isYes reports whether a GA4 flag is set: "Yes" (any case), or true.
func isYes(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	if string(raw) == "true" {
		return true
	}
	var s string
	return len(raw) > 0 && raw[0] == '"' && json.Unmarshal(raw, &s) == nil && strings.EqualFold(strings.TrimSpace(s), "yes")
}

// ga4Object returns the object raw with its null members left out and the
// named INT64 members turned from strings into numbers; nil when nothing is
// left.
func ga4Object(raw json.RawMessage, field string, ints ...string) (json.RawMessage, string) {
	var m map[string]json.RawMessage
	if raw[0] != '{' || json.Unmarshal(raw, &m) != nil {
		return nil, fmt.Sprintf("%q must be a JSON object", field)
	}
	for k, v := range m {
		if isNull(v) {
			delete(m, k)
		}
	}
	for _, k := range ints {
		if v, ok := m[k]; ok && v[0] == '"' {
			if n, ok := ga4Int(v); ok {
				m[k] = json.RawMessage(strconv.FormatInt(n, 10))
			}
		}
	}
	return marshalObject(m), ""
}

// ga4Items returns the items array with each item cleaned as by ga4Object
// (quantity is an INT64) and null entries left out; nil when empty.
func ga4Items(raw json.RawMessage) (json.RawMessage, string) {
	const bad = `"items" must be an array of objects`
	var items []json.RawMessage
	if raw[0] != '[' || json.Unmarshal(raw, &items) != nil {
		return nil, bad
	}
	var b bytes.Buffer
	for _, it := range items {
		if isNull(it) {
			continue
		}
		it = bytes.TrimSpace(it)
		if it[0] != '{' {
			return nil, bad
		}
		o, _ := ga4Object(it, "items", "quantity")
		if o == nil {
			o = json.RawMessage("{}")
		}
		if b.Len() == 0 {
			b.WriteByte('[')
		} else {
			b.WriteByte(',')
		}
		b.Write(o)
	}
	if b.Len() == 0 {
		return nil, ""
	}
	b.WriteByte(']')
	return b.Bytes(), ""
}
