package load

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/idgraph/idgraph/engine"
)

// EngineRecord is the record as one atomic engine operation's input: the
// one conversion every path into the engine uses (embedded load, the
// RECORD statement that remote loads send, the HTTP tracking API), so they
// all apply the same thing. Traits are ordered by name.
func (r Record) EngineRecord() engine.Record {
	rec := engine.Record{Event: r.Event, IDs: r.IDs, Time: r.Time, Source: r.Source, Props: r.Props, Consent: r.Consent, Tags: r.Tags,
		MessageID: r.MessageID}
	names := make([]string, 0, len(r.Traits))
	for k := range r.Traits {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		rec.Traits = append(rec.Traits, engine.Trait{Name: k, Value: r.Traits[k]})
	}
	return rec
}

// ParseRecord reads one record written in idgraph's own NDJSON shape, as
// the RECORD statement carries it.
func ParseRecord(line []byte) (Record, error) {
	rec, reason := parseJSONLine(line, Options{Format: FormatNDJSON})
	if reason != "" {
		return Record{}, &LineError{File: "RECORD", Line: 1, Reason: reason}
	}
	return rec, nil
}

// MarshalOurs writes the record in idgraph's own NDJSON shape (without a
// newline): what `idgraph load --addr` sends in a RECORD statement, so a
// record read from any format reaches a server exactly as it would be
// applied embedded. Strings are escaped as encoding/json escapes them,
// HTML characters apart (they decode the same); maps are written in key
// order.
func (r Record) MarshalOurs() ([]byte, error) {
	props := r.Props
	if len(props) > 0 && !isCompact(props) {
		var c bytes.Buffer
		if err := json.Compact(&c, props); err != nil {
			return nil, fmt.Errorf("props: %w", err)
		}
		props = c.Bytes()
	} else if len(props) > 0 && !json.Valid(props) {
		return nil, errors.New("props: not valid JSON")
	}
	b := make([]byte, 0, 160+len(props))
	b = append(b, '{')
	if r.Event != "" {
		b = appendJSONString(appendMember(b, "event"), r.Event)
	}
	b = appendMember(b, "ids")
	if r.IDs == nil {
		b = append(b, "null"...)
	} else {
		b = appendJSONStrings(b, r.IDs)
	}
	if !r.Time.IsZero() {
		b = append(appendMember(b, "time"), '"')
		b = append(r.Time.UTC().AppendFormat(b, time.RFC3339Nano), '"')
	}
	if r.Source != "" {
		b = appendJSONString(appendMember(b, "source"), r.Source)
	}
	if len(props) > 0 {
		b = append(appendMember(b, "props"), props...)
	}
	if len(r.Traits) > 0 {
		b = append(appendMember(b, "traits"), '{')
		for i, k := range sortedKeys(r.Traits) {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(append(appendJSONString(b, k), ':'), r.Traits[k])
		}
		b = append(b, '}')
	}
	if len(r.Consent) > 0 {
		b = append(appendMember(b, "consent"), '{')
		for i, k := range sortedKeys(r.Consent) {
			if i > 0 {
				b = append(b, ',')
			}
			decision := "deny"
			if r.Consent[k] {
				decision = "grant"
			}
			b = appendJSONString(append(appendJSONString(b, k), ':'), decision)
		}
		b = append(b, '}')
	}
	if len(r.Tags) > 0 {
		b = appendJSONStrings(appendMember(b, "tags"), r.Tags)
	}
	if r.MessageID != "" {
		b = appendJSONString(appendMember(b, "message_id"), r.MessageID)
	}
	return append(b, '}'), nil
}

// appendMember appends the key of an object's member, after a comma
// unless it is the first.
func appendMember(b []byte, name string) []byte {
	if b[len(b)-1] != '{' {
		b = append(b, ',')
	}
	return append(append(append(b, '"'), name...), '"', ':')
}

func appendJSONStrings(b []byte, ss []string) []byte {
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, s)
	}
	return append(b, ']')
}
