package bench

import (
	"io"
	"iter"
	"maps"
)

// Accuracy is the pairwise precision, recall and F1 of a partition of
// identifiers into profiles against the ground truth.
//
// A pair is two identifiers. Precision is the share of pairs placed in the
// same profile that truly belong to the same person; recall is the share of
// pairs of the same person that were placed in the same profile; F1 is their
// harmonic mean.
//
// Only identifiers with exactly one true owner are scored. Shared
// identifiers (a household email, a family tablet, a sold device) have no
// right answer — whichever owner's profile holds them is defensible — and
// blocked values (cookie:null …) belong to nobody; both are left out of the
// pair counts, though they still act on the partition through what they
// glued. A single-owner identifier missing from the partition counts as a
// profile of its own (it costs recall); partition identifiers the truth
// does not know are ignored and counted in Unknown.
type Accuracy struct {
	Name string `json:"name,omitempty"`

	Scored  int `json:"scored"`  // single-owner identifiers in the partition
	Missing int `json:"missing"` // single-owner identifiers not in it
	Shared  int `json:"shared"`  // partition identifiers with several owners
	Blocked int `json:"blocked"` // partition identifiers that are blocked values
	Unknown int `json:"unknown"` // partition identifiers not in the truth

	Profiles int `json:"profiles"` // profiles holding scored identifiers
	People   int `json:"people"`   // people owning single-owner identifiers

	TruePairs      int64 `json:"true_pairs"`
	PredictedPairs int64 `json:"predicted_pairs"`
	CorrectPairs   int64 `json:"correct_pairs"`

	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
}

// Score measures a partition — (identifier, profile id) pairs with
// identifiers normalised as [Normalize] does — against the truth. It runs in
// time linear in the sizes of both, from contingency counts: the pairs
// within a profile are C(n,2) of its size, and the correct pairs are the
// sum of C(n,2) over the (profile, person) cells. An identifier listed twice
// counts once, in its first profile.
func Score(truth *Truth, partition iter.Seq2[string, uint64]) Accuracy {
	var a Accuracy
	seen := make([]bool, truth.Len())
	type cell struct {
		profile uint64
		person  int32
	}
	cells := make(map[cell]int64)
	profiles := make(map[uint64]int64)
	for id, profile := range partition {
		e, ok := truth.index[id]
		switch {
		case !ok:
			a.Unknown++
			continue
		case seen[e]:
			continue
		}
		seen[e] = true
		switch o := truth.owner[e]; {
		case o == noOwner:
			a.Blocked++
		case o < noOwner:
			a.Shared++
		default:
			a.Scored++
			cells[cell{profile, o}]++
			profiles[profile]++
		}
	}
	people := make(map[int32]int64)
	for e, o := range truth.owner {
		if o >= 0 {
			people[o]++
			if !seen[e] {
				a.Missing++
			}
		}
	}
	for _, n := range cells {
		a.CorrectPairs += pairs(n)
	}
	for _, n := range profiles {
		a.PredictedPairs += pairs(n)
	}
	for _, n := range people {
		a.TruePairs += pairs(n)
	}
	a.Profiles = len(profiles) + a.Missing
	a.People = len(people)
	a.Precision = ratio(a.CorrectPairs, a.PredictedPairs)
	a.Recall = ratio(a.CorrectPairs, a.TruePairs)
	if a.Precision+a.Recall > 0 {
		a.F1 = 2 * a.Precision * a.Recall / (a.Precision + a.Recall)
	}
	return a
}

func pairs(n int64) int64 { return n * (n - 1) / 2 }

// ratio is num/den, and 1 when there is nothing to get wrong.
func ratio(num, den int64) float64 {
	if den == 0 {
		return 1
	}
	return float64(num) / float64(den)
}

// Components is a union-find over identifiers: the partition that plain
// connected components of every co-occurrence give, with no rules, no
// limits and no blocked values. It shows what idgraph's rules are worth:
// one cookie:null glues thousands of strangers together here.
//
// Identifiers are normalised with [Normalize] (so the partition keys match
// the truth), but blocked values are kept as ordinary identifiers.
type Components struct {
	// DropBlocked leaves blocked values out, to show what blocking alone
	// is worth; set it before the first Add.
	DropBlocked bool

	index  map[string]int32
	ids    []string
	parent []int32
}

// NewComponents returns an empty union-find.
func NewComponents() *Components { return &Components{index: make(map[string]int32)} }

// Add links all the identifiers of one record. Malformed identifiers (no
// colon) are skipped.
func (c *Components) Add(ids ...string) {
	first := int32(-1)
	for _, id := range ids {
		norm, blocked, ok := Normalize(id)
		if !ok || blocked && c.DropBlocked {
			continue
		}
		n := c.node(norm)
		if first < 0 {
			first = n
		} else {
			c.union(first, n)
		}
	}
}

func (c *Components) node(id string) int32 {
	if n, ok := c.index[id]; ok {
		return n
	}
	n := int32(len(c.ids))
	c.index[id] = n
	c.ids = append(c.ids, id)
	c.parent = append(c.parent, n)
	return n
}

func (c *Components) find(n int32) int32 {
	for c.parent[n] != n {
		c.parent[n] = c.parent[c.parent[n]] // path halving
		n = c.parent[n]
	}
	return n
}

// union keeps the smaller root, so a component's id is its first-seen node.
func (c *Components) union(a, b int32) {
	ra, rb := c.find(a), c.find(b)
	switch {
	case ra < rb:
		c.parent[rb] = ra
	case rb < ra:
		c.parent[ra] = rb
	}
}

// Partition returns identifier → component id; the id is 1 + the number of
// the component's first-seen identifier.
func (c *Components) Partition() map[string]uint64 {
	p := make(map[string]uint64, len(c.ids))
	for n, id := range c.ids {
		p[id] = uint64(c.find(int32(n))) + 1
	}
	return p
}

// Count returns the number of components.
func (c *Components) Count() int {
	k := 0
	for n := range c.parent {
		if c.find(int32(n)) == int32(n) {
			k++
		}
	}
	return k
}

// NaiveComponents reads NDJSON records (see [ReadRecords]) and returns the
// partition of their identifiers into connected components of every
// co-occurrence; see [Components].
func NaiveComponents(r io.Reader) (map[string]uint64, error) {
	c := NewComponents()
	err := ReadRecords(r, func(rec *Record) error {
		c.Add(rec.IDs...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return c.Partition(), nil
}

// ScoreMap is [Score] for a partition held in a map.
func ScoreMap(truth *Truth, partition map[string]uint64) Accuracy {
	return Score(truth, maps.All(partition))
}
