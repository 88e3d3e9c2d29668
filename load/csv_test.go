package load

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func csvOpts(ids ...string) Options {
	o := Options{Format: FormatCSV}
	for _, s := range ids {
		c, err := ParseIDColumn(s)
		if err != nil {
			panic(err)
		}
		o.CSV.IDs = append(o.CSV.IDs, c)
	}
	return o
}

func TestCSVRecords(t *testing.T) {
	input := "\ufeffTime,Visitor,email,event,item,note\n" +
		"1437927001434,79,,view,450209,\n" +
		"\n" +
		"2019-10-01 00:00:00 UTC,80,A@B.C,cart,1,\"multi\nline, \"\"quoted\"\"\"\n" +
		"1437927001000,81,,,7,<b>\n"
	o := csvOpts("cookie=visitor", "email=email")
	o.CSV.Event, o.CSV.Time, o.CSV.Source, o.CSV.EventName = "event", "time", "shop", "visit"
	got, errs := readAll(t, "e.csv", input, o)
	if len(errs) != 0 {
		t.Fatalf("errors %q", errs)
	}
	want := []Record{
		{File: "e.csv", Line: 2, Event: "view", IDs: []string{"cookie:79"}, Source: "shop",
			Time: time.UnixMilli(1437927001434), Props: json.RawMessage(`{"item":"450209"}`)},
		{File: "e.csv", Line: 4, Event: "cart", IDs: []string{"cookie:80", "email:A@B.C"}, Source: "shop",
			Time: time.Date(2019, 10, 1, 0, 0, 0, 0, time.UTC), Props: json.RawMessage(`{"item":"1","note":"multi\nline, \"quoted\""}`)},
		{File: "e.csv", Line: 6, Event: "visit", IDs: []string{"cookie:81"}, Source: "shop",
			Time: time.Unix(1437927001, 0), Props: json.RawMessage(`{"item":"7","note":"<b>"}`)},
	}
	assertRecords(t, got, want)
}

// TestCSVTags: the --tags column holds tags separated by commas.
func TestCSVTags(t *testing.T) {
	input := "user_id,labels,plan\n7,\"vip, b2b,,\",gold\n8,,silver\n"
	o := csvOpts("user=user_id")
	o.CSV.Tags = "Labels"
	got, errs := readAll(t, "crm.csv", input, o)
	if len(errs) != 0 {
		t.Fatalf("errors %q", errs)
	}
	assertRecords(t, got, []Record{
		{File: "crm.csv", Line: 2, IDs: []string{"user:7"}, Traits: map[string]string{"plan": "gold"}, Tags: []string{"vip", "b2b"}},
		{File: "crm.csv", Line: 3, IDs: []string{"user:8"}, Traits: map[string]string{"plan": "silver"}},
	})
	o.CSV.Tags = "segments"
	if _, err := newCSVReader("crm.csv", strings.NewReader(input), o.CSV); err == nil || !strings.Contains(err.Error(), `tags column "segments" is not in the header`) {
		t.Errorf("missing tags column: %v", err)
	}
}

// TestCSVWithoutEventSetsTraits: rows with no event are merges, and their
// other columns are traits.
func TestCSVWithoutEventSetsTraits(t *testing.T) {
	input := "user_id,email,name,city\n7,a@b.c,Ann,\n"
	got, errs := readAll(t, "crm.csv", input, csvOpts("user=user_id", "email=email"))
	if len(errs) != 0 {
		t.Fatalf("errors %q", errs)
	}
	assertRecords(t, got, []Record{{File: "crm.csv", Line: 2, IDs: []string{"user:7", "email:a@b.c"},
		Traits: map[string]string{"name": "Ann"}}})
}

// TestCSVTimes: a CSV time cell reads as TRACK ... AT reads the same text
// (engine.ParseTime), unless --time-unit says what its numbers count.
func TestCSVTimes(t *testing.T) {
	cases := []struct {
		in, unit string
		want     time.Time
	}{
		{"2026-11-01T10:00:00Z", "", time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)},
		{"2026-11-01T12:00:00.5+02:00", "", time.Date(2026, 11, 1, 10, 0, 0, 5e8, time.UTC)},
		{"1437927001434", "", time.Date(2015, 7, 26, 16, 10, 1, 434e6, time.UTC)},
		{"0", "", time.Unix(0, 0)},
		{"1437927001", "s", time.Date(2015, 7, 26, 16, 10, 1, 0, time.UTC)},
		{"1437927001434", "ms", time.Date(2015, 7, 26, 16, 10, 1, 434e6, time.UTC)},
		{"86400", "s", time.Unix(86400, 0)},
		{"2019-10-01 00:00:07 UTC", "", time.Date(2019, 10, 1, 0, 0, 7, 0, time.UTC)},
		{"2019-10-01 00:00:07", "", time.Date(2019, 10, 1, 0, 0, 7, 0, time.UTC)},
		{"2019-10-01 00:00:07.25", "", time.Date(2019, 10, 1, 0, 0, 7, 25e7, time.UTC)},
	}
	for _, c := range cases {
		got, reason := parseCSVTime(c.in, c.unit)
		if reason != "" || !got.Equal(c.want) {
			t.Errorf("parseCSVTime(%q, %q) = %v, %q; want %v", c.in, c.unit, got, reason, c.want)
		}
	}
	for _, bad := range []string{"-5", "yesterday", "2019-10-01 00:00:07 CET", "2019-10-01", "01/10/2019 00:00"} {
		if got, reason := parseCSVTime(bad, ""); reason == "" {
			t.Errorf("parseCSVTime(%q) = %v, want rejected", bad, got)
		}
	}
	// Ten digits are Unix seconds or milliseconds: refused, with the hint.
	_, reason := parseCSVTime("1437927001", "")
	want := "time 1437927001 is ambiguous: in Unix seconds it is 2015-07-26T16:10:01Z, in milliseconds 1970-01-17T15:25:27.001Z; write 1437927001000 for those seconds, or an RFC 3339 time (or say which with --time-unit s or ms)"
	if reason != want {
		t.Errorf("ambiguous time:\n got %q\nwant %q", reason, want)
	}
}

