package load

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync/atomic"
)

// maxLine bounds one NDJSON line. A longer line is rejected and skipped, so
// one broken file cannot make the loader hold it all in memory.
const maxLine = 16 << 20

// Reader turns an input stream into Records, one per line (per row for CSV).
// It is not safe for concurrent use, except BytesRead and Size, which a
// progress reporter may call from another goroutine.
type Reader struct {
	name  string
	opts  Options
	count *countingReader // bytes consumed from the underlying stream
	size  int64           // total size of the stream, -1 if unknown

	br   *bufio.Reader // decompressed input (NDJSON)
	line int           // number of the last line read (NDJSON)
	buf  []byte        // line assembly buffer for long lines

	csv *csvReader // non-nil when reading CSV

	err error // sticky error that ends the stream
}

// NewReader returns a Reader of r. The name is used in errors and in
// Record.File, and, with FormatAuto, picks CSV when it ends in .csv or .csv.gz.
// A stream that starts with the gzip magic bytes is decompressed
// transparently. For CSV, NewReader reads the header and fails if a mapped
// column is missing from it.
func NewReader(name string, r io.Reader, opts Options) (*Reader, error) {
	format := opts.Format
	if format == FormatAuto && isCSVName(name) {
		format = FormatCSV
	}
	if format < FormatAuto || format > FormatGA4 {
		return nil, fmt.Errorf("%s: unknown format %v", name, format)
	}
	opts.Format = format
	rd := &Reader{name: name, opts: opts, count: &countingReader{r: r}, size: -1}
	br := bufio.NewReaderSize(rd.count, 64<<10)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("%s: gzip: %w", name, err)
		}
		br = bufio.NewReaderSize(zr, 64<<10)
	}
	rd.br = br
	if format == FormatCSV {
		c, err := newCSVReader(name, br, opts.CSV)
		if err != nil {
			return nil, err
		}
		rd.csv = c
	}
	return rd, nil
}

// Open opens the file at path ("-" for standard input) and returns a Reader
// of it and the Closer that releases the file. Records from standard input
// are named "stdin".
func Open(path string, opts Options) (*Reader, io.Closer, error) {
	if path == "-" {
		r, err := NewReader("stdin", os.Stdin, opts)
		if err != nil {
			return nil, nil, err
		}
		return r, nopCloser{}, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	r, err := NewReader(path, f, opts)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		r.size = st.Size()
	}
	return r, f, nil
}

// Name returns the name the Reader was created with.
func (r *Reader) Name() string { return r.name }

// Format returns the format in use, never FormatAuto for CSV. For NDJSON
// read with FormatAuto it stays FormatAuto: the shape is decided per line.
func (r *Reader) Format() Format { return r.opts.Format }

// BytesRead returns how many bytes of the underlying stream have been
// consumed so far (compressed bytes for gzip input). It is safe to call from
// any goroutine.
func (r *Reader) BytesRead() int64 { return r.count.n.Load() }

// Size returns the size in bytes of the file opened by Open, or -1 when it is
// unknown (standard input, a pipe, or a Reader made by NewReader).
func (r *Reader) Size() int64 { return r.size }

// Next returns the next Record. At the end of the input it returns io.EOF.
// A line that cannot be parsed returns a *LineError, and the following call
// continues with the next line. Any other error (a read error, a corrupt
// gzip stream) ends the input and is returned by every later call.
func (r *Reader) Next() (Record, error) {
	if r.err != nil {
		return Record{}, r.err
	}
	var rec Record
	var err error
	if r.csv != nil {
		rec, err = r.csv.next()
	} else {
		rec, err = r.nextJSON()
	}
	if err != nil {
		var le *LineError
		if !errors.As(err, &le) {
			if err != io.EOF {
				err = fmt.Errorf("%s: %w", r.name, err)
			}
			r.err = err
		}
	}
	return rec, err
}

// nextJSON reads lines until one is not blank and parses it.
func (r *Reader) nextJSON() (Record, error) {
	for {
		line, err := r.readLine()
		if err != nil {
			return Record{}, err
		}
		if line == nil {
			return Record{}, r.lineError("line longer than %d MiB", maxLine>>20)
		}
		if r.line == 1 {
			line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf"))
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		rec, reason := parseJSONLine(line, r.opts)
		if reason != "" {
			return Record{}, &LineError{File: r.name, Line: r.line, Reason: reason}
		}
		rec.File, rec.Line = r.name, r.line
		return rec, nil
	}
}

// readLine returns the next line without its line ending, valid until the
// next call. It returns a nil line (and nil error) for a line over maxLine,
// having skipped it, and io.EOF after the last line.
func (r *Reader) readLine() ([]byte, error) {
	r.buf = r.buf[:0]
	tooLong := false
	for {
		chunk, err := r.br.ReadSlice('\n')
		if len(chunk) > 0 || err == nil {
			if !tooLong {
				if err == nil && len(r.buf) == 0 {
					r.line++
					return trimEOL(chunk), nil
				}
				if len(r.buf)+len(chunk) > maxLine {
					tooLong, r.buf = true, r.buf[:0]
				} else {
					r.buf = append(r.buf, chunk...)
				}
			}
		}
		switch {
		case err == nil:
			r.line++
			if tooLong {
				return nil, nil
			}
			return trimEOL(r.buf), nil
		case err == bufio.ErrBufferFull:
			continue
		case err == io.EOF:
			if len(r.buf) == 0 && !tooLong {
				return nil, io.EOF
			}
			r.line++
			if tooLong {
				return nil, nil
			}
			return trimEOL(r.buf), nil
		default:
			return nil, err
		}
	}
}

func trimEOL(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte("\n"))
	return bytes.TrimSuffix(b, []byte("\r"))
}

func (r *Reader) lineError(format string, args ...any) *LineError {
	return &LineError{File: r.name, Line: r.line, Reason: fmt.Sprintf(format, args...)}
}

func isCSVName(name string) bool {
	n := strings.ToLower(name)
	return strings.HasSuffix(n, ".csv") || strings.HasSuffix(n, ".csv.gz")
}

// countingReader counts the bytes read through it. The Reader's goroutine
// writes n; progress reporters read it.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// nopCloser is the Closer for standard input, which the loader does not own.
type nopCloser struct{}

func (nopCloser) Close() error { return nil }
