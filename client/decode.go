package client

import (
	"fmt"
	"math"
	"strconv"
	"time"
)

// The decoders turn the generic replies of Do into typed results. They
// accept what the server documents and fail, rather than guess, on any
// other shape. Missing map keys leave zero values, so that a newer server
// may add keys and an older one omit them.

type shapeError struct {
	want string
	got  any
}

func (e *shapeError) Error() string {
	return fmt.Sprintf("unexpected reply: want %s, got %T %v", e.want, e.got, e.got)
}

func badShape(want string, got any) error { return &shapeError{want, got} }

// fields reads a map reply (a flat array of key, value).
func fields(v any) (map[string]any, error) {
	arr, ok := v.([]any)
	if !ok || len(arr)%2 != 0 {
		return nil, badShape("map", v)
	}
	m := make(map[string]any, len(arr)/2)
	for i := 0; i < len(arr); i += 2 {
		k, ok := arr[i].(string)
		if !ok {
			return nil, badShape("map key", arr[i])
		}
		m[k] = arr[i+1]
	}
	return m, nil
}

func toInt(v any) (int64, error) {
	switch x := v.(type) {
	case nil:
		return 0, nil
	case int64:
		return x, nil
	case string: // RESP2 doubles and big numbers are strings
		if n, err := strconv.ParseInt(x, 10, 64); err == nil {
			return n, nil
		}
	}
	return 0, badShape("integer", v)
}

func toProfileID(v any) (uint32, error) {
	n, err := toInt(v)
	if err != nil {
		return 0, err
	}
	if n < 0 || n > math.MaxUint32 {
		return 0, badShape("profile id", v)
	}
	return uint32(n), nil
}

func toString(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "", nil
	case string:
		return x, nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	}
	return "", badShape("string", v)
}

func toStrings(v any) ([]string, error) {
	if v == nil {
		return nil, nil
	}
	arr, ok := v.([]any)
	if !ok {
		return nil, badShape("array of strings", v)
	}
	out := make([]string, len(arr))
	for i, e := range arr {
		s, err := toString(e)
		if err != nil {
			return nil, err
		}
		out[i] = s
	}
	return out, nil
}

func toStringMap(v any) (map[string]string, error) {
	if v == nil {
		return map[string]string{}, nil
	}
	m, err := fields(v)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(m))
	for k, e := range m {
		if out[k], err = toString(e); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// toTime reads an RFC 3339 time; "" (no time) is the zero Time.
func toTime(v any) (time.Time, error) {
	s, err := toString(v)
	if err != nil || s == "" {
		return time.Time{}, err
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, badShape("RFC 3339 time", v)
	}
	return t, nil
}

func toBool(v any) (bool, error) {
	switch x := v.(type) {
	case nil:
		return false, nil
	case int64:
		return x != 0, nil
	case string:
		return x == "1" || x == "true", nil
	}
	return false, badShape("boolean", v)
}

func toArray(v any) ([]any, error) {
	if v == nil {
		return nil, nil
	}
	arr, ok := v.([]any)
	if !ok {
		return nil, badShape("array", v)
	}
	return arr, nil
}

// decoder collects the first error while reading several fields.
type decoder struct {
	m   map[string]any
	err error
}

func (d *decoder) int(k string) int64 {
	n, err := toInt(d.m[k])
	d.keep(k, err)
	return n
}

func (d *decoder) profileID(k string) uint32 {
	n, err := toProfileID(d.m[k])
	d.keep(k, err)
	return n
}

func (d *decoder) str(k string) string {
	s, err := toString(d.m[k])
	d.keep(k, err)
	return s
}

func (d *decoder) strs(k string) []string {
	s, err := toStrings(d.m[k])
	d.keep(k, err)
	return s
}

func (d *decoder) time(k string) time.Time {
	t, err := toTime(d.m[k])
	d.keep(k, err)
	return t
}

func (d *decoder) bool(k string) bool {
	b, err := toBool(d.m[k])
	d.keep(k, err)
	return b
}

func (d *decoder) keep(k string, err error) {
	if err != nil && d.err == nil {
		d.err = fmt.Errorf("field %s: %w", k, err)
	}
}

func decodeMap(v any) (*decoder, error) {
	m, err := fields(v)
	if err != nil {
		return nil, err
	}
	return &decoder{m: m}, nil
}
