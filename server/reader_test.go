package server

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/idgraph/idgraph/query"
)

var testLimits = limits{maxBulk: 64, maxArgs: 8, maxInline: 64, maxCommand: 160}

// readAll reads every command in input and renders them as "a|b|c" lines,
// ending with the error that stopped the reader.
func readAll(input string, lim limits, bufSize int) string {
	r := newReader(bufio.NewReaderSize(iotest.OneByteReader(strings.NewReader(input)), bufSize))
	var out []string
	for {
		args, err := r.read(lim)
		if err != nil {
			var pe *protoError
			switch {
			case errors.As(err, &pe):
				out = append(out, "error: "+pe.Error())
			case err == io.EOF:
				out = append(out, "EOF")
			default:
				out = append(out, "error: "+err.Error())
			}
			return strings.Join(out, "\n")
		}
		words := make([]string, len(args))
		for i, a := range args {
			words[i] = string(a)
		}
		out = append(out, strings.Join(words, "|"))
	}
}

func TestReadCommand(t *testing.T) {
	long := strings.Repeat("x", 64)
	for _, tc := range []struct{ name, in, want string }{
		{"multibulk", "*2\r\n$3\r\nWHO\r\n$11\r\nemail:a@b.c\r\n", "WHO|email:a@b.c\nEOF"},
		{"binary bulk", "*1\r\n$4\r\na\r\nb\r\n", "a\r\nb\nEOF"},
		{"empty bulk", "*2\r\n$0\r\n\r\n$1\r\nx\r\n", "|x\nEOF"},
		{"empty commands", "*0\r\n*-1\r\n\r\n", "\n\n\nEOF"},
		{"inline", "WHO  email:a@b.c\r\nPING\n", "WHO|email:a@b.c\nPING\nEOF"},
		{"inline quotes", `SET "a b" 'c d' "e\"f" 'g\'h' "\x41\n"` + "\n", "SET|a b|c d|e\"f|g'h|A\n\nEOF"},
		{"inline empty quotes", `A "" ''` + "\n", "A||\nEOF"},
		{"inline quote then word", `A "b"c` + "\n", "error: ERR SYNTAX Protocol error: unbalanced quotes in request"},
		{"inline open quote", `A "b` + "\n", "error: ERR SYNTAX Protocol error: unbalanced quotes in request"},
		{"inline at limit", long + "\r\n", long + "\nEOF"},
		{"inline over limit", long + "x\r\n", "error: ERR TOOLARGE inline command longer than 64 bytes"},
		{"bulk at limit", "*1\r\n$64\r\n" + long + "\r\n", long + "\nEOF"},
		{"bulk over limit", "*1\r\n$65\r\n", "error: ERR TOOLARGE bulk length 65 exceeds the limit of 64 bytes"},
		{"args over limit", "*9\r\n", "error: ERR TOOLARGE 9 arguments exceed the limit of 8"},
		{"command at limit", "*3\r\n$64\r\n" + long + "\r\n$64\r\n" + long + "\r\n$32\r\n" + long[:32] + "\r\n",
			long + "|" + long + "|" + long[:32] + "\nEOF"},
		// Refused at the third header: its bytes are never waited for.
		{"command over limit", "*3\r\n$64\r\n" + long + "\r\n$64\r\n" + long + "\r\n$33\r\n",
			"error: ERR TOOLARGE command of more than 161 bytes exceeds the limit of 160 bytes"},
		{"truncated header", "*2\r\n$3", "error: unexpected EOF"},
		{"truncated bulk", "*2\r\n$3\r\nWHO\r\n$5\r\nab", "error: unexpected EOF"},
		{"truncated inline", "PING", "error: unexpected EOF"},
		{"missing CR", "*1\n", "error: ERR SYNTAX Protocol error: malformed header"},
		{"plus sign", "*+1\r\n", "error: ERR SYNTAX Protocol error: invalid length"},
		{"19 digits", "*1234567890123456789\r\n", "error: ERR SYNTAX Protocol error: invalid length"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, size := range []int{16, 4096} { // lines longer and shorter than the bufio buffer
				if got := readAll(tc.in, testLimits, size); got != tc.want {
					t.Errorf("buffer %d:\n got %q\nwant %q", size, got, tc.want)
				}
			}
		})
	}
}

