package engine

import (
	"container/heap"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/vmihailenco/msgpack/v5"
)

// Profile is a resolved customer: everything WHO answers.
type Profile struct {
	ID        uint32
	IDs       []string          // every identifier, "type:value", sorted
	Traits    map[string]string // latest value per trait
	Consent   map[string]bool   // purpose → latest decision is GRANT
	FirstSeen time.Time         // earliest event that counts for it (zero if none)
	LastSeen  time.Time
	Events    int64
	Created   time.Time
}

// view runs f on a consistent snapshot of the store.
func (db *DB) view(f func(*reader) error) error {
	gen0 := db.pcache.gen.Load()
	return db.bdb.View(func(txn *badger.Txn) error {
		return f(&reader{txn: txn, tt: db.types.Load(), bl: db.bl, cache: db.pcache, gen0: gen0})
	})
}

// reader answers queries on one snapshot.
type reader struct {
	txn   *badger.Txn
	tt    *typeTable
	bl    blocklist
	cache *profileCache
	gen0  uint64 // cache generation noted before the snapshot opened
}

// profRec reads a profile record, through the cache.
func (r *reader) profRec(p uint32) (*profRec, error) {
	if pr := r.cache.get(p, r.gen0); pr != nil {
		return pr, nil
	}
	pr := new(profRec)
	if err := getMsg(r.txn, profileKey(p), pr); err != nil {
		return nil, err
	}
	r.cache.put(p, pr, r.gen0)
	return pr, nil
}

// resolveID finds the live profile id addresses (an identifier or
// profile:<id>), and the node for an identifier. 0 when unknown.
func (r *reader) resolveID(raw string) (p, node uint32, err error) {
	if strings.HasPrefix(raw, ProfileType+":") {
		id, err := parseProfileID(raw)
		if err != nil {
			return 0, 0, err
		}
		// Forwarding chains are followed to their end (merges only ever
		// point at older ids, so a chain cannot loop; the bound is a guard).
		for hops := 0; hops <= maxForwardHops; hops++ {
			var pr profRec
			if err := getMsg(r.txn, profileKey(id), &pr); err != nil {
				if errors.Is(err, badger.ErrKeyNotFound) {
					return 0, 0, nil
				}
				return 0, 0, err
			}
			if pr.Into == 0 {
				return id, 0, nil
			}
			id = pr.Into
		}
		return 0, 0, nil
	}
	id, _, blocked, err := r.tt.parseID(raw, r.bl)
	if err != nil || blocked {
		return 0, 0, err
	}
	return r.lookup(id)
}

// lookup returns an identifier's profile and node (zeros when unknown).
func (r *reader) lookup(id ID) (p, n uint32, err error) {
	key := identKey(id.Type, id.Value)
	if v, ok := r.cache.getID(key, r.gen0); ok {
		return v[1], v[0], nil
	}
	item, err := r.txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, err
	}
	err = item.Value(func(v []byte) error {
		if len(v) != 8 {
			return fmt.Errorf("corrupt identifier record for %s", id)
		}
		n, p = binary.BigEndian.Uint32(v), binary.BigEndian.Uint32(v[4:])
		return nil
	})
	if err == nil {
		r.cache.putID(key, [2]uint32{n, p}, r.gen0)
	}
	return p, n, err
}

func (r *reader) profile(p uint32) (*Profile, error) {
	pr, err := r.profRec(p)
	if err != nil {
		return nil, err
	}
	out := &Profile{ID: p, Traits: map[string]string{}, Consent: map[string]bool{}, Events: pr.Events,
		Created: time.UnixMilli(pr.Created).UTC()}
	if pr.Events > 0 {
		out.FirstSeen = time.UnixMilli(pr.First).UTC()
		out.LastSeen = time.UnixMilli(pr.Last).UTC()
	}
	for k, v := range pr.Traits {
		if v.V != "" {
			out.Traits[k] = v.V
		}
	}
	for k, v := range pr.Consent {
		out.Consent[k] = v.Grant
	}
	for _, m := range pr.Mem {
		out.IDs = append(out.IDs, m.ID)
	}
	sort.Strings(out.IDs)
	return out, nil
}

func (r *reader) members(p uint32) ([]memberEntry, error) {
	pr, err := r.profRec(p)
	if err != nil {
		return nil, err
	}
	return pr.Mem, nil
}

func (r *reader) memberNodes(p uint32) ([]uint32, error) {
	mem, err := r.members(p)
	out := make([]uint32, len(mem))
	for i, m := range mem {
		out[i] = m.Node
	}
	return out, err
}

func (r *reader) ident(n uint32) (string, error) {
	var nr nodeRec
	if err := getMsg(r.txn, nodeKey(n), &nr); err != nil {
		return "", err
	}
	return nr.Type + ":" + nr.Value, nil
}

