package server

import (
	"bufio"
	"strconv"
	"strings"

	"github.com/idgraph/idgraph/query"
)

// writer encodes replies onto one connection's buffered writer, in RESP2 or
// RESP3. It is owned by the connection's goroutine; write errors are sticky
// in the bufio.Writer and surface at Flush.
type writer struct {
	bw    *bufio.Writer
	proto int      // 2 or 3
	num   [32]byte // scratch for numbers
}

func (w *writer) line(prefix byte, s string) {
	w.bw.WriteByte(prefix)
	w.bw.WriteString(s)
	w.bw.WriteString("\r\n")
}

func (w *writer) header(prefix byte, n int64) {
	b := append(w.num[:0], prefix)
	b = strconv.AppendInt(b, n, 10)
	b = append(b, '\r', '\n')
	w.bw.Write(b)
}

func (w *writer) status(s string) { w.line('+', oneLine(s)) }

// err writes an error reply; msg is the whole text, code first.
func (w *writer) err(msg string) { w.line('-', oneLine(msg)) }

func (w *writer) int(n int64) { w.header(':', n) }

func (w *writer) bulk(s string) {
	w.header('$', int64(len(s)))
	w.bw.WriteString(s)
	w.bw.WriteString("\r\n")
}

func (w *writer) bulkBytes(b []byte) {
	w.header('$', int64(len(b)))
	w.bw.Write(b)
	w.bw.WriteString("\r\n")
}

func (w *writer) null() {
	if w.proto == 3 {
		w.bw.WriteString("_\r\n")
		return
	}
	w.bw.WriteString("$-1\r\n")
}

func (w *writer) array(n int) { w.header('*', int64(n)) }

// mapHeader starts a map of n pairs: "%n" in RESP3, a flat "*2n" in RESP2.
func (w *writer) mapHeader(n int) {
	if w.proto == 3 {
		w.header('%', int64(n))
		return
	}
	w.header('*', int64(2*n))
}

func (w *writer) bool(b bool) {
	switch {
	case w.proto == 3 && b:
		w.bw.WriteString("#t\r\n")
	case w.proto == 3:
		w.bw.WriteString("#f\r\n")
	case b:
		w.bw.WriteString(":1\r\n")
	default:
		w.bw.WriteString(":0\r\n")
	}
}

func (w *writer) double(f float64) {
	s := formatDouble(f)
	if w.proto == 3 {
		w.line(',', s)
		return
	}
	w.bulk(s)
}

// value writes v in the connection's protocol.
// warnings writes a RESP3 attribute {"warnings": [...]} that precedes a
// reply; clients that do not look at attributes skip it.
func (w *writer) warnings(ws []string) {
	w.header('|', 1)
	w.bulk("warnings")
	w.array(len(ws))
	for _, s := range ws {
		w.bulk(s)
	}
}

func (w *writer) value(v query.Value) {
	switch v.Kind {
	case query.KindNil:
		w.null()
	case query.KindStatus:
		w.status(v.Str)
	case query.KindError:
		w.err(v.Str)
	case query.KindInt:
		w.int(v.Int)
	case query.KindString:
		w.bulk(v.Str)
	case query.KindArray:
		w.array(len(v.Arr))
		for _, e := range v.Arr {
			w.value(e)
		}
	case query.KindMap:
		w.mapHeader(len(v.Map))
		for _, p := range v.Map {
			w.bulk(p.Key)
			w.value(p.Val)
		}
	case query.KindBool:
		w.bool(v.Int != 0)
	case query.KindDouble:
		w.double(v.Float)
	default:
		w.err("ERR internal error: unknown reply kind " + strconv.Itoa(int(v.Kind)))
	}
}

// oneLine keeps a status or error reply on one line: RESP cannot carry CR
// or LF in them.
func oneLine(s string) string {
	if strings.IndexAny(s, "\r\n") < 0 {
		return s
	}
	return strings.NewReplacer("\r", " ", "\n", " ").Replace(s)
}
