package engine

import (
	"sort"

	"github.com/idgraph/idgraph/engine/internal/graph"
	"github.com/idgraph/idgraph/engine/internal/store"
)

// Hub is an identifier whose links were refused with many profiles: a
// shared office email, a default device id, a till's test card. Operators
// usually block such values (Options.Blocked) or UNLINK them.
type Hub struct {
	ID       string
	Profiles int // distinct other profiles it was refused with
	Refused  int // refused links
}

// Hubs scans the link records and returns identifiers refused with at least
// min distinct profiles, most first, at most limit. It reads every link
// record: an operator's statement, not a hot path.
func (db *DB) Hubs(min, limit int) ([]Hub, error) {
	type acc struct {
		refused int
		profs   map[uint32]struct{}
	}
	const maxTracked = 1 << 20 // distinct profiles remembered per identifier
	seen := map[uint32]*acc{}
	var out []Hub
	err := db.snapshot(func(s store.Snapshot) error {
		profOf := map[uint32]uint32{}
		profile := func(n uint32) uint32 {
			if p, ok := profOf[n]; ok {
				return p
			}
			if nr, err := s.Node(n); err == nil {
				profOf[n] = nr.Profile
			}
			return profOf[n]
		}
		note := func(n, other uint32) {
			a := seen[n]
			if a == nil {
				a = &acc{profs: map[uint32]struct{}{}}
				seen[n] = a
			}
			a.refused++
			if p := profile(other); p != 0 && p != profile(n) && len(a.profs) < maxTracked {
				a.profs[p] = struct{}{}
			}
		}
		err := s.ScanRecords(func(rec *store.Record) error {
			for i, set := range rec.Sets {
				if i >= len(rec.Rules) || len(set) == 0 {
					continue
				}
				for j := 1; j < len(set) && j < len(rec.Rules[i]); j++ {
					if r := rec.Rules[i][j]; r != "" && !graph.IsMoveRule(r) {
						note(set[j], set[0])
						note(set[0], set[j])
					}
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		for n, a := range seen {
			if len(a.profs) < min {
				continue
			}
			nr, err := s.Node(n)
			if err != nil {
				continue
			}
			out = append(out, Hub{ID: nr.ID(), Profiles: len(a.profs), Refused: a.refused})
		}
		return nil
	})
	sort.Slice(out, func(i, j int) bool {
		if out[i].Profiles != out[j].Profiles {
			return out[i].Profiles > out[j].Profiles
		}
		return out[i].ID < out[j].ID
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, err
}
