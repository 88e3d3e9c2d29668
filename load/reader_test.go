package load

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func gzipBytes(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestGzipNDJSON(t *testing.T) {
	input := `{"event":"a","ids":["cookie:1"]}` + "\n" + `{"bad":1}` + "\n" + `{"type":"track","userId":"u","event":"b"}` + "\n"
	z := gzipBytes(t, input)
	r, err := NewReader("events.ndjson.gz", bytes.NewReader(z), Options{})
	if err != nil {
		t.Fatal(err)
	}
	recs, errs := drain(t, r)
	if len(recs) != 2 || recs[0].Event != "a" || recs[1].Event != "b" || recs[1].Line != 3 {
		t.Errorf("records %+v", recs)
	}
	if len(errs) != 1 || !strings.HasPrefix(errs[0], `events.ndjson.gz:2: unknown field "bad"`) {
		t.Errorf("errors %q", errs)
	}
	if r.BytesRead() != int64(len(z)) {
		t.Errorf("BytesRead %d, want the compressed size %d", r.BytesRead(), len(z))
	}
}

// TestGzipCSVByName opens a .csv.gz file: CSV by its name, gzip by its bytes.
func TestGzipCSVByName(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.csv.gz")
	if err := os.WriteFile(path, gzipBytes(t, "id,ev\n1,view\n2,buy\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r, c, err := Open(path, Options{CSV: CSVOptions{IDs: []IDColumn{{"cookie", "id"}}, Event: "ev"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if r.Format() != FormatCSV {
		t.Errorf("format %v, want csv", r.Format())
	}
	recs, errs := drain(t, r)
	if len(errs) != 0 || len(recs) != 2 || recs[1].Event != "buy" || recs[1].Line != 3 || recs[1].IDs[0] != "cookie:2" {
		t.Errorf("errors %q records %+v", errs, recs)
	}
}

// TestCorruptGzipEndsTheStream: a truncated stream is not a line error; it
// ends the input and every later call repeats it.
func TestCorruptGzipEndsTheStream(t *testing.T) {
	var lines strings.Builder
	for range 2000 {
		lines.WriteString(`{"event":"a","ids":["cookie:1"]}` + "\n")
	}
	z := gzipBytes(t, lines.String())
	r, err := NewReader("t.gz", bytes.NewReader(z[:len(z)-10]), Options{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	var last error
	for {
		_, err := r.Next()
		if err != nil {
			last = err
			break
		}
		n++
	}
	var le *LineError
	if errors.As(last, &le) || errors.Is(last, io.EOF) || !errors.Is(last, io.ErrUnexpectedEOF) {
		t.Fatalf("after %d records: %v, want an unexpected EOF", n, last)
	}
	if _, err := r.Next(); err != last {
		t.Errorf("next call: %v, want the same error", err)
	}
	if !strings.HasPrefix(last.Error(), "t.gz: ") {
		t.Errorf("error %q does not name the file", last)
	}
}

func TestOpenMissingFile(t *testing.T) {
	_, _, err := Open(filepath.Join(t.TempDir(), "nope.ndjson"), Options{})
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("got %v", err)
	}
}

func TestLineErrorFormat(t *testing.T) {
	e := &LineError{File: "a.ndjson", Line: 12, Reason: "no identifiers"}
	if e.Error() != "a.ndjson:12: no identifiers" {
		t.Errorf("got %q", e.Error())
	}
}
