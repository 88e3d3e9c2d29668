package query

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

var fuzzSeeds = []string{
	``,
	`TRACK purchase email:a@b.c cookie:x AT 2026-11-01T10:00:00.123+02:00 FROM web PROPS '{"a": [1, 2]}'`,
	`MERGE user:1 email:a@b.c FROM crm`,
	`RECORD '{"event":"view","ids":["cookie:a","email:a@b.c"],"time":"2026-11-01T10:00:00Z","props":{"n":1}}'`,
	`RECORD '{ "event": "view", "ids": ["cookie:a"] }'`,
	`RECORD '{"event":"view","ids":"cookie:a"}'`,
	`RECORD '{"event":'`,
	`SET email:a@b.c name="Ann Lee" n= AT 0`,
	`CONSENT email:a@b.c email GRANT AT 1700000000000`,
	`WHO profile:1`, `WHY a:1 b:2`, `UNLINK a:1 b:2`, `FORGET a:1 SUPPRESS`,
	`TIMELINE a:1 LIMIT 5 BEFORE 2026-01-01T00:00:00Z`,
	`SEGMENT COUNT DID add_to_cart WITHIN 7d AND NOT DID purchase WITHIN 7d AND HAS email AND CONSENT email`,
	`SEGMENT IDS (DID a FROM web >=2 TIMES OR TRAIT age>=30) AND NOT (IN vip OR HAS phone) ASOF 0 LIMIT 10 AFTER 5`,
	`SEGMENT SAVE x DID a BETWEEN 1 AND 2 OR TRAIT city = "New York (NY)"`,
	`SEGMENT DROP x`, `SEGMENT LIST`, `TYPES`, `TYPES DECLARE vin LIMIT 3 PRIORITY 9 EXCLUSIVE NORMALIZE upper`,
	`SEGMENT COUNT DID purchase FROM web WHERE category = phones AND cart.total>500 >= 2 TIMES WITHIN 90d AND TAGGED vip`,
	`SEGMENT IDS DID add_to_cart WITHIN 2h AND NOT DID purchase WHERE ok = true AND (IN x) OR TRAIT ltv >= 1000`,
	`COMPUTE ltv AS SUM total OF purchase FROM pos WHERE currency = EUR WITHIN 365d`,
	`COMPUTE engagement AS SCORE 1 product_view + 5 add_to_cart WHERE qty>1 + -2.5 unsubscribe SINCE 0`,
	`COMPUTE last AS LAST sku OF view`, `COMPUTE DROP ltv`, `COMPUTE LIST`, `TAG a:1 vip "black friday" AT 0`, `UNTAG a:1 vip`,
	`INFO`, `PING "a b"`, `NOT NOT (((DID a)))`, `DID a AND AND`, `"unbalanced`, `'x\'y' "\x41\n"`,
}

// FuzzSplitLine checks that SplitLine never panics, that its errors are
// positioned, and that quoted words are read back as they were.
func FuzzSplitLine(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		words, err := SplitLine(line)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Code != CodeSyntax || e.Pos < 1 {
				t.Fatalf("SplitLine(%q): bad error %#v", line, err)
			}
			return
		}
		quoted := make([]string, len(words))
		for i, w := range words {
			quoted[i] = quoteWord(w)
		}
		again, err := SplitLine(strings.Join(quoted, " "))
		if err != nil || !reflect.DeepEqual(again, words) {
			t.Fatalf("SplitLine(%q) = %q; quoted and split again: %q, %v", line, words, again, err)
		}
	})
}

// FuzzParse checks that ParseLine never panics, that its errors are
// positioned, and that what parses prints back to source that parses to the
// same AST.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		words, err := SplitLine(line)
		if err != nil {
			if _, perr := ParseLine(line); perr == nil || perr.Error() != err.Error() {
				t.Fatalf("ParseLine(%q) = %v; want the SplitLine error %v", line, perr, err)
			}
			return
		}
		s, err := ParseLine(line)
		checkRoundTrip(t, line, len(words), s, err)
		// An expression alone, as a stored segment is parsed.
		e, err := ParseExprString(line)
		if err != nil {
			checkErr(t, line, len(words), err)
			return
		}
		again, err := ParseExprString(e.String())
		if err != nil || !reflect.DeepEqual(again, e) {
			t.Fatalf("ParseExprString(%q) printed %q, which parses to %s, %v; want %s", line, e, dump(again), err, dump(e))
		}
	})
}

// FuzzParseWords is FuzzParse for statements that arrive as RESP arguments:
// words that may hold spaces, quotes and parentheses. The input is split
// at "|" into words.
func FuzzParseWords(f *testing.F) {
	for _, s := range fuzzSeeds {
		w, _ := SplitLine(s)
		f.Add(strings.Join(w, "|"))
	}
	f.Add("SEGMENT|COUNT|TRAIT|name=Ann (EU)|AND|(DID|a b)")
	f.Fuzz(func(t *testing.T, in string) {
		words := strings.Split(in, "|")
		s, err := Parse(words)
		checkRoundTrip(t, in, len(words), s, err)
	})
}

func checkErr(t *testing.T, in string, nwords int, err error) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || e.Code == "" || e.Msg == "" || e.Pos < 1 || e.Pos > nwords+1 {
		t.Fatalf("%q: bad error %#v (%d words)", in, err, nwords)
	}
}

func checkRoundTrip(t *testing.T, in string, nwords int, s Statement, err error) {
	t.Helper()
	if err != nil {
		checkErr(t, in, nwords, err)
		return
	}
	printed := s.String()
	again, err := ParseLine(printed)
	if err != nil || !reflect.DeepEqual(again, s) {
		t.Fatalf("%q parsed to %s\nprinted %s\nwhich parses to %s, %v", in, dump(s), printed, dump(again), err)
	}
	if p2 := again.String(); p2 != printed {
		t.Fatalf("%q printed differently twice:\n%s\n%s", in, printed, p2)
	}
}
