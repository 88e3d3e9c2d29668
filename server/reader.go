package server

import (
	"bufio"
	"bytes"
	"errors"
	"io"

	"github.com/idgraph/idgraph/query"
)

// limits bound one frame. They are checked against the headers a client
// sends (the argument count, each bulk length, the inline line so far) before
// any memory is set aside for what those headers announce.
type limits struct {
	maxBulk    int // bytes in one bulk string
	maxArgs    int // arguments in one command
	maxInline  int // bytes in one inline command line
	maxCommand int // bytes of all the arguments of one command together
}

// maxHeader is the longest "*<n>\r\n" or "$<n>\r\n" line accepted: the sign,
// 19 digits and some slack. Longer is garbage, whatever the limits.
const maxHeader = 32

// shrinkAbove is the buffer capacity past which a reader drops its argument
// buffer after a command, so one large command does not pin its memory for
// the life of an idle connection.
const shrinkAbove = 64 << 10

// protoError is a frame the server refuses: the client gets err as an error
// reply and is disconnected.
type protoError struct{ err *query.Error }

func (e *protoError) Error() string { return e.err.Error() }

func tooLarge(format string, args ...any) error {
	return &protoError{query.Errorf(query.CodeTooLarge, 0, format, args...)}
}

func garbage(format string, args ...any) error {
	return &protoError{query.Errorf(query.CodeSyntax, 0, "Protocol error: "+format, args...)}
}

// reader reads commands off one connection. It is owned by the connection's
// goroutine. The argument slices it returns point into its own buffer and are
// valid only until the next call to read.
type reader struct {
	br   *bufio.Reader
	buf  []byte   // the arguments' bytes, back to back
	ends []int    // end offset of each argument in buf
	args [][]byte // the returned view of buf
	line []byte   // an inline line that did not fit the bufio buffer
}

func newReader(br *bufio.Reader) *reader { return &reader{br: br} }

// read returns the next command's arguments. An empty command (an empty
// inline line, "*0") returns no arguments and no error. io.EOF means the
// client closed between frames; io.ErrUnexpectedEOF, that it closed inside
// one; a *protoError, that the frame broke a limit or was not RESP.
func (r *reader) read(lim limits) ([][]byte, error) {
	if cap(r.buf) > shrinkAbove {
		r.buf = nil
	}
	r.buf = r.buf[:0]
	r.ends = r.ends[:0]
	b, err := r.br.Peek(1)
	if err != nil {
		return nil, err
	}
	if b[0] == '*' {
		err = r.readMultibulk(lim)
	} else {
		err = r.readInline(lim)
	}
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	r.args = r.args[:0]
	start := 0
	for _, end := range r.ends {
		r.args = append(r.args, r.buf[start:end:end])
		start = end
	}
	return r.args, nil
}

// strings returns the last command's arguments as strings that the
// Executor may keep: one allocation for the bytes, one for the slice.
func (r *reader) strings() []string {
	all := string(r.buf)
	out := make([]string, len(r.ends))
	start := 0
	for i, end := range r.ends {
		out[i] = all[start:end]
		start = end
	}
	return out
}

// header reads a "<prefix><n>\r\n" line and returns n.
func (r *reader) header(prefix byte) (int64, error) {
	line, err := r.readLine(maxHeader)
	if err == errLineTooLong {
		return 0, garbage("header line too long")
	}
	if err != nil {
		return 0, err
	}
	if len(line) < 4 || line[len(line)-2] != '\r' {
		return 0, garbage("malformed header")
	}
	if line[0] != prefix {
		return 0, garbage("expected '%c', got '%c'", prefix, line[0])
	}
	digits := line[1 : len(line)-2]
	neg := false
	if digits[0] == '-' {
		neg = true
		digits = digits[1:]
	}
	if len(digits) == 0 || len(digits) > 18 {
		return 0, garbage("invalid length")
	}
	var n int64
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, garbage("invalid length")
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, nil
}

func (r *reader) readMultibulk(lim limits) error {
	n, err := r.header('*')
	if err != nil {
		return err
	}
	if n <= 0 {
		return nil // "*0" and "*-1" are empty commands, as in Redis
	}
	if n > int64(lim.maxArgs) {
		return tooLarge("%d arguments exceed the limit of %d", n, lim.maxArgs)
	}
	var total int64 // bytes announced so far
	for range n {
		size, err := r.header('$')
		if err != nil {
			return err
		}
		if size < 0 {
			return garbage("invalid bulk length")
		}
		if size > int64(lim.maxBulk) {
			return tooLarge("bulk length %d exceeds the limit of %d bytes", size, lim.maxBulk)
		}
		total += size
		if lim.maxCommand > 0 && total > int64(lim.maxCommand) {
			return tooLarge("command of more than %d bytes exceeds the limit of %d bytes", total, lim.maxCommand)
		}
		// The size is within the limits: room for it (and its CRLF) may be
		// made, never more than the command limit allows. The bytes
		// themselves still have to arrive.
		start := len(r.buf)
		end := start + int(size)
		if cap(r.buf) < end+2 {
			grow := 2 * cap(r.buf)
			if lim.maxCommand > 0 {
				grow = min(grow, lim.maxCommand+2)
			}
			grown := make([]byte, start, max(end+2, grow))
			copy(grown, r.buf)
			r.buf = grown
		}
		r.buf = r.buf[:end+2]
		if _, err := io.ReadFull(r.br, r.buf[start:]); err != nil {
			return err
		}
		if r.buf[end] != '\r' || r.buf[end+1] != '\n' {
			return garbage("bulk string not terminated by CRLF")
		}
		r.buf = r.buf[:end]
		r.ends = append(r.ends, end)
	}
	return nil
}

