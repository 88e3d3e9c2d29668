package httpapi

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// FuzzSegmentCall feeds request bodies to the tracking API's decoder, as a
// single call and as a batch, and maps every call it returns. The decoder
// must never panic, must agree with encoding/json about what is valid, and
// must never return a call over the limit.
func FuzzSegmentCall(f *testing.F) {
	for _, s := range []string{
		`{"userId":"u1","event":"Order Completed","properties":{"total":30},"messageId":"m1"}`,
		`{"batch":[{"type":"track","anonymousId":"a","event":"x","originalTimestamp":"2026-01-01T00:00:00Z"}],"sentAt":"2026-01-01T00:00:01Z","writeKey":"k"}`,
		`{"batch":[{"type":"identify","userId":42,"traits":{"email":"a@b.c","n":null}},{"type":"alias","userId":"u","previousId":"p"}],"context":{"device":{"id":"d"}}}`,
		`{"type":"page","anonymousId":"a","name":"P","context":{"os":{"name":"iOS"},"device":{"advertisingId":"ad"}}}`,
		`{"a":"\"}\\","b":[1,{"c":"]"}]}`,
		`{"batch":[]}`, `{"batch":{}}`, `[]`, `"x"`, `1e5`, `nul`, `{`, `{"a":}`, `{} {}`, ` `, ``,
		`{"batch":[{"type":"group","userId":"u","groupId":1}],"batch":[]}`,
		`{"batch":[` + strings.Repeat(`{"type":"track","userId":"u","event":"e"},`, 3) + `1]}`,
	} {
		f.Add([]byte(s))
	}
	lim := limits{call: 256, request: 4096}
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) > lim.request {
			return // the MaxBytesReader's business, tested elsewhere
		}
		for _, batch := range []bool{false, true} {
			b, err := decodeBody(bytes.NewReader(in), batch, lim)
			if err != nil {
				if _, ok := err.(*requestError); !ok {
					if _, ok := err.(*callError); !ok {
						t.Fatalf("batch=%v: error of type %T: %v", batch, err, err)
					}
				}
				trimmed := bytes.TrimSpace(in)
				if !batch && json.Valid(in) && len(trimmed) <= lim.call && trimmed[0] == '{' && !strings.Contains(err.Error(), `"writeKey"`) {
					t.Fatalf("a valid object of %d bytes was refused: %v", len(trimmed), err)
				}
				continue
			}
			valid := true
			for _, c := range b.calls {
				if len(c) > lim.call || c[0] != '{' {
					t.Fatalf("batch=%v: bad call %q", batch, c)
				}
				valid = valid && json.Valid(c)
				call := "track"
				if batch {
					call = "batch"
				}
				rec, err := mapCall(c, call, &b, at)
				if err == nil && len(rec.IDs) == 0 {
					t.Fatalf("mapped a call without identifiers: %q", c)
				}
				if (err == nil || !strings.HasPrefix(err.Error(), "not valid JSON")) != json.Valid(c) {
					t.Fatalf("the mapping and encoding/json disagree on %q: %v", c, err)
				}
			}
			// The scanner checks the structure around the calls; the
			// mapping checks each call.
			if valid && !json.Valid(in) {
				t.Fatalf("batch=%v: accepted invalid JSON %q", batch, in)
			}
		}
	})
}

// FuzzWriteKeys: the key-file parser never panics, and what it accepts
// follows its rules.
func FuzzWriteKeys(f *testing.F) {
	for _, s := range []string{"web=abc\n", "# c\n\n app = k==\npos=z", "=x", "w=", "w=a b", "a=1\nb=1", "\x00=\x01"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		keys, err := ParseWriteKeys(strings.NewReader(in))
		if err != nil {
			return
		}
		for k, src := range keys {
			if k == "" || strings.ContainsAny(k, " \t\r\n") || src == "" || validSource(src) != nil {
				t.Fatalf("accepted key %q of source %q", k, src)
			}
		}
	})
}
