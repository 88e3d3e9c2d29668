package load

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestGA4Sample reads testdata/ga4-sample.ndjson, a hand-written export
// covering every mapped field, and checks each record exactly.
func TestGA4Sample(t *testing.T) {
	const name = "testdata/ga4-sample.ndjson"
	for _, format := range []Format{FormatAuto, FormatGA4} {
		t.Run(format.String(), func(t *testing.T) {
			r, closer, err := Open(name, Options{Format: format})
			if err != nil {
				t.Fatal(err)
			}
			defer closer.Close()
			got, errs := drain(t, r)
			if len(errs) != 0 {
				t.Fatalf("errors: %q", errs)
			}
			assertRecords(t, got, ga4SampleRecords(name))
		})
	}
}

// ga4SampleRecords is what testdata/ga4-sample.ndjson reads as.
func ga4SampleRecords(file string) []Record {
	at := func(s string) time.Time {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			panic(err)
		}
		return t
	}
	return []Record{
		{ // web, anonymous; int_value as a string and as a number; an unset param; ecommerce all null; no items
			File: file, Line: 1, Event: "page_view", IDs: []string{"cookie:1234567890.1793527200"},
			Time: at("2026-11-01T10:00:00.123456Z"), Source: "web",
			Props:   json.RawMessage(`{"engagement_time_msec":12,"ga_session_id":1793527200,"page_location":"https://shop.example/mugs?utm_source=news","page_title":"Mugs & <Cups>"}`),
			Consent: map[string]bool{"analytics": true, "ads": false},
		},
		{ // web login: the pseudo id meets the user id; a property set after the event is left for later rows
			File: file, Line: 2, Event: "login", IDs: []string{"user:C-1001", "cookie:1234567890.1793527200"},
			Time: at("2026-11-01T10:05:00Z"), Source: "web",
			Props:   json.RawMessage(`{"method":"email"}`),
			Traits:  map[string]string{"tier": "gold", "orders": "3"},
			Consent: map[string]bool{"analytics": true, "ads": true},
		},
		{ // purchase: double, float as a string, ecommerce and nested items (members in the export's order, nulls left out, INT64 strings turned into numbers); null consent
			File: file, Line: 3, Event: "purchase", IDs: []string{"user:C-1001", "cookie:1234567890.1793527200"},
			Time: at("2026-11-01T10:07:30.000001Z"), Source: "web",
			Props: json.RawMessage(`{"currency":"EUR","discount":0.5,` +
				`"ecommerce":{"total_item_quantity":3,"purchase_revenue_in_usd":64.1,"purchase_revenue":59.9,"unique_items":2,"transaction_id":"T-1"},` +
				`"ga_session_id":1793527200,` +
				`"items":[{"item_id":"SKU-1","item_name":"Mug","item_category":"Kitchen","price_in_usd":21.4,"price":19.9,"quantity":1,"item_revenue":19.9,"item_params":[]},` +
				`{"item_id":"SKU-2","item_name":"Cup","price":20,"quantity":2,"item_params":[{"key":"colour","value":{"string_value":"blue"}}]}],` +
				`"value":59.9}`),
			Traits: map[string]string{"tier": "gold"},
		},
		{ // iOS app: app-instance id, IDFA, a double user property
			File: file, Line: 4, Event: "screen_view",
			IDs:  []string{"user:C-1001", "app:A1B2C3D4E5F60718293A4B5C6D7E8F90", "idfa:AEBE52E7-03EE-455A-B3C4-E57283966239"},
			Time: at("2026-11-02T08:00:00Z"), Source: "app",
			Props:   json.RawMessage(`{"firebase_screen":"Home","firebase_screen_id":-4921234567890}`),
			Traits:  map[string]string{"tier": "platinum", "score": "4.5"},
			Consent: map[string]bool{"analytics": true, "ads": true},
		},
		{ // Android with limited ad tracking: the AAID is dropped
			File: file, Line: 5, Event: "first_open", IDs: []string{"user:C-2002", "app:f0e1d2c3b4a5968778695a4b3c2d1e0f"},
			Time: at("2026-11-03T09:00:00Z"), Source: "app",
			Props:   json.RawMessage(`{"previous_first_open_count":0}`),
			Consent: map[string]bool{"analytics": false, "ads": false},
		},
		{ // Android, zeroed AAID passed on (the engine's block list drops it); the timestamp as a number
			File: file, Line: 6, Event: "session_start",
			IDs:  []string{"app:0a1b2c3d4e5f60718293a4b5c6d7e8f9", "aaid:00000000-0000-0000-0000-000000000000"},
			Time: at("2026-11-03T09:01:00Z"), Source: "app",
			Props: json.RawMessage(`{"ga_session_number":1}`),
		},
		{ // web with user_id "(not set)": only the cookie
			File: file, Line: 7, Event: "scroll", IDs: []string{"cookie:555.666"},
			Time: at("2026-11-03T09:00:00Z"), Source: "web",
			Props: json.RawMessage(`{"percent_scrolled":90}`),
		},
	}
}

