package graph

import (
	"slices"
	"strings"
)

// Stamp orders facts: the later time wins, and between equal times the
// later arrival (seq).
type Stamp struct {
	T int64  // when it was true, Unix ms
	S uint64 // arrival seq of the call that said it
}

// After reports whether a is later than b.
func (a Stamp) After(b Stamp) bool { return a.T > b.T || a.T == b.T && a.S > b.S }

// Value is a trait value with its stamp; "" means the trait was removed.
type Value struct {
	V string
	Stamp
}

// Flag is a yes/no fact with its stamp: a consent decision (On = GRANT) or
// a tag (On = tagged, false = untagged).
type Flag struct {
	On bool
	Stamp
}

// Facts are what SET, CONSENT and TAG said of one identifier, or, combined,
// of a profile. Per name, the fact with the later stamp wins, so a
// profile's facts are the same whichever order its members' facts are
// combined in, and stay exact when it splits.
type Facts struct {
	Traits  map[string]Value
	Consent map[string]Flag
	Tags    map[string]Flag
}

// Empty reports whether f holds nothing.
func (f *Facts) Empty() bool { return len(f.Traits) == 0 && len(f.Consent) == 0 && len(f.Tags) == 0 }

// Add combines o into f: per name, the later stamp wins (equal stamps —
// which distinct calls never give — are settled by the value, so the result
// never depends on the order of Adds).
func (f *Facts) Add(o Facts) {
	f.Traits = addLater(f.Traits, o.Traits, func(a, b Value) bool {
		return a.Stamp.After(b.Stamp) || a.Stamp == b.Stamp && a.V > b.V
	})
	f.Consent = addLater(f.Consent, o.Consent, laterFlag)
	f.Tags = addLater(f.Tags, o.Tags, laterFlag)
}

func laterFlag(a, b Flag) bool { return a.Stamp.After(b.Stamp) || a.Stamp == b.Stamp && a.On && !b.On }

func addLater[V any](dst, src map[string]V, later func(a, b V) bool) map[string]V {
	for k, v := range src {
		if cur, ok := dst[k]; !ok || later(v, cur) {
			if dst == nil {
				dst = make(map[string]V, len(src))
			}
			dst[k] = v
		}
	}
	return dst
}

// Clone returns a deep copy.
func (f Facts) Clone() Facts {
	return Facts{Traits: cloneMap(f.Traits), Consent: cloneMap(f.Consent), Tags: cloneMap(f.Tags)}
}

func cloneMap[V any](m map[string]V) map[string]V {
	if m == nil {
		return nil
	}
	out := make(map[string]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// TraitValues returns the live trait values (removed ones left out).
func (f *Facts) TraitValues() map[string]string {
	out := make(map[string]string, len(f.Traits))
	for k, v := range f.Traits {
		if v.V != "" {
			out[k] = v.V
		}
	}
	return out
}

// Granted returns purpose → whether the latest decision is GRANT.
func (f *Facts) Granted() map[string]bool {
	out := make(map[string]bool, len(f.Consent))
	for k, v := range f.Consent {
		out[k] = v.On
	}
	return out
}

// TagList returns the tags currently on, in no order.
func (f *Facts) TagList() []string {
	var out []string
	for k, v := range f.Tags {
		if v.On {
			out = append(out, k)
		}
	}
	return out
}

// Span is a set of events reduced to its size and its first and last time.
type Span struct {
	Events      int64
	First, Last int64 // Unix ms; meaningful only when Events > 0
}

// Add combines two spans.
func (s *Span) Add(o Span) {
	switch {
	case o.Events == 0:
		return
	case s.Events == 0:
		*s = o
		return
	}
	s.First, s.Last = min(s.First, o.First), max(s.Last, o.Last)
	s.Events += o.Events
}

// AddTime adds one event at time t.
func (s *Span) AddTime(t int64) { s.Add(Span{Events: 1, First: t, Last: t}) }

// Summary is a profile's derived state: its members per type, its events'
// span, and its facts. The summary of a profile is the Add of its members'
// summaries (MemberSummary); Derive computes it that way from nothing, and
// the writer keeps it incrementally by Add when members join or profiles
// merge, and by Derive when members leave. `check` compares the two.
type Summary struct {
	Counts Counts // members per type name
	Span
	Facts
}

// Counts are a profile's members per type name, sorted by name, with no
// zero counts. A profile holds a handful of types, so a sorted slice finds
// one as fast as a map does, at a third of a map's size in the record
// cache (which holds thousands of profiles).
type Counts []TypeCount

// TypeCount is the number of a profile's members of one type.
type TypeCount struct {
	Type string
	N    int
}

func (c Counts) search(t string) (int, bool) {
	return slices.BinarySearchFunc(c, t, func(tc TypeCount, t string) int { return strings.Compare(tc.Type, t) })
}

// Of returns the number of members of type t.
func (c Counts) Of(t string) int {
	if i, ok := c.search(t); ok {
		return c[i].N
	}
	return 0
}

// Add adds n (which may be negative) to type t's count; a count that
// drops to zero or below leaves.
func (c *Counts) Add(t string, n int) {
	if n == 0 {
		return
	}
	i, ok := c.search(t)
	switch {
	case ok && (*c)[i].N+n <= 0:
		*c = slices.Delete(*c, i, i+1)
	case ok:
		(*c)[i].N += n
	case n > 0:
		*c = slices.Insert(*c, i, TypeCount{Type: t, N: n})
	}
}

// Total returns the number of members.
func (c Counts) Total() int {
	n := 0
	for _, tc := range c {
		n += tc.N
	}
	return n
}

// Clone returns a copy.
func (c Counts) Clone() Counts { return slices.Clone(c) }

// MemberSummary is the summary of one identifier of type typ whose anchored
// events span span and of which facts were said.
func MemberSummary(typ string, span Span, facts Facts) Summary {
	return Summary{Counts: Counts{{Type: typ, N: 1}}, Span: span, Facts: facts}
}

// Members returns the number of members.
func (s *Summary) Members() int { return s.Counts.Total() }

// Add combines o into s.
func (s *Summary) Add(o Summary) {
	for _, tc := range o.Counts {
		s.Counts.Add(tc.Type, tc.N)
	}
	s.Span.Add(o.Span)
	s.Facts.Add(o.Facts)
}

// Derive folds members' summaries into a profile's.
func Derive(members []Summary) Summary {
	var s Summary
	for _, m := range members {
		s.Add(m)
	}
	return s
}

// Clone returns a deep copy.
func (s Summary) Clone() Summary {
	return Summary{Counts: s.Counts.Clone(), Span: s.Span, Facts: s.Facts.Clone()}
}