// TestHugeBulkHeaderAllocatesNothing checks that a length header is
// refused before any room is made for what it announces.
func TestHugeBulkHeaderAllocatesNothing(t *testing.T) {
	lim := DefaultOptions()
	in := []byte("*3\r\n$4\r\nECHO\r\n$2147483647\r\n")
	allocs := testing.AllocsPerRun(100, func() {
		r := newReader(bufio.NewReaderSize(bytes.NewReader(in), 64))
		_, err := r.read(limits{maxBulk: lim.MaxBulkLen, maxArgs: lim.MaxArgs, maxInline: lim.MaxInlineLen})
		var pe *protoError
		if !errors.As(err, &pe) || pe.err.Code != query.CodeTooLarge {
			t.Fatalf("err %v, want TOOLARGE", err)
		}
		if cap(r.buf) > 64 {
			t.Fatalf("reader buffer grew to %d bytes", cap(r.buf))
		}
	})
	// The reader, its buffers and the error; nothing proportional to 2 GB.
	if allocs > 12 {
		t.Errorf("%v allocations to refuse a huge bulk", allocs)
	}
}

func TestSteadyStateReadDoesNotAllocate(t *testing.T) {
	in := bytes.Repeat([]byte("*2\r\n$3\r\nWHO\r\n$11\r\nemail:a@b.c\r\n"), 1000)
	src := bytes.NewReader(in)
	r := newReader(bufio.NewReaderSize(src, 4096))
	r.read(testLimits) // warm the buffers up
	allocs := testing.AllocsPerRun(500, func() {
		if _, err := r.read(testLimits); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per command", allocs)
	}
}

func FuzzReadCommand(f *testing.F) {
	for _, seed := range []string{
		"*2\r\n$3\r\nWHO\r\n$11\r\nemail:a@b.c\r\n",
		"PING\r\n",
		`TRACK "a b" 'c' "\x41"` + "\n",
		"*1\r\n$2147483647\r\n",
		"*99999999999\r\n",
		"*3\r\n$1\r\na\r\n$-1\r\n",
		"*1\r\n$3\r\nabcde",
		"\r\n*0\r\n",
		"'unbalanced\r\n",
	} {
		f.Add([]byte(seed))
	}
	lim := limits{maxBulk: 256, maxArgs: 16, maxInline: 512, maxCommand: 1024}
	// One command never holds more than the command limit plus one bulk's
	// CRLF, or an inline line, plus the growth slack of append.
	bound := 2 * (lim.maxCommand + lim.maxInline + 2)
	f.Fuzz(func(t *testing.T, data []byte) {
		r := newReader(bufio.NewReaderSize(bytes.NewReader(data), 64))
		for range 1000 {
			args, err := r.read(lim)
			if cap(r.buf) > bound || cap(r.line) > bound {
				t.Fatalf("buffers grew to %d/%d bytes, bound %d", cap(r.buf), cap(r.line), bound)
			}
			if err != nil {
				return
			}
			if len(args) > lim.maxArgs {
				t.Fatalf("%d arguments, limit %d", len(args), lim.maxArgs)
			}
			total := 0
			for _, a := range args {
				total += len(a)
			}
			if total > max(lim.maxCommand, lim.maxInline) {
				t.Fatalf("command of %d bytes, limit %d", total, lim.maxCommand)
			}
			for _, a := range args {
				if len(a) > max(lim.maxBulk, lim.maxInline) {
					t.Fatalf("argument of %d bytes", len(a))
				}
			}
		}
	})
}
