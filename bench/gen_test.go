package bench

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"testing"
	"time"
)

func smallConfig(seed uint64) Config {
	return Config{People: 1000, Seed: seed, Days: 365}
}

func generate(t *testing.T, cfg Config) ([]byte, *Truth, Stats) {
	t.Helper()
	var buf bytes.Buffer
	truth, st, err := Generate(cfg, &buf)
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), truth, st
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestGenerateIsDeterministic(t *testing.T) {
	out1, truth1, _ := generate(t, smallConfig(7))
	out2, truth2, _ := generate(t, smallConfig(7))
	if sha(out1) != sha(out2) {
		t.Fatal("same seed, different output")
	}
	var t1, t2 bytes.Buffer
	truth1.WriteTo(&t1)
	truth2.WriteTo(&t2)
	if sha(t1.Bytes()) != sha(t2.Bytes()) {
		t.Fatal("same seed, different truth")
	}
	out3, _, _ := generate(t, smallConfig(8))
	if sha(out1) == sha(out3) {
		t.Fatal("different seeds, same output")
	}
}

// TestGenerateGolden pins the output of a tiny population, so that a change
// of platform or Go version cannot change it silently. Update the hash when
// the generator is changed on purpose.
func TestGenerateGolden(t *testing.T) {
	out, _, _ := generate(t, Config{People: 300, Seed: 42, Days: 90})
	const want = "b83a854bb9b86184911565bb749059b00d7216e4fdcc6f7e42deabcb6171a6eb"
	if got := sha(out); got != want {
		t.Errorf("sha256 of the output = %s, want %s", got, want)
	}
}

