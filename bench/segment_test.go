package bench

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/idgraph/idgraph/load"
)

func TestSegmentCall(t *testing.T) {
	cases := []struct {
		line, call string
		dropped    int
	}{
		{
			`{"event":"app_open","ids":["app:A1","device:D1","push:P1","idfa:F1"],"time":1767251368237,"source":"app","props":{"os":"ios"}}`,
			`{"anonymousId":"A1","context":{"device":{"advertisingId":"F1","id":"D1","token":"P1"},"os":{"name":"iOS"}},"event":"app_open","messageId":"m","properties":{"os":"ios"},"timestamp":"2026-01-01T07:09:28.237Z","type":"track"}`, 0,
		},
		{
			`{"ids":["user:42"],"time":1767251402709,"source":"app","traits":{"tier":"basic","age":"79"}}`,
			`{"messageId":"m","timestamp":"2026-01-01T07:10:02.709Z","traits":{"age":"79","tier":"basic"},"type":"identify","userId":"42"}`, 0,
		},
		{
			`{"ids":["email:a@b.c"],"time":1767259818510,"source":"app","consent":{"email":"deny"}}`,
			`{"context":{"consent":{"categoryPreferences":{"email":false}},"traits":{"email":"a@b.c"}},"messageId":"m","timestamp":"2026-01-01T09:30:18.510Z","type":"identify"}`, 0,
		},
		{
			`{"event":"login","ids":["cookie:c1","app:a1","cookie:c2","serial:S1","phone:+1 555"]}`,
			`{"anonymousId":"c1","context":{"traits":{"phone":"+1 555"}},"event":"login","messageId":"m","type":"track"}`, 3,
		},
	}
	for _, c := range cases {
		var rec *Record
		if err := ReadRecords(strings.NewReader(c.line), func(r *Record) error { rec = r; return nil }); err != nil {
			t.Fatal(err)
		}
		call, info := SegmentCall(rec, "m")
		b, _ := json.Marshal(call)
		if string(b) != c.call || info.Dropped != c.dropped || len(info.Carried)+info.Dropped != len(rec.IDs) {
			t.Errorf("%s:\n got %s (%+v)\nwant %s (%d dropped)", c.line, b, info, c.call, c.dropped)
		}
	}
}

// TestSegmentBatchesMapBack reads a small population as batches and maps
// every call back through load.SegmentCall, the HTTP API's mapping: each
// carries the identifiers, event and time of its record (app ids as
// cookies, extras dropped and counted).
func TestSegmentBatchesMapBack(t *testing.T) {
	var pop bytes.Buffer
	if _, _, err := Generate(Config{People: 200, Seed: 3, Days: 30}, &pop); err != nil {
		t.Fatal(err)
	}
	var recs []*Record
	skipped := 0
	ReadRecords(bytes.NewReader(pop.Bytes()), func(r *Record) error {
		if _, info := SegmentCall(r, ""); !anyUnblocked(info.Carried) {
			skipped++
			return nil
		}
		recs = append(recs, r)
		return nil
	})
	var out bytes.Buffer
	st, err := WriteSegmentBatches(bytes.NewReader(pop.Bytes()), &out, 7, 0)
	if err != nil {
		t.Fatal(err)
	}
	if st.Records != int64(len(recs)) || st.Skipped != int64(skipped) || st.Batches != (st.Records+6)/7 {
		t.Fatalf("stats %+v for %d records", st, len(recs))
	}
	i := 0
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var body struct{ Batch []map[string]json.RawMessage }
		if err := json.Unmarshal([]byte(line), &body); err != nil {
			t.Fatal(err)
		}
		for _, obj := range body.Batch {
			r := recs[i]
			i++
			got, err := load.SegmentCall(obj)
			if err != nil {
				t.Fatalf("record %d: %v", i, err)
			}
			if got.Event != r.Event || got.Time.UnixMilli() != r.Time {
				t.Fatalf("record %d: event %q time %v, want %q %d", i, got.Event, got.Time, r.Event, r.Time)
			}
			want := map[string]bool{}
			for _, id := range r.IDs {
				want[strings.Replace(id, "app:", "cookie:", 1)] = true
			}
			for _, id := range got.IDs {
				if !want[id] {
					t.Fatalf("record %d: %s was not in %v", i, id, r.IDs)
				}
			}
		}
	}
	if i != len(recs) {
		t.Fatalf("%d calls for %d records", i, len(recs))
	}
	// Few identifiers have no place in a call.
	var total int64
	for _, r := range recs {
		total += int64(len(r.IDs))
	}
	if st.Dropped > total/20 {
		t.Errorf("%d of %d identifiers dropped", st.Dropped, total)
	}
}

func TestSegmentBatchesSkipJunkOnly(t *testing.T) {
	in := `{"event":"x","ids":["cookie:undefined"],"time":1}
{"event":"x","ids":["serial:S1"],"time":2}
{"event":"x","ids":["cookie:c1","serial:S2"],"time":3}
`
	var out bytes.Buffer
	st, err := WriteSegmentBatches(strings.NewReader(in), &out, 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := SegmentStats{Records: 1, Events: 1, Batches: 1, Dropped: 1, Skipped: 2}
	if st != want {
		t.Errorf("stats %+v, want %+v", st, want)
	}
	if !strings.Contains(out.String(), `"anonymousId":"c1"`) || strings.Contains(out.String(), "undefined") {
		t.Errorf("batch %s", out.String())
	}
}