func TestGA4Mapping(t *testing.T) {
	ts := time.UnixMicro(1793527200000000).UTC()
	const base = `"event_timestamp":"1793527200000000","event_name":"e"`
	cases := []struct {
		name string
		line string
		opts GA4Options
		want Record
	}{
		{
			name: "source override",
			line: `{` + base + `,"user_pseudo_id":"p","platform":"IOS"}`,
			opts: GA4Options{Source: "shop-app"},
			want: Record{Event: "e", IDs: []string{"app:p"}, Time: ts, Source: "shop-app"},
		},
		{
			name: "missing platform counts as web; advertising id dropped",
			line: `{` + base + `,"user_pseudo_id":"p","device":{"advertising_id":"ad-1"}}`,
			want: Record{Event: "e", IDs: []string{"cookie:p"}, Time: ts, Source: "web"},
		},
		{
			name: "platform in lower case",
			line: `{` + base + `,"user_pseudo_id":"p","platform":"android","device":{"advertising_id":"ad-1","is_limited_ad_tracking":"no"}}`,
			want: Record{Event: "e", IDs: []string{"app:p", "aaid:ad-1"}, Time: ts, Source: "app"},
		},
		{
			name: "limited ad tracking as a boolean",
			line: `{` + base + `,"user_pseudo_id":"p","platform":"IOS","device":{"advertising_id":"ad-1","is_limited_ad_tracking":true}}`,
			want: Record{Event: "e", IDs: []string{"app:p"}, Time: ts, Source: "app"},
		},
		{
			name: "numeric user id, empty pseudo id",
			line: `{` + base + `,"user_id":42,"user_pseudo_id":"","platform":"WEB"}`,
			want: Record{Event: "e", IDs: []string{"user:42"}, Time: ts, Source: "web"},
		},
		{
			name: "(not set) in any case is no identifier",
			line: `{` + base + `,"user_id":"(Not Set)","user_pseudo_id":"p"}`,
			want: Record{Event: "e", IDs: []string{"cookie:p"}, Time: ts, Source: "web"},
		},
		{
			name: "user property without a set time; unset property; a key given twice keeps the last",
			line: `{` + base + `,"user_pseudo_id":"p","user_properties":[{"key":"a","value":{"int_value":7}},{"key":"b","value":null},{"key":"c","value":{"string_value":"1"}},{"key":"c","value":{"string_value":"2"}}]}`,
			want: Record{Event: "e", IDs: []string{"cookie:p"}, Time: ts, Source: "web", Traits: map[string]string{"a": "7", "c": "2"}},
		},
		{
			name: "user property set at the event's own time",
			line: `{` + base + `,"user_pseudo_id":"p","user_properties":[{"key":"a","value":{"float_value":"1e2","set_timestamp_micros":1793527200000000}}]}`,
			want: Record{Event: "e", IDs: []string{"cookie:p"}, Time: ts, Source: "web", Traits: map[string]string{"a": "100"}},
		},
		{
			name: "the first value that is set wins; non-finite floats stay strings",
			line: `{` + base + `,"user_pseudo_id":"p","event_params":[{"key":"a","value":{"string_value":null,"int_value":"5","double_value":1.5}},{"key":"n","value":{"double_value":"NaN"}},{"key":"i","value":{"float_value":"-Infinity"}}]}`,
			want: Record{Event: "e", IDs: []string{"cookie:p"}, Time: ts, Source: "web", Props: json.RawMessage(`{"a":5,"i":"-Infinity","n":"NaN"}`)},
		},
		{
			name: "ecommerce and items win over params of the same name; non-integer quantity kept",
			line: `{` + base + `,"user_pseudo_id":"p","event_params":[{"key":"items","value":{"string_value":"x"}}],"ecommerce":{"transaction_id":"T"},"items":[null,{"quantity":"many"},{"item_id":null}]}`,
			want: Record{Event: "e", IDs: []string{"cookie:p"}, Time: ts, Source: "web", Props: json.RawMessage(`{"ecommerce":{"transaction_id":"T"},"items":[{"quantity":"many"},{}]}`)},
		},
		{
			name: "consent values other than Yes and No are no decision",
			line: `{` + base + `,"user_pseudo_id":"p","privacy_info":{"analytics_storage":"Unset","ads_storage":"NO"}}`,
			want: Record{Event: "e", IDs: []string{"cookie:p"}, Time: ts, Source: "web", Consent: map[string]bool{"ads": false}},
		},
		{
			name: "whitespace, escaped keys and nested values",
			line: `{ "event_timestamp" : "1793527200000000" , "event_name" : "e" , "user_pseudo_id" : "p" , "platform" : "IOS" ,` +
				` "device" : { "advertising\u005fid" : "AD" , "is_limited_ad_tracking" : "No" } ,` +
				` "event_params" : [ { "key" : "k\u00e9" , "value" : { "string_value" : "v\"w" } } , { "value" : { "int_value" : " 7 " } , "key" : "o" } ] ,` +
				` "ecommerce" : { "transaction_id" : "T" , "x" : { "a" : [ 1 , "]}" ] } , "n" : null } }`,
			want: Record{Event: "e", IDs: []string{"app:p", "idfa:AD"}, Time: ts, Source: "app",
				Props: json.RawMessage(`{"ecommerce":{"transaction_id":"T","x":{"a":[1,"]}"]}},"ké":"v\"w","o":7}`)},
		},
		{
			name: "negative microseconds before 1970",
			line: `{"event_timestamp":"-1","event_name":"e","user_pseudo_id":"p"}`,
			want: Record{Event: "e", IDs: []string{"cookie:p"}, Time: time.UnixMicro(-1).UTC(), Source: "web"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, errs := readAll(t, "g.ndjson", c.line, Options{GA4: c.opts})
			if len(errs) != 0 {
				t.Fatalf("errors: %q", errs)
			}
			c.want.File, c.want.Line = "g.ndjson", 1
			assertRecords(t, got, []Record{c.want})
		})
	}
}

