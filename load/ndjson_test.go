package load

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestOurShapeRecords(t *testing.T) {
	input := `{"event":"purchase","ids":["email:a@b.c","cookie:123"],"time":"2026-11-01T10:00:00Z","source":"web","props":{ "sku" : "A1" },"traits":{"name":"Ann","age":42,"vip":true,"gone":null},"consent":{"email":"grant","sms":"DENY"}}

{"ids":["cookie:1","user:7"],"tags":["vip","black friday"]}
{"event":"view","ids":["cookie:1"],"time":1437927001434,"props":null,"source":null}
`
	want := []Record{
		{
			File: "in.ndjson", Line: 1, Event: "purchase",
			IDs:     []string{"email:a@b.c", "cookie:123"},
			Time:    time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC),
			Source:  "web",
			Props:   json.RawMessage(`{"sku":"A1"}`),
			Traits:  map[string]string{"name": "Ann", "age": "42", "vip": "true"},
			Consent: map[string]bool{"email": true, "sms": false},
		},
		{File: "in.ndjson", Line: 3, IDs: []string{"cookie:1", "user:7"}, Tags: []string{"vip", "black friday"}},
		{
			File: "in.ndjson", Line: 4, Event: "view", IDs: []string{"cookie:1"},
			Time: time.Date(2015, 7, 26, 16, 10, 1, 434e6, time.UTC),
		},
	}
	got, errs := readAll(t, "in.ndjson", input, Options{})
	if len(errs) > 0 {
		t.Fatalf("errors: %v", errs)
	}
	assertRecords(t, got, want)
}

