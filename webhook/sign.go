package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The headers of a delivery.
const (
	// HeaderTimestamp is the Unix time, in seconds, at which the request
	// was signed.
	HeaderTimestamp = "X-Idgraph-Timestamp"
	// HeaderSignature is "sha256=" and the hex HMAC-SHA256, keyed with
	// the secret, of the timestamp, ".", and the body.
	HeaderSignature = "X-Idgraph-Signature"
	// HeaderWebhook names the webhook (Options.Name).
	HeaderWebhook = "X-Idgraph-Webhook"
)

// DefaultTolerance is how far Verify lets a timestamp be from the
// receiver's clock.
const DefaultTolerance = 5 * time.Minute

// Errors of Verify.
var (
	ErrNoSignature  = errors.New("webhook: the request is not signed")
	ErrBadSignature = errors.New("webhook: the signature does not match")
	ErrStale        = errors.New("webhook: the timestamp is too far from now")
)

// Sign returns the value of HeaderSignature for a body signed at
// timestamp (decimal Unix seconds).
func Sign(secret []byte, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks a delivery as a receiver should: the signature in h
// matches the body under secret, and the signed timestamp is within
// tolerance of now (0: DefaultTolerance). Compare in constant time, as
// Verify does, and verify before parsing the body.
func Verify(secret []byte, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	ts, sig := h.Get(HeaderTimestamp), h.Get(HeaderSignature)
	if ts == "" || sig == "" {
		return ErrNoSignature
	}
	if !strings.HasPrefix(sig, "sha256=") {
		return fmt.Errorf("%w: %s is not sha256=<hex>", ErrBadSignature, HeaderSignature)
	}
	if !hmac.Equal([]byte(sig), []byte(Sign(secret, ts, body))) {
		return ErrBadSignature
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: %s %q is not Unix seconds", ErrBadSignature, HeaderTimestamp, ts)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: signed %v ago, more than %v", ErrStale, d.Round(time.Second), tolerance)
	}
	return nil
}
