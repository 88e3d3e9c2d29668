package load

import (
	"encoding/csv"
	"errors"
	"fmt"
	"github.com/idgraph/idgraph/engine"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// csvReader maps CSV rows to Records by column position, resolved once from
// the header.
type csvReader struct {
	name  string
	r     *csv.Reader
	opts  CSVOptions
	ncols int

	ids      []csvID
	event    int      // column of the event name, -1 if none
	time     int      // column of the time, -1 if none
	tags     int      // column of the tags, -1 if none
	rest     []int    // columns that become props or traits
	restKeys []string // their header names
	restJSON [][]byte // their header names as JSON object keys with colon
	asTraits bool     // rows carry no event: rest columns are traits
}

type csvID struct {
	typ string
	col int
}

func newCSVReader(name string, in io.Reader, opts CSVOptions) (*csvReader, error) {
	if len(opts.IDs) == 0 {
		return nil, fmt.Errorf("%s: CSV needs at least one identifier column (type=column, as in cookie=visitorid)", name)
	}
	r := csv.NewReader(in)
	r.FieldsPerRecord = -1 // checked per row, so a bad row does not stop the load
	r.ReuseRecord = true
	header, err := r.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("%s: CSV has no header line", name)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: CSV header: %w", name, err)
	}
	header = append([]string(nil), header...)
	header[0] = strings.TrimPrefix(header[0], "\ufeff")
	for i := range header {
		header[i] = strings.TrimSpace(header[i])
	}

	c := &csvReader{name: name, r: r, opts: opts, ncols: len(header), event: -1, time: -1, tags: -1}
	used := make([]bool, len(header))
	find := func(what, col string) (int, error) {
		i := columnIndex(header, col)
		if i < 0 {
			return -1, fmt.Errorf("%s: %s column %q is not in the header (%s)", name, what, col, strings.Join(header, ","))
		}
		used[i] = true
		return i, nil
	}
	for _, id := range opts.IDs {
		if !validType(id.Type) {
			return nil, fmt.Errorf("%s: identifier type %q must be a lower-case letter followed by up to 31 of a-z, 0-9 and _", name, id.Type)
		}
		i, err := find("identifier", id.Column)
		if err != nil {
			return nil, err
		}
		c.ids = append(c.ids, csvID{typ: id.Type, col: i})
	}
	if opts.Event != "" {
		if c.event, err = find("event", opts.Event); err != nil {
			return nil, err
		}
	}
	if opts.Time != "" {
		if c.time, err = find("time", opts.Time); err != nil {
			return nil, err
		}
	}
	if opts.Tags != "" {
		if c.tags, err = find("tags", opts.Tags); err != nil {
			return nil, err
		}
	}
	c.asTraits = opts.Event == "" && opts.EventName == ""
	for i, h := range header {
		if used[i] || h == "" {
			continue
		}
		c.rest = append(c.rest, i)
		c.restKeys = append(c.restKeys, h)
		key := appendJSONString(nil, h)
		c.restJSON = append(c.restJSON, append(key, ':'))
	}
	return c, nil
}

// columnIndex finds col in header: the first exact match, else the only
// match ignoring case; -1 if none.
func columnIndex(header []string, col string) int {
	col = strings.TrimSpace(col)
	for i, h := range header {
		if h == col {
			return i
		}
	}
	found := -1
	for i, h := range header {
		if strings.EqualFold(h, col) {
			if found >= 0 {
				return -1
			}
			found = i
		}
	}
	return found
}

