package main

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// ga4Testdata is the load package's hand-written GA4 export sample.
func ga4Testdata(name string) string {
	return filepath.Join("..", "..", "load", "testdata", name)
}

// TestLoadGA4Export loads the GA4 sample (web and app rows of one user, an
// Android user with limited ad tracking, a zeroed advertising id, a
// "(not set)" user id) and checks the profiles through WHO and segments.
func TestLoadGA4Export(t *testing.T) {
	dir := t.TempDir()
	out, errb, code := runCmd(t, "load", "--data", dir, "--progress=false", ga4Testdata("ga4-sample.ndjson"))
	if code != 0 {
		t.Fatalf("load exit %d: %s %s", code, out, errb)
	}
	if !strings.HasPrefix(out, "7 lines in ") || !strings.Contains(out, ": 7 events, 0 merges, 0 rejected; 8 ids created, 0 links refused;") {
		t.Fatalf("summary: %s", out)
	}
	who := map[string]string{
		// The web cookie and the iOS app instance merge through user_id; the
		// IDFA comes along; the later trait and consent values win.
		"cookie:1234567890.1793527200": `{"consent":{"ads":"grant","analytics":"grant"},"events":4,"first_seen":"2026-11-01T10:00:00.123Z",` +
			`"ids":["app:A1B2C3D4E5F60718293A4B5C6D7E8F90","cookie:1234567890.1793527200","idfa:aebe52e7-03ee-455a-b3c4-e57283966239","user:C-1001"],` +
			`"last_seen":"2026-11-02T08:00:00.000Z","profile":1,"segments":[],"tags":[],"traits":{"orders":"3","score":"4.5","tier":"platinum"}}`,
		// Limited ad tracking: no AAID.
		"user:C-2002": `{"consent":{"ads":"deny","analytics":"deny"},"events":1,"first_seen":"2026-11-03T09:00:00.000Z",` +
			`"ids":["app:f0e1d2c3b4a5968778695a4b3c2d1e0f","user:C-2002"],"last_seen":"2026-11-03T09:00:00.000Z","profile":3,"segments":[],"tags":[],"traits":{}}`,
		// The zeroed AAID is dropped by the engine's block list.
		"app:0a1b2c3d4e5f60718293a4b5c6d7e8f9": `{"consent":{},"events":1,"first_seen":"2026-11-03T09:01:00.000Z",` +
			`"ids":["app:0a1b2c3d4e5f60718293a4b5c6d7e8f9"],"last_seen":"2026-11-03T09:01:00.000Z","profile":4,"segments":[],"tags":[],"traits":{}}`,
		// user_id "(not set)" is no identifier.
		"cookie:555.666": `{"consent":{},"events":1,"first_seen":"2026-11-03T09:00:00.000Z",` +
			`"ids":["cookie:555.666"],"last_seen":"2026-11-03T09:00:00.000Z","profile":5,"segments":[],"tags":[],"traits":{}}`,
		"aaid:cdda802e-fb9c-47ad-9866-0794d394c912": `null`,
	}
	for id, want := range who {
		out, errb, code := runCmd(t, "query", "--data", dir, "--json", "WHO "+id)
		if code != 0 || strings.TrimSpace(out) != want {
			t.Errorf("WHO %s (exit %d, %s):\n got %s\nwant %s", id, code, errb, strings.TrimSpace(out), want)
		}
	}
	counts := map[string]string{
		"SEGMENT COUNT HAS user":                    "(integer) 2",
		"SEGMENT COUNT HAS app":                     "(integer) 3",
		"SEGMENT COUNT HAS aaid":                    "(integer) 0",
		"SEGMENT COUNT DID purchase FROM web":       "(integer) 1",
		"SEGMENT COUNT DID screen_view FROM app":    "(integer) 1",
		"SEGMENT COUNT DID page_view FROM app":      "(integer) 0",
		"SEGMENT COUNT CONSENT ads":                 "(integer) 1",
		"SEGMENT COUNT TRAIT tier = platinum":       "(integer) 1",
		"SEGMENT COUNT NOT CONSENT analytics":       "(integer) 3", // 4 profiles, 1 granted
		"SEGMENT COUNT DID first_open AND HAS user": "(integer) 1",
	}
	for stmt, want := range counts {
		out, errb, code := runCmd(t, "query", "--data", dir, stmt)
		if code != 0 || strings.TrimSpace(out) != want {
			t.Errorf("%s (exit %d, %s): got %q, want %q", stmt, code, errb, strings.TrimSpace(out), want)
		}
	}
	out, errb, code = runCmd(t, "query", "--data", dir, "--json", "TIMELINE user:C-1001 LIMIT 1")
	want := `[{"cursor":"1793606400000-7","event":"screen_view","ids":["user:C-1001","app:A1B2C3D4E5F60718293A4B5C6D7E8F90","idfa:aebe52e7-03ee-455a-b3c4-e57283966239"],` +
		`"props":"{\"firebase_screen\":\"Home\",\"firebase_screen_id\":-4921234567890}","source":"app","time":"2026-11-02T08:00:00.000Z"}]`
	if code != 0 || strings.TrimSpace(out) != want {
		t.Errorf("TIMELINE (exit %d, %s):\n got %s\nwant %s", code, errb, strings.TrimSpace(out), want)
	}
	if out, _, code := runCmd(t, "check", "--data", dir); code != 0 {
		t.Fatalf("check: %s", out)
	}
}