func assertRecords(t *testing.T, got, want []Record) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d records, want %d:\n%+v", len(got), len(want), got)
	}
	for i := range want {
		g, w := got[i], want[i]
		if !g.Time.Equal(w.Time) {
			t.Errorf("record %d: time %v, want %v", i, g.Time, w.Time)
		}
		if string(g.Props) != string(w.Props) {
			t.Errorf("record %d: props %s, want %s", i, g.Props, w.Props)
		}
		g.Time, w.Time, g.Props, w.Props = time.Time{}, time.Time{}, nil, nil
		if !reflect.DeepEqual(g, w) {
			t.Errorf("record %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
}

func TestOurShapeRejects(t *testing.T) {
	cases := []struct {
		line, reason string
	}{
		{`{"event":"x","ids":["a:1"]`, "not valid JSON: unexpected end of JSON input"},
		{`{"ids":["a:1"]} x`, "not valid JSON: invalid character 'x' after top-level value"},
		{`[1,2]`, "not a JSON object"},
		{`null`, "not a JSON object"},
		{`{"event":"x"}`, "no identifiers"},
		{`{"event":"x","ids":[]}`, "no identifiers"},
		{`{"event":"x","ids":null}`, "no identifiers"},
		{`{"event":"x","ids":"email:a@b.c"}`, `"ids" must be an array of strings`},
		{`{"event":"x","ids":["a:1",2]}`, `"ids" must be an array of strings`},
		{`{"event":"x","ids":[null]}`, `"ids" must be an array of strings`},
		{`{"evnt":"x","ids":["a:1"]}`, `unknown field "evnt" (known: event, ids, time, source, props, traits, consent, tags, message_id)`},
		{`{"evnt":"x","idz":["a:1"],"ids":["a:1"]}`, `unknown fields "evnt", "idz" (known: event, ids, time, source, props, traits, consent, tags, message_id)`},
		{`{"event":"","ids":["a:1"]}`, `"event" must be a non-empty string`},
		{`{"event":3,"ids":["a:1"]}`, `"event" must be a non-empty string`},
		{`{"ids":["a:1"],"time":"yesterday"}`, `bad time "yesterday": use RFC 3339 or Unix milliseconds`},
		{`{"ids":["a:1"],"time":1.5}`, `bad time "1.5": use RFC 3339 or Unix milliseconds`},
		{`{"ids":["a:1"],"time":true}`, `bad time "true": use RFC 3339 or Unix milliseconds`},
		{`{"ids":["a:1"],"time":1764000000}`, `time 1764000000 is ambiguous: in Unix seconds it is 2025-11-24T16:00:00Z, in milliseconds 1970-01-21T10:00:00.000Z; write 1764000000000 for those seconds, or an RFC 3339 time`},
		{`{"ids":["a:1"],"time":"1764000000000"}`, `bad time "1764000000000": use RFC 3339, or Unix milliseconds as a JSON number`},
		{`{"ids":["a:1"],"source":1}`, `"source" must be a string`},
		{`{"ids":["a:1"],"props":[1]}`, `"props" must be a JSON object`},
		{`{"ids":["a:1"],"traits":[1]}`, `"traits" must be a JSON object`},
		{`{"ids":["a:1"],"traits":{"a":{"b":1}}}`, `trait "a" must be a string, number or boolean`},
		{`{"ids":["a:1"],"consent":{"email":true}}`, `consent "email" must be "grant" or "deny"`},
		{`{"ids":["a:1"],"consent":{"email":"yes"}}`, `consent "email" must be "grant" or "deny"`},
		{`{"ids":["a:1"],"consent":"grant"}`, `"consent" must be a JSON object`},
		{`{"ids":["a:1"],"tags":"vip"}`, `"tags" must be an array of strings, like ["vip","b2b"]`},
		{`{"ids":["a:1"],"tags":["vip",1]}`, `"tags" must be an array of strings, like ["vip","b2b"]`},
		{`{"ids":["a:1"],"tags":["vip",""]}`, `"tags" holds an empty tag`},
		{`{"type":"track","event":"x","ids":["a:1"]}`, `unknown field "type" (known: event, ids, time, source, props, traits, consent, tags, message_id)`},
	}
	for _, c := range cases {
		_, errs := readAll(t, "f.ndjson", c.line+"\n", Options{Format: FormatNDJSON})
		want := "f.ndjson:1: " + c.reason
		if len(errs) != 1 || errs[0] != want {
			t.Errorf("%s:\n got %q\nwant %q", c.line, errs, want)
		}
	}
}

// TestRejectedLinesByNumber checks that a bad line is reported with its
// number and that reading carries on with the lines after it.
func TestRejectedLinesByNumber(t *testing.T) {
	input := strings.Join([]string{
		`{"event":"a","ids":["cookie:1"]}`,
		`{"evnt":"b","ids":["cookie:1"]}`,
		``,
		`not json`,
		`{"event":"c","ids":["cookie:1"]}`,
		`{"event":"d","ids":[]}`,
		`{"event":"e","ids":["cookie:2"]}`,
	}, "\r\n")
	got, errs := readAll(t, "events.ndjson", input, Options{})
	wantErrs := []string{
		`events.ndjson:2: unknown field "evnt" (known: event, ids, time, source, props, traits, consent, tags, message_id)`,
		`events.ndjson:4: not valid JSON: invalid character 'o' in literal null (expecting 'u')`,
		`events.ndjson:6: no identifiers`,
	}
	if !reflect.DeepEqual(errs, wantErrs) {
		t.Errorf("errors:\n got %q\nwant %q", errs, wantErrs)
	}
	var lines []int
	var events []string
	for _, r := range got {
		lines = append(lines, r.Line)
		events = append(events, r.Event)
	}
	if !reflect.DeepEqual(lines, []int{1, 5, 7}) || !reflect.DeepEqual(events, []string{"a", "c", "e"}) {
		t.Errorf("records at lines %v with events %v, want [1 5 7] [a c e]", lines, events)
	}
}

func TestLongLineRejectedAndSkipped(t *testing.T) {
	long := `{"event":"x","ids":["cookie:` + strings.Repeat("a", maxLine) + `"]}`
	input := `{"event":"a","ids":["cookie:1"]}` + "\n" + long + "\n" + `{"event":"b","ids":["cookie:2"]}`
	got, errs := readAll(t, "big.ndjson", input, Options{})
	if want := []string{"big.ndjson:2: line longer than 16 MiB"}; !reflect.DeepEqual(errs, want) {
		t.Errorf("errors %q, want %q", errs, want)
	}
	if len(got) != 2 || got[0].Event != "a" || got[1].Event != "b" || got[1].Line != 3 {
		t.Errorf("records %+v", got)
	}
}

// TestLineJustUnderLimitIsRead checks a line longer than the read buffer,
// which is assembled from several chunks.
func TestLineLongerThanBufferIsRead(t *testing.T) {
	v := strings.Repeat("b", 200<<10)
	input := `{"event":"x","ids":["cookie:` + v + `"]}` + "\n"
	got, errs := readAll(t, "f", input, Options{})
	if len(errs) != 0 || len(got) != 1 || got[0].IDs[0] != "cookie:"+v {
		t.Fatalf("errors %q, %d records", errs, len(got))
	}
}

func TestByteOrderMarkSkipped(t *testing.T) {
	got, errs := readAll(t, "f", "\ufeff"+`{"ids":["cookie:1"]}`, Options{})
	if len(errs) != 0 || len(got) != 1 {
		t.Fatalf("errors %q, records %+v", errs, got)
	}
}

func TestOurShapeToleratesWhitespace(t *testing.T) {
	got, errs := readAll(t, "f", `  { "ids" : [ "a:1" ,  "b:2" ] , "event" : "x" , "traits" : { "n" : 1 } }  `, Options{})
	if len(errs) != 0 {
		t.Fatalf("errors %q", errs)
	}
	assertRecords(t, got, []Record{{File: "f", Line: 1, Event: "x", IDs: []string{"a:1", "b:2"}, Traits: map[string]string{"n": "1"}}})
}
