package cluster

import (
	"reflect"
	"testing"
	"time"

	"github.com/idgraph/idgraph/engine"
)

func TestEntryRoundTrip(t *testing.T) {
	for _, e := range []*entry{
		{Kind: kindWrite, Stmts: [][]string{{"TRACK", "view", "cookie:a b"}, {"SET", "cookie:a b", "x=1"}}, Source: "web", Now: 1767225600000, Origin: "n2", Req: 42},
		{Kind: kindInit, ClusterID: "0123abcd", Salt: []byte{1, 2, 3}},
		{Kind: kindRecords, Now: 5, Origin: "n1", Req: 7, Records: []recordWire{wireRecord(engine.Record{
			Event: "buy", IDs: []string{"email:a@b.c", "cookie:1"}, Time: time.UnixMilli(1767225600123).UTC(), Source: "pos",
			Props: []byte(`{"x":1}`), Traits: []engine.Trait{{Name: "n", Value: "v"}}, Consent: map[string]bool{"sms": false},
			Tags: []string{"t"}, MessageID: "m"})}},
	} {
		b, err := encodeEntry(e)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeEntry(b)
		if err != nil || !reflect.DeepEqual(got, e) {
			t.Errorf("decode(encode(%+v)) = %+v, %v", e, got, err)
		}
	}
	for _, bad := range [][]byte{nil, {}, {9, 0x80}, {entryVersion, 0xc1}} {
		if _, err := decodeEntry(bad); err == nil {
			t.Errorf("decodeEntry(%x) accepted", bad)
		}
	}
}

// FuzzDecodeEntry: a damaged entry is an error, never a panic.
func FuzzDecodeEntry(f *testing.F) {
	b, _ := encodeEntry(&entry{Kind: kindWrite, Stmts: [][]string{{"TRACK", "view", "cookie:a"}}, Now: 1})
	f.Add(b)
	b, _ = encodeEntry(&entry{Kind: kindInit, ClusterID: "x", Salt: []byte("salt")})
	f.Add(b)
	f.Add([]byte{entryVersion})
	f.Fuzz(func(t *testing.T, b []byte) {
		decodeEntry(b)
	})
}

func TestRecordWireKeepsEveryField(t *testing.T) {
	r := engine.Record{Event: "buy", IDs: []string{"email:a@b.c"}, Time: time.UnixMilli(1767225600123).UTC(), Source: "pos",
		Props: []byte(`{"x":1}`), Traits: []engine.Trait{{Name: "n", Value: ""}}, Consent: map[string]bool{"sms": false},
		Tags: []string{"t"}, MessageID: "m"}
	if got := wireRecord(r).record(); !reflect.DeepEqual(got, r) {
		t.Errorf("record(wireRecord(r)) = %+v, want %+v", got, r)
	}
	if got := wireRecord(engine.Record{IDs: []string{"x:y"}}).record(); !got.Time.IsZero() {
		t.Errorf("a record without a time got %v", got.Time)
	}
}
