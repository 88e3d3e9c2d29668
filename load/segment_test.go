package load

import (
	"encoding/json"
	"testing"
	"time"
)

func TestSegmentMapping(t *testing.T) {
	ts := time.Date(2015, 12, 12, 19, 11, 1, 249e6, time.UTC)
	cases := []struct {
		name string
		line string
		want Record
	}{
		{
			name: "track",
			line: `{"type":"track","userId":"u1","anonymousId":"a1","event":"Order Completed","properties":{"total": 30, "sku":"A1"},"timestamp":"2015-12-12T19:11:01.249Z","messageId":"m1","context":{"library":{"name":"analytics.js"}}}`,
			want: Record{Event: "Order Completed", IDs: []string{"user:u1", "cookie:a1"}, Time: ts, Source: "segment",
				Props: json.RawMessage(`{"total":30,"sku":"A1"}`), MessageID: "m1"},
		},
		{
			name: "track without properties, numeric userId, time from originalTimestamp",
			line: `{"type":"track","userId":12345,"event":"Signed Up","originalTimestamp":"2015-12-12T19:11:01.249+0000","receivedAt":"2020-01-01T00:00:00Z"}`,
			want: Record{Event: "Signed Up", IDs: []string{"user:12345"}, Time: ts, Source: "segment"},
		},
		{
			name: "time from receivedAt",
			line: `{"type":"track","anonymousId":"a1","event":"x","receivedAt":"2015-12-12T19:11:01.249Z"}`,
			want: Record{Event: "x", IDs: []string{"cookie:a1"}, Time: ts, Source: "segment"},
		},
		{
			name: "identify with traits in both places",
			line: `{"type":"identify","userId":"u1","traits":{"email":"ann@example.com","name":"Ann","plan":"pro","address":{"city":"Oslo"},"age":30,"gone":null},"context":{"traits":{"email":"old@example.com","phone":"+47 123","name":"Old","vip":true},"consent":{"categoryPreferences":{"Advertising":false,"Analytics":true,"odd":"yes"}}},"timestamp":"2015-12-12T19:11:01.249Z"}`,
			want: Record{IDs: []string{"user:u1", "email:ann@example.com", "phone:+47 123"}, Time: ts, Source: "segment",
				Traits: map[string]string{"email": "ann@example.com", "name": "Ann", "plan": "pro",
					"address": `{"city":"Oslo"}`, "age": "30", "phone": "+47 123", "vip": "true"},
				Consent: map[string]bool{"Advertising": false, "Analytics": true}},
		},
		{
			name: "identify with only an email is still Segment",
			line: `{"type":"identify","traits":{"email":"a@b.c"}}`,
			want: Record{IDs: []string{"email:a@b.c"}, Source: "segment", Traits: map[string]string{"email": "a@b.c"}},
		},
		{
			name: "alias",
			line: `{"type":"alias","userId":"u9","previousId":"anon-1","anonymousId":"anon-1","timestamp":"2015-12-12T19:11:01.249Z"}`,
			want: Record{IDs: []string{"user:u9", "cookie:anon-1"}, Time: ts, Source: "segment"},
		},
		{
			name: "alias from an old user id",
			line: `{"type":"alias","userId":"u9","previousId":"u8"}`,
			want: Record{IDs: []string{"user:u9", "cookie:u8"}, Source: "segment"},
		},
		{
			name: "page adds name and category",
			line: `{"type":"page","anonymousId":"a1","name":"Pricing","category":"Docs","properties":{"url":"https://x.y/p?a=1&b=<2>","title":"Pricing"}}`,
			want: Record{Event: "page", IDs: []string{"cookie:a1"}, Source: "segment",
				Props: json.RawMessage(`{"category":"Docs","name":"Pricing","title":"Pricing","url":"https://x.y/p?a=1&b=<2>"}`)},
		},
		{
			name: "page keeps the name in properties",
			line: `{"type":"page","anonymousId":"a1","name":"Top","properties":{"name":"Inner"}}`,
			want: Record{Event: "page", IDs: []string{"cookie:a1"}, Source: "segment", Props: json.RawMessage(`{"name":"Inner"}`)},
		},
		{
			name: "page without properties",
			line: `{"type":"page","anonymousId":"a1"}`,
			want: Record{Event: "page", IDs: []string{"cookie:a1"}, Source: "segment"},
		},
		{
			name: "screen on iOS with device ids",
			line: `{"type":"screen","userId":"u1","name":"Home","context":{"os":{"name":"iOS","version":"17"},"device":{"id":"D-1","token":"tok","advertisingId":"AD-1","adTrackingEnabled":true},"traits":{"email":"a@b.c"}}}`,
			want: Record{Event: "screen", IDs: []string{"user:u1", "email:a@b.c", "device:D-1", "push:tok", "idfa:AD-1"},
				Source: "segment", Props: json.RawMessage(`{"name":"Home"}`)},
		},
		{
			name: "android advertising id by device type",
			line: `{"type":"track","event":"open","anonymousId":"a","context":{"device":{"type":"ANDROID","advertisingId":"ad-2"}}}`,
			want: Record{Event: "open", IDs: []string{"cookie:a", "aaid:ad-2"}, Source: "segment"},
		},
		{
			name: "zeroed advertising id with ad tracking disabled is dropped",
			line: `{"type":"track","event":"open","anonymousId":"a","context":{"os":{"name":"Android"},"device":{"advertisingId":"00000000-0000-0000-0000-000000000000","adTrackingEnabled":false}}}`,
			want: Record{Event: "open", IDs: []string{"cookie:a"}, Source: "segment"},
		},
		{
			name: "advertising id on an unknown platform is dropped",
			line: `{"type":"track","event":"open","anonymousId":"a","context":{"os":{"name":"Mac OS X"},"device":{"advertisingId":"ad-3"}}}`,
			want: Record{Event: "open", IDs: []string{"cookie:a"}, Source: "segment"},
		},
		{
			name: "group",
			line: `{"type":"group","userId":"u1","groupId":"g7","traits":{"name":"Acme","email":"billing@acme.test"}}`,
			want: Record{Event: "group", IDs: []string{"user:u1"}, Source: "segment",
				Props: json.RawMessage(`{"groupId":"g7","traits":{"name":"Acme","email":"billing@acme.test"}}`)},
		},
		{
			name: "numeric messageId keeps its literal text",
			line: `{"type":"identify","userId":"u1","messageId":1234}`,
			want: Record{IDs: []string{"user:u1"}, Source: "segment", MessageID: "1234"},
		},
		{
			name: "empty values are skipped",
			line: `{"type":"track","event":"x","userId":"","anonymousId":"a","context":{"traits":{"email":null}}}`,
			want: Record{Event: "x", IDs: []string{"cookie:a"}, Source: "segment"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, errs := readAll(t, "s.ndjson", c.line, Options{})
			if len(errs) != 0 {
				t.Fatalf("errors: %q", errs)
			}
			c.want.File, c.want.Line = "s.ndjson", 1
			assertRecords(t, got, []Record{c.want})
		})
	}
}

