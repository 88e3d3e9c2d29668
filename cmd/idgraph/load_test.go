package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/idgraph/idgraph/client"
)

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// The summary of a load over TCP counts the identifiers created, as one
// into --data does.
func TestLoadOverTCPCountsCreatedIDs(t *testing.T) {
	f := writeFile(t, "in.ndjson", `{"event":"view","ids":["cookie:a","email:a@x.io"]}
{"event":"view","ids":["cookie:a"]}
{"ids":["cookie:b","cookie:a"]}
`)
	addr := startServer(t, t.TempDir())
	out, errb, code := runCmd(t, "load", "--addr", addr, "--progress=false", f)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb)
	}
	if !strings.Contains(out, "; 3 ids created,") {
		t.Errorf("summary: %s", out)
	}
	out, _, _ = runCmd(t, "load", "--data", t.TempDir(), "--progress=false", f)
	if !strings.Contains(out, "; 3 ids created,") {
		t.Errorf("embedded summary: %s", out)
	}
}

// Without the password a server wants, the load stops before its first
// line, saying why.
func TestLoadOverTCPChecksAuthFirst(t *testing.T) {
	f := writeFile(t, "in.ndjson", `{"event":"view","ids":["cookie:a"]}`+"\n")
	dir := t.TempDir()
	pwFile := writeFile(t, "pw", "s3cret\n")
	addr, _ := serveInProcess(t, dir, "--password-file", pwFile)
	out, errb, code := runCmd(t, "load", "--addr", addr, "--progress=false", f)
	if code != 1 || out != "" || !strings.Contains(errb, "requires a password: give --password-file FILE") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errb)
	}
	_, errb, code = runCmd(t, "load", "--addr", addr, "--progress=false", "--password", "wrong", f)
	if code != 1 || !strings.Contains(errb, "the password was refused") {
		t.Fatalf("wrong password: exit %d, stderr %q", code, errb)
	}
	out, errb, code = runCmd(t, "load", "--addr", addr, "--progress=false", "--password-file", pwFile, f)
	if code != 0 || !strings.Contains(out, "1 events") {
		t.Fatalf("with the password: exit %d: %s %s", code, out, errb)
	}
}

