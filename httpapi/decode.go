package httpapi

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// body is a tracking request once read: its calls as raw JSON objects, and
// the batch-level fields that apply to all of them.
type body struct {
	calls    []json.RawMessage
	writeKey string          // "writeKey" of the body ("" when absent)
	sentAt   json.RawMessage // batch-level "sentAt", or nil
	context  json.RawMessage // batch-level "context", or nil
}

// requestError is a request the server refuses with 400 as a whole: bad
// JSON outside any call, a request over the limit, a batch without calls.
type requestError struct{ msg string }

func (e *requestError) Error() string { return e.msg }

// callError is one call of a request that cannot be recorded; index is its
// place in the batch, -1 for a single-call endpoint.
type callError struct {
	index int
	msg   string
}

func (e *callError) Error() string {
	if e.index < 0 {
		return e.msg
	}
	return fmt.Sprintf("batch[%d]: %s", e.index, e.msg)
}

// limits bound one request.
type limits struct {
	call    int // bytes of one call
	request int // bytes of the whole body
}

// decodeBody reads a tracking request from r, which the caller has capped
// at lim.request bytes (http.MaxBytesReader): the whole body is one call
// (batch false) or an object whose "batch" array holds the calls. Each
// value is measured as it is read and reading stops as soon as one passes
// its limit (lim.call for a call), so no oversized call is ever held; the
// calls kept are bounded by lim.request.
//
// Errors are *requestError for the body as a whole and *callError naming
// the first call that is not a JSON object or is too large; a call whose
// content is wrong but which is a JSON object is the mapping's business.
func decodeBody(r io.Reader, batch bool, lim limits) (body, error) {
	s := &scanner{br: bufio.NewReaderSize(r, 16<<10), lim: lim, index: -1}
	var b body
	var err error
	if batch {
		err = s.batch(&b)
	} else {
		var raw []byte
		raw, err = s.value(lim.call)
		if err == nil {
			err = s.end()
		}
		if err == nil {
			err = checkObject(raw, -1)
		}
		if err == nil {
			b.calls = []json.RawMessage{raw}
			b.writeKey, err = stringField(raw, "writeKey")
		}
	}
	if err != nil {
		return body{}, s.explain(err)
	}
	return b, nil
}

// errValueTooLarge is returned by scanner.value for a value over its bound.
var errValueTooLarge = errors.New("value too large")

// syntaxError is JSON the scanner cannot delimit.
type syntaxError struct{ msg string }

func (e *syntaxError) Error() string { return e.msg }

// scanner delimits JSON values in a stream. It checks only what it needs to
// find where a value ends (brackets, strings, escapes); encoding/json judges
// each value it returns.
type scanner struct {
	br  *bufio.Reader
	lim limits
	// index is the call being read, for errors (-1 outside the batch array).
	index int
}

// batch reads {"batch":[call, ...], "writeKey": ..., "sentAt": ..., ...}.
// Fields other than batch, writeKey, sentAt and context are read (bounded
// like a call) and ignored.
func (s *scanner) batch(b *body) error {
	s.index = -1
	if err := s.expect('{'); err != nil {
		return err
	}
	seen := map[string]bool{}
	first := true
	for {
		c, err := s.peekNonSpace()
		if err != nil {
			return err
		}
		if c == '}' {
			s.br.ReadByte()
			break
		}
		if !first {
			if err := s.expect(','); err != nil {
				return err
			}
		}
		first = false
		keyRaw, err := s.value(1 << 10)
		if err != nil {
			return err
		}
		var key string
		if json.Unmarshal(keyRaw, &key) != nil {
			return &syntaxError{"an object key must be a string"}
		}
		if err := s.expect(':'); err != nil {
			return err
		}
		if seen[key] {
			return &requestError{fmt.Sprintf("%q appears twice in the body", key)}
		}
		seen[key] = true
		if key == "batch" {
			if err := s.calls(b); err != nil {
				return err
			}
			continue
		}
		raw, err := s.value(s.lim.call)
		if err != nil {
			if errors.Is(err, errValueTooLarge) {
				return &requestError{fmt.Sprintf("%q is larger than %s", key, kb(s.lim.call))}
			}
			return err
		}
		if !json.Valid(raw) {
			return &syntaxError{fmt.Sprintf("%q is not valid JSON", key)}
		}
		switch key {
		case "writeKey":
			if isJSONNull(raw) {
				continue
			}
			if json.Unmarshal(raw, &b.writeKey) != nil {
				return &requestError{`"writeKey" must be a string`}
			}
		case "sentAt":
			if !isJSONNull(raw) {
				b.sentAt = raw
			}
		case "context":
			if isJSONNull(raw) {
				continue
			}
			if raw[0] != '{' {
				return &requestError{`"context" must be a JSON object`}
			}
			b.context = raw
		}
	}
	if err := s.end(); err != nil {
		return err
	}
	if !seen["batch"] {
		return &requestError{`no "batch": /v1/batch takes {"batch":[call, ...]}`}
	}
	if len(b.calls) == 0 {
		return &requestError{`"batch" holds no calls`}
	}
	return nil
}

// calls reads the batch array.
func (s *scanner) calls(b *body) error {
	c, err := s.peekNonSpace()
	if err != nil {
		return err
	}
	if c != '[' {
		return &requestError{`"batch" must be an array of calls`}
	}
	s.br.ReadByte()
	for i := 0; ; i++ {
		c, err := s.peekNonSpace()
		if err != nil {
			return err
		}
		if c == ']' {
			s.br.ReadByte()
			s.index = -1
			return nil
		}
		if i > 0 {
			if err := s.expect(','); err != nil {
				return err
			}
		}
		s.index = i
		raw, err := s.value(s.lim.call)
		if err != nil {
			return err
		}
		if err := checkObject(raw, i); err != nil {
			return err
		}
		b.calls = append(b.calls, raw)
	}
}

