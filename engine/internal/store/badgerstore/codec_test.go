package badgerstore

import (
	"reflect"
	"testing"

	"github.com/idgraph/idgraph/engine/internal/graph"
	"github.com/idgraph/idgraph/engine/internal/store"
)

func sampleProfile() *store.Profile {
	p := &store.Profile{Created: 1764000000000, Members: []store.Member{{Node: 1, ID: "user:1"}, {Node: 300000, ID: "cookie:é"}}}
	p.Counts = graph.Counts{{Type: "cookie", N: 1}, {Type: "user", N: 1}}
	p.Span = graph.Span{Events: 3, First: -5, Last: 1764000000001}
	return p
}

func sampleRecord() *store.Record {
	return &store.Record{RecordKey: store.RecordKey{Anchor: 7, Time: -1, Seq: 1 << 40}, Event: true, Name: "add_to_cart",
		Source: "web", IDs: []uint32{7, 9, 12}, Sets: [][]uint32{{7, 9}, {12, 9}}, Rules: [][]string{{"", "limit user=1"}, {"", ""}},
		Props: []byte(`{"sku":"A1"}`)}
}

func sampleFacts() graph.Facts {
	return graph.Facts{
		Traits:  map[string]graph.Value{"tier": {V: "gold", Stamp: graph.Stamp{T: 5, S: 6}}, "first name": {V: "Ann Lee"}},
		Consent: map[string]graph.Flag{"email": {On: true, Stamp: graph.Stamp{T: -1, S: 2}}},
		Tags:    map[string]graph.Flag{"vip": {On: false, Stamp: graph.Stamp{T: 9, S: 9}}},
	}
}

func TestCodecsRoundTrip(t *testing.T) {
	n := &store.Node{Type: "email", Value: "ann@x.io", Profile: 42}
	if got, err := decodeNode(encodeNode(n)); err != nil || !reflect.DeepEqual(got, n) {
		t.Errorf("node: %+v %v", got, err)
	}
	p := sampleProfile()
	if got, err := decodeProfile(encodeProfile(p)); err != nil || !reflect.DeepEqual(got, p) {
		t.Errorf("profile: %+v %v", got, err)
	}
	// Stores written when counts were a map hold them in any order.
	unsorted := sampleProfile()
	unsorted.Counts = graph.Counts{{Type: "user", N: 1}, {Type: "cookie", N: 1}}
	if got, err := decodeProfile(encodeProfile(unsorted)); err != nil || !reflect.DeepEqual(got, p) {
		t.Errorf("profile with counts out of order: %+v %v", got, err)
	}
	fwd := &store.Profile{Into: 3}
	if got, err := decodeProfile(encodeProfile(fwd)); err != nil || !reflect.DeepEqual(got, fwd) {
		t.Errorf("forwarding pointer: %+v %v", got, err)
	}
	r := sampleRecord()
	if got, err := decodeRecord(r.RecordKey, encodeRecord(r)); err != nil || !reflect.DeepEqual(got, r) {
		t.Errorf("record: %+v %v", got, err)
	}
	f := sampleFacts()
	if got, err := decodeFacts(encodeFacts(&f)); err != nil || !reflect.DeepEqual(got, f) {
		t.Errorf("facts: %+v %v", got, err)
	}
	k := store.RecordKey{Anchor: 1<<32 - 1, Time: -1 << 62, Seq: 5}
	if got, ok := parseRecordKey(recordKey(k)); !ok || got != k {
		t.Errorf("record key: %+v", got)
	}
}

// FuzzDecode: no byte string makes a decoder panic, and whatever decodes
// encodes back to a value that decodes the same.
func FuzzDecode(f *testing.F) {
	f.Add(encodeNode(&store.Node{Type: "user", Value: "1", Profile: 1}))
	f.Add(encodeProfile(sampleProfile()))
	f.Add(encodeRecord(sampleRecord()))
	fs := sampleFacts()
	f.Add(encodeFacts(&fs))
	f.Add([]byte{1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		if n, err := decodeNode(b); err == nil {
			if m, err := decodeNode(encodeNode(n)); err != nil || !reflect.DeepEqual(m, n) {
				t.Fatalf("node round trip: %+v %+v %v", n, m, err)
			}
		}
		if p, err := decodeProfile(b); err == nil {
			if q, err := decodeProfile(encodeProfile(p)); err != nil || !reflect.DeepEqual(q, p) {
				t.Fatalf("profile round trip: %+v %+v %v", p, q, err)
			}
		}
		k := store.RecordKey{Anchor: 1}
		if r, err := decodeRecord(k, b); err == nil {
			if s, err := decodeRecord(k, encodeRecord(r)); err != nil || !reflect.DeepEqual(s, r) {
				t.Fatalf("record round trip: %+v %+v %v", r, s, err)
			}
		}
		if fs, err := decodeFacts(b); err == nil {
			if gs, err := decodeFacts(encodeFacts(&fs)); err != nil || !reflect.DeepEqual(gs, fs) {
				t.Fatalf("facts round trip: %+v %+v %v", fs, gs, err)
			}
		}
		decodeMeta(b)
		parseIdentValue(b)
		parseRecordKey(b)
	})
}
