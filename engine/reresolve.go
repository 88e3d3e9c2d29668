package engine

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/dgraph-io/badger/v4"
	"github.com/idgraph/idgraph/index"
	"github.com/vmihailenco/msgpack/v5"
)

// scratch implements resolver in memory for re-resolution: it replays one
// component's link groups from nothing. Labels are allocated in creation
// order, so "older" means the same as in the store.
type scratch struct {
	label   map[uint32]uint32
	cnt     map[uint32]map[int]int
	members map[uint32][]uint32
	next    uint32
}

func newScratch() *scratch {
	return &scratch{label: map[uint32]uint32{}, cnt: map[uint32]map[int]int{}, members: map[uint32][]uint32{}}
}

func (s *scratch) profileOf(n uint32) uint32   { return s.label[n] }
func (s *scratch) counts(p uint32) map[int]int { return s.cnt[p] }
func (s *scratch) create(n uint32, typ int) uint32 {
	s.next++
	s.cnt[s.next] = map[int]int{}
	s.join(n, typ, s.next)
	return s.next
}
func (s *scratch) join(n uint32, typ int, p uint32) {
	s.label[n] = p
	s.cnt[p][typ]++
	s.members[p] = append(s.members[p], n)
}
func (s *scratch) merge(a, b uint32) uint32 {
	if b < a {
		a, b = b, a
	}
	for _, n := range s.members[b] {
		s.label[n] = a
	}
	s.members[a] = append(s.members[a], s.members[b]...)
	for t, c := range s.cnt[b] {
		s.cnt[a][t] += c
	}
	delete(s.members, b)
	delete(s.cnt, b)
	return a
}
func (s *scratch) move(n uint32, typ int, p uint32) {
	old := s.label[n]
	ms := s.members[old]
	for i, m := range ms {
		if m == n {
			s.members[old] = append(ms[:i:i], ms[i+1:]...)
			break
		}
	}
	s.cnt[old][typ]--
	s.join(n, typ, p)
}

func (w *writer) group(seq uint64) (*groupRec, error) {
	g := new(groupRec)
	if err := getMsg(w.txn, groupKey(seq), g); err != nil {
		return nil, fmt.Errorf("link group %d: %w", seq, err)
	}
	return g, nil
}

// nodeGroups lists the link groups n is in, as the open transaction sees
// them: the committed snapshot plus the overlay.
func (w *writer) nodeGroups(n uint32) ([]uint64, error) {
	return groupSeqs(w.snap, n, w.ov.groups[n], w.ov.events[n]), nil
}

