package load

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// checkWalkAgrees fails when walkOurs takes a line and gives anything but
// what decoding it gives, in either format that tries the walk. It
// reports whether the walk took the line.
func checkWalkAgrees(t *testing.T, line string) bool {
	t.Helper()
	walked, ok := walkOurs([]byte(line))
	if !ok {
		return false
	}
	for _, f := range []Format{FormatNDJSON, FormatAuto} {
		decoded, reason := decodeJSONLine([]byte(line), Options{Format: f})
		if reason != "" {
			t.Fatalf("format %d: the walk took %s, decoding rejects it: %s", f, line, reason)
		}
		if !reflect.DeepEqual(walked, decoded) {
			t.Fatalf("format %d: %s\nwalked  %#v\ndecoded %#v", f, line, walked, decoded)
		}
	}
	return true
}

func TestWalkOursTakesPlainLines(t *testing.T) {
	for _, line := range []string{
		`{"event":"purchase","ids":["email:a@b.c","cookie:123"],"time":"2026-11-01T10:00:00Z","source":"web","props":{"sku":"A1","price":12.5},"traits":{"name":"Ann"}}`,
		`{"ids":["cookie:1"],"time":1762000000000}`,
		` { "ids" : [ "cookie:1" ] , "props" : { "a" : [1, {"b": "x y"}] } , "tags": ["vip"] }` + "\r",
		`{"ids":["phone:+7 900"],"traits":{"n":-1.5e3,"b":true,"gone":null},"consent":{"email":"GRANT","sms":"deny"},"message_id":"m-1"}`,
		`{"event":"café","ids":["cookie:ü"],"source":null,"tags":[]}`,
		`{"ids":["cookie:\"q\"\u00e9"],"traits":{"k\u00e9":"v\n"}}`,
		"{\"ids\":[\"a:\xff\"]}", // invalid UTF-8 becomes U+FFFD, as decoded
	} {
		if !checkWalkAgrees(t, line) {
			t.Errorf("the walk declined a plain line: %s", line)
		}
	}
}

func TestWalkOursDeclinesWhatItCannotGiveExactly(t *testing.T) {
	for _, line := range []string{
		`{"ids":["a:1"],"ids":["a:2"]}`,               // the decoder keeps the last
		`{"ids":["a:1"],"traits":{"x":"1","x":null}}`, // likewise, inside
		`{"ids":["a:1"],"evnt":"x"}`,                  // unknown: the reason names it
		`{"ev\u0065nt":"x","ids":["a:1"]}`,            // an escaped member name
		`{"type":"track","event":"x","anonymousId":"c"}`,
		`{"ids":[]}`, `{"ids":["a:1"],"event":""}`, `{"ids":["a:1"],"tags":[""]}`,
		`{"ids":["a:1"],"time":"1762000000000"}`, `{"ids":["a:1"],"consent":{"x":"maybe"}}`,
		`{"ids":["a:1"],"props":[1]}`, `{"ids":["a:1"],"traits":{"x":[1]}}`,
		`{"ids":["a:1"]`, `null`, `[{"ids":["a:1"]}]`,
	} {
		if _, ok := walkOurs([]byte(line)); ok {
			t.Errorf("the walk took %s", line)
		}
	}
}

// TestWalkOursAgreesWithDecoding builds lines of our shape from valid and
// invalid parts in random order, with and without spaces, and wants the
// walk either to decline or to give what decoding gives.
func TestWalkOursAgreesWithDecoding(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	values := map[string][]string{
		"event":      {`"purchase"`, `""`, `"a\u00e9\n"`, `1`, `null`, `"\ud800"`, "\"\xc3\x28\""},
		"ids":        {`["email:a@b.c"]`, `["cookie:1","email:x@y.z"]`, `[]`, `["a:1",null]`, `"a:1"`, `[1]`, `["a:\"x\""]`, `null`},
		"time":       {`"2026-11-01T10:00:00Z"`, `1762000000000`, `"1762000000000"`, `1762000000`, `"yesterday"`, `-1`, `1.5`, `null`, `"2026-11-01T10:00:00.123+03:00"`},
		"source":     {`"web"`, `""`, `7`, `null`, `"p\u00f6s"`},
		"props":      {`{"sku":"A1","amount":12.5}`, `{ "a" : [ 1 , 2 ] }`, `{}`, `[]`, `"x"`, `{"a":{"b":"c d"}}`, `null`, `{"a":"\u0000"}`},
		"traits":     {`{"name":"Ann"}`, `{"n":1e400,"b":false}`, `{"x":null}`, `{"x":{}}`, `{}`, `[]`, `{"a":"1","a":"2"}`, `{"\u00e9":"v"}`},
		"consent":    {`{"email":"grant"}`, `{"sms":"DeNy"}`, `{"x":"yes"}`, `{"x":null}`, `{}`, `"grant"`, `{"a":"grant","a":"deny"}`},
		"tags":       {`["vip"]`, `["a","b"]`, `[]`, `[""]`, `["a",null]`, `"vip"`, `null`},
		"message_id": {`"m1"`, `""`, `1`, `null`},
		"evnt":       {`"x"`},
		"type":       {`"track"`, `"identify"`},
	}
	names := make([]string, 0, len(values))
	for n := range values {
		names = append(names, n)
	}
	space := []string{"", "", "", " ", "\n", "\t "}
	sp := func() string { return space[rng.IntN(len(space))] }
	walked := 0
	for range 20000 {
		var b strings.Builder
		b.WriteString(sp() + "{" + sp())
		members := 1 + rng.IntN(6)
		for m := range members {
			name := "ids"
			if m > 0 || rng.IntN(8) == 0 {
				name = names[rng.IntN(len(names))]
			}
			if m > 0 {
				b.WriteString("," + sp())
			}
			vs := values[name]
			b.WriteString(`"` + name + `"` + sp() + ":" + sp() + vs[rng.IntN(len(vs))] + sp())
		}
		b.WriteString("}" + sp())
		if checkWalkAgrees(t, b.String()) {
			walked++
		}
	}
	if walked < 1000 {
		t.Fatalf("the walk took only %d of 20000 lines", walked)
	}
}

func FuzzWalkOurs(f *testing.F) {
	for _, s := range []string{
		`{"event":"purchase","ids":["email:a@b.c","cookie:123"],"time":"2026-11-01T10:00:00Z","source":"web","props":{"sku":"A1"},"traits":{"name":"Ann","n":1},"consent":{"email":"grant"},"tags":["vip"],"message_id":"m"}`,
		`{"ids":["cookie:1"],"time":1437927001434,"props":{ "a" : "b c" }}`,
		`{"ids":["a:1"],"traits":{"x":null,"y":"\u00e9"},"consent":{"s":"DENY"}}`,
		`{"ids":["a:1"],"ids":["a:2"]}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		checkWalkAgrees(t, line)
	})
}
