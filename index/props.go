package index

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Event properties. The index keeps no event's properties, except the
// values of the property paths that segment conditions (DID ... WHERE) and
// computed traits use: those paths are registered per event name, and each
// event entry of that name carries the id of its tuple of values (one per
// registered path), interned per name. A WHERE condition is then decided
// once per distinct tuple, and a scan of the window's entries does the rest.

// Cond is one condition on an event's property: the value at Path (a
// dotted path into the PROPS object) compared with Value by Op (= != < <=
// > >=). Values compare as numbers when both sides parse as numbers, else
// as text (byte order); a true/false literal matches a JSON boolean; an
// event without the property never matches, not even !=.
type Cond struct {
	Path, Op, Value string
}

// propKind classifies a property value.
type propKind uint8

const (
	propMissing propKind = iota
	propNumber           // a JSON number, or a string that parses as one
	propString
	propTrue
	propFalse
	propOther // null, an object or an array
)

// propValue is one property value of an event.
type propValue struct {
	kind  propKind
	num   float64 // when kind is propNumber (and for strings that parse as numbers)
	str   string  // the string, or the number's literal text
	isNum bool    // a string that also parses as a number
}

// seriesProps are the registered paths of one event name and the interned
// tuples of their values. Tuple 0 is every path missing.
type seriesProps struct {
	paths  []string
	tuples [][]propValue
	ids    map[string]uint32
	// nums holds, per path, each tuple's value as a number (NaN when it is
	// not one): SUM scans read one dense column, not a tuple per event.
	nums [][]float64

	// memos are conditions' decisions per tuple, kept across queries (a
	// saved segment asks the same conditions again and again): by the
	// conditions' text, each covering the tuples that existed when it was
	// made. A published memo is never written again; a longer one replaces
	// it. Readers share the index's read lock, so memoMu guards the map.
	memoMu sync.Mutex
	memos  map[string][]int8
}

// bytes estimates the heap the props hold: the interned tuples and their
// strings, the map that interns them, the columns of numbers and the
// conditions' memos.
func (sp *seriesProps) bytes() uint64 {
	const valueBytes = 40 // a propValue
	n := uint64(64 + 16*len(sp.paths))
	for _, p := range sp.paths {
		n += uint64(len(p))
	}
	for _, t := range sp.tuples {
		n += 24 + uint64(cap(t))*valueBytes
		for _, v := range t {
			n += uint64(len(v.str))
		}
	}
	for k := range sp.ids {
		n += 48 + uint64(len(k)) // key, value and the map's share per entry
	}
	for _, col := range sp.nums {
		n += 24 + uint64(cap(col))*8
	}
	sp.memoMu.Lock()
	for k, m := range sp.memos {
		n += 48 + uint64(len(k)+cap(m))
	}
	sp.memoMu.Unlock()
	return n
}

// maxMemos bounds the memos kept per event name.
const maxMemos = 64

// newSeriesProps returns the props of paths with tuple 0, every path
// missing, interned.
func newSeriesProps(paths []string) *seriesProps {
	sp := emptySeriesProps(paths)
	sp.intern(make([]propValue, len(paths)))
	return sp
}

// emptySeriesProps returns the props of paths without any tuple (a
// snapshot brings its own, tuple 0 first).
func emptySeriesProps(paths []string) *seriesProps {
	return &seriesProps{paths: paths, ids: map[string]uint32{}, nums: make([][]float64, len(paths))}
}

func (sp *seriesProps) intern(t []propValue) uint32 {
	var b strings.Builder
	for _, v := range t {
		b.WriteByte(byte(v.kind))
		b.WriteString(v.str)
		b.WriteByte(0)
	}
	k := b.String()
	if id, ok := sp.ids[k]; ok {
		return id
	}
	id := uint32(len(sp.tuples))
	sp.tuples = append(sp.tuples, t)
	sp.ids[k] = id
	for i, v := range t {
		n := math.NaN()
		if v.isNum {
			n = v.num
		}
		sp.nums[i] = append(sp.nums[i], n)
	}
	return id
}

// tupleOf returns the tuple id of an event's properties.
func (sp *seriesProps) tupleOf(props []byte) uint32 {
	if sp == nil || len(sp.paths) == 0 || len(props) == 0 {
		return 0
	}
	var obj map[string]any
	d := json.NewDecoder(bytes.NewReader(props))
	d.UseNumber()
	if d.Decode(&obj) != nil {
		return 0
	}
	t := make([]propValue, len(sp.paths))
	for i, p := range sp.paths {
		t[i] = lookup(obj, p)
	}
	return sp.intern(t)
}

// maxPathDepth bounds a dotted property path.
const maxPathDepth = 8

// ValidPath reports whether p is a property path conditions may use: 1 to
// maxPathDepth dot-separated non-empty keys, 1 to 256 bytes.
func ValidPath(p string) bool {
	if p == "" || len(p) > 256 {
		return false
	}
	parts := strings.Split(p, ".")
	if len(parts) > maxPathDepth {
		return false
	}
	for _, k := range parts {
		if k == "" {
			return false
		}
	}
	return true
}

func lookup(obj map[string]any, path string) propValue {
	var cur any = obj
	for _, k := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return propValue{}
		}
		if cur, ok = m[k]; !ok {
			return propValue{}
		}
	}
	switch v := cur.(type) {
	case json.Number:
		f, err := strconv.ParseFloat(string(v), 64)
		if err != nil || math.IsNaN(f) {
			return propValue{kind: propString, str: string(v)}
		}
		return propValue{kind: propNumber, num: f, str: string(v), isNum: true}
	case string:
		pv := propValue{kind: propString, str: v}
		pv.num, pv.isNum = parseNum(v)
		return pv
	case bool:
		if v {
			return propValue{kind: propTrue, str: "true"}
		}
		return propValue{kind: propFalse, str: "false"}
	}
	return propValue{kind: propOther}
}

