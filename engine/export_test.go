package engine

import (
	"fmt"
	"sort"
	"strings"

	"github.com/idgraph/idgraph/engine/internal/store"
)

// DumpGroups renders every link record's sets with identifiers, for
// debugging the differential test.
func (db *DB) DumpGroups() []string {
	var out []string
	db.snapshot(func(s store.Snapshot) error {
		return s.ScanRecords(func(r *store.Record) error {
			var sets []string
			for _, set := range r.Sets {
				var ids []string
				for _, n := range set {
					if nr, err := s.Node(n); err == nil {
						ids = append(ids, nr.ID())
					}
				}
				sets = append(sets, "["+strings.Join(ids, " ")+"]")
			}
			if len(sets) > 0 {
				out = append(out, fmt.Sprintf("%s (anchor %d, seq %d)", strings.Join(sets, " "), r.Anchor, r.Seq))
			}
			return nil
		})
	})
	sort.Strings(out)
	return out
}

// RawEntries calls f for every entry of the Badger store, every version and
// deletion marker included, decoded.
func (db *DB) RawEntries(f func(key, value []byte, deleted bool)) error {
	return db.bst.ScanAllVersions(f)
}

// TickDue reports whether the change feed's tick would commit now.
func (db *DB) TickDue() bool { return db.tickDue() }
