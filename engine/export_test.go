package engine

import (
	"fmt"
	"sort"
	"strings"

	"github.com/dgraph-io/badger/v4"
	"github.com/vmihailenco/msgpack/v5"
)

// DumpGroups renders every link group as "seq: [a b] [c d]" with
// identifiers, for debugging the differential test.
func (db *DB) DumpGroups() []string {
	var out []string
	db.bdb.View(func(txn *badger.Txn) error {
		r := &reader{txn: txn}
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{pGroup}, PrefetchValues: true})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			var g groupRec
			it.Item().Value(func(v []byte) error { return msgpack.Unmarshal(v, &g) })
			var sets []string
			for _, set := range g.Sets {
				var ids []string
				for _, n := range set {
					s, _ := r.ident(n)
					ids = append(ids, s)
				}
				sets = append(sets, "["+strings.Join(ids, " ")+"]")
			}
			out = append(out, fmt.Sprintf("%s (anchor %d)", strings.Join(sets, " "), g.Anchor))
		}
		return nil
	})
	sort.Strings(out)
	return out
}