func (r *reader) readInline(lim limits) error {
	// The line may end in "\r\n": one byte of slack for the "\r".
	line, err := r.readLine(lim.maxInline + 1)
	if err == errLineTooLong {
		return tooLarge("inline command longer than %d bytes", lim.maxInline)
	}
	if err != nil {
		return err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	if len(line) > lim.maxInline {
		return tooLarge("inline command longer than %d bytes", lim.maxInline)
	}
	return r.split(line, lim)
}

var errLineTooLong = errors.New("line too long")

// readLine returns the next line, "\n" included, or errLineTooLong as soon
// as more than max bytes have arrived without one: a client cannot make the
// reader wait for, or keep, more than that. The line is valid until the next
// read.
func (r *reader) readLine(max int) ([]byte, error) {
	r.line = r.line[:0]
	if cap(r.line) > shrinkAbove {
		r.line = nil
	}
	for {
		if r.br.Buffered() == 0 {
			if _, err := r.br.Peek(1); err != nil {
				return nil, err
			}
		}
		chunk, _ := r.br.Peek(r.br.Buffered())
		if i := bytes.IndexByte(chunk, '\n'); i >= 0 {
			if len(r.line)+i > max {
				return nil, errLineTooLong
			}
			r.br.Discard(i + 1)
			if len(r.line) == 0 {
				return chunk[:i+1], nil // still valid: Discard does not refill
			}
			r.line = append(r.line, chunk[:i+1]...)
			return r.line, nil
		}
		if len(r.line)+len(chunk) > max {
			return nil, errLineTooLong
		}
		r.line = append(r.line, chunk...)
		r.br.Discard(len(chunk))
	}
}

// split breaks an inline command into arguments the way redis-server does:
// runs of blanks separate words; "double quotes" take \n \r \t \b \a \\ \"
// and \xHH escapes; 'single quotes' take \' only; a closing quote must be
// followed by a blank or the end of the line.
func (r *reader) split(line []byte, lim limits) error {
	i := 0
	for {
		for i < len(line) && isBlank(line[i]) {
			i++
		}
		if i == len(line) {
			return nil
		}
		if len(r.ends) == lim.maxArgs {
			return tooLarge("more than %d arguments", lim.maxArgs)
		}
		inDouble, inSingle := false, false
	word:
		for ; i < len(line); i++ {
			c := line[i]
			switch {
			case inDouble:
				switch {
				case c == '\\' && i+3 < len(line) && line[i+1] == 'x' && isHex(line[i+2]) && isHex(line[i+3]):
					r.buf = append(r.buf, unhex(line[i+2])<<4|unhex(line[i+3]))
					i += 3
				case c == '\\' && i+1 < len(line):
					i++
					r.buf = append(r.buf, unescape(line[i]))
				case c == '"':
					if i+1 < len(line) && !isBlank(line[i+1]) {
						return garbage("unbalanced quotes in request")
					}
					inDouble = false
					i++
					break word
				default:
					r.buf = append(r.buf, c)
				}
			case inSingle:
				switch {
				case c == '\\' && i+1 < len(line) && line[i+1] == '\'':
					r.buf = append(r.buf, '\'')
					i++
				case c == '\'':
					if i+1 < len(line) && !isBlank(line[i+1]) {
						return garbage("unbalanced quotes in request")
					}
					inSingle = false
					i++
					break word
				default:
					r.buf = append(r.buf, c)
				}
			case isBlank(c):
				break word
			case c == '"':
				inDouble = true
			case c == '\'':
				inSingle = true
			default:
				r.buf = append(r.buf, c)
			}
		}
		if inDouble || inSingle {
			return garbage("unbalanced quotes in request")
		}
		r.ends = append(r.ends, len(r.buf))
	}
}

func unescape(c byte) byte {
	switch c {
	case 'n':
		return '\n'
	case 'r':
		return '\r'
	case 't':
		return '\t'
	case 'b':
		return '\b'
	case 'a':
		return '\a'
	}
	return c
}

func isBlank(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

func isHex(c byte) bool {
	return ('0' <= c && c <= '9') || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F')
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}