func TestSegmentRejects(t *testing.T) {
	cases := []struct {
		line, reason string
	}{
		{`{"type":"track","event":"x","messageId":"m"}`, "no identifiers: the call has no userId, anonymousId, previousId, email, phone or device id"},
		{`{"type":"identify","userId":null,"traits":{"name":"x"}}`, "no identifiers: the call has no userId, anonymousId, previousId, email, phone or device id"},
		{`{"type":"track","userId":"u"}`, `track call without "event"`},
		{`{"type":"track","userId":"u","event":""}`, `track call without "event"`},
		{`{"type":"group","userId":"u"}`, `group call without "groupId"`},
		{`{"type":"track","userId":{"id":1},"event":"x"}`, `"userId" must be a string or number`},
		{`{"type":"track","userId":"u","event":"x","properties":[1]}`, `"properties" must be a JSON object`},
		{`{"type":"track","userId":"u","event":"x","context":"web"}`, `"context" must be a JSON object`},
		{`{"type":"track","userId":"u","event":"x","context":{"device":[]}}`, `"context.device" must be a JSON object`},
		{`{"type":"track","userId":"u","event":"x","timestamp":"12/12/2015"}`, `bad time "12/12/2015" in "timestamp": use RFC 3339`},
		{`{"type":"track","userId":"u","event":"x","messageId":{"id":1}}`, `"messageId" must be a string or number`},
	}
	for _, c := range cases {
		_, errs := readAll(t, "s", c.line, Options{})
		if want := "s:1: " + c.reason; len(errs) != 1 || errs[0] != want {
			t.Errorf("%s:\n got %q\nwant %q", c.line, errs, want)
		}
	}
}

func TestFormatSegmentRejectsOtherShapes(t *testing.T) {
	_, errs := readAll(t, "s", `{"event":"x","ids":["cookie:1"]}`, Options{Format: FormatSegment})
	want := `s:1: not a Segment call: "type" must be identify, track, page, screen, alias or group`
	if len(errs) != 1 || errs[0] != want {
		t.Errorf("got %q, want %q", errs, want)
	}
}

// TestAutoDetectsPerLine mixes both NDJSON shapes in one file.
func TestAutoDetectsPerLine(t *testing.T) {
	input := `{"type":"track","userId":"u1","event":"a"}
{"event":"b","ids":["cookie:1"]}
{"type":"Identify","anonymousId":"x"}
`
	got, errs := readAll(t, "mixed.ndjson", input, Options{})
	if len(errs) != 0 || len(got) != 3 {
		t.Fatalf("errors %q, records %+v", errs, got)
	}
	if got[0].Source != "segment" || got[1].Source != "" || got[2].IDs[0] != "cookie:x" {
		t.Errorf("records %+v", got)
	}
}