// checkObject requires raw to start as a JSON object. Whether it is valid
// JSON is for the mapping to say (it parses the call anyway), so that each
// call is scanned once here and parsed once there.
func checkObject(raw []byte, index int) error {
	if raw[0] != '{' {
		return &callError{index, "a call must be a JSON object"}
	}
	return nil
}

// value reads one JSON value, after optional white space, and returns its
// bytes in fresh memory. It fails with errValueTooLarge as soon as the
// value passes limit bytes.
func (s *scanner) value(limit int) ([]byte, error) {
	c, err := s.peekNonSpace()
	if err != nil {
		return nil, err
	}
	var out []byte
	add := func(b byte) error {
		if len(out) >= limit {
			return errValueTooLarge
		}
		out = append(out, b)
		return nil
	}
	switch {
	case c == '{' || c == '[' || c == '"':
		// Scan what is buffered in one go; take more as needed.
		depth, inString, escaped := 0, false, false
		if c == '"' {
			depth = 1 // a string ends the value when it closes
		}
		for {
			chunk, err := s.br.Peek(max(1, s.br.Buffered()))
			if len(chunk) == 0 {
				if err == nil {
					err = io.ErrUnexpectedEOF
				}
				return nil, err
			}
			for i, b := range chunk {
				switch {
				case inString && escaped:
					escaped = false
				case inString && b == '\\':
					escaped = true
				case inString && b == '"':
					inString = false
					if c == '"' {
						depth = 0
					}
				case inString:
				case b == '"':
					inString = true
				case b == '{' || b == '[':
					depth++
				case b == '}' || b == ']':
					depth--
				}
				if depth == 0 {
					if len(out)+i+1 > limit {
						return nil, errValueTooLarge
					}
					out = append(out, chunk[:i+1]...)
					s.br.Discard(i + 1)
					return out, nil
				}
			}
			if len(out)+len(chunk) > limit {
				return nil, errValueTooLarge
			}
			out = append(out, chunk...)
			s.br.Discard(len(chunk))
		}
	case c == ',' || c == ':' || c == '}' || c == ']':
		return nil, &syntaxError{fmt.Sprintf("unexpected %q where a value was expected", c)}
	default: // a number, true, false or null: up to the next delimiter
		for {
			b, err := s.br.ReadByte()
			if err == io.EOF {
				return out, nil
			}
			if err != nil {
				return nil, err
			}
			if isDelim(b) {
				s.br.UnreadByte()
				return out, nil
			}
			if err := add(b); err != nil {
				return nil, err
			}
		}
	}
}

func isDelim(b byte) bool {
	switch b {
	case ',', ':', '{', '}', '[', ']', '"', ' ', '\t', '\r', '\n':
		return true
	}
	return false
}

func isSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\r' || b == '\n' }

// peekNonSpace skips white space and returns the next byte without
// consuming it.
func (s *scanner) peekNonSpace() (byte, error) {
	for {
		b, err := s.br.ReadByte()
		if err != nil {
			return 0, err
		}
		if !isSpace(b) {
			s.br.UnreadByte()
			return b, nil
		}
	}
}

// expect consumes white space and then c.
func (s *scanner) expect(c byte) error {
	b, err := s.peekNonSpace()
	if err != nil {
		return err
	}
	if b != c {
		return &syntaxError{fmt.Sprintf("expected %q, found %q", c, b)}
	}
	s.br.ReadByte()
	return nil
}

// end requires nothing but white space after the top-level value.
func (s *scanner) end() error {
	b, err := s.peekNonSpace()
	if err == io.EOF {
		return nil
	}
	if err != nil {
		return err
	}
	return &syntaxError{fmt.Sprintf("unexpected %q after the JSON value", b)}
}

// explain turns a scanning failure into the error the client is sent.
func (s *scanner) explain(err error) error {
	var mbe *http.MaxBytesError
	var se *syntaxError
	var re *requestError
	var ce *callError
	switch {
	case errors.As(err, &re), errors.As(err, &ce):
		return err
	case errors.As(err, &mbe):
		return &requestError{fmt.Sprintf("request larger than %s", kb(s.lim.request))}
	case errors.Is(err, errValueTooLarge):
		return &callError{s.index, fmt.Sprintf("call larger than %s", kb(s.lim.call))}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return s.at(&requestError{"not valid JSON: unexpected end of the body"})
	case errors.As(err, &se):
		return s.at(&requestError{"not valid JSON: " + se.msg})
	}
	return &requestError{"reading the body: " + err.Error()}
}

// at names the call being read, if any.
func (s *scanner) at(e *requestError) error {
	if s.index >= 0 {
		return &callError{s.index, e.msg}
	}
	return e
}

// stringField returns obj[key] when it is a string; a missing or null
// field gives "".
func stringField(obj []byte, key string) (string, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(obj, &m); err != nil {
		return "", nil // the mapping reports it
	}
	raw, ok := m[key]
	if !ok || isJSONNull(raw) {
		return "", nil
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", &requestError{fmt.Sprintf("%q must be a string", key)}
	}
	return s, nil
}

func isJSONNull(raw []byte) bool { return string(bytes.TrimSpace(raw)) == "null" }

// kb renders a byte limit as Segment states its limits.
func kb(n int) string {
	if n%1024 == 0 {
		return fmt.Sprintf("%d KB", n/1024)
	}
	return fmt.Sprintf("%d bytes", n)
}