// Who returns the profile holding id (an identifier or profile:<id>), or
// ErrNotFound.
func (db *DB) Who(id string) (*Profile, error) {
	var out *Profile
	err := db.view(func(r *reader) error {
		p, _, err := r.resolveID(id)
		if err != nil {
			return err
		}
		if p == 0 {
			return fmt.Errorf("%w: %s", ErrNotFound, clip(id))
		}
		out, err = r.profile(p)
		return err
	})
	return out, err
}

// TimelineEvent is one event of a profile's history.
type TimelineEvent struct {
	Time   time.Time
	Name   string
	Source string
	IDs    []string // the identifiers it carried (those not since erased)
	Props  []byte   // JSON object or nil
}

// DefaultTimelineLimit is TIMELINE's page size when none is given.
const DefaultTimelineLimit = 100

// Timeline returns the events that count for id's profile, newest first,
// at most limit (DefaultTimelineLimit when 0), only those strictly before
// before when it is not zero.
func (db *DB) Timeline(id string, limit int, before time.Time) ([]TimelineEvent, error) {
	if limit <= 0 {
		limit = DefaultTimelineLimit
	}
	var out []TimelineEvent
	err := db.view(func(r *reader) error {
		p, _, err := r.resolveID(id)
		if err != nil {
			return err
		}
		if p == 0 {
			return fmt.Errorf("%w: %s", ErrNotFound, clip(id))
		}
		nodes, err := r.memberNodes(p)
		if err != nil {
			return err
		}
		h := &evHeap{}
		for _, n := range nodes {
			it := r.txn.NewIterator(badger.IteratorOptions{Prefix: eventPrefix(n), Reverse: true})
			defer it.Close()
			seek := append(eventPrefix(n), 0xff)
			if !before.IsZero() {
				seek = eventKey(n, before.UnixMilli(), 0, false)
			}
			it.Seek(seek)
			for it.Valid() && !before.IsZero() && !keyBefore(it.Item().Key(), before.UnixMilli()) {
				it.Next()
			}
			if it.Valid() {
				heap.Push(h, it)
			}
		}
		names := map[uint32]string{}
		for h.Len() > 0 && len(out) < limit {
			it := (*h)[0]
			item := it.Item()
			_, t, _ := parseEventKey(item.Key())
			var er eventRec
			if err := item.Value(func(v []byte) error { return msgpack.Unmarshal(v, &er) }); err != nil {
				return err
			}
			te := TimelineEvent{Time: time.UnixMilli(t).UTC(), Name: er.Name, Source: er.Source, Props: er.Props}
			for _, n := range er.IDs {
				s, ok := names[n]
				if !ok {
					s, _ = r.ident(n)
					names[n] = s
				}
				if s != "" {
					te.IDs = append(te.IDs, s)
				}
			}
			out = append(out, te)
			it.Next()
			if it.Valid() {
				heap.Fix(h, 0)
			} else {
				heap.Pop(h)
			}
		}
		return nil
	})
	return out, err
}

func keyBefore(k []byte, t int64) bool {
	_, kt, _ := parseEventKey(k)
	return kt < t
}

// evHeap merges members' reverse iterators: newest (time, seq) first.
type evHeap []*badger.Iterator

