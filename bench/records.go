package bench

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"
)

// Record is one line of the load format, as the baselines need it.
type Record struct {
	Event   string            `json:"event,omitempty"`
	IDs     []string          `json:"ids"`
	Time    int64             `json:"-"` // Unix ms; 0 when not given
	Source  string            `json:"source,omitempty"`
	Props   json.RawMessage   `json:"props,omitempty"`
	Consent map[string]string `json:"consent,omitempty"` // purpose → "grant" or "deny"
	Traits  map[string]any    `json:"traits,omitempty"`
}

// ReadRecords calls fn for each non-blank line of NDJSON in the load format
// (time as Unix ms or RFC 3339). fn may keep the record; an error from fn
// stops reading and is returned.
func ReadRecords(r io.Reader, fn func(*Record) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	var line struct {
		Record
		RawTime json.RawMessage `json:"time"`
	}
	for n := 1; sc.Scan(); n++ {
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		line.Record, line.RawTime = Record{}, nil
		if err := json.Unmarshal(b, &line); err != nil {
			return fmt.Errorf("line %d: %w", n, err)
		}
		rec := line.Record
		if len(line.RawTime) > 0 {
			t, err := parseTime(line.RawTime)
			if err != nil {
				return fmt.Errorf("line %d: %w", n, err)
			}
			rec.Time = t
		}
		if err := fn(&rec); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read records: %w", err)
	}
	return nil
}

func parseTime(raw json.RawMessage) (int64, error) {
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, err
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return 0, fmt.Errorf("time: %w", err)
		}
		return t.UnixMilli(), nil
	}
	ms, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("time: %w", err)
	}
	return ms, nil
}