func (c *csvReader) next() (Record, error) {
	row, err := c.r.Read()
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) && isCSVSyntax(pe.Err) {
			return Record{}, &LineError{File: c.name, Line: pe.StartLine, Reason: "bad CSV: " + pe.Err.Error()}
		}
		return Record{}, err
	}
	line, _ := c.r.FieldPos(0)
	fail := func(format string, args ...any) (Record, error) {
		return Record{}, &LineError{File: c.name, Line: line, Reason: fmt.Sprintf(format, args...)}
	}
	if len(row) != c.ncols {
		return fail("%d fields, but the header has %d", len(row), c.ncols)
	}

	rec := Record{File: c.name, Line: line, Source: c.opts.Source}
	for _, id := range c.ids {
		if v := row[id.col]; strings.TrimSpace(v) != "" {
			rec.IDs = append(rec.IDs, id.typ+":"+v)
		}
	}
	if len(rec.IDs) == 0 {
		return fail("no identifiers: the identifier columns are empty")
	}

	rec.Event = c.opts.EventName
	if c.event >= 0 {
		if v := strings.TrimSpace(row[c.event]); v != "" {
			rec.Event = v
		} else if rec.Event == "" {
			return fail("no event: column %q is empty", c.opts.Event)
		}
	}

	if c.time >= 0 {
		if v := strings.TrimSpace(row[c.time]); v != "" {
			t, reason := parseCSVTime(v, c.opts.TimeUnit)
			if reason != "" {
				return fail("%s", reason)
			}
			rec.Time = t
		}
	}

	if c.tags >= 0 {
		for _, t := range strings.Split(row[c.tags], ",") {
			if t = strings.TrimSpace(t); t != "" {
				rec.Tags = append(rec.Tags, t)
			}
		}
	}

	if c.asTraits {
		for j, i := range c.rest {
			if row[i] == "" {
				continue
			}
			if rec.Traits == nil {
				rec.Traits = make(map[string]string, len(c.rest)-j)
			}
			rec.Traits[c.restKeys[j]] = row[i]
		}
		return rec, nil
	}
	var props []byte
	for j, i := range c.rest {
		if row[i] == "" {
			continue
		}
		if props == nil {
			props = append(props, '{')
		} else {
			props = append(props, ',')
		}
		props = append(props, c.restJSON[j]...)
		props = appendJSONString(props, row[i])
	}
	if props != nil {
		rec.Props = append(props, '}')
	}
	return rec, nil
}

func isCSVSyntax(err error) bool {
	return errors.Is(err, csv.ErrQuote) || errors.Is(err, csv.ErrBareQuote) ||
		errors.Is(err, csv.ErrTrailingComma) || errors.Is(err, csv.ErrFieldCount)
}

// csvTimeLayouts are the textual time forms of CSV exports, tried in order
// after RFC 3339. Times without a zone are UTC.
var csvTimeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02 15:04:05.999999999 MST",
	"2006-01-02 15:04:05.999999999",
}

// parseCSVTime reads a time cell: RFC 3339, "2006-01-02 15:04:05" with an
// optional fraction and " UTC", or a number — Unix seconds or milliseconds
// as unit says ("s", "ms"), else by the engine's rule (milliseconds, and a
// number of 10 or 11 digits refused as ambiguous), so that a CSV and a
// TRACK ... AT read the same number the same way. It returns why a cell is
// refused, or "".
func parseCSVTime(s, unit string) (time.Time, string) {
	if isDigits(s) {
		n, err := strconv.ParseInt(s, 10, 64)
		switch {
		case err != nil:
			return time.Time{}, fmt.Sprintf("bad time %q: out of range", s)
		case unit == "s":
			return time.Unix(n, 0).UTC(), ""
		case unit == "ms":
			return time.UnixMilli(n).UTC(), ""
		}
		t, err := engine.ParseTime(s)
		if err != nil {
			var ee *engine.Error
			if errors.As(err, &ee) {
				return time.Time{}, ee.Msg + " (or say which with --time-unit s or ms)"
			}
			return time.Time{}, err.Error()
		}
		return t, ""
	}
	for _, layout := range csvTimeLayouts {
		if layout == csvTimeLayouts[1] && !strings.HasSuffix(s, " UTC") {
			continue // only UTC is unambiguous; Go would invent other zones
		}
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), ""
		}
	}
	return time.Time{}, fmt.Sprintf("bad time %q: use RFC 3339, Unix milliseconds (or seconds with --time-unit s), or 2006-01-02 15:04:05 UTC", s)
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// appendJSONString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD,
// as encoding/json does; HTML characters are left alone.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