// A load stops by itself after 1,000 rejected lines in a row.
func TestLoadStopsAfterManyConsecutiveRejects(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"event":"view","ids":["cookie:first"]}` + "\n")
	for range 1500 {
		b.WriteString(`{"event":"view","ids":["nocolon"]}` + "\n")
	}
	b.WriteString(`{"event":"view","ids":["cookie:last"]}` + "\n")
	f := writeFile(t, "junk.ndjson", b.String())
	for _, target := range [][]string{{"--data", t.TempDir()}, {"--addr", startServer(t, t.TempDir())}} {
		out, errb, code := runCmd(t, append(append([]string{"load", "--progress=false"}, target...), f)...)
		if code != 1 || !strings.Contains(errb, "1000 lines in a row rejected; stopped") {
			t.Fatalf("%s: exit %d: %s", target[0], code, tail(errb))
		}
		if !strings.Contains(out, "1,001 lines") || !strings.Contains(out, "1,000 rejected") {
			t.Errorf("%s summary: %s", target[0], out)
		}
		// With the limit off, every line is tried.
		out, _, code = runCmd(t, append(append([]string{"load", "--progress=false", "--max-consecutive-rejects", "-1"}, target...), f)...)
		if code != 1 || !strings.Contains(out, "1,502 lines") || !strings.Contains(out, "1,500 rejected") {
			t.Errorf("%s without the limit: exit %d: %s", target[0], code, out)
		}
	}
}

func tail(s string) string {
	if len(s) > 500 {
		return "..." + s[len(s)-500:]
	}
	return s
}

// An --id column of a type the store does not know stops the load before
// it starts, in both modes, naming the known types.
func TestLoadRefusesUnknownIDTypeBeforeLoading(t *testing.T) {
	f := writeFile(t, "in.csv", "visitor,ev\nv1,view\nv2,view\n")
	addr := startServer(t, t.TempDir())
	dir := t.TempDir()
	for _, target := range [][]string{{"--data", dir}, {"--addr", addr}} {
		out, errb, code := runCmd(t, append(append([]string{"load", "--progress=false", "--id", "cokie=visitor", "--event", "ev"}, target...), f)...)
		if code != 2 || out != "" || !strings.Contains(errb, `unknown identifier type "cokie"; known types: `) || !strings.Contains(errb, "cookie") {
			t.Errorf("%s: exit %d, stdout %q, stderr %q", target[0], code, out, errb)
		}
	}
	c, err := client.Dial(context.Background(), client.Options{Addr: addr})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if n, err := c.SegmentCount(context.Background(), "DID view", mustParseTime(t, "2100-01-01T00:00:00Z")); err != nil || n != 0 {
		t.Errorf("something was loaded: %d, %v", n, err)
	}
}

// A CSV load must say where its events come from, or that it has none.
func TestLoadCSVRequiresAnEventChoice(t *testing.T) {
	f := writeFile(t, "people.csv", "email,tier\na@x.io,gold\n")
	dir := t.TempDir()
	out, errb, code := runCmd(t, "load", "--data", dir, "--progress=false", "--id", "email=email", f)
	if code != 2 || out != "" || !strings.Contains(errb, "CSV rows need an event: give --event COLUMN or --event-name NAME, or --no-event") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errb)
	}
	if _, errb, code := runCmd(t, "load", "--data", dir, "--progress=false", "--id", "email=email", "--no-event", "--event", "x", f); code != 2 || !strings.Contains(errb, "--no-event contradicts") {
		t.Errorf("--no-event with --event: %d %s", code, errb)
	}
	out, errb, code = runCmd(t, "load", "--data", dir, "--progress=false", "--id", "email=email", "--no-event", f)
	if code != 0 || !strings.Contains(out, "0 events, 1 merges") {
		t.Fatalf("--no-event: exit %d: %s %s", code, out, errb)
	}
	out, _, _ = runCmd(t, "query", "--data", dir, "WHO email:a@x.io")
	if !strings.Contains(out, `tier: "gold"`) {
		t.Errorf("trait not set: %s", out)
	}
}

func mustParseTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true}, {"1048576", 1 << 20, true}, {"64m", 64 << 20, true}, {"64MB", 64 << 20, true},
		{"64MiB", 64 << 20, true}, {"2k", 2048, true}, {"1g", 1 << 30, true}, {"12b", 12, true},
		{"", 0, false}, {"m", 0, false}, {"-1", 0, false}, {"1.5m", 0, false}, {"1t", 0, false},
		{"9223372036854775807g", 0, false}, {"8589934592g", 0, false},
	} {
		got, err := parseSize(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseSize(%q) = %d, %v", tc.in, got, err)
		}
	}
}

func FuzzParseOutputLimit(f *testing.F) {
	for _, s := range []string{"256m 64m 60", "0 0 0", "1m 0 0", "1k 1k 1", "x", "1 2", "9999999999g 1 1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		lim, err := parseOutputLimit(s)
		if err != nil {
			return
		}
		if lim.Hard == 0 || lim.Soft == 0 || (lim.Soft > 0 && lim.SoftTime <= 0) {
			t.Errorf("%q gave %+v", s, lim)
		}
		if n, err := parseSize(strings.Fields(s)[0]); err != nil || (n > 0 && n != lim.Hard) {
			t.Errorf("%q: hard %d, size %d %v", s, lim.Hard, n, err)
		}
	})
}

// Tags in our NDJSON shape and in a CSV --tags column reach the profiles,
// into a directory and over TCP alike.
func TestLoadCarriesTags(t *testing.T) {
	nd := writeFile(t, "in.ndjson", `{"event":"view","ids":["cookie:a"],"time":"2026-11-01T10:00:00Z","tags":["vip","black friday"]}
