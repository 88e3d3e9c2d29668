package query

import (
	"fmt"
	"strings"
)

// Kind says which RESP type a Value is written as.
type Kind uint8

// The kinds of reply. RESP2 writes KindMap as a flat array of key, value,
// KindBool as an integer 0/1 and KindDouble as a bulk string; RESP3 uses its
// native types.
const (
	KindNil Kind = iota
	KindStatus
	KindError
	KindInt
	KindString
	KindArray
	KindMap
	KindBool
	KindDouble
)

// Value is the typed result of a statement, independent of the wire. The
// server encodes it as RESP2 or RESP3; the shell prints it for people.
type Value struct {
	Kind  Kind
	Str   string  // KindStatus, KindError, KindString
	Int   int64   // KindInt, KindBool (0 or 1)
	Float float64 // KindDouble
	Arr   []Value // KindArray
	Map   []Pair  // KindMap, in a fixed order
}

// Pair is one entry of a map reply.
type Pair struct {
	Key string
	Val Value
}

// Nil is the absent reply (RESP2 null bulk, RESP3 null).
func Nil() Value { return Value{Kind: KindNil} }

// Status is a simple-string reply such as OK or PONG.
func Status(s string) Value { return Value{Kind: KindStatus, Str: s} }

// Int is an integer reply.
func Int(n int64) Value { return Value{Kind: KindInt, Int: n} }

// String is a bulk-string reply.
func String(s string) Value { return Value{Kind: KindString, Str: s} }

// Bool is a boolean reply (an integer 0/1 in RESP2).
func Bool(b bool) Value {
	if b {
		return Value{Kind: KindBool, Int: 1}
	}
	return Value{Kind: KindBool}
}

// Double is a floating-point reply (a bulk string in RESP2).
func Double(f float64) Value { return Value{Kind: KindDouble, Float: f} }

// Array is an array reply.
func Array(vs ...Value) Value {
	if vs == nil {
		vs = []Value{}
	}
	return Value{Kind: KindArray, Arr: vs}
}

// Strings is an array reply of bulk strings.
func Strings(ss []string) Value {
	vs := make([]Value, len(ss))
	for i, s := range ss {
		vs[i] = String(s)
	}
	return Array(vs...)
}

// Map is a map reply whose entries keep the given order.
func Map(ps ...Pair) Value {
	if ps == nil {
		ps = []Pair{}
	}
	return Value{Kind: KindMap, Map: ps}
}

// Get returns the value of key in a map reply, and whether it was there.
func (v Value) Get(key string) (Value, bool) {
	for _, p := range v.Map {
		if p.Key == key {
			return p.Val, true
		}
	}
	return Value{}, false
}

// String renders the value for people, one item a line, indented by depth.
func (v Value) String() string {
	var b strings.Builder
	v.write(&b, 0)
	return strings.TrimRight(b.String(), "\n")
}

func (v Value) write(b *strings.Builder, depth int) {
	ind := strings.Repeat("  ", depth)
	switch v.Kind {
	case KindNil:
		b.WriteString(ind + "(nil)\n")
	case KindStatus:
		b.WriteString(ind + v.Str + "\n")
	case KindError:
		b.WriteString(ind + "(error) " + v.Str + "\n")
	case KindInt:
		fmt.Fprintf(b, "%s(integer) %d\n", ind, v.Int)
	case KindBool:
		fmt.Fprintf(b, "%s%t\n", ind, v.Int != 0)
	case KindDouble:
		fmt.Fprintf(b, "%s%g\n", ind, v.Float)
	case KindString:
		fmt.Fprintf(b, "%s%q\n", ind, v.Str)
	case KindArray:
		if len(v.Arr) == 0 {
			b.WriteString(ind + "(empty)\n")
		}
		for _, e := range v.Arr {
			e.write(b, depth)
		}
	case KindMap:
		if len(v.Map) == 0 {
			b.WriteString(ind + "(empty)\n")
		}
		for _, p := range v.Map {
			if isScalar(p.Val) {
				var s strings.Builder
				p.Val.write(&s, 0)
				b.WriteString(ind + p.Key + ": " + s.String())
				continue
			}
			b.WriteString(ind + p.Key + ":\n")
			p.Val.write(b, depth+1)
		}
	}
}

func isScalar(v Value) bool { return v.Kind != KindArray && v.Kind != KindMap }

// JSON returns the value as plain Go data for encoding/json: maps become
// objects, arrays slices, nil nil.
func (v Value) JSON() any {
	switch v.Kind {
	case KindNil:
		return nil
	case KindInt:
		return v.Int
	case KindBool:
		return v.Int != 0
	case KindDouble:
		return v.Float
	case KindArray:
		out := make([]any, len(v.Arr))
		for i, e := range v.Arr {
			out[i] = e.JSON()
		}
		return out
	case KindMap:
		out := make(map[string]any, len(v.Map))
		for _, p := range v.Map {
			out[p.Key] = p.Val.JSON()
		}
		return out
	default:
		return v.Str
	}
}

// FromRESP converts a value decoded by a Redis client (nil, string, int64,
// []any, map[any]any, error) back into a Value. A RESP2 flat array whose
// odd items are strings is left an array: the shape is the caller's to know.
func FromRESP(x any) Value {
	switch x := x.(type) {
	case nil:
		return Nil()
	case string:
		return String(x)
	case int64:
		return Int(x)
	case bool:
		return Bool(x)
	case float64:
		return Double(x)
	case error:
		return Value{Kind: KindError, Str: x.Error()}
	case []any:
		out := make([]Value, len(x))
		for i, e := range x {
			out[i] = FromRESP(e)
		}
		return Array(out...)
	case map[any]any:
		out := make([]Pair, 0, len(x))
		for k, e := range x {
			out = append(out, Pair{fmt.Sprint(k), FromRESP(e)})
		}
		return Map(out...)
	}
	return String(fmt.Sprint(x))
}
