package index

import (
	"math"
	"strconv"
	"strings"

	"github.com/RoaringBitmap/roaring/v2"
)

// trait indexes one trait name: value → profiles, and profile → value so
// that replacing a profile's value is O(1) map work.
type trait struct {
	byStr map[string]*traitValue
	of    map[uint32]*traitValue
}

type traitValue struct {
	s     string
	num   float64
	isNum bool
	bm    *roaring.Bitmap
}

// parseNum reports whether s is a number for TRAIT comparisons: a string
// strconv.ParseFloat(s, 64) accepts without error that is not NaN.
func parseNum(s string) (float64, bool) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) {
		return 0, false
	}
	return f, true
}

// SetAttrs replaces every HAS, TRAIT and CONSENT fact of profile p by a and
// marks p live. a is not retained.
func (x *Index) SetAttrs(p uint32, a Attrs) {
	x.mu.Lock()
	defer x.mu.Unlock()
	defer x.version.Add(1)
	x.setAttrs(p, a)
}

func (x *Index) setAttrs(p uint32, a Attrs) {
	x.live.Add(p)
	x.clearAttrs(p)
	for _, t := range a.Types {
		bm := x.types[t]
		if bm == nil {
			bm = roaring.New()
			x.types[t] = bm
		}
		bm.Add(p)
	}
	for purpose, granted := range a.Consent {
		if !granted {
			continue
		}
		bm := x.consent[purpose]
		if bm == nil {
			bm = roaring.New()
			x.consent[purpose] = bm
		}
		bm.Add(p)
	}
	for _, tag := range a.Tags {
		bm := x.tags[tag]
		if bm == nil {
			bm = roaring.New()
			x.tags[tag] = bm
		}
		bm.Add(p)
	}
	for name, value := range a.Traits {
		t := x.traits[name]
		if t == nil {
			t = &trait{byStr: make(map[string]*traitValue), of: make(map[uint32]*traitValue)}
			x.traits[name] = t
		}
		v := t.byStr[value]
		if v == nil {
			v = &traitValue{s: value, bm: roaring.New()}
			v.num, v.isNum = parseNum(value)
			t.byStr[value] = v
		}
		v.bm.Add(p)
		t.of[p] = v
	}
}

// clearAttrs removes p from every HAS, TRAIT and CONSENT set. Identifier
// types, purposes and trait names are few, so looping over them is cheap;
// trait values are many, so those are found through trait.of.
func (x *Index) clearAttrs(p uint32) {
	for t, bm := range x.types {
		if bm.CheckedRemove(p) && bm.IsEmpty() {
			delete(x.types, t)
		}
	}
	for purpose, bm := range x.consent {
		if bm.CheckedRemove(p) && bm.IsEmpty() {
			delete(x.consent, purpose)
		}
	}
	for tag, bm := range x.tags {
		if bm.CheckedRemove(p) && bm.IsEmpty() {
			delete(x.tags, tag)
		}
	}
	for name, t := range x.traits {
		v := t.of[p]
		if v == nil {
			continue
		}
		delete(t.of, p)
		v.bm.Remove(p)
		if v.bm.IsEmpty() {
			delete(t.byStr, v.s)
		}
		if len(t.of) == 0 {
			delete(x.traits, name)
		}
	}
}

// Has returns the live profiles holding an identifier of type typ. The
// caller owns the result.
func (x *Index) Has(typ string) *roaring.Bitmap {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.has(typ)
}

func (x *Index) has(typ string) *roaring.Bitmap {
	if bm := x.types[typ]; bm != nil {
		return bm.Clone()
	}
	return roaring.New()
}

// Consent returns the live profiles whose latest decision for purpose is
// GRANT. The caller owns the result.
func (x *Index) Consent(purpose string) *roaring.Bitmap {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.consentOf(purpose)
}

// Tagged returns the live profiles carrying tag. The caller owns the result.
func (x *Index) Tagged(tag string) *roaring.Bitmap {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.taggedOf(tag)
}

func (x *Index) taggedOf(tag string) *roaring.Bitmap {
	if bm := x.tags[tag]; bm != nil {
		return bm.Clone()
	}
	return roaring.New()
}

func (x *Index) consentOf(purpose string) *roaring.Bitmap {
	if bm := x.consent[purpose]; bm != nil {
		return bm.Clone()
	}
	return roaring.New()
}

// Trait returns the live profiles whose value of trait name satisfies
// `stored op value`, op being one of = != < <= > >=. Another op yields the
// empty set.
//
// Comparison: when both the stored value and value are numbers (strings that
// strconv.ParseFloat(s, 64) accepts without error, NaN excluded; so "10",
// "1e1", "10.0", "-0" and "Inf" are numbers, "1e400" and " 10" are not) they
// compare as float64 values, so "10" = "10.0". Otherwise they compare as Go
// strings, byte-wise: "abc" > "5" and "10" < "9x".
//
// Profiles without the trait never match, not even !=; use NOT TRAIT name =
// value for "anything but", which includes them. The caller owns the result.
func (x *Index) Trait(name, op, value string) *roaring.Bitmap {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.trait(name, op, value)
}

func (x *Index) trait(name, op, value string) *roaring.Bitmap {
	match, ok := traitPred(op)
	if !ok {
		return roaring.New()
	}
	t := x.traits[name]
	if t == nil {
		return roaring.New()
	}
	gnum, gIsNum := parseNum(value)
	if op == "=" && !gIsNum {
		// A non-number equals only the identical string.
		if v := t.byStr[value]; v != nil {
			return v.bm.Clone()
		}
		return roaring.New()
	}
	var hits []*roaring.Bitmap
	for _, v := range t.byStr {
		if match(compareValue(v, value, gnum, gIsNum)) {
			hits = append(hits, v.bm)
		}
	}
	return roaring.FastOr(hits...)
}

// compareTrait compares a stored value with value as Index.Trait does.
func compareTrait(v *traitValue, value string) int {
	gnum, gIsNum := parseNum(value)
	return compareValue(v, value, gnum, gIsNum)
}

func compareValue(v *traitValue, value string, gnum float64, gIsNum bool) int {
	if v.isNum && gIsNum {
		return compareNums(v.num, gnum)
	}
	return strings.Compare(v.s, value)
}

// compareNums is -1, 0 or 1 as a is below, neither below nor above, or
// above b: the comparison of traits, aggregates and literals as numbers.
// Unlike cmp.Compare, it orders no NaN below the rest.
func compareNums(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func traitPred(op string) (func(c int) bool, bool) {
	switch op {
	case "=":
		return func(c int) bool { return c == 0 }, true
	case "!=":
		return func(c int) bool { return c != 0 }, true
	case "<":
		return func(c int) bool { return c < 0 }, true
	case "<=":
		return func(c int) bool { return c <= 0 }, true
	case ">":
		return func(c int) bool { return c > 0 }, true
	case ">=":
		return func(c int) bool { return c >= 0 }, true
	}
	return nil, false
}
