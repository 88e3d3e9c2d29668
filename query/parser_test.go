package query

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"github.com/idgraph/idgraph/engine"
	"math/rand/v2"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the expected output in testdata/parse.txt")

func at(s string) *time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	t = t.UTC()
	return &t
}

func TestSplitLine(t *testing.T) {
	for _, tc := range []struct {
		line string
		want []string
	}{
		{"", nil},
		{"   \t ", nil},
		{"WHO email:a@b.c", []string{"WHO", "email:a@b.c"}},
		{"  a \t b\r\nc  ", []string{"a", "b", "c"}},
		{`"hello world" x`, []string{"hello world", "x"}},
		{`"a\"b\\c\n\t\r\b\a"`, []string{"a\"b\\c\n\t\r\b\a"}},
		{`"\x41\x7a\xff"`, []string{"Az\xff"}},
		{`"\x4" "\q"`, []string{"x4", "q"}},
		{`'it\'s' 'a\b'`, []string{"it's", `a\b`}},
		{`'' ""`, []string{"", ""}},
		{`name="John Smith" x`, []string{"name=John Smith", "x"}},
		{`PROPS '{"a": 1}'`, []string{"PROPS", `{"a": 1}`}},
		{`back\slash`, []string{`back\slash`}},
		{"caf\u00e9 \u65e5\u672c", []string{"caf\u00e9", "\u65e5\u672c"}},
		{"a\x00b", []string{"a\x00b"}},
	} {
		got, err := SplitLine(tc.line)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("SplitLine(%q) = %q, %v; want %q", tc.line, got, err, tc.want)
		}
	}
}

