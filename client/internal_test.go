package client

import (
	"bufio"
	"errors"
	"net"
	"reflect"
	"strings"
	"testing"
)

func TestParseError(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Error
	}{
		{"ERR SYNTAX at word 5: expected an identifier", Error{"ERR SYNTAX", 5, "expected an identifier"}},
		{"ERR NOAUTH Authentication required.", Error{"ERR NOAUTH", 0, "Authentication required."}},
		{"ERR BADID", Error{"ERR BADID", 0, ""}},
		{"ERR plain failure", Error{"ERR", 0, "plain failure"}},
		{"WRONGPASS invalid username-password pair", Error{"WRONGPASS", 0, "invalid username-password pair"}},
		{"ERR SYNTAXES are not codes", Error{"ERR", 0, "SYNTAXES are not codes"}},
		{"ERR SYNTAX at word x: odd", Error{"ERR SYNTAX", 0, "at word x: odd"}},
	} {
		got := parseError(tc.in)
		if *got != tc.want {
			t.Errorf("parseError(%q) = %#v, want %#v", tc.in, *got, tc.want)
		}
		if got.Error() != tc.in {
			t.Errorf("%q prints back as %q", tc.in, got.Error())
		}
	}
	if !errors.Is(parseError("WRONGPASS x"), ErrNoAuth) || !errors.Is(parseError("READONLY x"), ErrReadOnly) {
		t.Error("Redis spellings do not match the sentinels")
	}
}

func TestSplitExpr(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"DID purchase WITHIN 30d", []string{"DID", "purchase", "WITHIN", "30d"}},
		{"(DID a OR DID b) AND NOT(HAS email)", []string{"(", "DID", "a", "OR", "DID", "b", ")", "AND", "NOT", "(", "HAS", "email", ")"}},
		{`TRAIT city = "New York"`, []string{"TRAIT", "city", "=", "New York"}},
		{`TRAIT note = 'a (b)' AND TRAIT q = "say \"hi\""`, []string{"TRAIT", "note", "=", "a (b)", "AND", "TRAIT", "q", "=", `say "hi"`}},
		{`TRAIT x = ""`, []string{"TRAIT", "x", "=", ""}},
		{"  ", nil},
	} {
		got, err := splitExpr(tc.in)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("splitExpr(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	if _, err := splitExpr(`TRAIT x = "open`); !errors.Is(err, ErrSyntax) {
		t.Errorf("unbalanced quote: %v", err)
	}
}

func TestReadReply(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want any
	}{
		{"+OK\r\n", "OK"},
		{":-7\r\n", int64(-7)},
		{"$-1\r\n", nil},
		{"$5\r\na\r\nbc\r\n", "a\r\nbc"},
		{"*-1\r\n", nil},
		{"*3\r\n$1\r\na\r\n:1\r\n*0\r\n", []any{"a", int64(1), []any{}}},
		{"*1\r\n-ERR BADID x\r\n", []any{&Error{"ERR BADID", 0, "x"}}},
		{"%1\r\n+k\r\n#t\r\n", []any{"k", int64(1)}},
		{"_\r\n", nil},
		{",1.5\r\n", "1.5"},
		{"=8\r\ntxt:abcd\r\n", "abcd"},
	} {
		c := &conn{br: bufio.NewReader(strings.NewReader(tc.in))}
		r, err := c.readReply()
		got := r.plain()
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("readReply(%q) = %#v, %v; want %#v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"?x\r\n", ":x\r\n", "$99999999999\r\n", "*99999999999\r\n", "+OK\n",
		strings.Repeat("*1\r\n", 100), "$2\r\nabcd", ",x\r\n", "#x\r\n"} {
		c := &conn{br: bufio.NewReader(strings.NewReader(bad))}
		if _, err := c.readReply(); !errors.Is(err, errProtocol) {
			t.Errorf("readReply(%.20q): %v, want a protocol error", bad, err)
		}
	}
}

func TestWriteCommand(t *testing.T) {
	var b strings.Builder
	c := newConn(nopConn{})
	c.bw.Reset(&b)
	c.writeCommand([]string{"WHO", "", "a b"})
	c.bw.Flush()
	if want := "*3\r\n$3\r\nWHO\r\n$0\r\n\r\n$3\r\na b\r\n"; b.String() != want {
		t.Errorf("wrote %q, want %q", b.String(), want)
	}
}

type nopConn struct{ net.Conn }

// FuzzReadReply feeds arbitrary bytes to the reply parser: it must return a
// reply or an error, never panic, and never allocate past its bounds.
func FuzzReadReply(f *testing.F) {
	for _, s := range []string{"+OK\r\n", ":-7\r\n", "$-1\r\n", "$5\r\na\r\nbc\r\n", "*2\r\n$1\r\na\r\n:1\r\n",
		"%1\r\n+k\r\n#t\r\n", "_\r\n", ",1.5\r\n", ",inf\r\n", "(123\r\n", "=8\r\ntxt:abcd\r\n", "~1\r\n+x\r\n",
		"!3\r\nERR\r\n", "-ERR SYNTAX at word 2: x\r\n", "*99999999999\r\n", strings.Repeat("*1\r\n", 70)} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		c := &conn{br: bufio.NewReader(strings.NewReader(string(in)))}
		r, err := c.readReply()
		if err == nil {
			_ = r.plain()
			_ = r.String()
		}
	})
}