// holds decides one condition for one value.
func (c *compiledCond) holds(v propValue) bool {
	switch v.kind {
	case propMissing, propOther:
		return false
	case propTrue, propFalse:
		if !c.isBool || (c.op != "=" && c.op != "!=") {
			return false
		}
		eq := (v.kind == propTrue) == c.boolVal
		return eq == (c.op == "=")
	}
	var cmp int
	if v.isNum && c.isNum {
		switch {
		case v.num < c.num:
			cmp = -1
		case v.num > c.num:
			cmp = 1
		}
	} else {
		cmp = strings.Compare(v.str, c.value)
	}
	match, _ := traitPred(c.op)
	return match(cmp)
}

type compiledCond struct {
	path    int // index into the series' paths
	op      string
	value   string
	num     float64
	isNum   bool
	isBool  bool
	boolVal bool
}

// matcher decides a query's conditions per tuple id, from a memo made once
// per tuple (and kept across queries).
type matcher struct {
	sp    *seriesProps
	conds []compiledCond
	memo  []int8 // 1 match, -1 no match; shared, never written
	ok    bool   // every path is registered
	key   string // the conditions, as the memo is keyed
}

func newMatcher(sp *seriesProps, conds []Cond) *matcher {
	if len(conds) == 0 {
		return nil
	}
	m := &matcher{sp: sp, ok: true}
	var key strings.Builder
	for _, c := range conds {
		i := -1
		if sp != nil {
			for j, p := range sp.paths {
				if p == c.Path {
					i = j
				}
			}
		}
		if i < 0 {
			m.ok = false
			return m
		}
		cc := compiledCond{path: i, op: c.Op, value: c.Value}
		cc.num, cc.isNum = parseNum(c.Value)
		switch c.Value {
		case "true":
			cc.isBool, cc.boolVal = true, true
		case "false":
			cc.isBool = true
		}
		m.conds = append(m.conds, cc)
		fmt.Fprintf(&key, "%d\x00%s\x00%s\x00", i, c.Op, c.Value)
	}
	m.key = key.String()
	m.memo = sp.memo(m.key, m)
	return m
}

// memo returns the decisions of m's conditions for every tuple there is,
// from the memo kept for them, extended when tuples were added since.
func (sp *seriesProps) memo(key string, m *matcher) []int8 {
	sp.memoMu.Lock()
	defer sp.memoMu.Unlock()
	old := sp.memos[key]
	if len(old) == len(sp.tuples) {
		return old
	}
	memo := make([]int8, len(sp.tuples))
	copy(memo, old)
	for t := len(old); t < len(memo); t++ {
		memo[t] = -1
		if m.decide(sp.tuples[t]) {
			memo[t] = 1
		}
	}
	if sp.memos == nil || len(sp.memos) >= maxMemos {
		sp.memos = map[string][]int8{}
	}
	sp.memos[key] = memo
	return memo
}

// decide evaluates every condition on one tuple.
func (m *matcher) decide(t []propValue) bool {
	for i := range m.conds {
		if !m.conds[i].holds(t[m.conds[i].path]) {
			return false
		}
	}
	return true
}

// match reports whether the entry's tuple meets every condition.
func (m *matcher) match(tup uint32) bool {
	if m == nil {
		return true
	}
	if !m.ok || int(tup) >= len(m.sp.tuples) {
		return false
	}
	if int(tup) < len(m.memo) {
		return m.memo[tup] == 1
	}
	return m.decide(m.sp.tuples[tup])
}

// ProfileEvent is an event with the profile it counts for.
type ProfileEvent struct {
	P uint32
	Event
}

// Paths returns the property paths registered for event name.
func (x *Index) Paths(name string) []string {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if s := x.series[name]; s != nil && s.props != nil {
		return append([]string(nil), s.props.paths...)
	}
	return nil
}

// ReplaceSeries registers paths for event name and rebuilds its events
// from evs, which must be every event of that name the index holds, with
// their properties (the index keeps none, so the caller reads them from
// the store, at the generation the index is at). It is a writer method:
// the engine calls it between commits.
func (x *Index) ReplaceSeries(name string, paths []string, evs []ProfileEvent) {
	x.mu.Lock()
	defer x.mu.Unlock()
	defer x.version.Add(1)
	x.touchedAll = x.version.Load() + 1
	s := x.seriesFor(name)
	for _, b := range s.buckets {
		x.events -= b.ev.n
	}
	s.buckets = nil
	s.props = nil
	if len(paths) > 0 {
		s.props = newSeriesProps(append([]string(nil), paths...))
	}
	x.cache.drop(s)
	byDay := map[int64][]entry{}
	for _, pe := range evs {
		day, ms := splitTime(pe.Time)
		byDay[day] = append(byDay[day], entry{p: pe.P, ms: ms, src: x.sourceFor(pe.Source), tup: s.props.tupleOf(pe.Props)})
		if int64(pe.P) >= x.maxP {
			x.maxP = int64(pe.P) + 1
		}
	}
	days := make([]int64, 0, len(byDay))
	for d := range byDay {
		days = append(days, d)
	}
	slices.Sort(days)
	for _, d := range days {
		es := byDay[d]
		slices.SortFunc(es, func(a, b entry) int {
			switch {
			case a.less(b):
				return -1
			case b.less(a):
				return 1
			}
			return 0
		})
		s.buckets = append(s.buckets, newBucket(d, es))
		x.events += len(es)
	}
	s.recount()
}
