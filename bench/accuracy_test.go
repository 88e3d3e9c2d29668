package bench

import (
	"math"
	"strings"
	"testing"
)

// handTruth: person 0 owns a b c, person 1 owns d e; x is shared by both;
// cookie:null is blocked.
const handTruth = "user:a\t0\nuser:b\t0\nuser:c\t0\nuser:d\t1\nuser:e\t1\nemail:x\t0,1\ncookie:null\t-\n"

func TestScoreHandMadePartitions(t *testing.T) {
	truth, err := ReadTruth(strings.NewReader(handTruth))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name                   string
		partition              map[string]uint64
		precision, recall, f1  float64
		correct, predicted     int64
		missing, shared, block int
	}{
		{"perfect", map[string]uint64{"user:a": 1, "user:b": 1, "user:c": 1, "user:d": 2, "user:e": 2},
			1, 1, 1, 4, 4, 0, 0, 0},
		{"split and mixed", map[string]uint64{"user:a": 1, "user:b": 1, "user:c": 2, "user:d": 2, "user:e": 2},
			1.0 / 2, 1.0 / 2, 1.0 / 2, 2, 4, 0, 0, 0},
		{"everything glued", map[string]uint64{"user:a": 7, "user:b": 7, "user:c": 7, "user:d": 7, "user:e": 7, "email:x": 7, "cookie:null": 7},
			4.0 / 10, 1, 4.0 / 7, 4, 10, 0, 1, 1},
		{"singletons", map[string]uint64{"user:a": 1, "user:b": 2, "user:c": 3, "user:d": 4, "user:e": 5},
			1, 0, 0, 0, 0, 0, 0, 0},
		{"one missing", map[string]uint64{"user:a": 1, "user:b": 1, "user:c": 1, "user:d": 2, "other:z": 2},
			1, 3.0 / 4, 6.0 / 7, 3, 3, 1, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := ScoreMap(truth, tc.partition)
			if a.TruePairs != 4 {
				t.Errorf("true pairs %d, want 4", a.TruePairs)
			}
			if a.CorrectPairs != tc.correct || a.PredictedPairs != tc.predicted {
				t.Errorf("correct/predicted pairs %d/%d, want %d/%d", a.CorrectPairs, a.PredictedPairs, tc.correct, tc.predicted)
			}
			for _, f := range []struct {
				what      string
				got, want float64
			}{{"precision", a.Precision, tc.precision}, {"recall", a.Recall, tc.recall}, {"F1", a.F1, tc.f1}} {
				if math.Abs(f.got-f.want) > 1e-12 {
					t.Errorf("%s = %v, want %v", f.what, f.got, f.want)
				}
			}
			if a.Missing != tc.missing || a.Shared != tc.shared || a.Blocked != tc.block {
				t.Errorf("missing/shared/blocked %d/%d/%d, want %d/%d/%d", a.Missing, a.Shared, a.Blocked, tc.missing, tc.shared, tc.block)
			}
		})
	}
}

func TestNaiveComponentsGlueThroughJunk(t *testing.T) {
	input := `{"event":"a","ids":["cookie:1","email:Ann@X.com"],"time":1}
{"event":"b","ids":["email:ann@x.com ","user:1"],"time":2}
{"event":"c","ids":["cookie:2"],"time":3}
{"event":"d","ids":["cookie:2","email:undefined"],"time":4}
{"event":"e","ids":["user:9","email:UNDEFINED"],"time":5}
{"ids":["cookie:3"],"consent":{"email":"grant"}}
`
	p, err := NaiveComponents(strings.NewReader(input))
	if err != nil {
		t.Fatal(err)
	}
	groups := [][]string{
		{"cookie:1", "email:ann@x.com", "user:1"},
		{"cookie:2", "email:undefined", "user:9"}, // glued by a blocked value
		{"cookie:3"},
	}
	if len(p) != 7 {
		t.Errorf("%d identifiers, want 7: %v", len(p), p)
	}
	for i, g := range groups {
		for _, id := range g {
			if p[id] != p[g[0]] {
				t.Errorf("%s not with %s: %v", id, g[0], p)
			}
			for _, other := range groups[i+1:] {
				if p[id] == p[other[0]] {
					t.Errorf("%s glued to %s", id, other[0])
				}
			}
		}
	}
}

func TestScoreNaiveOnGeneratedPopulation(t *testing.T) {
	out, truth, _ := generate(t, Config{People: 1000, Seed: 9, Days: 365})
	p, err := NaiveComponents(strings.NewReader(string(out)))
	if err != nil {
		t.Fatal(err)
	}
	a := ScoreMap(truth, p)
	if a.Unknown != 0 || a.Missing != 0 {
		t.Errorf("unknown %d, missing %d; the naive partition covers the truth exactly", a.Unknown, a.Missing)
	}
	if a.Recall < 0.5 || a.Precision > 0.5 {
		t.Errorf("naive components: precision %.3f recall %.3f; want junk values to ruin precision", a.Precision, a.Recall)
	}
	t.Logf("naive: %+v", a)
}
