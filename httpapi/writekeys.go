package httpapi

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/idgraph/idgraph/engine"
)

// ParseWriteKeys reads a write-key file: one "source=key" a line, where
// source names the channel of what that key sends (web, app, pos …) and key
// is everything after the first "=" (so base64 padding is fine). Blank
// lines and lines starting with # are skipped; white space around either
// part is ignored. A source may have several keys (to rotate them); a key
// may appear once. It returns key → source, and an error naming the line
// for anything else.
func ParseWriteKeys(r io.Reader) (map[string]string, error) {
	keys := make(map[string]string)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 64<<10)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		src, key, ok := strings.Cut(line, "=")
		src, key = strings.TrimSpace(src), strings.TrimSpace(key)
		switch {
		case !ok:
			return nil, fmt.Errorf("write keys, line %d: want source=key, as in web=3f9a…", n)
		case src == "":
			return nil, fmt.Errorf("write keys, line %d: the source is empty", n)
		case key == "":
			return nil, fmt.Errorf("write keys, line %d: the key of source %q is empty", n, src)
		case strings.ContainsFunc(key, isSpaceOrControl):
			return nil, fmt.Errorf("write keys, line %d: the key of source %q contains white space or a control character", n, src)
		}
		if err := validSource(src); err != nil {
			return nil, fmt.Errorf("write keys, line %d: %w", n, err)
		}
		if prev, dup := keys[key]; dup {
			return nil, fmt.Errorf("write keys, line %d: this key is already the key of source %q", n, prev)
		}
		keys[key] = src
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("write keys: %w", err)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("write keys: no source=key line")
	}
	return keys, nil
}

// validSource checks a source name as the engine will: 1 to
// engine.MaxNameLen bytes of UTF-8 without control characters.
func validSource(s string) error {
	switch {
	case len(s) > engine.MaxNameLen:
		return fmt.Errorf("source %.32q… is longer than %d bytes", s, engine.MaxNameLen)
	case !utf8.ValidString(s):
		return fmt.Errorf("source %q is not valid UTF-8", s)
	case strings.ContainsFunc(s, isControl):
		return fmt.Errorf("source %q contains a control character", s)
	}
	return nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

func isSpaceOrControl(r rune) bool { return r == ' ' || isControl(r) }
