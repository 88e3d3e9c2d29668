package engine

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/idgraph/idgraph/index"
	"github.com/vmihailenco/msgpack/v5"
)

// maxProblems bounds what Check reports.
const maxProblems = 100

// Check verifies the store's invariants on a snapshot and returns what is
// wrong (nothing when all hold):
//   - identifier → node → profile → member list agree both ways;
//   - each profile's counts per type, member and event counts and first/last
//     seen match its members, and no profile exceeds a type's limit;
//   - link groups and the node → group lists agree;
//   - the profiles equal a replay of every link group in arrival order;
//   - the in-memory index equals one rebuilt from the events.
//
// Run it on a quiet store (no writes in flight), as `idgraph check` does.
func (db *DB) Check() ([]string, error) {
	var problems []string
	report := func(format string, args ...any) {
		if len(problems) < maxProblems {
			problems = append(problems, fmt.Sprintf(format, args...))
		}
	}
	tt := db.types.Load()
	err := db.bdb.View(func(txn *badger.Txn) error {
		nodes := map[uint32]*nodeRec{}
		if err := scan(txn, pNode, func(k, v []byte) error {
			nr := new(nodeRec)
			if err := msgpack.Unmarshal(v, nr); err != nil {
				return err
			}
			nodes[binary.BigEndian.Uint32(k[1:])] = nr
			return nil
		}); err != nil {
			return err
		}
		idents := 0
		if err := scan(txn, pIdent, func(k, v []byte) error {
			idents++
			if len(v) != 8 {
				report("identifier %q has a corrupt record", k[1:])
				return nil
			}
			n, p := binary.BigEndian.Uint32(v), binary.BigEndian.Uint32(v[4:])
			nr := nodes[n]
			if nr == nil || string(identKey(nr.Type, nr.Value)) != string(k) {
				report("identifier %q points at node %d, which does not hold it", k[1:], n)
			} else if nr.Profile != p {
				report("identifier %q says profile %d, its node says %d", k[1:], p, nr.Profile)
			}
			return nil
		}); err != nil {
			return err
		}
		if idents != len(nodes) {
			report("%d identifiers but %d nodes", idents, len(nodes))
		}
		profs := map[uint32]*profRec{}
		if err := scan(txn, pProfile, func(k, v []byte) error {
			pr := new(profRec)
			if err := msgpack.Unmarshal(v, pr); err != nil {
				return err
			}
			profs[binary.BigEndian.Uint32(k[1:])] = pr
			return nil
		}); err != nil {
			return err
		}
		events := map[uint32][]int64{}
		linkedEvent := map[uint64]uint32{} // seq → anchor of a linked event
		if err := scan(txn, pEvent, func(k, v []byte) error {
			a, t, seq := parseEventKey(k)
			events[a] = append(events[a], t)
			if eventLinked(k) {
				linkedEvent[seq] = a
			}
			if nodes[a] == nil {
				report("event anchored on missing node %d", a)
			}
			return nil
		}); err != nil {
			return err
		}
		memberOf := map[uint32]uint32{}
		for p, pr := range profs {
			if pr.Into != 0 {
				continue
			}
			mem := pr.Mem
			counts := map[string]int{}
			var evs, first, last int64
			for _, m := range mem {
				nr := nodes[m.Node]
				if nr == nil {
					report("profile %d lists missing node %d", p, m.Node)
					continue
				}
				if nr.Profile != p {
					report("profile %d lists node %d (%s) which says it is in %d", p, m.Node, m.ID, nr.Profile)
				}
				if m.ID != nr.Type+":"+nr.Value {
					report("profile %d lists %q for node %d (%s:%s)", p, m.ID, m.Node, nr.Type, nr.Value)
				}
				memberOf[m.Node] = p
				counts[nr.Type]++
				for _, t := range events[m.Node] {
					if evs == 0 || t < first {
						first = t
					}
					if evs == 0 || t > last {
						last = t
					}
					evs++
				}
			}
			if len(mem) == 0 {
				report("live profile %d has no members", p)
			}
			if pr.Members != len(mem) {
				report("profile %d counts %d members, lists %d", p, pr.Members, len(mem))
			}
			for typ, c := range counts {
				if pr.Counts[typ] != c {
					report("profile %d counts %d %s, holds %d", p, pr.Counts[typ], typ, c)
				}
				if ti, ok := tt.byName[typ]; ok && c > tt.specs[ti].Limit {
					report("profile %d holds %d %s, over the limit %d", p, c, typ, tt.specs[ti].Limit)
				}
			}
			if pr.Events != evs || evs > 0 && (pr.First != first || pr.Last != last) {
				report("profile %d says %d events %d..%d; its members anchor %d events %d..%d", p, pr.Events, pr.First, pr.Last, evs, first, last)
			}
		}
		for n, nr := range nodes {
			if memberOf[n] != nr.Profile {
				report("node %d (%s:%s) says profile %d; no live profile lists it there", n, nr.Type, nr.Value, nr.Profile)
			}
		}
		// Link groups.
		groups := map[uint64]*groupRec{}
		if err := scan(txn, pGroup, func(k, v []byte) error {
			g := new(groupRec)
			if err := msgpack.Unmarshal(v, g); err != nil {
				return err
			}
			groups[binary.BigEndian.Uint64(k[1:])] = g
			return nil
		}); err != nil {
			return err
		}
		ng := map[uint64]map[uint32]bool{}
		if err := scan(txn, pNodeGrp, func(k, _ []byte) error {
			n, s := binary.BigEndian.Uint32(k[1:]), binary.BigEndian.Uint64(k[5:])
			if ng[s] == nil {
				ng[s] = map[uint32]bool{}
			}
			ng[s][n] = true
			return nil
		}); err != nil {
			return err
		}
		for s, g := range groups {
			in := nodesOf(g)
			if g.Anchor != 0 && in[g.Anchor] && linkedEvent[s] != g.Anchor {
				report("link group %d is anchored on node %d, which has no linked event for it", s, g.Anchor)
			}
			for n := range in {
				if !ng[s][n] && n != g.Anchor {
					report("link group %d holds node %d but the node does not list it", s, n)
				}
				if nodes[n] == nil {
					report("link group %d holds missing node %d", s, n)
				}
			}
			for n := range ng[s] {
				if !in[n] {
					report("node %d lists link group %d which does not hold it", n, s)
				}
			}
		}
		for s := range ng {
			if groups[s] == nil {
				report("nodes list missing link group %d", s)
			}
		}
		// Profiles equal a replay of the record.
		checkReplay(tt, nodes, groups, report)
		// The index equals a recomputation.
		x := index.New()
		if err := rebuildInto(txn, tt, x); err != nil {
			return err
		}
		if ok, diff := db.idx.Equal(x); !ok {
			report("index differs from a recomputation from events: %s", diff)
		}
		return nil
	})
	return problems, err
}