func TestGA4Rejects(t *testing.T) {
	const base = `"event_timestamp":"1793527200000000","event_name":"e","user_pseudo_id":"p"`
	cases := []struct {
		line, reason string
	}{
		{`{"event_timestamp":"1","event_name":"e","user_id":null,"user_pseudo_id":null,"privacy_info":{"analytics_storage":"No"}}`,
			"no identifiers: the row has no user_id, user_pseudo_id or device.advertising_id"},
		{`{"event_timestamp":"1","event_name":"e","user_pseudo_id":"p","platform":"IOS","device":{"advertising_id":"a","is_limited_ad_tracking":"Yes"},"user_pseudo_id":"(not set)"}`,
			"no identifiers: the row has no user_id, user_pseudo_id or device.advertising_id"},
		{`{"event_name":"e","user_pseudo_id":"p"}`, `no "event_timestamp"`},
		{`{"event_name":"","user_pseudo_id":"p","event_timestamp":"1"}`, `"event_name" must be a non-empty string`},
		{`{"event_name":3,"user_pseudo_id":"p","event_timestamp":"1"}`, `"event_name" must be a non-empty string`},
		{`{"event_name":"e","user_pseudo_id":"p","event_timestamp":"2026-11-01T10:00:00Z"}`, `bad "event_timestamp" "2026-11-01T10:00:00Z": want whole microseconds since 1970`},
		{`{"event_name":"e","user_pseudo_id":"p","event_timestamp":1.5e15}`, `bad "event_timestamp" 1.5e15: want whole microseconds since 1970`},
		{`{` + base + `,"user_id":{"id":1}}`, `"user_id" must be a string or number`},
		{`{` + base + `,"platform":1}`, `"platform" must be a string`},
		{`{` + base + `,"device":"phone"}`, `"device" must be a JSON object`},
		{`{` + base + `,"device":{"advertising_id":[]}}`, `"device.advertising_id" must be a string or number`},
		{`{` + base + `,"event_params":{"a":1}}`, `"event_params" must be an array of {key, value} objects`},
		{`{` + base + `,"event_params":[{"key":1,"value":{}}]}`, `"event_params" must be an array of {key, value} objects`},
		{`{` + base + `,"event_params":[{"value":{"string_value":"x"}}]}`, `event_params entry 1 has no key`},
		{`{` + base + `,"event_params":[{"key":"n","value":{"int_value":"12abc"}}]}`, `event_params "n": int_value "12abc" is not an integer`},
		{`{` + base + `,"event_params":[{"key":"n","value":{"int_value":1.5}}]}`, `event_params "n": int_value 1.5 is not an integer`},
		{`{` + base + `,"event_params":[{"key":"s","value":{"string_value":5}}]}`, `event_params "s": string_value must be a string`},
		{`{` + base + `,"event_params":[{"key":"f","value":{"float_value":"fast"}}]}`, `event_params "f": float_value "fast" is not a number`},
		{`{` + base + `,"event_params":[{"key":"f","value":{"double_value":true}}]}`, `event_params "f": double_value true is not a number`},
		{`{` + base + `,"user_properties":[{"key":"t","value":{"string_value":"x","set_timestamp_micros":"soon"}}]}`, `user_properties "t": bad "set_timestamp_micros" "soon": want whole microseconds since 1970`},
		{`{` + base + `,"user_properties":[{"key":"t","value":{"int_value":"x"}}]}`, `user_properties "t": int_value "x" is not an integer`},
		{`{` + base + `,"ecommerce":[1]}`, `"ecommerce" must be a JSON object`},
		{`{` + base + `,"items":{"item_id":"a"}}`, `"items" must be an array of objects`},
		{`{` + base + `,"items":["a"]}`, `"items" must be an array of objects`},
		{`{` + base + `,"privacy_info":"Yes"}`, `"privacy_info" must be a JSON object`},
	}
	for _, c := range cases {
		for _, format := range []Format{FormatAuto, FormatGA4} {
			_, errs := readAll(t, "g", c.line, Options{Format: format})
			if want := "g:1: " + c.reason; len(errs) != 1 || errs[0] != want {
				t.Errorf("%v %s:\n got %q\nwant %q", format, c.line, errs, want)
			}
		}
	}
}