// TestLoadGA4MalformedRows reports each bad row as FILE:LINE and loads the
// rest.
func TestLoadGA4MalformedRows(t *testing.T) {
	dir := t.TempDir()
	f := ga4Testdata("ga4-malformed.ndjson")
	out, errb, code := runCmd(t, "load", "--data", dir, "--progress=false", "--format", "ga4", f)
	if code != 1 {
		t.Fatalf("exit %d: %s %s", code, out, errb)
	}
	wantErr := f + ":2: not valid JSON: unexpected end of JSON input\n" +
		f + ":3: no identifiers: the row has no user_id, user_pseudo_id or device.advertising_id\n" +
		f + `:4: event_params "ga_session_id": int_value "17935x" is not an integer` + "\n" +
		"idgraph load: 3 line(s) rejected\n"
	if errb != wantErr {
		t.Errorf("stderr:\n got %q\nwant %q", errb, wantErr)
	}
	if !strings.Contains(out, ": 2 events, 0 merges, 3 rejected; 2 ids created,") {
		t.Errorf("summary: %s", out)
	}
	out, _, _ = runCmd(t, "query", "--data", dir, "--json", "WHO user:C-7")
	want := `{"consent":{"ads":"grant","analytics":"grant"},"events":2,"first_seen":"2026-11-01T10:00:00.000Z","ids":["cookie:111.222","user:C-7"],` +
		`"last_seen":"2026-11-01T10:00:04.000Z","profile":1,"segments":[],"tags":[],"traits":{}}`
	if strings.TrimSpace(out) != want {
		t.Errorf("WHO user:C-7:\n got %s\nwant %s", strings.TrimSpace(out), want)
	}
}

func TestLoadFormatFlag(t *testing.T) {
	sample := ga4Testdata("ga4-sample.ndjson")
	t.Run("source overrides the platform", func(t *testing.T) {
		dir := t.TempDir()
		if out, errb, code := runCmd(t, "load", "--data", dir, "--progress=false", "--format", "ga4", "--source", "ga4", sample); code != 0 {
			t.Fatalf("exit %d: %s %s", code, out, errb)
		}
		for stmt, want := range map[string]string{
			"SEGMENT COUNT DID screen_view FROM ga4": "(integer) 1",
			"SEGMENT COUNT DID screen_view FROM app": "(integer) 0",
		} {
			if out, _, _ := runCmd(t, "query", "--data", dir, stmt); strings.TrimSpace(out) != want {
				t.Errorf("%s: %s, want %s", stmt, out, want)
			}
		}
	})
	t.Run("ndjson refuses GA4 rows", func(t *testing.T) {
		out, errb, code := runCmd(t, "load", "--data", t.TempDir(), "--progress=false", "--format", "ndjson", sample)
		if code != 1 || !strings.Contains(errb, sample+`:1: unknown fields "app_info", "device",`) || !strings.Contains(out, "7 rejected") {
			t.Errorf("exit %d: %s %s", code, out, errb)
		}
	})
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--format", "parquet"}, `idgraph load: unknown format "parquet": use auto, ndjson, segment, csv or ga4` + "\n"},
		{[]string{"--csv", "--format", "ga4"}, "idgraph load: --csv contradicts --format ga4\n"},
	} {
		args := append([]string{"load", "--data", t.TempDir(), "--progress=false"}, c.args...)
		out, errb, code := runCmd(t, append(args, sample)...)
		if code != 2 || errb != c.msg {
			t.Errorf("%q: exit %d, stderr %q, want 2 and %q (stdout %s)", c.args, code, errb, c.msg, out)
		}
	}
}

// TestLoadGA4OverTCPEqualsEmbedded loads the sample into a server and into a
// directory and compares the profiles.
func TestLoadGA4OverTCPEqualsEmbedded(t *testing.T) {
	sample := ga4Testdata("ga4-sample.ndjson")
	embDir := t.TempDir()
	if out, errb, code := runCmd(t, "load", "--data", embDir, "--progress=false", sample); code != 0 {
		t.Fatalf("embedded load: %s %s", out, errb)
	}
	addr := startServer(t, t.TempDir())
	if out, errb, code := runCmd(t, "load", "--addr", addr, "--progress=false", sample); code != 0 {
		t.Fatalf("TCP load: %s %s", out, errb)
	}
	for _, id := range []string{"user:C-1001", "user:C-2002", "app:0a1b2c3d4e5f60718293a4b5c6d7e8f9", "cookie:555.666"} {
		emb, _, _ := runCmd(t, "query", "--data", embDir, "--json", "WHO "+id)
		tcp, errb, code := runCmd(t, "query", "--addr", addr, "--json", "WHO "+id)
		var e, got map[string]any
		if code != 0 || json.Unmarshal([]byte(emb), &e) != nil || json.Unmarshal([]byte(tcp), &got) != nil {
			t.Fatalf("WHO %s: embedded %s over TCP %s %s", id, emb, tcp, errb)
		}
		if !reflect.DeepEqual(got, e) {
			t.Errorf("WHO %s: embedded %s over TCP %s", id, emb, tcp)
		}
	}
}