`)
	csvFile := writeFile(t, "crm.csv", "user_id,labels\n7,\"b2b, vip\"\n")
	addr := startServer(t, t.TempDir())
	dir := t.TempDir()
	for _, where := range [][]string{{"--data", dir}, {"--addr", addr}} {
		for _, args := range [][]string{{nd}, {"--id", "user=user_id", "--tags", "labels", "--no-event", csvFile}} {
			if out, errb, code := runCmd(t, append(append([]string{"load", "--progress=false"}, where...), args...)...); code != 0 {
				t.Fatalf("load %v: exit %d: %s %s", args, code, out, errb)
			}
		}
		for id, want := range map[string]string{"cookie:a": `"tags":["black friday","vip"]`, "user:7": `"tags":["b2b","vip"]`} {
			out, errb, _ := runCmd(t, append(append([]string{"query", "--json"}, where...), "WHO "+id)...)
			if !strings.Contains(out, want) {
				t.Errorf("%v WHO %s: %s %s, want %s", where, id, out, errb, want)
			}
		}
	}
}

// A remote load keeps one chunk in flight while it sends the next; across
// several chunks, a line rejected by the reader and records refused by the
// server, it must load what an embedded load loads and say the same.
func TestLoadOverTCPAcrossChunksEqualsEmbedded(t *testing.T) {
	var b strings.Builder
	for i := range 3500 {
		switch {
		case i == 1500:
			b.WriteString("{not json\n")
		case i%997 == 0:
			fmt.Fprintf(&b, `{"event":"view","ids":["nosuchtype:%d"],"time":%d}`+"\n", i, 1767225600000+int64(i)*1000)
		case i%7 == 0:
			fmt.Fprintf(&b, `{"event":"login","ids":["user:u%d","cookie:c%d"],"time":%d}`+"\n", i%300, i%700, 1767225600000+int64(i)*1000)
		default:
			fmt.Fprintf(&b, `{"event":"view","ids":["cookie:c%d"],"time":%d,"props":{"n":%d}}`+"\n", i%700, 1767225600000+int64(i)*1000, i)
		}
	}
	f := writeFile(t, "in.ndjson", b.String())
	summary := func(out string) string {
		out = strings.TrimSpace(out)
		if i := strings.Index(out, ": "); i >= 0 {
			out = out[i+2:]
		}
		if i := strings.LastIndex(out, "; "); i >= 0 {
			out = out[:i]
		}
		return out
	}
	embDir := t.TempDir()
	emb, _, code := runCmd(t, "load", "--data", embDir, "--progress=false", f)
	if code != 1 && code != 0 {
		t.Fatalf("embedded load: exit %d: %s", code, emb)
	}
	addr := startServer(t, t.TempDir())
	tcp, errb, tcode := runCmd(t, "load", "--addr", addr, "--progress=false", f)
	if tcode != code || summary(tcp) != summary(emb) || !strings.Contains(summary(emb), "5 rejected") {
		t.Fatalf("embedded (exit %d): %s\nover TCP (exit %d): %s %s", code, emb, tcode, tcp, errb)
	}
	for _, id := range []string{"user:u1", "user:u299", "cookie:c0", "cookie:c699"} {
		e, _, _ := runCmd(t, "query", "--data", embDir, "--json", "WHO "+id)
		got, errb, _ := runCmd(t, "query", "--addr", addr, "--json", "WHO "+id)
		var em, gm map[string]any
		if json.Unmarshal([]byte(e), &em) != nil || json.Unmarshal([]byte(got), &gm) != nil || !reflect.DeepEqual(em, gm) {
			t.Errorf("WHO %s: embedded %s over TCP %s %s", id, e, got, errb)
		}
	}
}
