package load

import (
	"errors"
	"io"
	"strings"
	"testing"
)

// readAll reads every record of input, collecting line errors as
// "FILE:LINE: reason" strings.
func readAll(t *testing.T, name, input string, opts Options) ([]Record, []string) {
	t.Helper()
	r, err := NewReader(name, strings.NewReader(input), opts)
	if err != nil {
		t.Fatalf("NewReader: %v", err)
	}
	return drain(t, r)
}

func drain(t testing.TB, r *Reader) ([]Record, []string) {
	t.Helper()
	var recs []Record
	var errs []string
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return recs, errs
		}
		var le *LineError
		if errors.As(err, &le) {
			errs = append(errs, le.Error())
			continue
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		recs = append(recs, rec)
	}
}
