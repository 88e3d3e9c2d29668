package load

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"testing"
)

// fuzzRead reads everything from data and checks what every reader must
// guarantee: no panic, progress on every call, and well-formed records.
func fuzzRead(t *testing.T, name string, data []byte, opts Options) {
	r, err := NewReader(name, bytes.NewReader(data), opts)
	if err != nil {
		return
	}
	for calls := 0; ; calls++ {
		if calls > len(data)+2 {
			t.Fatalf("more than %d calls for %d bytes: the reader is not advancing", calls, len(data))
		}
		rec, err := r.Next()
		if err == io.EOF {
			return
		}
		var le *LineError
		if errors.As(err, &le) {
			if le.Line < 1 || le.Reason == "" {
				t.Fatalf("bad line error %+v", le)
			}
			continue
		}
		if err != nil {
			return // the stream ended (corrupt gzip and the like)
		}
		if len(rec.IDs) == 0 || rec.Line < 1 || rec.File != name {
			t.Fatalf("bad record %+v", rec)
		}
		if rec.Props != nil {
			var m map[string]json.RawMessage
			if err := json.Unmarshal(rec.Props, &m); err != nil {
				t.Fatalf("props %q are not a JSON object: %v", rec.Props, err)
			}
		}
	}
}

func FuzzNDJSON(f *testing.F) {
	for _, s := range []string{
		`{"event":"purchase","ids":["email:a@b.c","cookie:123"],"time":"2026-11-01T10:00:00Z","source":"web","props":{"sku":"A1"},"traits":{"name":"Ann"},"consent":{"email":"grant"}}`,
		`{"ids":["cookie:1"],"time":1437927001434}` + "\n\n" + `{"evnt":"x"}`,
		`{"ids":[null]}`,
		"\ufeff{\"ids\":[\"a:1\"]}\r\n[1]\nnull\n{",
		`{"ids":["a:1"],"traits":{"a":1e400,"b":[1]},"consent":{"x":"DENY"}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzRead(t, "f.ndjson", data, Options{Format: FormatNDJSON})
		fuzzRead(t, "f.ndjson", data, Options{})
	})
}

func FuzzSegment(f *testing.F) {
	for _, s := range []string{
		`{"type":"track","userId":"u1","anonymousId":"a1","event":"Order Completed","properties":{"total":30},"timestamp":"2015-12-12T19:11:01.249Z"}`,
		`{"type":"identify","userId":1,"traits":{"email":"a@b.c","address":{"city":"Oslo"}},"context":{"traits":{"phone":"+1"},"consent":{"categoryPreferences":{"ads":false}}}}`,
		`{"type":"screen","userId":"u","name":"Home","context":{"os":{"name":"iOS"},"device":{"id":"d","token":"t","advertisingId":"0000","adTrackingEnabled":false}}}`,
		`{"type":"page","anonymousId":"a","name":"P","category":"C","properties":{"url":"<&>"}}`,
		`{"type":"alias","userId":"u","previousId":"p"}` + "\n" + `{"type":"group","userId":"u","groupId":"g","traits":{"n":1}}`,
		`{"type":"track","context":{"device":[]},"originalTimestamp":"2015-12-12T19:11:01+0000"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzRead(t, "f.ndjson", data, Options{Format: FormatSegment})
	})
}

func FuzzGA4(f *testing.F) {
	for _, s := range []string{
		`{"event_timestamp":"1793527200123456","event_name":"page_view","user_pseudo_id":"1.2","platform":"WEB","event_params":[{"key":"a","value":{"string_value":"<x>","int_value":null}},{"key":"n","value":{"int_value":"12"}},{"key":"f","value":{"float_value":"NaN"}},{"key":"d","value":{"double_value":1e400}}],"privacy_info":{"analytics_storage":"Yes","ads_storage":"No"}}`,
		`{"event_timestamp":1793527200000000,"event_name":"purchase","user_id":"u","user_pseudo_id":"(not set)","platform":"IOS","device":{"advertising_id":"AD","is_limited_ad_tracking":"No"},"user_properties":[{"key":"t","value":{"string_value":"gold","set_timestamp_micros":"1"}},{"key":"l","value":{"int_value":2,"set_timestamp_micros":"9999999999999999"}}],"ecommerce":{"total_item_quantity":"3","transaction_id":null},"items":[null,{"quantity":"1","item_params":[]}]}`,
		`{"event_timestamp":"-1","event_name":"x","user_pseudo_id":"p","platform":"ANDROID","device":{"advertising_id":"00000000-0000-0000-0000-000000000000","is_limited_ad_tracking":true}}` + "\n" + `{"event_name":"x","user_pseudo_id":null,"event_timestamp":"1"}`,
		`{"event_timestamp":"1","event_name":"x","user_pseudo_id":"p","event_params":[{"value":{}}],"items":{"a":1}}` + "\n" + `{"event_timestamp":"1","event_name":"x","user_pseudo_id":"p","event_params":[{"key":"k","value":{"int_value":"1.5"}}]}`,
		`{"event":"b","ids":["cookie:1"]}` + "\n" + `{"type":"track","userId":"u","event":"c"}` + "\n" + `{"event_name":"e","user_id":"u","event_timestamp":"9223372036854775807"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzRead(t, "f.ndjson", data, Options{Format: FormatGA4})
		fuzzRead(t, "f.ndjson", data, Options{GA4: GA4Options{Source: "s"}})
		// A row walked in place must read exactly as the same row decoded.
		for _, line := range bytes.Split(data, []byte("\n")) {
			walked, ok := walkGA4Row(line)
			var obj map[string]json.RawMessage
			if !ok || json.Unmarshal(line, &obj) != nil {
				continue
			}
			decoded := ga4RowOf(obj)
			if _, has := obj["event_name"]; has && walked.isGA4() != decoded.isGA4() {
				t.Fatalf("%q: walked isGA4 %v, decoded %v", line, walked.isGA4(), decoded.isGA4())
			}
			if !walked.hasEventName {
				continue
			}
			r1, why1 := parseGA4(&walked, GA4Options{})
			r2, why2 := parseGA4(&decoded, GA4Options{})
			if why1 != why2 || !reflect.DeepEqual(r1, r2) {
				t.Fatalf("%q:\nwalked  %+v %q\ndecoded %+v %q", line, r1, why1, r2, why2)
			}
		}
	})
}

func FuzzCSV(f *testing.F) {
	for _, s := range []string{
		"timestamp,visitorid,event,itemid,transactionid\n1437927001434,79,view,450209,\n1437927001,80,,1,2\n",
		"timestamp,visitorid,event\n\"2019-10-01 00:00:00 UTC\",\"a\nb\",view\nx,,\n",
		"timestamp,visitorid,event\n1,a\"b,view\n2,\"c\n",
		"\ufefftimestamp,VisitorId,event,p\n2026-11-01T10:00:00Z,1,buy,\xff\x00\n",
	} {
		f.Add([]byte(s))
	}
	opts := Options{Format: FormatCSV, CSV: CSVOptions{
		IDs:   []IDColumn{{"cookie", "visitorid"}, {"user", "timestamp"}},
		Event: "event", Time: "timestamp",
	}}
	traits := Options{Format: FormatCSV, CSV: CSVOptions{IDs: []IDColumn{{"cookie", "visitorid"}}}}
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzRead(t, "f.csv", data, opts)
		fuzzRead(t, "f.csv", data, traits)
	})
}
