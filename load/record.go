package load

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Record is one line of input in neutral form: the identifiers seen
// together, and optionally an event, traits and consent decisions. The loader
// does not normalise or validate identifiers; the engine does, with the same
// rules as for the TRACK, MERGE, SET and CONSENT statements.
type Record struct {
	// File and Line say where the record came from. Line is 1-based; for CSV
	// it is the line the row starts on, the header being line 1.
	File string
	Line int

	// Event is the event name, or "" for a record that only links its
	// identifiers and sets traits or consent (identify, alias, merge).
	Event string

	// IDs are "type:value" identifiers as given, never empty.
	IDs []string

	// Time is when the event happened; the zero Time means not given, and the
	// engine uses the time of loading.
	Time time.Time

	// Source names the channel the data came from; "" means not given.
	Source string

	// Props is the event's properties as a compact JSON object, or nil.
	Props json.RawMessage

	// Traits are profile traits to set on the profile of IDs[0]. JSON numbers
	// keep their literal text; booleans are "true" or "false". Nil if none.
	Traits map[string]string

	// Consent maps a purpose to its decision: true grants, false denies.
	// Nil if none.
	Consent map[string]bool

	// Tags are put on the profile of IDs[0] (as TAG does), at Time. Nil if
	// none.
	Tags []string

	// MessageID is the sender's id of the call (Segment's messageId), or
	// "". The engine applies a record with a MessageID once within its
	// de-duplication window (engine.Options.DedupWindow), so a call sent
	// twice — an SDK retry, a file loaded again — counts once.
	MessageID string
}

// LineError reports a line that could not be turned into a Record. The
// Reader that returned it carries on with the next line.
type LineError struct {
	File   string
	Line   int
	Reason string
}

func (e *LineError) Error() string {
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Reason)
}

// Format selects how input is parsed.
type Format int

const (
	// FormatAuto reads files named *.csv or *.csv.gz as CSV and anything
	// else as NDJSON, deciding per line between Segment calls, GA4 export
	// rows and this project's own shape.
	FormatAuto Format = iota
	// FormatNDJSON reads every line as this project's own event shape.
	FormatNDJSON
	// FormatSegment reads every line as a Segment-spec call.
	FormatSegment
	// FormatCSV reads CSV with a header line, mapped by Options.CSV.
	FormatCSV
	// FormatGA4 reads every line as a row of the GA4 BigQuery export
	// (bq extract --destination_format NEWLINE_DELIMITED_JSON).
	FormatGA4
)

func (f Format) String() string {
	switch f {
	case FormatAuto:
		return "auto"
	case FormatNDJSON:
		return "ndjson"
	case FormatSegment:
		return "segment"
	case FormatCSV:
		return "csv"
	case FormatGA4:
		return "ga4"
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// ParseFormat returns the Format named by s, as the String method writes it
// ("auto", "ndjson", "segment", "csv", "ga4").
func ParseFormat(s string) (Format, error) {
	for f := FormatAuto; f <= FormatGA4; f++ {
		if s == f.String() {
			return f, nil
		}
	}
	return FormatAuto, fmt.Errorf("unknown format %q: use auto, ndjson, segment, csv or ga4", s)
}

// Options configures a Reader. The zero value reads NDJSON, Segment calls
// or GA4 export rows, detected per line; CSV needs at least one IDColumn.
type Options struct {
	Format Format
	CSV    CSVOptions
	GA4    GA4Options // used for GA4 rows, whether forced or detected
}

// CSVOptions maps CSV columns onto a Record. Columns are named as in the
// header line (an exact match first, else the one column that matches
// ignoring case). Columns not mapped here become the event's properties, or
// the profile's traits when rows carry no event.
type CSVOptions struct {
	// IDs lists the identifier columns; at least one is required. A row
	// needs at least one non-empty identifier cell.
	IDs []IDColumn

	// Event is the column holding the event name. An empty cell falls back
	// to EventName, and is an error without it.
	Event string

	// Time is the column holding the event time: RFC 3339, a number, or
	// "2006-01-02 15:04:05" with an optional fraction and an optional " UTC".
	// An empty cell means not given.
	Time string

	// TimeUnit says what a number in the time column counts: "s" (Unix
	// seconds), "ms" (milliseconds), or "" for the engine's rule, as TRACK
	// ... AT reads it: milliseconds, a number of 10 or 11 digits refused as
	// ambiguous.
	TimeUnit string

	// EventName is the event name for every row when there is no Event
	// column, or when its cell is empty. With neither, each row is a merge
	// of its identifiers and the remaining columns are traits.
	EventName string

	// Source is the source given to every row.
	Source string

	// Tags is the column holding tags to put on the row's profile,
	// separated by commas ("vip, b2b"); spaces around a tag are trimmed
	// and empty ones skipped.
	Tags string
}

// IDColumn maps a CSV column to an identifier type.
type IDColumn struct {
	Type   string // identifier type, e.g. "cookie"
	Column string // column name in the header
}

func (c IDColumn) String() string { return c.Type + "=" + c.Column }

// ParseIDColumn parses the "type=column" form of the --id flag, as in
// "cookie=visitorid".
func ParseIDColumn(s string) (IDColumn, error) {
	typ, col, ok := strings.Cut(s, "=")
	if !ok {
		return IDColumn{}, fmt.Errorf("id column %q: want type=column, as in cookie=visitorid", s)
	}
	if !validType(typ) {
		return IDColumn{}, fmt.Errorf("id column %q: type %q must be a lower-case letter followed by up to 31 of a-z, 0-9 and _", s, typ)
	}
	if col == "" {
		return IDColumn{}, fmt.Errorf("id column %q: column name is empty", s)
	}
	return IDColumn{Type: typ, Column: col}, nil
}

// validType reports whether t has the syntax of an identifier type,
// [a-z][a-z0-9_]{0,31}. Whether the type is known is the engine's business.
func validType(t string) bool {
	if len(t) == 0 || len(t) > 32 || t[0] < 'a' || t[0] > 'z' {
		return false
	}
	for i := 1; i < len(t); i++ {
		c := t[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}
