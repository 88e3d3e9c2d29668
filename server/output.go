package server

import (
	"errors"
	"math"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/idgraph/idgraph/query"
)

// errSoftLimit ends a connection whose unsent replies stayed above the soft
// output limit for the soft time.
var errSoftLimit = errors.New("client output buffer above the soft limit for too long")

// outConn is the socket side of a connection's writer: the bufio.Writer
// flushes into it. It keeps count of what has reached the socket, so that
// the bytes the server still holds for the client — the rest of the reply
// being written and what is buffered — are known, and it applies the soft
// output limit through the write deadline. It is owned by the connection's
// goroutine.
type outConn struct {
	nc  net.Conn
	lim OutputLimit
	now func() time.Time

	sent      int64     // bytes accepted by the socket
	replyEnd  int64     // offset, in bytes ever buffered, at which the reply being written ends
	idle      time.Time // the connection's idle deadline (zero: none), set with SetDeadline by serve
	cur       time.Time // the write deadline now in force
	softSince time.Time // when the held bytes went above Soft; zero while below
	err       error     // the first write error; the connection is done
}

// setIdle records the deadline that serve has just set on the socket for
// both directions.
func (o *outConn) setIdle(t time.Time) { o.idle, o.cur = t, t }

// held is the bytes not yet taken by the socket, given that buffered bytes
// are waiting in the bufio.Writer.
func (o *outConn) held(buffered int) int64 {
	return max(o.replyEnd, o.sent+int64(buffered)) - o.sent
}

func (o *outConn) Write(p []byte) (int, error) {
	held := max(o.replyEnd-o.sent, int64(len(p)))
	want, bySoft := o.idle, false
	if o.lim.Soft >= 0 && held > o.lim.Soft {
		if o.softSince.IsZero() {
			o.softSince = o.now()
		}
		if t := o.softSince.Add(o.lim.SoftTime); want.IsZero() || t.Before(want) {
			want, bySoft = t, true
		}
	} else {
		o.softSince = time.Time{}
	}
	if !want.Equal(o.cur) {
		o.nc.SetWriteDeadline(want)
		o.cur = want
	}
	n, err := o.nc.Write(p)
	o.sent += int64(n)
	if err != nil && bySoft && errors.Is(err, os.ErrDeadlineExceeded) {
		err = errSoftLimit
	}
	if err != nil && o.err == nil {
		o.err = err
	}
	return n, err
}

// farewell gives a last reply a short while to leave, whatever the idle
// deadline.
func (o *outConn) farewell() {
	o.lim.Soft = -1
	o.setIdle(o.now().Add(farewellTimeout))
	o.nc.SetWriteDeadline(o.idle)
}

// digits is the length of n in decimal, sign included, without allocating.
func digits(n int64) int64 {
	if n == math.MinInt64 {
		return 20
	}
	d := int64(1)
	if n < 0 {
		d, n = 2, -n
	}
	for n >= 10 {
		n /= 10
		d++
	}
	return d
}

// headerSize is the length of "<prefix><n>\r\n".
func headerSize(n int64) int64 { return 1 + digits(n) + 2 }

// encodedSize is the number of bytes writer.value writes for v in proto,
// computed without writing or allocating (but for doubles).
func encodedSize(v query.Value, proto int) int64 {
	switch v.Kind {
	case query.KindNil:
		if proto == 3 {
			return 3
		}
		return 5
	case query.KindStatus, query.KindError:
		return 1 + int64(len(v.Str)) + 2
	case query.KindInt:
		return headerSize(v.Int)
	case query.KindString:
		return headerSize(int64(len(v.Str))) + int64(len(v.Str)) + 2
	case query.KindArray:
		n := headerSize(int64(len(v.Arr)))
		for _, e := range v.Arr {
			n += encodedSize(e, proto)
		}
		return n
	case query.KindMap:
		entries := int64(len(v.Map))
		if proto != 3 {
			entries *= 2
		}
		n := headerSize(entries)
		for _, p := range v.Map {
			n += headerSize(int64(len(p.Key))) + int64(len(p.Key)) + 2
			n += encodedSize(p.Val, proto)
		}
		return n
	case query.KindBool:
		return 4
	case query.KindDouble:
		s := formatDouble(v.Float)
		if proto == 3 {
			return 1 + int64(len(s)) + 2
		}
		return headerSize(int64(len(s))) + int64(len(s)) + 2
	}
	return 1 + int64(len("ERR internal error: unknown reply kind "+strconv.Itoa(int(v.Kind)))) + 2
}

// formatDouble is a double as RESP writes it.
func formatDouble(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case math.IsNaN(f):
		return "nan"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}
