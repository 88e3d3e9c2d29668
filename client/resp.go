package client

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"strconv"
	"time"
)

// Bounds on what the client accepts from a server, so a broken or hostile
// server cannot make it allocate without limit.
const (
	maxReplyBulk  = 512 << 20
	maxReplyArray = 1 << 24
	maxReplyDepth = 64
)

// errProtocol is a reply the client cannot parse; the connection is dropped.
var errProtocol = errors.New("idgraph: protocol error")

// conn is one connection of the pool. It is used by one goroutine at a time:
// the one that took it from the pool.
type conn struct {
	nc          net.Conn
	br          *bufio.Reader
	bw          *bufio.Writer
	broken      bool // not to be reused
	hasDeadline bool
	num         [24]byte
}

func newConn(nc net.Conn) *conn {
	return &conn{nc: nc, br: bufio.NewReaderSize(nc, 16<<10), bw: bufio.NewWriterSize(nc, 8<<10)}
}

func (c *conn) writeHeader(prefix byte, n int) {
	b := append(c.num[:0], prefix)
	b = strconv.AppendInt(b, int64(n), 10)
	b = append(b, '\r', '\n')
	c.bw.Write(b)
}

// writeCommand buffers one command as a RESP array of bulk strings.
func (c *conn) writeCommand(args []string) {
	c.writeHeader('*', len(args))
	for _, a := range args {
		c.writeHeader('$', len(a))
		c.bw.WriteString(a)
		c.bw.WriteString("\r\n")
	}
}

// readReply reads one reply. A server error reply is returned as a Reply
// of type ReplyError, not as err; err is for the transport and the protocol.
func (c *conn) readReply() (Reply, error) { return c.readValue(0) }

func (c *conn) line() ([]byte, error) {
	line, err := c.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		// Status and error lines may exceed the buffer; gather them.
		buf := append([]byte(nil), line...)
		for err == bufio.ErrBufferFull && len(buf) < maxReplyBulk {
			line, err = c.br.ReadSlice('\n')
			buf = append(buf, line...)
		}
		line = buf
	}
	if err != nil {
		return nil, err
	}
	if len(line) < 3 || line[len(line)-2] != '\r' {
		return nil, fmt.Errorf("%w: malformed line %q", errProtocol, line)
	}
	return line[:len(line)-2], nil
}

func parseInt(b []byte) (int64, error) {
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: bad integer %q", errProtocol, b)
	}
	return n, nil
}

func (c *conn) readValue(depth int) (Reply, error) {
	if depth > maxReplyDepth {
		return Reply{}, fmt.Errorf("%w: reply nested too deep", errProtocol)
	}
	line, err := c.line()
	if err != nil {
		return Reply{}, err
	}
	kind, body := line[0], line[1:]
	switch kind {
	case '+':
		return Reply{Type: ReplyStatus, Str: string(body)}, nil
	case '-':
		return Reply{Type: ReplyError, Str: string(body)}, nil
	case ':':
		n, err := parseInt(body)
		return Reply{Type: ReplyInt, Int: n}, err
	case '_':
		return Reply{Type: ReplyNil}, nil
	case '#':
		switch string(body) {
		case "t":
			return Reply{Type: ReplyBool, Int: 1}, nil
		case "f":
			return Reply{Type: ReplyBool}, nil
		}
		return Reply{}, fmt.Errorf("%w: bad boolean %q", errProtocol, body)
	case ',':
		f, err := parseDouble(string(body))
		if err != nil {
			return Reply{}, err
		}
		return Reply{Type: ReplyDouble, Str: string(body), Float: f}, nil
	case '(':
		return Reply{Type: ReplyBigNumber, Str: string(body)}, nil
	case '$', '=', '!':
		n, err := parseInt(body)
		if err != nil {
			return Reply{}, err
		}
		if n < 0 {
			return Reply{Type: ReplyNil}, nil
		}
		if n > maxReplyBulk {
			return Reply{}, fmt.Errorf("%w: bulk of %d bytes", errProtocol, n)
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(c.br, buf); err != nil {
			return Reply{}, err
		}
		if buf[n] != '\r' || buf[n+1] != '\n' {
			return Reply{}, fmt.Errorf("%w: bulk string not terminated by CRLF", errProtocol)
		}
		s := string(buf[:n])
		switch kind {
		case '=': // verbatim string: a three-letter format, ':' and the text
			if len(s) >= 4 && s[3] == ':' {
				s = s[4:]
			}
			return Reply{Type: ReplyVerbatim, Str: s}, nil
		case '!':
			return Reply{Type: ReplyError, Str: s}, nil
		}
		return Reply{Type: ReplyString, Str: s}, nil
	case '|': // attributes, then the reply they annotate
		n, err := parseInt(body)
		if err != nil {
			return Reply{}, err
		}
		if n < 0 || 2*n > maxReplyArray {
			return Reply{}, fmt.Errorf("%w: attributes of %d entries", errProtocol, n)
		}
		attrs := make([]Reply, 2*n)
		for i := range attrs {
			if attrs[i], err = c.readValue(depth + 1); err != nil {
				return Reply{}, err
			}
		}
		r, err := c.readValue(depth)
		r.Attrs = append(attrs, r.Attrs...)
		return r, err
	case '*', '~', '%':
		n, err := parseInt(body)
		if err != nil {
			return Reply{}, err
		}
		if n < 0 {
			return Reply{Type: ReplyNil}, nil
		}
		t := ReplyArray
		switch kind {
		case '~':
			t = ReplySet
		case '%':
			t = ReplyMap
			n *= 2 // key, value, key, value...
		}
		if n > maxReplyArray {
			return Reply{}, fmt.Errorf("%w: array of %d elements", errProtocol, n)
		}
		elems := make([]Reply, n)
		for i := range elems {
			if elems[i], err = c.readValue(depth + 1); err != nil {
				return Reply{}, err
			}
		}
		return Reply{Type: t, Elems: elems}, nil
	}
	return Reply{}, fmt.Errorf("%w: unexpected reply type %q", errProtocol, kind)
}

// parseDouble reads a RESP3 double, including inf, -inf and nan.
func parseDouble(s string) (float64, error) {
	switch s {
	case "inf":
		return math.Inf(1), nil
	case "-inf":
		return math.Inf(-1), nil
	case "nan":
		return math.NaN(), nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: bad double %q", errProtocol, s)
	}
	return f, nil
}

// setDeadline applies the call's deadline, touching the socket only when
// there is one to set or one to clear.
func (c *conn) setDeadline(t time.Time) {
	if t.IsZero() && !c.hasDeadline {
		return
	}
	c.nc.SetDeadline(t)
	c.hasDeadline = !t.IsZero()
}