// TestGA4AutoDetection mixes the three NDJSON shapes in one file and checks
// which lines are taken for GA4 rows.
func TestGA4AutoDetection(t *testing.T) {
	input := strings.Join([]string{
		`{"event_name":"a","user_pseudo_id":"p","event_timestamp":"1000"}`,
		`{"event":"b","ids":["cookie:1"]}`,
		`{"type":"track","userId":"u1","event":"c"}`,
		`{"event_name":"d","event_timestamp":"2000","user_id":"u2"}`,
		`{"event_name":"x","user_id":"u3"}`,                           // no pseudo id nor timestamp: not GA4, so ours, which rejects it
		`{"event_name":"x","ids":["cookie:1"],"event_timestamp":"1"}`, // has ids: ours, which rejects event_name
	}, "\n")
	got, errs := readAll(t, "mixed.ndjson", input, Options{})
	var events, sources []string
	for _, r := range got {
		events = append(events, r.Event)
		sources = append(sources, r.Source)
	}
	if !reflect.DeepEqual(events, []string{"a", "b", "c", "d"}) || !reflect.DeepEqual(sources, []string{"web", "", "segment", "web"}) {
		t.Errorf("events %q, sources %q", events, sources)
	}
	wantErrs := []string{
		`mixed.ndjson:5: unknown fields "event_name", "user_id" (known: event, ids, time, source, props, traits, consent, tags, message_id)`,
		`mixed.ndjson:6: unknown fields "event_name", "event_timestamp" (known: event, ids, time, source, props, traits, consent, tags, message_id)`,
	}
	if !reflect.DeepEqual(errs, wantErrs) {
		t.Errorf("errors:\n got %q\nwant %q", errs, wantErrs)
	}
}