func TestCSVRejects(t *testing.T) {
	input := "ts,id,ev,x\n" +
		"1,a,view,1\n" + // 2 ok
		"1,b,view\n" + // 3 too few fields
		"soon,c,view,1\n" + // 4 bad time
		",,view,1\n" + // 5 no id
		"  ,  ,view,1\n" + // 6 blank id
		"1,d,,1\n" + // 7 no event
		"1,e,view,a\"b\n" + // 8 bare quote
		",f,view,1\n" // 9 ok, no time
	o := csvOpts("cookie=id")
	o.CSV.Event, o.CSV.Time = "ev", "ts"
	got, errs := readAll(t, "r.csv", input, o)
	wantErrs := []string{
		"r.csv:3: 3 fields, but the header has 4",
		`r.csv:4: bad time "soon": use RFC 3339, Unix milliseconds (or seconds with --time-unit s), or 2006-01-02 15:04:05 UTC`,
		"r.csv:5: no identifiers: the identifier columns are empty",
		"r.csv:6: no identifiers: the identifier columns are empty",
		`r.csv:7: no event: column "ev" is empty`,
		`r.csv:8: bad CSV: bare " in non-quoted-field`,
	}
	if !reflect.DeepEqual(errs, wantErrs) {
		t.Errorf("errors:\n got %q\nwant %q", errs, wantErrs)
	}
	if len(got) != 2 || got[0].Line != 2 || got[1].Line != 9 || !got[1].Time.IsZero() {
		t.Errorf("records %+v", got)
	}
}

func TestCSVOpenErrors(t *testing.T) {
	cases := []struct {
		input string
		opts  Options
		want  string
	}{
		{"a,b\n1,2\n", csvOpts("cookie=c"), `x.csv: identifier column "c" is not in the header (a,b)`},
		{"a,b\n", Options{Format: FormatCSV, CSV: CSVOptions{IDs: []IDColumn{{"cookie", "a"}}, Time: "t"}}, `x.csv: time column "t" is not in the header (a,b)`},
		{"a,b\n", Options{Format: FormatCSV, CSV: CSVOptions{IDs: []IDColumn{{"cookie", "a"}}, Event: "e"}}, `x.csv: event column "e" is not in the header (a,b)`},
		{"a,b\n", Options{Format: FormatCSV}, "x.csv: CSV needs at least one identifier column (type=column, as in cookie=visitorid)"},
		{"", csvOpts("cookie=a"), "x.csv: CSV has no header line"},
	}
	for _, c := range cases {
		_, err := NewReader("x.csv", strings.NewReader(c.input), c.opts)
		if err == nil || err.Error() != c.want {
			t.Errorf("got %v, want %s", err, c.want)
		}
	}
}

func TestCSVColumnCaseInsensitive(t *testing.T) {
	got, errs := readAll(t, "x.csv", "VisitorId,Event\n5,view\n", Options{CSV: CSVOptions{IDs: []IDColumn{{"cookie", "visitorid"}}, Event: "event"}})
	if len(errs) != 0 || len(got) != 1 || got[0].IDs[0] != "cookie:5" || got[0].Event != "view" {
		t.Fatalf("errors %q records %+v", errs, got)
	}
}

func TestParseIDColumn(t *testing.T) {
	if c, err := ParseIDColumn("cookie=visitorid"); err != nil || c != (IDColumn{"cookie", "visitorid"}) {
		t.Errorf("got %v, %v", c, err)
	}
	if c, err := ParseIDColumn("user=a=b"); err != nil || c != (IDColumn{"user", "a=b"}) {
		t.Errorf("got %v, %v", c, err)
	}
	for _, bad := range []string{"cookie", "=col", "Cookie=x", "1a=x", "cookie=", "a-b=x"} {
		if _, err := ParseIDColumn(bad); err == nil {
			t.Errorf("ParseIDColumn(%q) accepted", bad)
		}
	}
}

// sampleStats are counts computed from the sample with encoding/csv alone,
// to compare with what the Reader produced.
type sampleStats struct {
	rows     int
	perEvent map[string]int
	distinct map[string]int // per column: distinct non-empty values
}

