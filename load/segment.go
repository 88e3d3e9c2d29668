package load

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// segmentSource is the Source of every Segment call: Segment and RudderStack
// exports do not name a channel in the sense of idgraph's sources.
const segmentSource = "segment"

var segmentCalls = map[string]bool{
	"identify": true, "track": true, "page": true,
	"screen": true, "alias": true, "group": true,
}

// isSegmentCall reports whether obj has a "type" naming a Segment call. Our
// own shape has no "type" field, so such a line can only be a Segment call.
func isSegmentCall(obj map[string]json.RawMessage) bool {
	var t string
	if raw, ok := obj["type"]; !ok || json.Unmarshal(raw, &t) != nil {
		return false
	}
	return segmentCalls[strings.ToLower(t)]
}

// SegmentCall maps one Segment-spec call, decoded as a JSON object, onto a
// Record; the tables in the package doc (and MAPPING.md) are its
// specification. The call's "type" field names the call. The error, when
// not nil, is a short sentence saying why the call cannot be recorded
// (`no identifiers: ...`, `track call without "event"`); nothing else is
// returned with it.
//
// It is the one mapping of Segment calls: the NDJSON reader uses it for
// Segment lines and the HTTP tracking API (package httpapi) for every call
// it receives, so a file and a live call give the same Record.
func SegmentCall(obj map[string]json.RawMessage) (Record, error) {
	rec, reason := segmentCall(obj)
	if reason != "" {
		return Record{}, errors.New(reason)
	}
	return rec, nil
}

