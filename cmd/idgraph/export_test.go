package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// exportStatements make a small store: two signed-up customers with
// emails, consent, a trait, a tag and computed traits, and a saved
// segment. Every time is given, so that any two stores fed them are equal.
var exportStatements = []string{
	"TRACK signup user:1 email:ann@x.io cookie:c1 AT 2026-11-01T10:00:00Z",
	"CONSENT email:ann@x.io email GRANT AT 2026-11-01T10:01:00Z",
	`SET user:1 first_name="Ann, the first" AT 2026-11-01T10:02:00Z`,
	"TRACK signup user:2 email:bob@x.io email:bob2@x.io AT 2026-11-01T11:00:00Z",
	"CONSENT user:2 email DENY AT 2026-11-01T11:01:00Z",
	"TAG user:2 vip AT 2026-11-01T11:02:00Z",
	"TAG user:2 early AT 2026-11-01T11:03:00Z",
	`TRACK purchase user:2 AT 2026-11-02T10:00:00Z PROPS '{"total":12.5}'`,
	"TRACK view cookie:c9 AT 2026-11-03T10:00:00Z",
	"COMPUTE ltv AS SUM total OF purchase",
	"SEGMENT SAVE signed DID signup",
}

func fillStore(t *testing.T, target ...string) {
	t.Helper()
	for _, s := range exportStatements {
		if out, errb, code := runCmd(t, append(append([]string{"query"}, target...), s)...); code != 0 {
			t.Fatalf("%s: exit %d: %s %s", s, code, out, errb)
		}
	}
}

// exportFlags is the export every case of TestExport runs, with its
// expected files.
var exportCases = []struct {
	name string
	args []string
	want string
}{
	{"csv of a saved segment", []string{"--segment", "signed", "--fields", "email,trait:first_name,consent:email,tags,computed:ltv"},
		"profile,email,trait:first_name,consent:email,tags,computed:ltv\n" +
			"1,ann@x.io,\"Ann, the first\",grant,,\n" +
			"2,bob2@x.io;bob@x.io,,deny,early;vip,12.5\n"},
	{"ndjson of an expression at a time", []string{"--segment", "DID signup WITHIN 7d AND NOT DID view", "--asof", "2026-11-05T00:00:00Z",
		"--fields", "email,computed:ltv,trait:first_name", "--format", "ndjson"},
		`{"profile":1,"email":["ann@x.io"],"computed:ltv":null,"trait:first_name":"Ann, the first"}` + "\n" +
			`{"profile":2,"email":["bob2@x.io","bob@x.io"],"computed:ltv":12.5,"trait:first_name":null}` + "\n"},
	{"pages of one", []string{"--segment", "signed", "--fields", "email,tags", "--page", "1"},
		"profile,email,tags\n1,ann@x.io,\n2,bob2@x.io;bob@x.io,early;vip\n"},
	{"no fields, nobody", []string{"--segment", "DID signup WITHIN 7d", "--asof", "2026-12-01T00:00:00Z"}, "profile\n"},
}

// TestExport writes each case's file from a store directory and from a
// server fed the same statements: the files are as expected, and the same
// byte for byte.
func TestExport(t *testing.T) {
	dataDir := t.TempDir()
	fillStore(t, "--data", dataDir)
	addr, _ := serveInProcess(t, t.TempDir(), "--http", "")
	fillStore(t, "--addr", addr)
	for _, c := range exportCases {
		for _, where := range [][]string{{"--data", dataDir}, {"--addr", addr}} {
			out := filepath.Join(t.TempDir(), "members")
			args := append(append(append([]string{"export"}, where...), c.args...), "--out", out, "--progress=false")
			stdout, errb, code := runCmd(t, args...)
			got, err := os.ReadFile(out)
			if code != 0 || err != nil || stdout != "" {
				t.Fatalf("%s %s: exit %d, %v: %s %s", c.name, where[0], code, err, stdout, errb)
			}
			if string(got) != c.want {
				t.Errorf("%s %s:\n got %q\nwant %q", c.name, where[0], got, c.want)
			}
			if !strings.HasPrefix(errb, "exported ") || !strings.Contains(errb, " profiles to "+out) {
				t.Errorf("%s %s: stderr %q", c.name, where[0], errb)
			}
			if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("%s: the file's mode is %v, want 0600 (%v)", c.name, fi.Mode().Perm(), err)
			}
			if _, err := os.Stat(out + ".tmp"); err == nil {
				t.Errorf("%s: %s.tmp left behind", c.name, out)
			}
		}
	}
	// Without --out the file goes to standard output.
	stdout, _, code := runCmd(t, "export", "--data", dataDir, "--segment", "signed", "--fields", "email,tags", "--progress=false")
	if code != 0 || stdout != exportCases[2].want {
		t.Errorf("to standard output: exit %d, %q", code, stdout)
	}
}

// TestExportErrors: mistakes are refused with a message that names the
// flag, the exit status says whose mistake it is, and no file is left.
func TestExportErrors(t *testing.T) {
	dataDir := t.TempDir()
	fillStore(t, "--data", dataDir)
	outDir := t.TempDir()
	out := filepath.Join(outDir, "members.csv")
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--segment", "nosuch"}, 1, `ERR NOTFOUND no segment named "nosuch" (see SEGMENT LIST)`},
		{[]string{"--segment", "signed", "--fields", "email,email:x"}, 2,
			`--fields: unknown field "email:x": a field is an identifier type (email), trait:<name>, computed:<name>, consent:<purpose> or tags`},
		{[]string{"--segment", "DID signup AND AND"}, 2, "--segment, word 4: expected an atom after AND, found AND"},
		{[]string{"--segment", "DID signup WITHIN"}, 2,
			"--segment: expected a number of days like 30d or of hours like 24h after WITHIN, found the end of the statement"},
		{[]string{"--segment", "signed", "--asof", "yesterday"}, 2, `--asof: bad time "yesterday": use RFC 3339 or Unix milliseconds`},
		{[]string{"--segment", "signed", "--format", "xlsx"}, 2, `unknown --format "xlsx": use csv or ndjson`},
		{[]string{"--segment", "signed", "--page", "0"}, 2, "--page 0: give 1 to 100000"},
		{[]string{"--fields", "email"}, 2, "give --segment NAME (a saved segment) or --segment 'EXPR' (an expression such as 'DID purchase WITHIN 30d')"},
		{[]string{"--segment", "signed", "--out", filepath.Join(outDir, "no", "such", "dir.csv")}, 1,
			"--out: open " + filepath.Join(outDir, "no", "such", "dir.csv.tmp") + ": no such file or directory"},
	} {
		args := append([]string{"export", "--data", dataDir, "--out", out, "--progress=false"}, c.args...)
		stdout, errb, code := runCmd(t, args...)
		if code != c.code || errb != "idgraph export: "+c.msg+"\n" {
			t.Errorf("%q: exit %d, stderr %q; want %d and %q (stdout %q)", c.args, code, errb, c.code, c.msg, stdout)
		}
		if left, _ := os.ReadDir(outDir); len(left) != 0 {
			t.Fatalf("%q left %v behind", c.args, left)
		}
	}
	missing := filepath.Join(t.TempDir(), "nostore")
	if _, errb, code := runCmd(t, "export", "--data", missing, "--segment", "signed"); code != 1 ||
		errb != "idgraph export: no store at "+missing+": the directory does not exist\n" {
		t.Errorf("a missing store: exit %d, %q", code, errb)
	}
}
