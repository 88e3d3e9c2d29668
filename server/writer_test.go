package server

import (
	"bufio"
	"bytes"
	"math"
	"testing"

	"github.com/idgraph/idgraph/query"
)

func TestEncodeValue(t *testing.T) {
	for _, tc := range []struct {
		name         string
		v            query.Value
		resp2, resp3 string
	}{
		{"nil", query.Nil(), "$-1\r\n", "_\r\n"},
		{"status", query.Status("OK"), "+OK\r\n", "+OK\r\n"},
		{"status on one line", query.Status("a\r\nb"), "+a  b\r\n", "+a  b\r\n"},
		{"error", query.Value{Kind: query.KindError, Str: "ERR x"}, "-ERR x\r\n", "-ERR x\r\n"},
		{"int", query.Int(-42), ":-42\r\n", ":-42\r\n"},
		{"one-digit int", query.Int(7), ":7\r\n", ":7\r\n"},
		{"min int", query.Int(math.MinInt64), ":-9223372036854775808\r\n", ":-9223372036854775808\r\n"},
		{"string", query.String("a\r\nb"), "$4\r\na\r\nb\r\n", "$4\r\na\r\nb\r\n"},
		{"true", query.Bool(true), ":1\r\n", "#t\r\n"},
		{"false", query.Bool(false), ":0\r\n", "#f\r\n"},
		{"double", query.Double(0.25), "$4\r\n0.25\r\n", ",0.25\r\n"},
		{"inf", query.Double(math.Inf(-1)), "$4\r\n-inf\r\n", ",-inf\r\n"},
		{"empty array", query.Array(), "*0\r\n", "*0\r\n"},
		{"empty map", query.Map(), "*0\r\n", "%0\r\n"},
		{"nested", query.Map(
			query.Pair{Key: "ids", Val: query.Strings([]string{"a"})},
			query.Pair{Key: "linked", Val: query.Bool(true)},
		), "*4\r\n$3\r\nids\r\n*1\r\n$1\r\na\r\n$6\r\nlinked\r\n:1\r\n",
			"%2\r\n$3\r\nids\r\n*1\r\n$1\r\na\r\n$6\r\nlinked\r\n#t\r\n"},
	} {
		for proto, want := range map[int]string{2: tc.resp2, 3: tc.resp3} {
			var buf bytes.Buffer
			w := writer{bw: bufio.NewWriter(&buf), proto: proto}
			w.value(tc.v)
			w.bw.Flush()
			if got := buf.String(); got != want {
				t.Errorf("%s RESP%d = %q, want %q", tc.name, proto, got, want)
			}
			if n := encodedSize(tc.v, proto); n != int64(len(want)) {
				t.Errorf("%s RESP%d: encodedSize %d, written %d", tc.name, proto, n, len(want))
			}
		}
	}
}