// segmentCall does the work of SegmentCall and returns the reason a call is
// rejected, or "".
func segmentCall(obj map[string]json.RawMessage) (Record, string) {
	var call string
	if raw, ok := obj["type"]; ok {
		json.Unmarshal(raw, &call)
	}
	call = strings.ToLower(call)
	if !segmentCalls[call] {
		return Record{}, `not a Segment call: "type" must be identify, track, page, screen, alias or group`
	}

	ctx, reason := objectField(obj, "context", "context")
	if reason != "" {
		return Record{}, reason
	}
	ctxTraits, reason := objectField(ctx, "traits", "context.traits")
	if reason != "" {
		return Record{}, reason
	}
	device, reason := objectField(ctx, "device", "context.device")
	if reason != "" {
		return Record{}, reason
	}
	osInfo, reason := objectField(ctx, "os", "context.os")
	if reason != "" {
		return Record{}, reason
	}
	consent, reason := objectField(ctx, "consent", "context.consent")
	if reason != "" {
		return Record{}, reason
	}
	prefs, reason := objectField(consent, "categoryPreferences", "context.consent.categoryPreferences")
	if reason != "" {
		return Record{}, reason
	}
	// Top-level traits are the user's only in identify; in group they
	// describe the group.
	var traits map[string]json.RawMessage
	if call == "identify" {
		if traits, reason = objectField(obj, "traits", "traits"); reason != "" {
			return Record{}, reason
		}
	}

	rec := Record{Source: segmentSource}
	ids := idList{}
	steps := []struct {
		typ      string
		m        map[string]json.RawMessage
		key      string
		field    string
		fallback bool // used only when no earlier step gave this type
	}{
		{"user", obj, "userId", "userId", false},
		{"cookie", obj, "anonymousId", "anonymousId", false},
		{"email", traits, "email", "traits.email", false},
		{"email", ctxTraits, "email", "context.traits.email", true},
		{"phone", traits, "phone", "traits.phone", false},
		{"phone", ctxTraits, "phone", "context.traits.phone", true},
		{"device", device, "id", "context.device.id", false},
		{"push", device, "token", "context.device.token", false},
	}
	for _, s := range steps {
		v, reason := idValue(s.m, s.key, s.field)
		if reason != "" {
			return Record{}, reason
		}
		if v == "" {
			continue
		}
		if s.fallback && ids.has(s.typ) {
			continue // the top-level traits value wins
		}
		ids.add(s.typ, v)
	}
	adID, reason := idValue(device, "advertisingId", "context.device.advertisingId")
	if reason != "" {
		return Record{}, reason
	}
	if adID != "" && !isFalse(device["adTrackingEnabled"]) {
		if typ := adIDType(osInfo, device); typ != "" {
			ids.add(typ, adID)
		}
	}
	if call == "alias" {
		prev, reason := idValue(obj, "previousId", "previousId")
		if reason != "" {
			return Record{}, reason
		}
		if prev != "" {
			ids.add("cookie", prev)
		}
	}
	if len(ids.list) == 0 {
		return Record{}, "no identifiers: the call has no userId, anonymousId, previousId, email, phone or device id"
	}
	rec.IDs = ids.list

	if rec.MessageID, reason = idValue(obj, "messageId", "messageId"); reason != "" {
		return Record{}, reason
	}

	for _, f := range []string{"timestamp", "originalTimestamp", "receivedAt"} {
		if raw, ok := present(obj, f); ok {
			t, reason := parseSegmentTime(raw, f)
			if reason != "" {
				return Record{}, reason
			}
			rec.Time = t
			break
		}
	}

	var props map[string]json.RawMessage
	if raw, ok := present(obj, "properties"); ok {
		if bytes.TrimSpace(raw)[0] != '{' || json.Unmarshal(raw, &props) != nil {
			return Record{}, `"properties" must be a JSON object`
		}
	}
	switch call {
	case "track":
		var ev string
		if raw, ok := present(obj, "event"); ok {
			json.Unmarshal(raw, &ev)
		}
		if ev == "" {
			return Record{}, `track call without "event"`
		}
		rec.Event = ev
		if props != nil {
			rec.Props, _ = compactObject(obj["properties"])
		}
	case "page", "screen":
		rec.Event = call
		extra := []string{"name"}
		if call == "page" {
			extra = append(extra, "category")
		}
		for _, k := range extra {
			if raw, ok := present(obj, k); ok {
				if _, dup := props[k]; !dup {
					if props == nil {
						props = map[string]json.RawMessage{}
					}
					props[k] = raw
				}
			}
		}
		rec.Props = marshalObject(props)
	case "group":
		rec.Event = "group"
		gid, ok := present(obj, "groupId")
		if !ok {
			return Record{}, `group call without "groupId"`
		}
		g := map[string]json.RawMessage{"groupId": gid}
		if raw, ok := present(obj, "traits"); ok {
			if bytes.TrimSpace(raw)[0] != '{' {
				return Record{}, `"traits" must be a JSON object`
			}
			g["traits"] = raw
		}
		rec.Props = marshalObject(g)
	case "identify":
		rec.Traits = flattenTraits(ctxTraits, traits)
	}

	for k, v := range prefs {
		b, ok := boolValue(v)
		if !ok {
			continue
		}
		if rec.Consent == nil {
			rec.Consent = make(map[string]bool, len(prefs))
		}
		rec.Consent[k] = b
	}
	return rec, ""
}

// idList collects "type:value" identifiers without duplicates, in order.
type idList struct{ list []string }

func (l *idList) add(typ, v string) {
	id := typ + ":" + v
	for _, x := range l.list {
		if x == id {
			return
		}
	}
	l.list = append(l.list, id)
}

func (l *idList) has(typ string) bool {
	for _, x := range l.list {
		if strings.HasPrefix(x, typ+":") {
			return true
		}
	}
	return false
}

// objectField returns m[key] as an object; missing or null gives nil, any
// other non-object the reason to reject the line.
func objectField(m map[string]json.RawMessage, key, field string) (map[string]json.RawMessage, string) {
	raw, ok := present(m, key)
	if !ok {
		return nil, ""
	}
	var o map[string]json.RawMessage
	if bytes.TrimSpace(raw)[0] != '{' || json.Unmarshal(raw, &o) != nil {
		return nil, fmt.Sprintf("%q must be a JSON object", field)
	}
	return o, ""
}