func TestFormatGA4RejectsOtherShapes(t *testing.T) {
	_, errs := readAll(t, "g", `{"event":"x","ids":["cookie:1"]}`+"\n"+`{"type":"track","userId":"u","event":"x"}`, Options{Format: FormatGA4})
	want := []string{`g:1: no "event_name"`, `g:2: no "event_name"`}
	if !reflect.DeepEqual(errs, want) {
		t.Errorf("got %q, want %q", errs, want)
	}
}

// TestGA4MalformedRowsAreSkipped reads a file whose bad rows are reported
// by line while the rows around them are read.
func TestGA4MalformedRowsAreSkipped(t *testing.T) {
	const name = "testdata/ga4-malformed.ndjson"
	r, closer, err := Open(name, Options{Format: FormatGA4})
	if err != nil {
		t.Fatal(err)
	}
	defer closer.Close()
	got, errs := drain(t, r)
	wantErrs := []string{
		name + ":2: not valid JSON: unexpected end of JSON input",
		name + ":3: no identifiers: the row has no user_id, user_pseudo_id or device.advertising_id",
		name + `:4: event_params "ga_session_id": int_value "17935x" is not an integer`,
	}
	if !reflect.DeepEqual(errs, wantErrs) {
		t.Errorf("errors:\n got %q\nwant %q", errs, wantErrs)
	}
	var lines []int
	for _, r := range got {
		lines = append(lines, r.Line)
	}
	if !reflect.DeepEqual(lines, []int{1, 5}) {
		t.Errorf("records at lines %v, want [1 5]", lines)
	}
}

func TestParseFormat(t *testing.T) {
	for _, f := range []Format{FormatAuto, FormatNDJSON, FormatSegment, FormatCSV, FormatGA4} {
		got, err := ParseFormat(f.String())
		if err != nil || got != f {
			t.Errorf("ParseFormat(%q) = %v, %v", f.String(), got, err)
		}
	}
	if _, err := ParseFormat("GA4"); err == nil || err.Error() != `unknown format "GA4": use auto, ndjson, segment, csv or ga4` {
		t.Errorf("ParseFormat(GA4): %v", err)
	}
}

// TestGA4SampleFileIsOneRowPerLine guards the sample against an editor
// wrapping its long lines.
func TestGA4SampleFileIsOneRowPerLine(t *testing.T) {
	b, err := os.ReadFile("testdata/ga4-sample.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), "\n"); n != 7 {
		t.Fatalf("%d lines, want 7", n)
	}
}
