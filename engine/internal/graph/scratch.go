package graph

// Scratch implements Resolver in memory, for replaying one component's link
// sets from nothing (re-resolution) or the whole record (`check`). Labels
// are allocated in creation order, so "older" means the same as in the
// store.
type Scratch struct {
	label   map[uint32]uint32
	cnt     map[uint32]Counts
	members map[uint32][]uint32
	types   *Types
	next    uint32
}

// NewScratch returns an empty replay state over the types t.
func NewScratch(t *Types) *Scratch {
	return &Scratch{label: map[uint32]uint32{}, cnt: map[uint32]Counts{},
		members: map[uint32][]uint32{}, types: t}
}

// Label returns the profile label of n, 0 when n was never seen.
func (s *Scratch) Label(n uint32) uint32 { return s.label[n] }

// Members returns the nodes of label l, in the order they joined.
func (s *Scratch) Members(l uint32) []uint32 { return s.members[l] }

// Replay resolves one link set given as nodes and their type codes.
func (s *Scratch) Replay(ms []Member) (uint32, []Decision) {
	Order(s.types, ms)
	return Resolve(s, s.types, ms)
}

func (s *Scratch) ProfileOf(n uint32) uint32 { return s.label[n] }
func (s *Scratch) Counts(p uint32) Counts    { return s.cnt[p] }

func (s *Scratch) Create(n uint32, typ int) uint32 {
	s.next++
	s.cnt[s.next] = nil
	s.Join(n, typ, s.next)
	return s.next
}

func (s *Scratch) Join(n uint32, typ int, p uint32) {
	s.label[n] = p
	s.add(p, s.types.specs[typ].Name, 1)
	s.members[p] = append(s.members[p], n)
}

func (s *Scratch) Merge(a, b uint32) uint32 {
	if b < a {
		a, b = b, a
	}
	for _, n := range s.members[b] {
		s.label[n] = a
	}
	s.members[a] = append(s.members[a], s.members[b]...)
	for _, tc := range s.cnt[b] {
		s.add(a, tc.Type, tc.N)
	}
	delete(s.members, b)
	delete(s.cnt, b)
	return a
}

func (s *Scratch) Move(n uint32, typ int, p uint32) {
	old := s.label[n]
	ms := s.members[old]
	for i, m := range ms {
		if m == n {
			s.members[old] = append(ms[:i:i], ms[i+1:]...)
			break
		}
	}
	s.add(old, s.types.specs[typ].Name, -1)
	s.Join(n, typ, p)
}

func (s *Scratch) add(p uint32, typ string, n int) {
	c := s.cnt[p]
	c.Add(typ, n)
	s.cnt[p] = c
}