// idValue returns m[key] as an identifier value: a string, or a number's
// literal text. Missing, null and "" give "".
func idValue(m map[string]json.RawMessage, key, field string) (string, string) {
	raw, ok := present(m, key)
	if !ok {
		return "", ""
	}
	return rawIDValue(raw, field)
}

// rawIDValue is idValue of a member already looked up, present and not null.
func rawIDValue(raw []byte, field string) (string, string) {
	raw = bytes.TrimSpace(raw)
	switch c := raw[0]; {
	case c == '"':
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s, ""
		}
	case c == '-' || c >= '0' && c <= '9':
		return string(raw), ""
	}
	return "", fmt.Sprintf("%q must be a string or number", field)
}

// adIDType types an advertising id by the platform: "idfa" on iOS, "aaid" on
// Android, "" when the platform is unknown.
func adIDType(osInfo, device map[string]json.RawMessage) string {
	for _, raw := range []json.RawMessage{osInfo["name"], device["type"]} {
		var s string
		if raw == nil || json.Unmarshal(raw, &s) != nil {
			continue
		}
		s = strings.ToLower(strings.TrimSpace(s))
		switch {
		case s == "ios", s == "ipados", s == "iphone os", s == "tvos", s == "watchos":
			return "idfa"
		case s == "android", strings.HasPrefix(s, "android "):
			return "aaid"
		}
	}
	return ""
}

func isFalse(raw json.RawMessage) bool {
	return string(bytes.TrimSpace(raw)) == "false"
}

func boolValue(raw json.RawMessage) (bool, bool) {
	switch string(bytes.TrimSpace(raw)) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

// segmentTimeLayouts are tried in order: RFC 3339, then the ISO 8601 offset
// without a colon that some exporters write ("+0000").
var segmentTimeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999Z0700"}

// ParseSegmentTime reads a Segment time field (timestamp, sentAt …) as
// SegmentCall does: an RFC 3339 string, one with a "+0000" offset, or a
// whole number of Unix milliseconds. field names the field in the error.
func ParseSegmentTime(raw json.RawMessage, field string) (time.Time, error) {
	t, reason := parseSegmentTime(raw, field)
	if reason != "" {
		return time.Time{}, errors.New(reason)
	}
	return t, nil
}

func parseSegmentTime(raw json.RawMessage, field string) (time.Time, string) {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		if t, reason := parseJSONTime(raw); reason == "" {
			return t, ""
		}
		return time.Time{}, fmt.Sprintf("bad time %s in %q: use RFC 3339", bytes.TrimSpace(raw), field)
	}
	for _, layout := range segmentTimeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, ""
		}
	}
	return time.Time{}, fmt.Sprintf("bad time %q in %q: use RFC 3339", s, field)
}

// flattenTraits merges context.traits with the call's traits (which win)
// into string values; nested objects and arrays become their JSON text and
// nulls are left out.
func flattenTraits(ctxTraits, traits map[string]json.RawMessage) map[string]string {
	var out map[string]string
	for _, m := range []map[string]json.RawMessage{ctxTraits, traits} {
		for k, v := range m {
			s, ok, err := scalarString(v)
			if err != nil {
				var b bytes.Buffer
				if json.Compact(&b, v) != nil {
					continue
				}
				s, ok = b.String(), true
			}
			if !ok {
				continue
			}
			if out == nil {
				out = make(map[string]string)
			}
			out[k] = s
		}
	}
	return out
}

// marshalObject encodes m with sorted keys and without HTML escaping; nil
// for an empty map.
func marshalObject(m map[string]json.RawMessage) json.RawMessage {
	if len(m) == 0 {
		return nil
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if enc.Encode(m) != nil {
		return nil
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}
