package load

import (
	"encoding/json"
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
// applied embedded.
func (r Record) MarshalOurs() ([]byte, error) {
	type ours struct {
		Event   string            `json:"event,omitempty"`
		IDs     []string          `json:"ids"`
		Time    string            `json:"time,omitempty"`
		Source  string            `json:"source,omitempty"`
		Props   json.RawMessage   `json:"props,omitempty"`
		Traits  map[string]string `json:"traits,omitempty"`
		Consent map[string]string `json:"consent,omitempty"`
		Tags    []string          `json:"tags,omitempty"`
		Message string            `json:"message_id,omitempty"`
	}
	o := ours{Event: r.Event, IDs: r.IDs, Source: r.Source, Props: r.Props, Traits: r.Traits, Tags: r.Tags, Message: r.MessageID}
	if !r.Time.IsZero() {
		o.Time = r.Time.UTC().Format(time.RFC3339Nano)
	}
	if len(r.Consent) > 0 {
		o.Consent = make(map[string]string, len(r.Consent))
		for k, v := range r.Consent {
			o.Consent[k] = "deny"
			if v {
				o.Consent[k] = "grant"
			}
		}
	}
	return json.Marshal(&o)
}