// groupSeqs lists, in order, the link groups n is in: its node → group
// entries and the groups of the linked events anchored on it, as txn sees
// them, corrected by what an open transaction changed (nil maps for none).
func groupSeqs(txn *badger.Txn, n uint32, groups map[uint64]bool, events map[string]*anchored) []uint64 {
	var out []uint64
	it := txn.NewIterator(badger.IteratorOptions{Prefix: nodeGroupPrefix(n)})
	for it.Rewind(); it.Valid(); it.Next() {
		seq := nodeGroupSeq(it.Item().Key())
		if _, changed := groups[seq]; !changed {
			out = append(out, seq)
		}
	}
	it.Close()
	for seq, present := range groups {
		if present {
			out = append(out, seq)
		}
	}
	ev := txn.NewIterator(badger.IteratorOptions{Prefix: eventPrefix(n)})
	for ev.Rewind(); ev.Valid(); ev.Next() {
		k := ev.Item().Key()
		if _, changed := events[string(k)]; !changed && eventLinked(k) {
			_, _, seq := parseEventKey(k)
			out = append(out, seq)
		}
	}
	ev.Close()
	for k, a := range events {
		if a != nil && eventLinked([]byte(k)) {
			_, _, seq := parseEventKey([]byte(k))
			out = append(out, seq)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return slices.Compact(out)
}

// reresolve replays, from nothing, every link group of the components that
// hold the start nodes, and writes the difference: node labels, members,
// profile records, forwarding pointers, group decisions and index moves.
// A piece keeps the old id of the profile whose oldest identifier it holds
// (the smallest such id when it holds several); other pieces get new ids and
// the old ids that lost their founder forward to where it went.
func (w *writer) reresolve(start []uint32) error {
	comp := map[uint32]bool{}
	queue := append([]uint32(nil), start...)
	groups := map[uint64]*groupRec{}
	seenProf := map[uint32]bool{}
	oldProf := map[uint32]uint32{}
	for len(queue) > 0 {
		n := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		if comp[n] {
			continue
		}
		rec, err := w.node(n)
		if err != nil {
			return err
		}
		comp[n] = true
		oldProf[n] = rec.Profile
		if p := rec.Profile; p != 0 && !seenProf[p] {
			seenProf[p] = true
			ms, err := w.members(p)
			if err != nil {
				return err
			}
			queue = append(queue, ms...)
		}
		seqs, err := w.nodeGroups(n)
		if err != nil {
			return err
		}
		for _, s := range seqs {
			if groups[s] != nil {
				continue
			}
			g, err := w.group(s)
			if errors.Is(err, badger.ErrKeyNotFound) {
				continue // a linked event whose group UNLINK emptied
			}
			if err != nil {
				return err
			}
			groups[s] = g
			for _, set := range g.Sets {
				queue = append(queue, set...)
			}
		}
	}
	seqs := make([]uint64, 0, len(groups))
	orig := make(map[uint64][][]uint32, len(groups))
	dirtyGroups := map[uint64]bool{}
	for s, g := range groups {
		seqs = append(seqs, s)
		sets := make([][]uint32, len(g.Sets))
		for i, set := range g.Sets {
			sets[i] = slices.Clone(set)
		}
		orig[s] = sets
		if len(g.Rules) != len(g.Sets) {
			dirtyGroups[s] = true
			g.Rules = make([][]string, len(g.Sets))
		}
	}
	sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
	typeOf := func(n uint32) (int, error) {
		rec, err := w.node(n)
		if err != nil {
			return 0, err
		}
		return w.tt.byName[rec.Type], nil
	}
	sc := newScratch()
	for _, s := range seqs {
		g := groups[s]
		changed := dirtyGroups[s]
		for i, set := range g.Sets {
			ms := make([]member, len(set))
			for j, n := range set {
				t, err := typeOf(n)
				if err != nil {
					return err
				}
				ms[j] = member{node: n, typ: t}
			}
			orderMembers(w.tt, ms)
			_, ds := resolve(sc, w.tt, ms)
			rules := make([]string, len(ms))
			for j, m := range ms {
				set[j] = m.node
			}
			for j, d := range ds {
				rules[j+1] = d.rule
			}
			if i >= len(g.Rules) || !slices.Equal(g.Rules[i], rules) || !slices.Equal(set, orig[s][i]) {
				changed = true
			}
			if i < len(g.Rules) {
				g.Rules[i] = rules
			}
		}
		// Only groups whose decisions (or order) changed are rewritten: a
		// component's history can be long, its changes are usually few.
		if changed {
			if err := w.put(groupKey(s), g); err != nil {
				return err
			}
		}
	}
	nodes := make([]uint32, 0, len(comp))
	for n := range comp {
		nodes = append(nodes, n)
	}
	sort.Slice(nodes, func(i, j int) bool { return nodes[i] < nodes[j] })
	for _, n := range nodes {
		if sc.label[n] == 0 {
			t, err := typeOf(n)
			if err != nil {
				return err
			}
			sc.create(n, t)
		}
	}
	// Which piece keeps which id.
	founder := map[uint32]uint32{} // old profile → its smallest node in comp
	for _, n := range nodes {
		if q := oldProf[n]; q != 0 {
			if _, ok := founder[q]; !ok {
				founder[q] = n
			}
		}
	}
	olds := make([]uint32, 0, len(founder))
	for q := range founder {
		olds = append(olds, q)
	}
	sort.Slice(olds, func(i, j int) bool { return olds[i] < olds[j] })
	idOf := map[uint32]uint32{}
	for _, q := range olds {
		if l := sc.label[founder[q]]; idOf[l] == 0 {
			idOf[l] = q
		}
	}
	labels := make([]uint32, 0, len(sc.members))
	for _, n := range nodes {
		if l := sc.label[n]; idOf[l] == 0 {
			p, _ := w.newProfile()
			idOf[l] = p
			labels = append(labels, l)
		} else if len(labels) == 0 || !containsU32(labels, l) {
			labels = append(labels, l)
		}
	}
	// Relabel nodes whose profile changed, moving their events in the index.
	for _, n := range nodes {
		np, op := idOf[sc.label[n]], oldProf[n]
		if np == op {
			continue
		}
		rec, err := w.node(n)
		if err != nil {
			return err
		}
		rec.Profile = np
		w.dirtyNodes[n] = true
		if op != 0 {
			if err := w.delMember(op, n); err != nil {
				return err
			}
		}
		if err := w.setMember(np, n, rec); err != nil {
			return err
		}
		as, err := w.nodeEvents(n)
		if err != nil {
			return err
		}
		if len(as) > 0 && op != 0 {
			moved, from, to := evs(as), op, np
			w.index(func(x *index.Index) { x.Move(from, to, moved) })
		}
	}
	for _, q := range olds {
		if to := idOf[sc.label[founder[q]]]; to != q {
			pr, err := w.prof(q)
			if err != nil {
				return err
			}
			pr.rec, pr.counts = profRec{Into: to}, map[int]int{}
			w.dirtyProfs[q] = true
			delete(w.touched, q)
			q := q
			w.index(func(x *index.Index) { x.Drop(q) })
		}
	}
	// A piece that kept its old id and exactly its old members is unchanged;
	// the others are recomputed from their members.
	oldMembers := map[uint32][]uint32{}
	for _, n := range nodes {
		if q := oldProf[n]; q != 0 {
			oldMembers[q] = append(oldMembers[q], n)
		}
	}
	for _, l := range labels {
		p := idOf[l]
		pr, err := w.prof(p)
		if err != nil {
			return err
		}
		now := slices.Clone(sc.members[l])
		slices.Sort(now)
		if pr.rec.Into == 0 && slices.Equal(now, oldMembers[p]) && !w.touched[p] {
			continue
		}
		if err := w.recompute(p, pr); err != nil {
			return err
		}
	}
	return nil
}

func containsU32(s []uint32, v uint32) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// unlink removes the pair from every link group: a set holding both becomes
// two sets, one without each, the one keeping the higher-priority identifier
// first; sets left with fewer than two identifiers link nothing and go.
func (w *writer) unlink(o *op) (Result, error) {
	var ids [2]ID
	for i, raw := range o.ids {
		id, _, blocked, err := w.tt.parseID(raw, w.db.bl)
		if err != nil {
			return Result{}, err
		}
		if blocked {
			return Result{}, fmt.Errorf("%w: %q is a blocked value", ErrBadID, clip(raw))
		}
		ids[i] = id
	}
	if ids[0] == ids[1] {
		return Result{}, invalid("cannot unlink %s from itself", ids[0])
	}
	var nodes [2]uint32
	res := Result{Profiles: []uint32{0, 0}}
	for i, id := range ids {
		n, err := w.lookup(id)
		if err != nil {
			return Result{}, err
		}
		nodes[i] = n
		if n != 0 {
			rec, err := w.node(n)
			if err != nil {
				return Result{}, err
			}
			res.Profiles[i] = rec.Profile
		}
	}
	res.Profile = res.Profiles[0]
	if nodes[0] == 0 || nodes[1] == 0 {
		return res, nil
	}
	sa, err := w.nodeGroups(nodes[0])
	if err != nil {
		return Result{}, err
	}
	sb, err := w.nodeGroups(nodes[1])
	if err != nil {
		return Result{}, err
	}
	inB := map[uint64]bool{}
	for _, s := range sb {
		inB[s] = true
	}
	for _, s := range sa {
		if !inB[s] {
			continue
		}
		g, err := w.group(s)
		if errors.Is(err, badger.ErrKeyNotFound) {
			continue
		}
		if err != nil {
			return Result{}, err
		}
		before := nodesOf(g)
		var sets [][]uint32
		changed := false
		for _, set := range g.Sets {
			i, j := indexOf(set, nodes[0]), indexOf(set, nodes[1])
			if i < 0 || j < 0 {
				sets = append(sets, set)
				continue
			}
			changed = true
			if j < i {
				i, j = j, i
			}
			for _, part := range [][]uint32{without(set, set[j]), without(set, set[i])} {
				if len(part) >= 2 {
					sets = append(sets, part)
				}
			}
		}
		if !changed {
			continue
		}
		res.Removed++
		if err := w.rewriteGroup(s, g, sets, before); err != nil {
			return Result{}, err
		}
	}
	if res.Removed == 0 {
		return res, nil
	}
	w.seqTouch()
	if err := w.reresolve(nodes[:]); err != nil {
		return Result{}, err
	}
	for i, n := range nodes {
		rec, err := w.node(n)
		if err != nil {
			return Result{}, err
		}
		res.Profiles[i] = rec.Profile
	}
	res.Profile = res.Profiles[0]
	return res, nil
}

// seqTouch gives a re-resolving operation its own arrival seq, so anything
// it stamps sorts after what came before.
func (w *writer) seqTouch() {
	w.meta.Seq++
	w.seq = w.meta.Seq
}

// rewriteGroup stores a group's new sets (deleting it when none is left) and
// drops the group from the node → group lists of nodes no longer in it.
func (w *writer) rewriteGroup(seq uint64, g *groupRec, sets [][]uint32, before map[uint32]bool) error {
	g.Sets = sets
	g.Rules = make([][]string, len(sets))
	for i, set := range sets {
		g.Rules[i] = make([]string, len(set))
	}
	after := nodesOf(g)
	for n := range before {
		if !after[n] && n != g.Anchor {
			if err := w.delNodeGroup(n, seq); err != nil {
				return err
			}
		}
	}
	if len(sets) == 0 {
		return w.del(groupKey(seq))
	}
	return w.put(groupKey(seq), g)
}

func nodesOf(g *groupRec) map[uint32]bool {
	m := map[uint32]bool{}
	for _, set := range g.Sets {
		for _, n := range set {
			m[n] = true
		}
	}
	return m
}

func indexOf(s []uint32, v uint32) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

func without(s []uint32, v uint32) []uint32 {
	out := make([]uint32, 0, len(s))
	for _, x := range s {
		if x != v {
			out = append(out, x)
		}
	}
	return out
}

// forget erases a whole profile (SPEC.md §5).
func (w *writer) forget(o *op) (Result, error) {
	raw := o.ids[0]
	var p uint32
	if strings.HasPrefix(raw, ProfileType+":") {
		id, err := parseProfileID(raw)
		if err != nil {
			return Result{}, err
		}
		if p, err = w.live(id); err != nil {
			return Result{}, err
		}
	} else {
		id, _, blocked, err := w.tt.parseID(raw, w.db.bl)
		if err != nil {
			return Result{}, err
		}
		if !blocked {
			n, err := w.lookup(id)
			if err != nil {
				return Result{}, err
			}
			if n != 0 {
				rec, err := w.node(n)
				if err != nil {
					return Result{}, err
				}
				p = rec.Profile
			}
		}
	}
	if p == 0 {
		return Result{}, fmt.Errorf("%w: %s is not known", ErrNotFound, clip(raw))
	}
	ms, err := w.members(p)
	if err != nil {
		return Result{}, err
	}
	w.seqTouch()
	gone := map[uint32]bool{}
	for _, n := range ms {
		gone[n] = true
	}
	res := Result{Profile: p, Removed: len(ms)}
	pr, err := w.prof(p)
	if err != nil {
		return Result{}, err
	}
	deferEvents := pr.rec.Events > forgetInlineEvents
	var erased []index.Event
	neighbours := map[uint32]bool{}
	doneGroups := map[uint64]bool{}
	for _, n := range ms {
		rec, err := w.node(n)
		if err != nil {
			return Result{}, err
		}
		as, err := w.nodeEvents(n)
		if err != nil {
			return Result{}, err
		}
		if deferEvents {
			// Too many to delete in this transaction: the node is listed for
			// purging, which happens right after the commit, before the
			// FORGET is acknowledged (and on open, after a crash).
			w.meta.Purge = append(w.meta.Purge, n)
		} else {
			for _, a := range as {
				if err := w.delEvent(a.key); err != nil {
					return Result{}, err
				}
			}
		}
		res.Events += len(as)
		erased = append(erased, evs(as)...)
		seqs, err := w.nodeGroups(n)
		if err != nil {
			return Result{}, err
		}
		// The link records of erased events go too, even those an UNLINK
		// has since taken this node out of: find them through the events.
		for _, a := range as {
			if eventLinked(a.key) {
				_, _, seq := parseEventKey(a.key)
				seqs = append(seqs, seq)
			}
		}
		for _, s := range seqs {
			if doneGroups[s] {
				continue
			}
			doneGroups[s] = true
			g, err := w.group(s)
			if errors.Is(err, badger.ErrKeyNotFound) {
				continue // an event of one identifier, or links already gone
			}
			if err != nil {
				return Result{}, err
			}
			before := nodesOf(g)
			for m := range before {
				if !gone[m] {
					neighbours[m] = true
				}
			}
			var sets [][]uint32
			if !gone[g.Anchor] { // an erased event takes its links with it
				for _, set := range g.Sets {
					kept := make([]uint32, 0, len(set))
					for _, m := range set {
						if !gone[m] {
							kept = append(kept, m)
						}
					}
					if len(kept) >= 2 {
						sets = append(sets, kept)
					}
				}
				if g.Anchor != 0 {
					if err := w.dropFromEvent(g, s, gone); err != nil {
						return Result{}, err
					}
				}
			}
			if err := w.rewriteGroup(s, g, sets, before); err != nil {
				return Result{}, err
			}
		}
		w.identsChanged[string(identKey(rec.Type, rec.Value))] = true
		if err := w.del(identKey(rec.Type, rec.Value)); err != nil {
			return Result{}, err
		}
		w.ids[string(identKey(rec.Type, rec.Value))] = 0
		if err := w.del(factsKey(n)); err != nil {
			return Result{}, err
		}
		if o.suppress {
			if err := w.suppress(ID{rec.Type, rec.Value}); err != nil {
				return Result{}, err
			}
		}
		w.nodes[n] = nil
		w.dirtyNodes[n] = true
	}
	w.profs[p] = nil
	w.dirtyProfs[p] = true
	delete(w.touched, p)
	w.index(func(x *index.Index) {
		if len(erased) > 0 {
			x.Remove(p, erased...)
		}
		x.Drop(p)
	})
	w.forgot = true
	w.meta.Erase = true
	var start []uint32
	for n := range neighbours {
		start = append(start, n)
	}
	sort.Slice(start, func(i, j int) bool { return start[i] < start[j] })
	if len(start) > 0 {
		if err := w.reresolve(start); err != nil {
			return Result{}, err
		}
	}
	return res, nil
}

// forgetInlineEvents is the most events FORGET deletes inside its own
// transaction; a larger profile's events are purged in chunks after it.
const forgetInlineEvents = 20000

// purgeChunk is how many events one purge transaction deletes.
const purgeChunk = 10000

// purge deletes the events anchored on nodes that a committed FORGET
// listed in meta.Purge, in transactions of purgeChunk, then clears the
// list. Until it finishes the events are unreachable: their anchors are
// gone from the graph and from the index.
func (db *DB) purge(meta *metaRec) error {
	if len(meta.Purge) == 0 {
		return nil
	}
	for _, n := range meta.Purge {
		for {
			var keys [][]byte
			err := db.bdb.View(func(txn *badger.Txn) error {
				it := txn.NewIterator(badger.IteratorOptions{Prefix: eventPrefix(n)})
				defer it.Close()
				for it.Rewind(); it.Valid() && len(keys) < purgeChunk; it.Next() {
					keys = append(keys, it.Item().KeyCopy(nil))
				}
				return nil
			})
			if err != nil {
				return err
			}
			if len(keys) == 0 {
				break
			}
			err = db.bdb.Update(func(txn *badger.Txn) error {
				for _, k := range keys {
					if err := txn.Delete(k); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				return fmt.Errorf("purge events of node %d: %w", n, err)
			}
		}
	}
	meta.Purge = nil
	return db.bdb.Update(func(txn *badger.Txn) error {
		var stored metaRec
		if err := getMsg(txn, metaKey, &stored); err != nil {
			return err
		}
		stored.Purge = nil
		return setMsg(txn, metaKey, &stored)
	})
}

// dropFromEvent removes erased identifiers from the event a group belongs to.
func (w *writer) dropFromEvent(g *groupRec, seq uint64, gone map[uint32]bool) error {
	k := eventKey(g.Anchor, g.Time, seq, true)
	var er eventRec
	if err := getMsg(w.txn, k, &er); err != nil {
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		return err
	}
	kept := er.IDs[:0]
	for _, n := range er.IDs {
		if !gone[n] {
			kept = append(kept, n)
		}
	}
	er.IDs = kept
	b, err := msgpack.Marshal(&er)
	if err != nil {
		return err
	}
	return w.setRaw(k, b)
}

func (db *DB) supprHash(id ID) [32]byte {
	h := sha256.New()
	h.Write(db.w.meta.Salt)
	h.Write([]byte(id.Type))
	h.Write([]byte{0})
	h.Write([]byte(id.Value))
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out
}

// suppress records a suppressed identifier. Later operations of the same
// transaction see it at once (pendingSuppr); everyone else once it commits.
func (w *writer) suppress(id ID) error {
	h := w.db.supprHash(id)
	w.pendingSuppr[h] = true
	w.after(func() {
		w.db.supprMu.Lock()
		w.db.suppr[h] = true
		w.db.supprMu.Unlock()
	})
	return w.setRaw(supprKey(h[:]), nil)
}

// suppressed reports whether id was forgotten with SUPPRESS, counting
// what the open transaction suppressed.
func (w *writer) suppressed(id ID) bool {
	if len(w.pendingSuppr) > 0 && w.pendingSuppr[w.db.supprHash(id)] {
		return true
	}
	return w.db.suppressed(id)
}

// suppressed reports whether id was forgotten with SUPPRESS (committed).
func (db *DB) suppressed(id ID) bool {
	db.supprMu.RLock()
	defer db.supprMu.RUnlock()
	if len(db.suppr) == 0 {
		return false
	}
	return db.suppr[db.supprHash(id)]
}
