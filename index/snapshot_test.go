package index

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"math"
	"math/rand/v2"
	"testing"
)

// sampleIndex is a small index with every kind of fact.
func sampleIndex() *Index {
	x := New()
	d := ms("2026-03-10T00:00:00Z")
	x.Add(1, Event{Name: "purchase", Source: "web", Time: d - 1}, Event{Name: "purchase", Source: "web", Time: d - 1}, Event{Name: "view", Source: "app", Time: d})
	x.Add(70000, Event{Name: "view", Source: "", Time: math.MinInt64}, Event{Name: "view", Source: "pos", Time: math.MaxInt64})
	x.Add(3, Event{Name: "view", Source: "app", Time: d + 5})
	x.SetAttrs(1, Attrs{Types: []string{"email"}, Traits: map[string]string{"tier": "gold", "age": "41"}, Consent: map[string]bool{"email": true, "sms": false}, Tags: []string{"vip"}})
	x.SetAttrs(9, Attrs{Types: []string{"email", "phone"}, Traits: map[string]string{"age": "7"}})
	x.Drop(3) // leftover events of a dropped profile are kept
	return x
}

func snapshot(t testing.TB, x *Index) []byte {
	t.Helper()
	var buf bytes.Buffer
	n, err := x.WriteTo(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(buf.Len()) {
		t.Fatalf("WriteTo returned %d, wrote %d", n, buf.Len())
	}
	return buf.Bytes()
}

func TestSnapshotRoundTrip(t *testing.T) {
	x := sampleIndex()
	data := snapshot(t, x)
	y, err := Read(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if ok, msg := x.Equal(y); !ok {
		t.Fatal(msg)
	}
	if y.Version() != x.Version() {
		t.Errorf("version %d, want %d", y.Version(), x.Version())
	}
	for _, q := range []DidQuery{
		{Name: "purchase", From: math.MinInt64, To: math.MaxInt64, Cmp: "=", N: 2},
		{Name: "view", From: math.MinInt64, To: math.MaxInt64, Cmp: "<", N: 1},
		{Name: "view", Source: "pos", From: 0, To: math.MaxInt64},
	} {
		if a, b := ids(x.Did(q)), ids(y.Did(q)); !sameIDs(a, b) {
			t.Errorf("Did(%+v): %v before, %v after", q, a, b)
		}
	}
	want(t, "age < 10", ids(y.Trait("age", "<", "10")), 9)
	want(t, "consent", ids(y.Consent("email")), 1)
	want(t, "tagged", ids(y.Tagged("vip")), 1)
	// Deterministic: the same content writes the same bytes.
	if again := snapshot(t, y); !bytes.Equal(again, data) {
		t.Error("snapshot of the restored index differs")
	}
	// Equal notices a difference.
	y.Add(1, Event{Name: "view", Source: "app", Time: 0})
	if ok, msg := x.Equal(y); ok || msg == "" {
		t.Error("Equal missed an added event")
	}
}

func TestEqualReportsDamage(t *testing.T) {
	x := sampleIndex()
	x.series["view"].buckets[0].bm.Add(12345) // a bitmap that disagrees with its events
	if ok, msg := x.Equal(x); ok {
		t.Fatal("damaged index equal to itself")
	} else {
		t.Log(msg)
	}
}

func TestReadRejectsTruncated(t *testing.T) {
	data := snapshot(t, sampleIndex())
	for n := 0; n < len(data); n++ {
		if _, err := Read(bytes.NewReader(data[:n])); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("prefix of %d bytes: err = %v", n, err)
		}
	}
}

func TestReadRejectsCorrupt(t *testing.T) {
	data := snapshot(t, sampleIndex())
	for i := range data {
		bad := bytes.Clone(data)
		bad[i] ^= 0x20
		if _, err := Read(bytes.NewReader(bad)); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("byte %d flipped: err = %v", i, err)
		}
	}
	if _, err := Read(io.MultiReader(bytes.NewReader(data), bytes.NewReader([]byte{0}))); err == nil {
		t.Fatal("trailing byte accepted")
	}
}

// withCRC re-seals body so that Read gets past the checksum and exercises
// the decoder's own validation.
func withCRC(body []byte) []byte {
	return binary.LittleEndian.AppendUint32(bytes.Clone(body), crc32.Checksum(body, castagnoli))
}

// TestReadRejectsInvalidContent: well-sealed snapshots with bad content.
func TestReadRejectsInvalidContent(t *testing.T) {
	data := snapshot(t, sampleIndex())
	body := data[:len(data)-4]
	r := rand.New(rand.NewPCG(1, 2))
	rejected := 0
	for i := 0; i < 3000; i++ {
		bad := bytes.Clone(body)
		for k := 0; k < 1+r.IntN(3); k++ {
			bad[len(magic)+r.IntN(len(bad)-len(magic))] = byte(r.IntN(256))
		}
		y, err := Read(bytes.NewReader(withCRC(bad)))
		if err != nil {
			rejected++
			continue
		}
		// Whatever is accepted must be internally consistent and survive
		// a round trip.
		if ok, msg := y.Equal(y); !ok {
			t.Fatalf("accepted an inconsistent index: %s", msg)
		}
	}
	if rejected == 0 {
		t.Fatal("no damaged content was rejected")
	}
}

func FuzzRead(f *testing.F) {
	data := snapshot(f, sampleIndex())
	f.Add(data)
	f.Add(data[:len(data)-4])
	f.Add(snapshot(f, New()))
	f.Add([]byte(magic))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, in := range [][]byte{b, withCRC(b)} {
			x, err := Read(bytes.NewReader(in))
			if err != nil {
				continue
			}
			if ok, msg := x.Equal(x); !ok {
				t.Fatalf("accepted an inconsistent index: %s", msg)
			}
			y, err := Read(bytes.NewReader(snapshot(t, x)))
			if err != nil {
				t.Fatalf("re-read: %v", err)
			}
			if ok, msg := x.Equal(y); !ok {
				t.Fatalf("round trip: %s", msg)
			}
		}
	})
}
