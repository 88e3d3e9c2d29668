package webhook_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/idgraph/idgraph/webhook"
)

// FuzzVerify: whatever a request carries, Verify answers without
// panicking, and accepts it only when its signature is the one Sign makes
// for its timestamp and body.
func FuzzVerify(f *testing.F) {
	now := time.Date(2026, 11, 10, 12, 0, 0, 0, time.UTC)
	ts := strconv.FormatInt(now.Unix(), 10)
	body := `{"entries":[{"cursor":1,"kind":"segment.entered","profile":1,"segment":"carts","reason":"data","time":"2026-11-10T12:00:00.000Z"}]}`
	f.Add("k", ts, webhook.Sign([]byte("k"), ts, []byte(body)), body)
	f.Add("k", ts, "sha256=00", body)
	f.Add("k", "not-a-number", webhook.Sign([]byte("k"), "not-a-number", []byte(body)), body)
	f.Add("", "", "", "")
	f.Add("k", "-99999999999999999999", "sha256=", "{}")
	f.Fuzz(func(t *testing.T, secret, timestamp, signature, body string) {
		h := http.Header{}
		h.Set(webhook.HeaderTimestamp, timestamp)
		h.Set(webhook.HeaderSignature, signature)
		err := webhook.Verify([]byte(secret), h, []byte(body), now, 0)
		if err == nil && signature != webhook.Sign([]byte(secret), h.Get(webhook.HeaderTimestamp), []byte(body)) {
			t.Fatalf("Verify accepted signature %q for timestamp %q and body %q", signature, timestamp, body)
		}
	})
}