func TestSplitLineErrors(t *testing.T) {
	for _, tc := range []struct {
		line string
		pos  int
		msg  string
	}{
		{`WHO "email:a`, 2, "unbalanced double quote"},
		{`WHO 'email:a`, 2, "unbalanced single quote"},
		{`"abc\`, 1, "unbalanced double quote"},
		{`'it\'`, 1, "unbalanced single quote"},
		{`a "b"c`, 2, "a closing quote must be followed by a space"},
		{`a b 'c'd`, 3, "a closing quote must be followed by a space"},
		{`{"a":1}`, 1, "a closing quote must be followed by a space"},
	} {
		_, err := SplitLine(tc.line)
		var e *Error
		if !errors.As(err, &e) || e.Code != CodeSyntax || e.Pos != tc.pos || e.Msg != tc.msg {
			t.Errorf("SplitLine(%q) error = %#v; want %s at %d: %s", tc.line, err, CodeSyntax, tc.pos, tc.msg)
		}
	}
}

func TestQuoteWordIsReadBack(t *testing.T) {
	for _, tc := range []struct{ word, want string }{
		{"plain", "plain"},
		{"", "''"},
		{"a b", "'a b'"},
		{`{"a":1}`, `'{"a":1}'`},
		{"it's", `"it's"`},
		{`ends\`, `ends\`},
		{`a b\`, `"a b\\"`},
		{"tab\there", `"tab\there"`},
		{"nul\x00", `"nul\x00"`},
		{"bad\xffutf8", `"bad\xffutf8"`},
		{"caf\u00e9", "caf\u00e9"},
	} {
		if got := quoteWord(tc.word); got != tc.want {
			t.Errorf("quoteWord(%q) = %s; want %s", tc.word, got, tc.want)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 5000 {
		words := make([]string, 1+r.IntN(4))
		for i := range words {
			words[i] = randWord(r)
		}
		quoted := make([]string, len(words))
		for i, w := range words {
			quoted[i] = quoteWord(w)
		}
		line := strings.Join(quoted, " ")
		got, err := SplitLine(line)
		if err != nil || !reflect.DeepEqual(got, words) {
			t.Fatalf("SplitLine(%s) = %q, %v; want %q", line, got, err, words)
		}
	}
}

func TestParseStatements(t *testing.T) {
	for _, tc := range []struct {
		line string
		want Statement
	}{
		{`TRACK purchase email:a@b.c`, &Track{Event: "purchase", IDs: []string{"email:a@b.c"}}},
		{`track 'Order Completed' email:a@b.c cookie:c1 device:d:with:colons at 2026-11-01T10:00:00.1234+02:00 from web props '{"sku": "x1", "n": [1, 2]}'`,
			&Track{Event: "Order Completed", IDs: []string{"email:a@b.c", "cookie:c1", "device:d:with:colons"},
				At: at("2026-11-01T08:00:00.123Z"), From: "web", Props: `{"sku":"x1","n":[1,2]}`}},
		{`TRACK e a:1 PROPS {} FROM pos AT 1762000000000`,
			&Track{Event: "e", IDs: []string{"a:1"}, At: at("2025-11-01T12:26:40Z"), From: "pos", Props: "{}"}},
		{`TRACK AT a:1 At 0`, &Track{Event: "AT", IDs: []string{"a:1"}, At: at("1970-01-01T00:00:00Z")}},
		{`MERGE user:42 email:a@b.c`, &Merge{IDs: []string{"user:42", "email:a@b.c"}}},
		{`merge user:42 email:a@b.c cookie:x FROM crm`, &Merge{IDs: []string{"user:42", "email:a@b.c", "cookie:x"}, From: "crm"}},
		{`SET email:a@b.c name="Ann Lee" tier=gold note= url=a=b AT 2026-01-02T03:04:05Z`,
			&Set{ID: "email:a@b.c", Traits: []Trait{{"name", "Ann Lee"}, {"tier", "gold"}, {"note", ""}, {"url", "a=b"}},
				At: at("2026-01-02T03:04:05Z")}},
		{`set user:1 x.y-z_1=2`, &Set{ID: "user:1", Traits: []Trait{{"x.y-z_1", "2"}}}},
		{`CONSENT email:a@b.c email GRANT`, &Consent{ID: "email:a@b.c", Purpose: "email", Grant: true}},
		{`consent email:a@b.c sms deny at 2026-01-01T00:00:00Z`, &Consent{ID: "email:a@b.c", Purpose: "sms", At: at("2026-01-01T00:00:00Z")}},
		{`WHO profile:17`, &Who{ID: "profile:17"}},
		{`why email:a cookie:b`, &Why{A: "email:a", B: "cookie:b"}},
		{`TIMELINE email:a`, &Timeline{ID: "email:a"}},
		{`TIMELINE email:a BEFORE 2026-01-01T00:00:00Z LIMIT 10000`, &Timeline{ID: "email:a", Limit: 10000, Before: at("2026-01-01T00:00:00Z")}},
		{`UNLINK email:a cookie:b`, &Unlink{A: "email:a", B: "cookie:b"}},
		{`FORGET email:a`, &Forget{ID: "email:a"}},
		{`forget email:a suppress`, &Forget{ID: "email:a", Suppress: true}},
		{`SEGMENT COUNT HAS email`, &SegmentCount{Expr: &Has{Type: "email"}}},
		{`SEGMENT COUNT HAS email ASOF 2026-03-01T00:00:00Z`, &SegmentCount{Expr: &Has{Type: "email"}, AsOf: at("2026-03-01T00:00:00Z")}},
		{`segment ids in vip after 4294967295 limit 1 asof 1000`,
			&SegmentIDs{Expr: &In{Name: "vip"}, AsOf: at("1970-01-01T00:00:01Z"), Limit: 1, After: 4294967295}},
		{`SEGMENT SAVE churn_risk DID purchase WITHIN 90d AND NOT DID purchase WITHIN 30d`,
			&SegmentSave{Name: "churn_risk", Expr: &And{
				L: &Did{Event: "purchase", Window: Window{Kind: WindowWithin, Days: 90}},
				R: &Not{X: &Did{Event: "purchase", Window: Window{Kind: WindowWithin, Days: 30}}}}}},
		{`SEGMENT DROP churn_risk`, &SegmentDrop{Name: "churn_risk"}},
		{`segment list`, &SegmentList{}},
		{`TYPES`, &Types{}},
		{`TYPES DECLARE vin LIMIT 3 PRIORITY 20`, &TypesDeclare{Name: "vin", Limit: 3, Priority: 20, Normalize: "trim"}},
		{`types declare loyalty_card normalize UPPER exclusive priority 1000 limit 100000`,
			&TypesDeclare{Name: "loyalty_card", Limit: 100000, Priority: 1000, Exclusive: true, Normalize: "upper"}},
		{`INFO`, &Info{}},
		{`INFO memory`, &Info{Section: "memory"}},
		{`PING`, &Ping{}},
		{`ping "hello there"`, &Ping{Msg: "hello there"}},
	} {
		got, err := ParseLine(tc.line)
		if err != nil {
			t.Errorf("ParseLine(%s): %v", tc.line, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseLine(%s)\n got  %s\n want %s", tc.line, dump(got), dump(tc.want))
		}
	}
}

func TestParseExpr(t *testing.T) {
	d := func(ev string) *Did { return &Did{Event: ev} }
	for _, tc := range []struct {
		src  string
		want Expr
	}{
		{"DID a", d("a")},
		{"did a or did b or did c", &Or{L: &Or{L: d("a"), R: d("b")}, R: d("c")}},
		{"DID a AND DID b AND DID c", &And{L: &And{L: d("a"), R: d("b")}, R: d("c")}},
		{"DID a OR DID b AND DID c", &Or{L: d("a"), R: &And{L: d("b"), R: d("c")}}},
		{"(DID a OR DID b) AND DID c", &And{L: &Or{L: d("a"), R: d("b")}, R: d("c")}},
		{"NOT DID a AND DID b", &And{L: &Not{X: d("a")}, R: d("b")}},
		{"NOT(DID a)AND(DID b)", &And{L: &Not{X: d("a")}, R: d("b")}},
		{"((DID a))", d("a")},
		{"NOT NOT HAS email", &Not{X: &Not{X: &Has{Type: "email"}}}},
		{"DID a FROM pos >= 2 TIMES WITHIN 30d",
			&Did{Event: "a", Source: "pos", Cmp: ">=", N: 2, Window: Window{Kind: WindowWithin, Days: 30}}},
		{"DID a <2 times within 3650D", &Did{Event: "a", Cmp: "<", N: 2, Window: Window{Kind: WindowWithin, Days: 3650}}},
		{"DID a = 0 TIMES", &Did{Event: "a", Cmp: "=", N: 0}},
		{"DID a > 1000000000 TIMES", &Did{Event: "a", Cmp: ">", N: 1000000000}},
		{"DID a <= 3 TIMES SINCE 2026-01-01T00:00:00Z", &Did{Event: "a", Cmp: "<=", N: 3,
			Window: Window{Kind: WindowSince, From: *at("2026-01-01T00:00:00Z")}}},
		{"DID a BETWEEN 2026-01-01T00:00:00Z AND 2026-02-01T00:00:00Z AND HAS email",
			&And{L: &Did{Event: "a", Window: Window{Kind: WindowBetween,
				From: *at("2026-01-01T00:00:00Z"), To: *at("2026-02-01T00:00:00Z")}}, R: &Has{Type: "email"}}},
		{"DID 'Order Completed'", d("Order Completed")},
		{"DID and", d("and")},
		{"TRAIT age >= 30", &TraitCmp{Name: "age", Op: ">=", Value: "30"}},
		{"TRAIT age>=30", &TraitCmp{Name: "age", Op: ">=", Value: "30"}},
		{"TRAIT age >=30", &TraitCmp{Name: "age", Op: ">=", Value: "30"}},
		{"TRAIT age>= 30", &TraitCmp{Name: "age", Op: ">=", Value: "30"}},
		{"(TRAIT tier!=gold)", &TraitCmp{Name: "tier", Op: "!=", Value: "gold"}},
		{"TRAIT url = a=b", &TraitCmp{Name: "url", Op: "=", Value: "a=b"}},
		{"TRAIT note = ''", &TraitCmp{Name: "note", Op: "=", Value: ""}},
		{`TRAIT name="Ann Lee"`, &TraitCmp{Name: "name", Op: "=", Value: "Ann Lee"}},
		{`TRAIT company = "Acme (EU)"`, &TraitCmp{Name: "company", Op: "=", Value: "Acme (EU)"}},
		{"TRAIT x < AND", &TraitCmp{Name: "x", Op: "<", Value: "AND"}},
		{"CONSENT email", &ConsentIs{Purpose: "email"}},
		{"IN vip.eu-1", &In{Name: "vip.eu-1"}},
	} {
		got, err := ParseExprString(tc.src)
		if err != nil {
			t.Errorf("ParseExprString(%s): %v", tc.src, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseExprString(%s)\n got  %s\n want %s", tc.src, dump(got), dump(tc.want))
		}
	}
}

// TestParseWordsKeepPositions checks that over RESP, where each argument is
// a word, tokens split from one word report that word's position.
func TestParseWordsKeepPositions(t *testing.T) {
	_, err := Parse([]string{"SEGMENT", "COUNT", "(DID", "a", "OR", "DID)"})
	checkError(t, "words", err, CodeSyntax, 6, "expected an event name after DID, found )")
	s, err := Parse([]string{"SEGMENT", "COUNT", "TRAIT", "name=Ann (EU) Ltd"})
	if err != nil {
		t.Fatal(err)
	}
	want := &SegmentCount{Expr: &TraitCmp{Name: "name", Op: "=", Value: "Ann (EU) Ltd"}}
	if !reflect.DeepEqual(s, want) {
		t.Fatalf("got %s, want %s", dump(s), dump(want))
	}
}

func checkError(t *testing.T, what string, err error, code string, pos int, msg string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Errorf("%s: error %v; want %s at word %d: %s", what, err, code, pos, msg)
		return
	}
	if e.Code != code || e.Pos != pos || e.Msg != msg {
		t.Errorf("%s:\n got  %s at word %d: %s\n want %s at word %d: %s", what, e.Code, e.Pos, e.Msg, code, pos, msg)
	}
}

func TestParseErrors(t *testing.T) {
	const S, L, B = CodeSyntax, CodeTooLarge, CodeBadID
	for _, tc := range []struct {
		line string
		code string
		pos  int
		msg  string
	}{
		{``, S, 1, "empty statement"},
		{`TRAK e a:1`, S, 1, `unknown command "TRAK" (did you mean TRACK?)`},
		{`SEGMNET COUNT HAS email`, S, 1, `unknown command "SEGMNET" (did you mean SEGMENT?)`},
		{`FLY away`, S, 1, `unknown command "FLY"`},
		{`AUTH secret`, S, 1, "AUTH is handled by the server, not by the query language"},
		{`hello 3`, S, 1, "HELLO is handled by the server, not by the query language"},

		{`TRACK`, S, 2, "expected an event name after TRACK, found the end of the statement"},
		{`TRACK '' a:1`, S, 2, `expected an event name after TRACK, found ""`},
		{`TRACK e`, S, 3, "TRACK needs at least one identifier type:value after the event name, found the end of the statement"},
		{`TRACK e FROM web`, S, 3, "TRACK needs at least one identifier type:value after the event name, found FROM"},
		{`TRACK e a:1 bob`, B, 4, `expected an identifier type:value, found "bob"`},
		{`TRACK e a:1 FORM web`, S, 4, `expected an identifier type:value, found "FORM" (did you mean FROM?)`},
		{`TRACK e a:1 AT 2026-13-01`, S, 5, `bad time "2026-13-01": use RFC 3339 or Unix milliseconds`},
		{`TRACK e a:1 AT -5`, S, 5, `bad time "-5": use RFC 3339 or Unix milliseconds`},
		{`TRACK e a:1 AT 253402300800000`, S, 5, "time 253402300800000 is out of range: Unix milliseconds go from 0 to 253402300799999"},
		{`TRACK e a:1 AT 1969-12-31T23:59:59Z`, S, 5, "time 1969-12-31T23:59:59Z is out of range: 1970-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z"},
		{`TRACK e a:1 AT`, S, 5, "expected a time after AT, found the end of the statement"},
		{`TRACK e a:1 AT 0 AT 1`, S, 6, "AT is given twice"},
		{`TRACK e a:1 FROM web b:2`, S, 6, `expected AT, FROM or PROPS, found "b:2"`},
		{`TRACK e a:1 FROM`, S, 5, "expected a source after FROM, found the end of the statement"},
		{`TRACK e a:1 PROPS [1]`, S, 5, `PROPS must be a JSON object {...}, found "[1]"`},
		{`TRACK e a:1 PROPS '{"a":}'`, S, 5, `PROPS is not valid JSON (invalid character '}' looking for beginning of value); quote it: PROPS '{"key":"value"}'`},

		{`MERGE a:1`, S, 3, "MERGE needs at least two identifiers type:value, found the end of the statement"},
		{`MERGE a:1 FROM web`, S, 3, "MERGE needs at least two identifiers type:value, found FROM"},
		{`MERGE a:1 b:2 FROM web extra`, S, 6, `expected AT, FROM or the end of the statement, found "extra"`},

		{`SET a:1`, S, 3, "expected a trait name=value, found the end of the statement"},
		{`SET a:1 AT 0`, S, 3, "expected a trait name=value, found AT"},
		{`SET a:1 x=1 y`, S, 4, `expected a trait name=value, found "y"`},
		{`SET a:1 x=1 ATT 0`, S, 4, `expected a trait name=value, found "ATT" (did you mean AT?)`},
		{`SET a:1 =1`, S, 3, `trait name is empty`},
		{`SET a:1 "x\ty=1"`, S, 3, `trait name "x\ty" contains the control character U+0009`},
		{`SET a:1 x=1 AT 0 y=2`, S, 6, `unexpected "y=2" at the end of SET`},
		{`SET nocolon x=1`, B, 2, `SET expects an identifier type:value, found "nocolon"`},

		{`CONSENT a:1 email`, S, 4, "expected GRANT or DENY, found the end of the statement"},
		{`CONSENT a:1 email GRAND`, S, 4, `expected GRANT or DENY, found "GRAND" (did you mean GRANT?)`},
		{"CONSENT a:1 e\x01mail GRANT", S, 3, `purpose "e\x01mail" contains the control character U+0001`},
		{`CONSENT a:1 email DENY 0`, S, 5, `expected AT or the end of the statement, found "0"`},

		{`WHO`, S, 2, "WHO expects an identifier type:value, found the end of the statement"},
		{`WHO bob`, B, 2, `WHO expects an identifier type:value, found "bob"`},
		{`WHO a:1 b:2`, S, 3, `unexpected "b:2" at the end of WHO`},
		{`WHY a:1`, S, 3, "WHY expects an identifier type:value, found the end of the statement"},
		{`UNLINK a:1 b`, B, 3, `UNLINK expects an identifier type:value, found "b"`},
		{`FORGET a:1 SUPRESS`, S, 3, `expected SUPPRESS or the end of the statement, found "SUPRESS" (did you mean SUPPRESS?)`},

		{`TIMELINE a:1 LIMIT 0`, S, 4, "LIMIT must be from 1 to 10000, found 0"},
		{`TIMELINE a:1 LIMIT 10001`, L, 4, "LIMIT must be from 1 to 10000, found 10001"},
		{`TIMELINE a:1 LIMIT 99999999999999999999999`, L, 4, "LIMIT must be from 1 to 10000, found 99999999999999999999999"},
		{`TIMELINE a:1 LIMIT ten`, S, 4, `expected a number after LIMIT, found "ten"`},
		{`TIMELINE a:1 LIMIT -1`, S, 4, `expected a number after LIMIT, found "-1"`},
		{`TIMELINE a:1 LIMT 5`, S, 3, `expected LIMIT, BEFORE or AFTER, found "LIMT" (did you mean LIMIT?)`},
		{`TIMELINE a:1 LIMIT 5 LIMIT 6`, S, 5, "LIMIT is given twice"},

		{`SEGMENT`, S, 2, "expected COUNT, IDS, EXPORT, SAVE, DROP or LIST after SEGMENT, found the end of the statement"},
		{`SEGMENT CONT HAS email`, S, 2, `unknown SEGMENT command "CONT": expected COUNT, IDS, EXPORT, SAVE, DROP or LIST (did you mean COUNT?)`},
		{`SEGMENT COUNT`, S, 3, "expected an atom after COUNT, found the end of the statement"},
		{`SEGMENT COUNT DID a AND AND DID b`, S, 6, "expected an atom after AND, found AND"},
		{`SEGMENT COUNT DID a OR`, S, 6, "expected an atom after OR, found the end of the statement"},
		{`SEGMENT COUNT NOT`, S, 4, "expected an atom after NOT, found the end of the statement"},
		{`SEGMENT COUNT purchase`, S, 3, `expected an atom after COUNT, found "purchase" (an atom starts with DID, HAS, TRAIT, CONSENT, TAGGED, IN, NOT or a parenthesis)`},
		{`SEGMENT COUNT DIDD a`, S, 3, `expected an atom after COUNT, found "DIDD" (did you mean DID?)`},
		{`SEGMENT COUNT "DID purchase"`, S, 3, `expected an atom after COUNT, found "DID purchase" (a quoted word is one token: write the expression without quotes)`},
		{`SEGMENT COUNT ()`, S, 3, "expected an atom after (, found )"},
		{`SEGMENT COUNT (DID a`, S, 5, "expected AND, OR or ) to close a parenthesis, found the end of the statement"},
		{`SEGMENT COUNT (DID a ASOF 0`, S, 5, "expected AND, OR or ) to close a parenthesis, found ASOF"},
		{`SEGMENT COUNT DID a)`, S, 4, "found ) without a matching ("},
		{`SEGMENT COUNT DID a DID b`, S, 5, "expected AND, OR, ASOF or the end of the statement, found DID"},
		{`SEGMENT COUNT DID a WITIN 7d`, S, 5, `expected AND, OR, ASOF or the end of the statement, found "WITIN" (did you mean WITHIN?)`},
		{`SEGMENT COUNT DID a 7d`, S, 5, `expected AND, OR, ASOF or the end of the statement, found "7d" (did you mean WITHIN 7d?)`},
		{`SEGMENT COUNT HAS email ASOF 0 ASOF 1`, S, 7, "ASOF is given twice"},
		{`SEGMENT COUNT HAS email LIMIT 5`, S, 5, "expected AND, OR, ASOF or the end of the statement, found LIMIT"},
		{`SEGMENT COUNT DID`, S, 4, "expected an event name after DID, found the end of the statement"},
		{`SEGMENT COUNT DID (a)`, S, 4, "expected an event name after DID, found ("},
		{`SEGMENT COUNT DID a FROM`, S, 6, "expected a source after FROM, found the end of the statement"},
		{`SEGMENT COUNT DID a >= TIMES`, S, 6, "expected a number after DID a >=, found TIMES"},
		{`SEGMENT COUNT DID a >= 2`, S, 7, "expected TIMES after >= 2, found the end of the statement"},
		{`SEGMENT COUNT DID a >= 2 TIME`, S, 7, `expected TIMES after >= 2, found "TIME" (did you mean TIMES?)`},
		{`SEGMENT COUNT DID a >= 1000000001 TIMES`, S, 6, "the number of TIMES must be from 0 to 1000000000, found 1000000001"},
		{`SEGMENT COUNT DID a WITHIN 7`, S, 6, `expected a number of days like 30d or of hours like 24h after WITHIN, found "7"`},
		{`SEGMENT COUNT DID a WITHIN 0d`, S, 6, "WITHIN must be from 1d to 3650d, found 0d"},
		{`SEGMENT COUNT DID a WITHIN 3651d`, S, 6, "WITHIN must be from 1d to 3650d, found 3651d"},
		{`SEGMENT COUNT DID a SINCE yesterday`, S, 6, `bad time "yesterday": use RFC 3339 or Unix milliseconds`},
		{`SEGMENT COUNT DID a BETWEEN 0 1`, S, 7, `expected AND between the two times of BETWEEN, found "1"`},
		{`SEGMENT COUNT DID a BETWEEN 5 AND 5`, S, 8, "BETWEEN needs the earlier time first: 1970-01-01T00:00:00.005Z is not before 1970-01-01T00:00:00.005Z"},
		{`SEGMENT COUNT HAS Email`, S, 4, `expected a type after HAS, found "Email": a type is a lower-case letter then up to 31 lower-case letters, digits or _`},
		{`SEGMENT COUNT HAS`, S, 4, "expected a type after HAS, found the end of the statement: a type is a lower-case letter then up to 31 lower-case letters, digits or _"},
		{`SEGMENT COUNT TRAIT`, S, 4, "expected a trait name after TRAIT, found the end of the statement"},
		{`SEGMENT COUNT TRAIT age`, S, 5, "expected a comparison (= != < <= > >=) after TRAIT age, found the end of the statement"},
		{`SEGMENT COUNT TRAIT age ~ 3`, S, 5, `expected a comparison (= != < <= > >=) after TRAIT age, found "~"`},
		{`SEGMENT COUNT TRAIT age>=`, S, 5, "expected a value after TRAIT age >=, found the end of the statement"},
		{`SEGMENT COUNT (TRAIT age>=)`, S, 4, "expected a value after TRAIT age >=, found )"},
		{`SEGMENT COUNT TRAIT age!30`, S, 4, `bad comparison in "age!30": use = != < <= > or >=`},
		{"SEGMENT COUNT TRAIT " + strings.Repeat("n", 129) + " = 1", S, 4, `trait name "` + strings.Repeat("n", 64) + `…" is longer than 128 bytes`},
		{`SEGMENT COUNT CONSENT`, S, 4, "expected a purpose after CONSENT, found the end of the statement"},
		{"SEGMENT COUNT IN \"my\tsegment\"", S, 4, `segment name "my\tsegment" contains the control character U+0009`},
		{`SEGMENT IDS HAS email LIMIT 100001`, L, 6, "LIMIT must be from 1 to 100000, found 100001"},
		{`SEGMENT IDS HAS email AFTER 4294967296`, S, 6, "AFTER must be from 0 to 4294967295, found 4294967296"},
		{`SEGMENT IDS HAS email AFTER profile:5`, S, 6, `expected a number after AFTER, found "profile:5"`},
		{`SEGMENT IDS HAS email LIMIT 5 AFTR 6`, S, 7, `expected AND, OR, ASOF, LIMIT, AFTER or the end of the statement, found "AFTR" (did you mean AFTER?)`},
		{`SEGMENT SAVE vip`, S, 4, "expected an atom, found the end of the statement"},
		{`SEGMENT SAVE vip HAS email ASOF 0`, S, 6, "expected AND, OR or the end of the statement, found ASOF"},
		{`SEGMENT SAVE '' HAS email`, S, 3, `segment name is empty`},
		{`SEGMENT DROP`, S, 3, "expected a segment name after SEGMENT DROP, found the end of the statement"},
		{`SEGMENT LIST all`, S, 3, `unexpected "all" at the end of SEGMENT LIST`},

		{`TYPES LIST`, S, 2, `expected DECLARE or the end of the statement after TYPES, found LIST`},
		{`TYPES DECLAR vin`, S, 2, `expected DECLARE or the end of the statement after TYPES, found "DECLAR" (did you mean DECLARE?)`},
		{`TYPES DECLARE Vin LIMIT 1 PRIORITY 1`, S, 3, `expected a type name after TYPES DECLARE, found "Vin": a type is a lower-case letter then up to 31 lower-case letters, digits or _`},
		{`TYPES DECLARE vin PRIORITY 1`, S, 6, "TYPES DECLARE needs LIMIT <n>, the most identifiers of the type a profile may hold"},
		{`TYPES DECLARE vin LIMIT 1`, S, 6, "TYPES DECLARE needs PRIORITY <n>, the type's rank when choosing an event's anchor"},
		{`TYPES DECLARE vin LIMIT 1 PRIORITY 1001`, S, 7, "PRIORITY must be from 1 to 1000, found 1001"},
		{`TYPES DECLARE vin LIMIT 1 PRIORITY 1 NORMALIZE title`, S, 9, `expected trim, lower, upper or phone after NORMALIZE, found "title"`},
		{`TYPES DECLARE vin LIMIT 1 PRIORITY 1 EXCLUSIV`, S, 8, `expected LIMIT, PRIORITY, EXCLUSIVE or NORMALIZE, found "EXCLUSIV" (did you mean EXCLUSIVE?)`},
		{`INFO a b`, S, 3, `unexpected "b" at the end of INFO`},
		{`PING a b`, S, 3, `unexpected "b" at the end of PING`},
	} {
		_, err := ParseLine(tc.line)
		checkError(t, tc.line, err, tc.code, tc.pos, tc.msg)
	}
}

func TestParseExprErrors(t *testing.T) {
	for _, tc := range []struct {
		src string
		pos int
		msg string
	}{
		{"", 1, "expected an atom, found the end of the statement"},
		{"HAS email ASOF 0", 3, "expected AND, OR or the end of the statement, found ASOF"},
		{"(HAS email))", 2, "found ) without a matching ("},
		{strings.Repeat("NOT ", 100) + "HAS email", 101, ""},
		{strings.Repeat("(", 101) + "HAS email", 1, "the expression is nested too deeply: at most 100 levels of NOT and parentheses"},
	} {
		_, err := ParseExprString(tc.src)
		if tc.msg == "" {
			if err != nil {
				t.Errorf("ParseExprString(%.40s...): %v", tc.src, err)
			}
			continue
		}
		checkError(t, tc.src, err, CodeSyntax, tc.pos, tc.msg)
	}
	_, err := ParseExprString(strings.Repeat("NOT ", 101) + "HAS email")
	checkError(t, "101 NOTs", err, CodeSyntax, 101, "the expression is nested too deeply: at most 100 levels of NOT and parentheses")
	// Far deeper than the stack would take without the limit.
	_, err = ParseExprString(strings.Repeat("(", 100_000))
	checkError(t, "100000 parentheses", err, CodeSyntax, 1, "the expression is nested too deeply: at most 100 levels of NOT and parentheses")
}

func TestSuggest(t *testing.T) {
	for _, tc := range []struct {
		word string
		want string
	}{
		{"TRAK", "TRACK"},
		{"trakc", "TRACK"},
		{"WITIN", "WITHIN"},
		{"wihtin", "WITHIN"},
		{"SEGMNT", "SEGMENT"},
		{"TIMELIEN", "TIMELINE"},
		{"WHOM", "WHO"},
		{"TRACK", ""},     // an exact keyword is no near miss
		{"x", ""},         // too short to guess
		{"TRAFFIC", ""},   // too far
		{"PINGPONG", ""},  // too far
		{"W", ""},         // too short
		{"FORGOTTEN", ""}, // too far
	} {
		got := suggest(tc.word, append(commandNames(), "WITHIN")...)
		want := ""
		if tc.want != "" {
			want = " (did you mean " + tc.want + "?)"
		}
		if got != want {
			t.Errorf("suggest(%q) = %q; want %q", tc.word, got, want)
		}
	}
	if d := editDistance("ABCD", "BACD"); d != 1 {
		t.Errorf("editDistance of a swap = %d; want 1", d)
	}
	if d := editDistance("", "AND"); d != 3 {
		t.Errorf(`editDistance("", "AND") = %d; want 3`, d)
	}
}

func TestIsWrite(t *testing.T) {
	writes := []Statement{&Track{}, &Merge{}, &Set{}, &Consent{}, &Unlink{}, &Forget{},
		&SegmentSave{}, &SegmentDrop{}, &TypesDeclare{}}
	reads := []Statement{&Who{}, &Why{}, &Timeline{}, &SegmentCount{}, &SegmentIDs{},
		&SegmentList{}, &Types{}, &Info{}, &Ping{}}
	for _, s := range writes {
		if !IsWrite(s) {
			t.Errorf("IsWrite(%T) = false", s)
		}
	}
	for _, s := range reads {
		if IsWrite(s) {
			t.Errorf("IsWrite(%T) = true", s)
		}
	}
}

// TestTimesAreUTCMilliseconds checks that both spellings of a time give the
// same value: UTC, truncated to the millisecond.
func TestTimesAreUTCMilliseconds(t *testing.T) {
	a, err := ParseLine("TIMELINE a:1 BEFORE 2026-11-01T12:00:00.123999+02:00")
	if err != nil {
		t.Fatal(err)
	}
	b, err := ParseLine("TIMELINE a:1 BEFORE 1793527200123")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("%s != %s", dump(a), dump(b))
	}
	if got := a.String(); got != "TIMELINE a:1 BEFORE 2026-11-01T10:00:00.123Z" {
		t.Fatalf("String() = %s", got)
	}
	if loc := a.(*Timeline).Before.Location(); loc != time.UTC {
		t.Fatalf("location %v; want UTC", loc)
	}
}

func TestStringPrintsSource(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`track e a:1 from web at 0 props '{ "k" : "v" }'`, `TRACK e a:1 AT 1970-01-01T00:00:00Z FROM web PROPS '{"k":"v"}'`},
		{`segment count not ( did a or did b ) and ( has email or has phone )`,
			`SEGMENT COUNT NOT (DID a OR DID b) AND (HAS email OR HAS phone)`},
		{`segment count did a or (did b or did c)`, `SEGMENT COUNT DID a OR (DID b OR DID c)`},
		{`segment count did a and (did b and did c)`, `SEGMENT COUNT DID a AND (DID b AND DID c)`},
		{`segment count (did a and did b) and did c`, `SEGMENT COUNT DID a AND DID b AND DID c`},
		{`segment count ((did a or did b)) and not not (did c)`, `SEGMENT COUNT (DID a OR DID b) AND NOT NOT DID c`},
		{`segment count did c and (did b or trait a='x y' )`, `SEGMENT COUNT DID c AND (DID b OR TRAIT a = 'x y' )`},
		{`segment count did c and (did b or trait a = '' )`, `SEGMENT COUNT DID c AND (DID b OR TRAIT a = '' )`},
		{`set a:1 name="Ann Lee" q='say "hi"' n= t="it's"`, `SET a:1 name='Ann Lee' q='say "hi"' n= t="it's"`},
		{`TRACK 'a b' "x:it's" AT 1`, `TRACK 'a b' "x:it's" AT 1970-01-01T00:00:00.001Z`},
	} {
		s, err := ParseLine(tc.in)
		if err != nil {
			t.Errorf("ParseLine(%s): %v", tc.in, err)
			continue
		}
		if got := s.String(); got != tc.want {
			t.Errorf("ParseLine(%s).String()\n got  %s\n want %s", tc.in, got, tc.want)
		}
	}
}

// TestRoundTrip prints random statements and parses them back: the printed
// source must give back an equal AST, both as a line and as RESP words.
func TestRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	for i := range 5000 {
		s := randStatement(r)
		line := s.String()
		got, err := ParseLine(line)
		if err != nil {
			t.Fatalf("#%d: ParseLine(%s): %v\nAST %s", i, line, err, dump(s))
		}
		if !reflect.DeepEqual(got, s) {
			t.Fatalf("#%d: ParseLine(%s)\n got  %s\n want %s", i, line, dump(got), dump(s))
		}
		if again := got.String(); again != line {
			t.Fatalf("#%d: printed twice differently:\n%s\n%s", i, line, again)
		}
		words, err := SplitLine(line)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := Parse(words); err != nil || !reflect.DeepEqual(got, s) {
			t.Fatalf("#%d: Parse(%q) = %v, %v", i, words, got, err)
		}
	}
	for i := range 2000 {
		e := randExpr(r, 5)
		got, err := ParseExprString(e.String())
		if err != nil || !reflect.DeepEqual(got, e) {
			t.Fatalf("#%d: ParseExprString(%s) = %s, %v; want %s", i, e, dump(got), err, dump(e))
		}
	}
}

// Random ASTs. Every field is drawn from what the parser accepts, including
// awkward words: keywords, empty words, quotes, spaces, non-UTF-8 bytes.

var wordPool = []string{
	"a", "x1", "purchase", "add_to_cart", "AND", "or", "not", "DID", "from", "times",
	"WITHIN", "asof", "limit", "AFTER", "at", "PROPS", ">=", "=", "!=", "<", "7d", "0",
	"(", ")", "a(b", "x)", "Order Completed", "Acme (EU)", "", " ", "it's", `say "hi"`,
	`back\slash`, `ends\`, "tab\tin", "nul\x00", "\xff\xfe", "caf\u00e9", "\u65e5\u672c",
	"a=b", "k:v", "--", "'", `"`, "{}", "null",
}

func randWord(r *rand.Rand) string {
	if r.IntN(4) == 0 {
		b := make([]byte, r.IntN(8))
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		return string(b)
	}
	return wordPool[r.IntN(len(wordPool))]
}

// randWordWhere draws words until ok accepts one.
func randWordWhere(r *rand.Rand, ok func(string) bool) string {
	for {
		if w := randWord(r); ok(w) {
			return w
		}
	}
}

func nonEmpty(w string) bool { return w != "" }

// validName is the engine's rule for names of events, sources and traits.
func validName(w string) bool { return engine.CheckName("name", w) == nil }

// exprWord is a word that an expression reads back as one token.
func exprWord(w string) bool { return singleToken(w) }

func randID(r *rand.Rand) string { return randWord(r) + ":" + randWord(r) }

func randIDs(r *rand.Rand, min int) []string {
	ids := make([]string, min+r.IntN(3))
	for i := range ids {
		ids[i] = randID(r)
	}
	return ids
}

var namePool = []string{"a", "Z", "_", "tier", "first.name", "x-1", "AND", "asof", "in", strings.Repeat("n", 64)}

func randName(r *rand.Rand) string { return namePool[r.IntN(len(namePool))] }

var typePool = []string{"email", "phone", "a", "x_9", "in", "and", strings.Repeat("t", 32)}

func randType(r *rand.Rand) string { return typePool[r.IntN(len(typePool))] }

func randTime(r *rand.Rand) time.Time {
	ms := r.Int64N(253402300799999 + 1)
	if r.IntN(2) == 0 {
		ms -= ms % 1000
	}
	return time.UnixMilli(ms).UTC()
}

func randTimePtr(r *rand.Rand) *time.Time {
	if r.IntN(2) == 0 {
		return nil
	}
	t := randTime(r)
	return &t
}

func randProps(r *rand.Rand) string {
	if r.IntN(2) == 0 {
		return ""
	}
	m := map[string]any{}
	for range r.IntN(3) {
		m[randWord(r)] = []any{randWord(r), r.IntN(100), nil, true}
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func maybe(r *rand.Rand, s string) string {
	if r.IntN(2) == 0 {
		return ""
	}
	return s
}

var pathPool = []string{"a", "total", "cart.total", "first.name", "x-1", "AND", "in", "a=b", "=x", "WHERE", "a.b.c.d.e.f.g.h", "caf\u00e9"}

func randPath(r *rand.Rand) string { return pathPool[r.IntN(len(pathPool))] }

func randConds(r *rand.Rand) []Cond {
	var cs []Cond
	for range r.IntN(3) {
		cs = append(cs, Cond{Path: randPath(r), Op: traitOps[r.IntN(len(traitOps))], Value: randWordWhere(r, exprWord)})
	}
	return cs
}

func randWindow(r *rand.Rand) Window {
	switch r.IntN(5) {
	case 1:
		return Window{Kind: WindowWithin, Days: 1 + r.IntN(maxWithinDays)}
	case 2:
		return Window{Kind: WindowHours, Hours: 1 + r.IntN(maxWithinHours)}
	case 3:
		return Window{Kind: WindowSince, From: randTime(r)}
	case 4:
		a, b := randTime(r), randTime(r)
		for !a.Before(b) {
			a, b = randTime(r), randTime(r)
			if b.Before(a) {
				a, b = b, a
			}
		}
		return Window{Kind: WindowBetween, From: a, To: b}
	}
	return Window{}
}

func randAggregate(r *rand.Rand) Aggregate {
	a := Aggregate{Kind: aggregateKinds[r.IntN(len(aggregateKinds))], Window: randWindow(r)}
	switch a.Kind {
	case "SCORE":
		for range 1 + r.IntN(3) {
			a.Terms = append(a.Terms, ScoreTerm{Points: []float64{1, 0.5, -10, 0, 1e9, 20}[r.IntN(6)],
				Event: randWordWhere(r, validName), Source: maybe(r, randWordWhere(r, validName)), Where: randConds(r)})
		}
		return a
	case "COUNT":
	default:
		a.Property = randPath(r)
	}
	a.Event = randWordWhere(r, validName)
	a.Source = maybe(r, randWordWhere(r, validName))
	a.Where = randConds(r)
	return a
}

func randStatement(r *rand.Rand) Statement {
	switch r.IntN(22) {
	case 18:
		return &Tag{ID: randID(r), Tags: []string{randName(r), randName(r)}[:1+r.IntN(2)], On: r.IntN(2) == 0, At: randTimePtr(r)}
	case 19:
		return &Compute{Name: randName(r), Agg: randAggregate(r)}
	case 20:
		return &ComputeDrop{Name: randName(r)}
	case 21:
		return &ComputeList{}
	case 0:
		return &Track{Event: randWordWhere(r, validName), IDs: randIDs(r, 1), At: randTimePtr(r),
			From: maybe(r, randWordWhere(r, validName)), Props: randProps(r)}
	case 1:
		return &Merge{IDs: randIDs(r, 2), At: randTimePtr(r), From: maybe(r, randWordWhere(r, validName))}
	case 2:
		s := &Set{ID: randID(r), At: randTimePtr(r)}
		for range 1 + r.IntN(3) {
			s.Traits = append(s.Traits, Trait{Name: randName(r), Value: randWord(r)})
		}
		return s
	case 3:
		return &Consent{ID: randID(r), Purpose: randName(r), Grant: r.IntN(2) == 0, At: randTimePtr(r)}
	case 4:
		return &Who{ID: randID(r)}
	case 5:
		return &Why{A: randID(r), B: randID(r)}
	case 6:
		return &Timeline{ID: randID(r), Limit: r.IntN(maxTimelinePage + 1), Before: randTimePtr(r)}
	case 7:
		return &Unlink{A: randID(r), B: randID(r)}
	case 8:
		return &Forget{ID: randID(r), Suppress: r.IntN(2) == 0}
	case 9:
		return &SegmentCount{Expr: randExpr(r, 4), AsOf: randTimePtr(r)}
	case 10:
		return &SegmentIDs{Expr: randExpr(r, 4), AsOf: randTimePtr(r), Limit: r.IntN(maxSegmentPage + 1), After: r.Uint32()}
	case 11:
		return &SegmentSave{Name: randName(r), Expr: randExpr(r, 4)}
	case 12:
		return &SegmentDrop{Name: randName(r)}
	case 13:
		return &SegmentList{}
	case 14:
		return &Types{}
	case 15:
		return &TypesDeclare{Name: randType(r), Limit: 1 + r.IntN(maxTypeLimit), Priority: 1 + r.IntN(maxPriority),
			Exclusive: r.IntN(2) == 0, Normalize: []string{"trim", "lower", "upper", "phone"}[r.IntN(4)]}
	case 16:
		return &Info{Section: randWord(r)}
	}
	return &Ping{Msg: randWord(r)}
}

func randExpr(r *rand.Rand, depth int) Expr {
	if depth > 0 {
		switch r.IntN(6) {
		case 0:
			return &Or{L: randExpr(r, depth-1), R: randExpr(r, depth-1)}
		case 1:
			return &And{L: randExpr(r, depth-1), R: randExpr(r, depth-1)}
		case 2:
			return &Not{X: randExpr(r, depth-1)}
		}
	}
	switch r.IntN(6) {
	case 0:
		d := &Did{Event: randWordWhere(r, func(w string) bool { return validName(w) && exprWord(w) })}
		if r.IntN(2) == 0 {
			d.Source = randWordWhere(r, func(w string) bool { return validName(w) && exprWord(w) })
		}
		d.Where = randConds(r)
		if r.IntN(2) == 0 {
			d.Cmp = cmpOps[r.IntN(len(cmpOps))]
			d.N = r.IntN(maxTimes + 1)
		}
		d.Window = randWindow(r)
		return d
	case 5:
		return &Tagged{Tag: randWordWhere(r, func(w string) bool { return validName(w) && exprWord(w) })}
	case 1:
		return &Has{Type: randType(r)}
	case 2:
		return &TraitCmp{Name: randName(r), Op: traitOps[r.IntN(len(traitOps))], Value: randWordWhere(r, exprWord)}
	case 3:
		return &ConsentIs{Purpose: randName(r)}
	}
	return &In{Name: randName(r)}
}

// dump prints an AST as an indented tree, for test failures and the
// scenario file.
func dump(n any) string {
	var b strings.Builder
	dumpTo(&b, n, 0)
	return strings.TrimRight(b.String(), "\n")
}

func dumpTo(b *strings.Builder, n any, depth int) {
	ind := strings.Repeat("  ", depth)
	line := func(format string, args ...any) { fmt.Fprintf(b, ind+format+"\n", args...) }
	tm := func(t *time.Time) string {
		if t == nil {
			return "-"
		}
		return formatTime(*t)
	}
	switch n := n.(type) {
	case nil:
		line("nil")
	case *Track:
		line("Track event=%q ids=%q at=%s from=%q props=%q", n.Event, n.IDs, tm(n.At), n.From, n.Props)
	case *Merge:
		line("Merge ids=%q from=%q", n.IDs, n.From)
	case *Set:
		line("Set id=%q traits=%q at=%s", n.ID, n.Traits, tm(n.At))
	case *Consent:
		line("Consent id=%q purpose=%q grant=%t at=%s", n.ID, n.Purpose, n.Grant, tm(n.At))
	case *Who:
		line("Who id=%q", n.ID)
	case *Why:
		line("Why a=%q b=%q", n.A, n.B)
	case *Timeline:
		line("Timeline id=%q limit=%d before=%s", n.ID, n.Limit, tm(n.Before))
	case *Unlink:
		line("Unlink a=%q b=%q", n.A, n.B)
	case *Forget:
		line("Forget id=%q suppress=%t", n.ID, n.Suppress)
	case *SegmentCount:
		line("SegmentCount asof=%s", tm(n.AsOf))
		dumpTo(b, n.Expr, depth+1)
	case *SegmentIDs:
		line("SegmentIDs asof=%s limit=%d after=%d", tm(n.AsOf), n.Limit, n.After)
		dumpTo(b, n.Expr, depth+1)
	case *SegmentSave:
		line("SegmentSave name=%q", n.Name)
		dumpTo(b, n.Expr, depth+1)
	case *SegmentDrop:
		line("SegmentDrop name=%q", n.Name)
	case *SegmentList:
		line("SegmentList")
	case *Types:
		line("Types")
	case *TypesDeclare:
		line("TypesDeclare name=%q limit=%d priority=%d exclusive=%t normalize=%s",
			n.Name, n.Limit, n.Priority, n.Exclusive, n.Normalize)
	case *Info:
		line("Info section=%q", n.Section)
	case *Ping:
		line("Ping msg=%q", n.Msg)
	case *Or:
		line("Or")
		dumpTo(b, n.L, depth+1)
		dumpTo(b, n.R, depth+1)
	case *And:
		line("And")
		dumpTo(b, n.L, depth+1)
		dumpTo(b, n.R, depth+1)
	case *Not:
		line("Not")
		dumpTo(b, n.X, depth+1)
	case *Did:
		s := fmt.Sprintf("Did event=%q", n.Event)
		if n.Source != "" {
			s += fmt.Sprintf(" source=%q", n.Source)
		}
		for _, c := range n.Where {
			s += fmt.Sprintf(" where[%q %s %q]", c.Path, c.Op, c.Value)
		}
		if n.Cmp != "" {
			s += fmt.Sprintf(" times%s%d", n.Cmp, n.N)
		}
		line("%s%s", s, dumpWindow(n.Window))
	case *Tagged:
		line("Tagged tag=%q", n.Tag)
	case *Tag:
		line("Tag id=%q tags=%q on=%t at=%s", n.ID, n.Tags, n.On, tm(n.At))
	case *Compute:
		line("Compute name=%q kind=%s property=%q event=%q source=%q where=%q terms=%v%s", n.Name, n.Agg.Kind,
			n.Agg.Property, n.Agg.Event, n.Agg.Source, n.Agg.Where, n.Agg.Terms, dumpWindow(n.Agg.Window))
	case *ComputeDrop:
		line("ComputeDrop name=%q", n.Name)
	case *ComputeList:
		line("ComputeList")
	case *Has:
		line("Has type=%q", n.Type)
	case *TraitCmp:
		line("Trait name=%q op=%q value=%q", n.Name, n.Op, n.Value)
	case *ConsentIs:
		line("Consent purpose=%q", n.Purpose)
	case *In:
		line("In name=%q", n.Name)
	default:
		line("%#v", n)
	}
}

func dumpWindow(w Window) string {
	switch w.Kind {
	case WindowWithin:
		return fmt.Sprintf(" within=%dd", w.Days)
	case WindowHours:
		return fmt.Sprintf(" within=%dh", w.Hours)
	case WindowSince:
		return " since=" + formatTime(w.From)
	case WindowBetween:
		return " between=" + formatTime(w.From) + ".." + formatTime(w.To)
	}
	return ""
}

// TestScenarios runs testdata/parse.txt: blocks of a directive ("parse" for
// a statement, "expr" for a segment expression), the input line, "----" and
// the expected output: the printed source and the AST, or the error. Run
// with -update to rewrite the expected output.
func TestScenarios(t *testing.T) {
	const path = "testdata/parse.txt"
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	sc := bufio.NewScanner(f)
	lineNo := 0
	next := func() (string, bool) {
		if !sc.Scan() {
			return "", false
		}
		lineNo++
		return sc.Text(), true
	}
	for {
		l, ok := next()
		if !ok {
			break
		}
		if l == "" || strings.HasPrefix(l, "#") {
			out.WriteString(l + "\n")
			continue
		}
		directive := l
		start := lineNo
		input, ok1 := next()
		sep, ok2 := next()
		if directive != "parse" && directive != "expr" || !ok1 || !ok2 || sep != "----" {
			t.Fatalf("%s:%d: want parse|expr, an input line and ----", path, start)
		}
		var want []string
		for {
			l, ok := next()
			if !ok || l == "" {
				break
			}
			want = append(want, l)
		}
		got := runScenario(directive, input)
		if *update {
			fmt.Fprintf(&out, "%s\n%s\n----\n%s\n\n", directive, input, got)
			continue
		}
		if got != strings.Join(want, "\n") {
			t.Errorf("%s:%d: %s %s\n got:\n%s\n want:\n%s", path, start, directive, input, got, strings.Join(want, "\n"))
		}
	}
	f.Close()
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(path, []byte(strings.TrimRight(out.String(), "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func runScenario(directive, input string) string {
	var (
		n   interface{ String() string }
		err error
	)
	if directive == "parse" {
		n, err = ParseLine(input)
	} else {
		n, err = ParseExprString(input)
	}
	if err != nil {
		return "error: " + err.Error()
	}
	return n.String() + "\n" + dump(n)
}

// TestRandomWordsRoundTrip parses random lists of words drawn from the
// language's own vocabulary (keywords, glued parentheses and comparisons,
// quoted-looking words): errors must be positioned within the statement,
// and every statement that parses must print back to source that parses to
// the same AST.
func TestRandomWordsRoundTrip(t *testing.T) {
	vocab := []string{
		"TRACK", "MERGE", "SET", "CONSENT", "WHO", "WHY", "TIMELINE", "UNLINK", "FORGET", "SEGMENT",
		"TYPES", "INFO", "PING", "COUNT", "IDS", "SAVE", "DROP", "LIST", "DECLARE", "AT", "FROM",
		"PROPS", "GRANT", "DENY", "LIMIT", "BEFORE", "SUPPRESS", "ASOF", "AFTER", "PRIORITY",
		"EXCLUSIVE", "NORMALIZE", "TIMES", "WITHIN", "SINCE", "BETWEEN", "AND", "or", "NOT", "DID",
		"has", "TRAIT", "IN", "(", ")", "((", "))", "(DID", "a)", "a", "email", "a:1", "b:2",
		"x=1", "n=", "age>=30", "age", ">=", "=", "!=", "<", ">=2", "=0", "30", "7d", "0", "1",
		"100000", "2026-01-01T00:00:00Z", "{}", `{"a":1}`, "a b", "(a b)", "a=b c", "", " ",
		"trim", "upper", "'", `"`, "it's", "x(", ")x", "a(b)c", "tier!=gold)", "(NOT", "NOT(",
		"=(a", "a=(b c",
	}
	r := rand.New(rand.NewPCG(3, 4))
	parsed := 0
	for range 200000 {
		words := make([]string, 1+r.IntN(9))
		for j := range words {
			words[j] = vocab[r.IntN(len(vocab))]
		}
		if r.IntN(3) == 0 {
			words[0] = "SEGMENT"
			if len(words) > 1 {
				words[1] = []string{"COUNT", "IDS", "SAVE"}[r.IntN(3)]
			}
		}
		s, err := Parse(words)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Pos < 1 || e.Pos > len(words)+1 {
				t.Fatalf("Parse(%q): bad error %v", words, err)
			}
			continue
		}
		parsed++
		line := s.String()
		if again, err := ParseLine(line); err != nil || !reflect.DeepEqual(again, s) {
			t.Fatalf("Parse(%q) = %s\nprinted %s\nwhich parses to %s, %v", words, dump(s), line, dump(again), err)
		}
	}
	if parsed < 500 {
		t.Fatalf("only %d of the random statements parsed; the generator has drifted", parsed)
	}
}