func TestGenerateOutputShape(t *testing.T) {
	cfg := smallConfig(3)
	out, truth, st := generate(t, cfg)
	if st.Lines != bytes.Count(out, []byte("\n")) || st.Bytes != int64(len(out)) {
		t.Errorf("stats say %d lines, %d bytes; output has %d, %d", st.Lines, st.Bytes, bytes.Count(out, []byte("\n")), len(out))
	}
	perPerson := float64(st.Events) / float64(cfg.People)
	if perPerson < 15 || perPerson > 25 {
		t.Errorf("%.1f events per person, want about 20", perPerson)
	}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	end := start + 365*dayMS
	sources := map[string]bool{"web": true, "app": true, "pos": true, "crm": true}
	var last int64
	events, consents, traits := 0, 0, 0
	inOutput := make(map[string]bool)
	err := ReadRecords(bytes.NewReader(out), func(r *Record) error {
		if r.Time < last || r.Time < start || r.Time >= end {
			t.Fatalf("time %d out of order or range (previous %d)", r.Time, last)
		}
		last = r.Time
		if !sources[r.Source] {
			t.Errorf("source %q", r.Source)
		}
		switch {
		case r.Event != "":
			events++
		case r.Consent != nil:
			consents++
		case r.Traits != nil:
			traits++
		default:
			t.Errorf("line with neither event, consent nor traits: %+v", r)
		}
		real := 0
		for _, id := range r.IDs {
			norm, blocked, ok := Normalize(id)
			if !ok {
				t.Fatalf("malformed identifier %q", id)
			}
			inOutput[norm] = true
			owners, known := truth.Owners(norm)
			if !known {
				t.Fatalf("identifier %q (%q) has no truth entry", id, norm)
			}
			if blocked != (len(owners) == 0) {
				t.Errorf("%q: blocked %v but owners %v", norm, blocked, owners)
			}
			if !blocked {
				real++
			}
		}
		if real == 0 {
			t.Errorf("line with only blocked identifiers: %v", r.IDs)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if events != st.Events || consents != st.Consents || traits != st.Traits {
		t.Errorf("counted %d/%d/%d events/consents/traits, stats say %d/%d/%d", events, consents, traits, st.Events, st.Consents, st.Traits)
	}
	if len(inOutput) != truth.Len() {
		t.Errorf("%d identifiers in the output, %d in the truth", len(inOutput), truth.Len())
	}
	for _, name := range []string{"page_view", "view", "product_view", "add_to_cart", "purchase", "login", "app_open", "service_visit"} {
		if st.ByEvent[name] == 0 {
			t.Errorf("no %s events", name)
		}
	}
	if st.ByEvent["page_view"]+st.ByEvent["view"] < st.ByEvent["add_to_cart"]*3 {
		t.Errorf("views do not dominate: %v", st.ByEvent)
	}
}

func TestGenerateSharedIdentifiers(t *testing.T) {
	out, truth, st := generate(t, smallConfig(5))
	if st.SoldDevices == 0 {
		t.Error("no device was sold")
	}
	sharedEmails, sharedDevices := 0, 0
	for id, owners := range truth.All() {
		if len(owners) < 2 {
			continue
		}
		switch {
		case strings.HasPrefix(id, "email:"):
			sharedEmails++
		case strings.HasPrefix(id, "device:"):
			sharedDevices++
		}
	}
	if sharedEmails == 0 || sharedDevices == 0 {
		t.Fatalf("%d shared emails, %d shared devices; want some of each", sharedEmails, sharedDevices)
	}
	for _, junk := range []string{"idfa:00000000-0000-0000-0000-000000000000", "cookie:null"} {
		if owners, ok := truth.Owners(junk); !ok || owners != nil {
			t.Errorf("%s: owners %v, known %v; want a blocked entry", junk, owners, ok)
		}
	}

	// A shared email is really used by several of its owners: it appears
	// beside identifiers that only one of them owns, for two or more owners.
	users := make(map[string]map[int32]bool)
	err := ReadRecords(bytes.NewReader(out), func(r *Record) error {
		for _, id := range r.IDs {
			norm, _, _ := Normalize(id)
			owners, _ := truth.Owners(norm)
			if !strings.HasPrefix(norm, "email:") || len(owners) < 2 {
				continue
			}
			for _, other := range r.IDs {
				on, _, _ := Normalize(other)
				if o, ok := truth.Owner(on); ok && slices.Contains(owners, o) {
					if users[norm] == nil {
						users[norm] = make(map[int32]bool)
					}
					users[norm][o] = true
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	used := 0
	for _, who := range users {
		if len(who) >= 2 {
			used++
		}
	}
	if used == 0 {
		t.Errorf("no shared email was used by two of its owners")
	}
}

func TestTruthRoundTrip(t *testing.T) {
	_, truth, _ := generate(t, Config{People: 500, Seed: 1, Days: 120})
	var buf bytes.Buffer
	if _, err := truth.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	back, err := ReadTruth(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	var again bytes.Buffer
	back.WriteTo(&again)
	if !bytes.Equal(buf.Bytes(), again.Bytes()) {
		t.Fatal("truth changed through WriteTo and ReadTruth")
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		in, want string
		blocked  bool
	}{
		{" Anna.Schmidt@Gmail.com ", "email:anna.schmidt@gmail.com", false},
		{"phone:+49 151 1234-567", "phone:+491511234567", false},
		{"phone:0151 1234567", "phone:01511234567", false},
		{"device:ABC-DEF", "device:abc-def", false},
		{"idfa:00000000-0000-0000-0000-000000000000", "idfa:00000000-0000-0000-0000-000000000000", true},
		{"cookie:NULL", "cookie:NULL", true},
		{"email:[object Object]", "email:[object object]", true},
		{"user: 42 ", "user:42", false},
		{"user:-1", "user:-1", true},
		{"phone:0", "phone:0", true},
		{"serial:ab-1", "serial:AB-1", false},
		{"push:AbC", "push:AbC", false},
	}
	for _, tc := range tests {
		in := tc.in
		if !strings.Contains(in, ":") || strings.HasPrefix(in, " ") {
			in = "email:" + in
		}
		got, blocked, ok := Normalize(in)
		if !ok || got != tc.want || blocked != tc.blocked {
			t.Errorf("Normalize(%q) = %q, %v, %v; want %q, %v", in, got, blocked, ok, tc.want, tc.blocked)
		}
	}
	for _, bad := range []string{"nocolon", ":value"} {
		if _, _, ok := Normalize(bad); ok {
			t.Errorf("Normalize(%q) ok", bad)
		}
	}
}

// TestEmailVariantStaysPrintable: a typo'd address may start with a dot or
// a digit; its shop-assistant variant must still be valid JSON text (the
// 200k-people run once wrote a '\x0e' there).
func TestEmailVariantStaysPrintable(t *testing.T) {
	r := newRNG(7)
	for _, val := range []string{"email:.ann@x.io", "email:7ann@x.io", "email:ann@x.io"} {
		for range 200 {
			v := emailVariant(r, val)
			for i := 0; i < len(v); i++ {
				if v[i] < 0x20 {
					t.Fatalf("emailVariant(%q) = %q", val, v)
				}
			}
		}
	}
}