func readSample(t *testing.T, path, eventCol string, idCols ...string) sampleStats {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	s := sampleStats{rows: len(rows) - 1, perEvent: map[string]int{}, distinct: map[string]int{}}
	for _, id := range idCols {
		seen := map[string]bool{}
		for _, r := range rows[1:] {
			if v := r[col[id]]; v != "" {
				seen[v] = true
			}
		}
		s.distinct[id] = len(seen)
	}
	for _, r := range rows[1:] {
		s.perEvent[r[col[eventCol]]]++
	}
	return s
}

func sample(t *testing.T, parts ...string) string {
	p := filepath.Join(append([]string{"..", "..", "shared", "data"}, parts...)...)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("sample %s not available: %v", p, err)
	}
	return p
}

func loadSample(t *testing.T, path string, opts Options) []Record {
	t.Helper()
	r, c, err := Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	recs, errs := drain(t, r)
	if len(errs) != 0 {
		t.Fatalf("%d rejected, first %s", len(errs), errs[0])
	}
	if r.Size() <= 0 || r.BytesRead() != r.Size() {
		t.Errorf("read %d of %d bytes", r.BytesRead(), r.Size())
	}
	return recs
}

func countRecords(recs []Record, typ string) (perEvent map[string]int, distinct int) {
	perEvent = map[string]int{}
	seen := map[string]bool{}
	for _, r := range recs {
		perEvent[r.Event]++
		for _, id := range r.IDs {
			if strings.HasPrefix(id, typ+":") {
				seen[id] = true
			}
		}
	}
	return perEvent, len(seen)
}

func TestRetailrocketSample(t *testing.T) {
	path := sample(t, "retailrocket-sample", "events.csv")
	want := readSample(t, path, "event", "visitorid")
	// The published figures of the sample, as a check on the check.
	if want.rows != 2771 || want.perEvent["view"] != 2695 || want.perEvent["addtocart"] != 62 ||
		want.perEvent["transaction"] != 14 || want.distinct["visitorid"] != 1500 {
		t.Fatalf("sample changed: %+v", want)
	}
	opts := csvOpts("cookie=visitorid")
	opts.Format = FormatAuto // chosen by the .csv name
	opts.CSV.Event, opts.CSV.Time = "event", "timestamp"
	recs := loadSample(t, path, opts)
	perEvent, visitors := countRecords(recs, "cookie")
	if len(recs) != want.rows || visitors != want.distinct["visitorid"] || !reflect.DeepEqual(perEvent, want.perEvent) {
		t.Errorf("got %d records, %d visitors, %v; want %d, %d, %v",
			len(recs), visitors, perEvent, want.rows, want.distinct["visitorid"], want.perEvent)
	}
	first := Record{File: path, Line: 2, Event: "view", IDs: []string{"cookie:79"},
		Time: time.UnixMilli(1437927001434), Props: json.RawMessage(`{"itemid":"450209"}`)}
	assertRecords(t, recs[:1], []Record{first})
	if last := recs[len(recs)-1]; last.Line != 2772 {
		t.Errorf("last record on line %d, want 2772", last.Line)
	}
	withTx := 0
	for _, r := range recs {
		if strings.Contains(string(r.Props), `"transactionid":`) {
			withTx++
		}
	}
	if withTx != 14 {
		t.Errorf("%d records with a transactionid, want 14", withTx)
	}
}

func TestRees46Sample(t *testing.T) {
	path := sample(t, "rees46-head", "events.csv")
	want := readSample(t, path, "event_type", "user_id", "user_session")
	if want.rows != 1000 || want.perEvent["view"] != 987 || want.perEvent["cart"] != 3 ||
		want.perEvent["purchase"] != 10 || want.distinct["user_id"] != 330 || want.distinct["user_session"] != 372 {
		t.Fatalf("sample changed: %+v", want)
	}
	opts := csvOpts("user=user_id", "cookie=user_session")
	opts.CSV.Event, opts.CSV.Time = "event_type", "event_time"
	recs := loadSample(t, path, opts)
	perEvent, sessions := countRecords(recs, "cookie")
	_, users := countRecords(recs, "user")
	if len(recs) != 1000 || users != 330 || sessions != 372 || !reflect.DeepEqual(perEvent, want.perEvent) {
		t.Errorf("got %d records, %d users, %d sessions, %v", len(recs), users, sessions, perEvent)
	}
	first := Record{File: path, Line: 2, Event: "view",
		IDs:   []string{"user:541312140", "cookie:72d76fde-8bb3-4e00-8c23-a032dfed738c"},
		Time:  time.Date(2019, 10, 1, 0, 0, 0, 0, time.UTC),
		Props: json.RawMessage(`{"product_id":"44600062","category_id":"2103807459595387724","brand":"shiseido","price":"35.79"}`)}
	assertRecords(t, recs[:1], []Record{first})
	if last := recs[len(recs)-1]; !last.Time.Equal(time.Date(2019, 10, 1, 0, 17, 26, 0, time.UTC)) {
		t.Errorf("last time %v", last.Time)
	}
}
