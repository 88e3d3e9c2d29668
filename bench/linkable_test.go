package bench

import (
	"bytes"
	"strings"
	"testing"
)

// TestLinkableTruthSplitsWhatNoRecordLinks uses handTruth: person 0 owns
// a b c, person 1 owns d e, email:x is shared. Records link a–b directly
// and a–c only through the shared x (which person 0 owns too); person 1's d
// and e never appear together, and cookie:null glues nothing.
func TestLinkableTruthSplitsWhatNoRecordLinks(t *testing.T) {
	truth, err := ReadTruth(strings.NewReader(handTruth))
	if err != nil {
		t.Fatal(err)
	}
	records := `{"event":"e","ids":["user:a","user:b","cookie:null"]}
{"event":"e","ids":["user:c","email:x"]}
{"event":"e","ids":["email:x","user:a"]}
{"event":"e","ids":["user:d","cookie:null"]}
{"event":"e","ids":["user:e","email:x"]}
`
	lt, err := LinkableTruth(truth, strings.NewReader(records))
	if err != nil {
		t.Fatal(err)
	}
	group := func(id string) int32 {
		o, ok := lt.Owner(id)
		if !ok {
			t.Fatalf("%s has no single owner in the linkable truth", id)
		}
		return o
	}
	if group("user:a") != group("user:b") || group("user:a") != group("user:c") {
		t.Error("a, b and c are linkable (c through the shared x) but were split")
	}
	if group("user:d") == group("user:e") || group("user:d") == group("user:a") {
		t.Error("d and e are never linked by a record but share a group")
	}
	if owners, _ := lt.Owners("email:x"); len(owners) != 2 {
		t.Errorf("the shared identifier has owners %v", owners)
	}
	if owners, ok := lt.Owners("cookie:null"); !ok || owners != nil {
		t.Errorf("the blocked value has owners %v", owners)
	}

	// A partition that glues d and e is right by the full truth, wrong by
	// what the records can tell.
	part := map[string]uint64{"user:a": 1, "user:b": 1, "user:c": 1, "user:d": 2, "user:e": 2}
	if a := ScoreMap(truth, part); a.F1 != 1 {
		t.Errorf("full truth F1 %v, want 1", a.F1)
	}
	if a := ScoreMap(lt, part); a.Precision != 3.0/4 || a.Recall != 1 {
		t.Errorf("linkable truth precision %v recall %v, want 0.75 and 1", a.Precision, a.Recall)
	}
}

// TestLinkableTruthOfAPopulation: on a generated population, connected
// components without blocked values lose no linkable pair (recall 1), and
// the linkable truth has more people than the truth.
func TestLinkableTruthOfAPopulation(t *testing.T) {
	var buf bytes.Buffer
	truth, _, err := Generate(Config{People: 300, Seed: 5, Days: 90}, &buf)
	if err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	lt, err := LinkableTruth(truth, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	c := NewComponents()
	c.DropBlocked = true
	if err := ReadRecords(bytes.NewReader(data), func(r *Record) error { c.Add(r.IDs...); return nil }); err != nil {
		t.Fatal(err)
	}
	full, link := ScoreMap(truth, c.Partition()), ScoreMap(lt, c.Partition())
	if link.Recall != 1 {
		t.Errorf("components recall %v of the linkable truth, want 1", link.Recall)
	}
	if link.People <= full.People || link.TruePairs >= full.TruePairs {
		t.Errorf("linkable truth: %d people, %d pairs; full truth %d, %d", link.People, link.TruePairs, full.People, full.TruePairs)
	}
}