func (h evHeap) Len() int { return len(h) }
func (h evHeap) Less(i, j int) bool {
	_, ti, si := parseEventKey(h[i].Item().Key())
	_, tj, sj := parseEventKey(h[j].Item().Key())
	return ti > tj || ti == tj && si > sj
}
func (h evHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *evHeap) Push(x any)   { *h = append(*h, x.(*badger.Iterator)) }
func (h *evHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// Edge is one pair of identifiers seen together, with its evidence.
type Edge struct {
	From, To    string
	Linked      bool   // the two are in the same profile
	Rule        string // when not linked: the rule that last refused the link
	Count       int    // link records showing them together
	First, Last time.Time
	Source      string // source of the latest record
}

// Why explains how two identifiers are linked.
type Why struct {
	Linked bool   // both in one profile
	Path   []Edge // a shortest chain of co-occurrences from a to b
	Reason string // a sentence for people
}

// maxWhyGroups bounds the link groups WHY reads before giving up.
const maxWhyGroups = 100000

// Why finds a shortest chain of co-occurrences between a and b and the
// evidence on each edge; when they are not in one profile it names the rule
// that refused the link.
func (db *DB) Why(a, b string) (*Why, error) {
	out := &Why{}
	err := db.view(func(r *reader) error {
		var nodes [2]uint32
		var profs [2]uint32
		for i, raw := range []string{a, b} {
			if strings.HasPrefix(raw, ProfileType+":") {
				return badID("WHY takes identifiers, not profiles")
			}
			p, n, err := r.resolveID(raw)
			if err != nil {
				return err
			}
			if n == 0 {
				return fmt.Errorf("%w: %s", ErrNotFound, clip(raw))
			}
			nodes[i], profs[i] = n, p
		}
		out.Linked = profs[0] == profs[1]
		if nodes[0] == nodes[1] {
			out.Reason = "the same identifier"
			return nil
		}
		path, err := r.shortestPath(nodes[0], nodes[1])
		if err != nil {
			return err
		}
		for i := 0; i+1 < len(path); i++ {
			e, err := r.edge(path[i], path[i+1])
			if err != nil {
				return err
			}
			out.Path = append(out.Path, e)
		}
		switch {
		case path == nil && out.Linked:
			out.Reason = fmt.Sprintf("in the same profile, but no chain was found within %d link records", maxWhyGroups)
		case path == nil:
			out.Reason = "never seen together, directly or through other identifiers"
		case out.Linked:
			out.Reason = fmt.Sprintf("linked through %d co-occurrence(s)", len(out.Path))
		default:
			for _, e := range out.Path {
				if !e.Linked && e.Rule != "" {
					out.Reason = fmt.Sprintf("not linked: %s — %s refused by %s", e.From, e.To, e.Rule)
					return nil
				}
			}
			out.Reason = "not linked: seen together, but each link was decided for another profile (an identifier moved or was refused elsewhere)"
		}
		return nil
	})
	return out, err
}

// groupsOf lists the link groups n is in.
func (r *reader) groupsOf(n uint32) ([]uint64, error) {
	return groupSeqs(r.txn, n, nil, nil), nil
}

func (r *reader) group(seq uint64) (*groupRec, error) {
	g := new(groupRec)
	return g, getMsg(r.txn, groupKey(seq), g)
}

// shortestPath is a breadth-first search over link groups.
func (r *reader) shortestPath(a, b uint32) ([]uint32, error) {
	prev := map[uint32]uint32{a: a}
	seen := map[uint64]bool{}
	queue := []uint32{a}
	for len(queue) > 0 && len(seen) < maxWhyGroups {
		n := queue[0]
		queue = queue[1:]
		seqs, err := r.groupsOf(n)
		if err != nil {
			return nil, err
		}
		for _, s := range seqs {
			if seen[s] {
				continue
			}
			seen[s] = true
			g, err := r.group(s)
			if errors.Is(err, badger.ErrKeyNotFound) {
				continue
			}
			if err != nil {
				return nil, err
			}
			for _, set := range g.Sets {
				if indexOf(set, n) < 0 {
					continue
				}
				for _, m := range set {
					if _, ok := prev[m]; ok {
						continue
					}
					prev[m] = n
					if m == b {
						path := []uint32{b}
						for x := b; x != a; {
							x = prev[x]
							path = append(path, x)
						}
						for i, j := 0, len(path)-1; i < j; i, j = i+1, j-1 {
							path[i], path[j] = path[j], path[i]
						}
						return path, nil
					}
					queue = append(queue, m)
				}
			}
		}
	}
	return nil, nil
}

// edge gathers the evidence for the pair u–v from the groups holding both.
func (r *reader) edge(u, v uint32) (Edge, error) {
	var e Edge
	var err error
	if e.From, err = r.ident(u); err != nil {
		return e, err
	}
	if e.To, err = r.ident(v); err != nil {
		return e, err
	}
	var nu, nv nodeRec
	if err := getMsg(r.txn, nodeKey(u), &nu); err != nil {
		return e, err
	}
	if err := getMsg(r.txn, nodeKey(v), &nv); err != nil {
		return e, err
	}
	e.Linked = nu.Profile == nv.Profile
	seqs, err := r.groupsOf(u)
	if err != nil {
		return e, err
	}
	for _, s := range seqs {
		g, err := r.group(s)
		if errors.Is(err, badger.ErrKeyNotFound) {
			continue
		}
		if err != nil {
			return e, err
		}
		for i, set := range g.Sets {
			iu, iv := indexOf(set, u), indexOf(set, v)
			if iu < 0 || iv < 0 {
				continue
			}
			t := time.UnixMilli(g.Time).UTC()
			if e.Count == 0 || t.Before(e.First) {
				e.First = t
			}
			if e.Count == 0 || !t.Before(e.Last) {
				e.Last = t
				e.Source = g.Source
			}
			e.Count++
			if i < len(g.Rules) {
				if rule := g.Rules[i][max(iu, iv)]; rule != "" {
					e.Rule = rule
				}
			}
		}
	}
	if e.Linked {
		e.Rule = ""
	}
	return e, nil
}
