package cluster

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/idgraph/idgraph/engine"
	"github.com/idgraph/idgraph/query"
)

// Every statement that writes goes through the log and leaves every node
// with the same answers; the rest stays local.
func TestEveryWriteStatementReplicates(t *testing.T) {
	tc := newTestCluster(t, 3)
	// Words split at spaces, except a last word in braces (JSON).
	split := func(line string) []string {
		if i := strings.IndexByte(line, '{'); i >= 0 {
			return append(strings.Fields(line[:i]), line[i:])
		}
		return strings.Fields(line)
	}
	writes := []struct {
		node  int
		words string
	}{
		{0, `TYPES DECLARE loyalty LIMIT 2 PRIORITY 20 NORMALIZE upper`},
		{1, `TRACK signup email:ann@example.com cookie:c1 AT 2026-11-01T10:00:00Z FROM web PROPS {"plan":"pro"}`},
		{2, `TRACK purchase cookie:c1 PROPS {"total":30}`},
		{0, `MERGE email:ann@example.com user:42 loyalty:ab12`},
		{1, `SET user:42 name=Ann tier=gold`},
		{2, `CONSENT email:ann@example.com email GRANT`},
		{0, `SEGMENT SAVE buyers DID purchase`},
		{1, `SEGMENT SAVE gone DID nothing`},
		{2, `SEGMENT DROP gone`},
		{0, `TRACK view cookie:c2 email:bo@example.com`},
		{1, `UNLINK email:ann@example.com cookie:c1`},
		{2, `FORGET email:bo@example.com SUPPRESS`},
		{0, `TRACK view cookie:c3 email:bo@example.com`},
		{1, `RECORD {"event":"renew","ids":["user:42","cookie:c9"],"time":"2026-11-02T10:00:00Z","traits":{"plan":"yearly"},"consent":{"sms":"deny"}}`},
	}
	for _, w := range writes {
		tc.exec(w.node, split(w.words)...)
	}
	tc.converge(0)
	reads := []string{"WHO user:42", "WHO cookie:c1", "WHO cookie:c3", "WHO email:bo@example.com", "TIMELINE user:42",
		"SEGMENT LIST", "SEGMENT COUNT IN buyers", "SEGMENT IDS NOT DID never", "TYPES", "WHY user:42 email:ann@example.com"}
	for _, r := range reads {
		words := split(r)
		want := tc.exec(0, words...).String()
		for i := 1; i < 3; i++ {
			if got := tc.exec(i, words...).String(); got != want {
				t.Errorf("%s on n%d:\n%s\nn1:\n%s", r, i+1, got, want)
			}
		}
	}
	// The suppressed email was dropped from the later TRACK.
	if who := tc.exec(1, "WHO", "cookie:c3").String(); strings.Contains(who, "bo@example.com") {
		t.Errorf("a suppressed identifier came back: %s", who)
	}
}

func TestWritesRefusedOrAnsweredLocally(t *testing.T) {
	tc := newTestCluster(t, 3)
	tc.exec(0, "TRACK", "view", "cookie:c1")
	ctx := context.Background()
	for _, tt := range []struct {
		sess  *query.Session
		words []string
		code  string
	}{
		{&query.Session{ReadOnly: true}, []string{"TRACK", "view", "cookie:x"}, query.CodeReadOnly},
		{nil, []string{"TRACK"}, query.CodeSyntax},
		{nil, []string{"NOSUCH", "thing"}, query.CodeSyntax},
		{nil, []string{"FORGET", "email:nobody@example.com"}, query.CodeNotFound},
		{nil, []string{"FORGET", "nocolon"}, query.CodeBadID},
		{nil, []string{"TRACK", "view", "nocolon"}, query.CodeBadID},
	} {
		_, err := tc.nodes[1].Exec(ctx, tt.sess, tt.words)
		var qe *query.Error
		if !errors.As(err, &qe) || qe.Code != tt.code {
			t.Errorf("%v: %v, want %s", tt.words, err, tt.code)
		}
	}
	before := tc.nodes[1].Status().LastIndex
	if _, err := tc.nodes[1].Exec(ctx, nil, []string{"WHO", "cookie:c1"}); err != nil {
		t.Fatal(err)
	}
	if after := tc.nodes[1].Status().LastIndex; after != before {
		t.Errorf("a read wrote to the log: last index %d → %d", before, after)
	}
	if _, err := tc.nodes[1].Apply(ctx, "", [][]string{{"WHO", "cookie:c1"}}); err == nil {
		t.Error("Apply took a statement that does not write")
	}
}

func TestRecordsReplicateInOneEntry(t *testing.T) {
	tc := newTestCluster(t, 3)
	at := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	recs := []engine.Record{
		{Event: "signup", IDs: []string{"email:rec@example.com", "cookie:r1"}, Time: at, Source: "web",
			Props: []byte(`{"plan":"pro"}`), Traits: []engine.Trait{{Name: "name", Value: "Rec"}}, MessageID: "m-1"},
		{Event: "purchase", IDs: []string{"cookie:r1"}, Consent: map[string]bool{"email": true}, Tags: []string{"vip"}},
		{Event: "signup", IDs: []string{"nocolon"}},
		{Event: "signup", IDs: []string{"email:rec@example.com", "cookie:r1"}, Time: at, MessageID: "m-1"},
	}
	ctx := context.Background()
	var res []engine.Result
	var errs []error
	var err error
	for {
		res, errs, err = tc.nodes[1].ApplyRecords(ctx, recs)
		var qe *query.Error
		if !errors.As(err, &qe) || qe.Code != query.CodeUnavailable {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	if errs[0] != nil || errs[1] != nil || errs[2] == nil || errs[3] != nil || !res[3].Duplicate || res[0].Profile != 1 || res[1].Profile != 1 {
		t.Fatalf("ApplyRecords = %+v, %v", res, errs)
	}
	tc.converge(1)
	for _, r := range []string{"WHO cookie:r1", "TIMELINE cookie:r1"} {
		want := tc.exec(1, strings.Fields(r)...).String()
		for _, i := range []int{0, 2} {
			if got := tc.exec(i, strings.Fields(r)...).String(); got != want {
				t.Errorf("%s on n%d:\n%s\nn2:\n%s", r, i+1, got, want)
			}
		}
	}
	if tl := tc.exec(0, "TIMELINE", "cookie:r1").String(); strings.Count(tl, "signup") != 1 {
		t.Errorf("the duplicate message id was applied again: %s", tl)
	}
}