func checkReplay(tt *typeTable, nodes map[uint32]*nodeRec, groups map[uint64]*groupRec, report func(string, ...any)) {
	seqs := make([]uint64, 0, len(groups))
	for s := range groups {
		seqs = append(seqs, s)
	}
	sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
	sc := newScratch()
	for _, s := range seqs {
		for _, set := range groups[s].Sets {
			ms := make([]member, 0, len(set))
			for _, n := range set {
				if nr := nodes[n]; nr != nil {
					ms = append(ms, member{node: n, typ: tt.byName[nr.Type]})
				}
			}
			orderMembers(tt, ms)
			resolve(sc, tt, ms)
		}
	}
	ids := make([]uint32, 0, len(nodes))
	for n := range nodes {
		ids = append(ids, n)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	labelToProf := map[uint32]uint32{}
	profToLabel := map[uint32]uint32{}
	for _, n := range ids {
		if sc.label[n] == 0 {
			sc.create(n, tt.byName[nodes[n].Type])
		}
		l, p := sc.label[n], nodes[n].Profile
		if q, ok := labelToProf[l]; ok && q != p || profToLabel[p] != 0 && profToLabel[p] != l {
			report("node %d (%s:%s): profiles differ from a replay of the link records", n, nodes[n].Type, nodes[n].Value)
			continue
		}
		labelToProf[l], profToLabel[p] = p, l
	}
}

func scan(txn *badger.Txn, prefix byte, f func(k, v []byte) error) error {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefix}, PrefetchValues: true})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		item := it.Item()
		if err := item.Value(func(v []byte) error { return f(item.Key(), v) }); err != nil {
			return err
		}
	}
	return nil
}

// Backup writes a consistent copy of the store to w while it keeps serving,
// and returns the bytes written.
func (db *DB) Backup(w io.Writer) (int64, error) {
	cw := &countWriter{w: w}
	_, err := db.bdb.Backup(cw, 0)
	return cw.n, err
}

// BackupToDir writes a backup into the "backups" folder of the data
// directory, named by the time, and returns its path and size.
func (db *DB) BackupToDir() (string, int64, error) {
	if db.opts.InMemory {
		return "", 0, invalid("an in-memory store has no data directory to back up into")
	}
	dir := filepath.Join(db.opts.Dir, "backups")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", 0, err
	}
	path := filepath.Join(dir, "backup-"+time.Now().UTC().Format("20060102T150405.000Z")+".bak")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return "", 0, err
	}
	n, err := db.Backup(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return "", 0, err
	}
	abs, _ := filepath.Abs(path)
	return abs, n, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// Restore loads a backup into the store, which must be freshly created and
// empty; reopen it afterwards (the index is rebuilt on open).
func (db *DB) Restore(r io.Reader) error {
	db.closeMu.Lock()
	defer db.closeMu.Unlock()
	if err := db.bdb.DropAll(); err != nil {
		return err
	}
	if err := db.bdb.Load(r, 256); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	db.pcache.reset()
	if db.snapPath != "" {
		removeFile(db.snapPath)
	}
	db.restored = true
	return nil
}
