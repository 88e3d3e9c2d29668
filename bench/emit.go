package bench

import "strconv"

// The line writer: generator methods that append one NDJSON line to the
// day's buffer by hand (encoding/json would be several times slower). A line
// is begin (or beginLine), identifiers, endIDs, properties, end (or
// endLine).

func (g *generator) begin(t int64, name, src string) {
	g.startLine(t, src)
	g.buf = append(g.buf, `{"event":`...)
	g.buf = appendJSONString(g.buf, name)
	g.buf = append(g.buf, `,"ids":[`...)
	g.byEvent[name]++
	g.bySrc[src]++
	g.stats.Events++
}

// beginLine starts a line without an event (consent, traits).
func (g *generator) beginLine(t int64, src string) {
	g.startLine(t, src)
	g.buf = append(g.buf, `{"ids":[`...)
}

func (g *generator) startLine(t int64, src string) {
	g.lineStart, g.lineTime, g.lineSrc = len(g.buf), t, src
	g.first, g.inProps = true, false
}

// id adds an identifier in its normalised form.
func (g *generator) id(x *ident) {
	if x.text != "" {
		g.idText(x, x.text)
		return
	}
	g.idText(x, x.val)
}

// idText adds an identifier written as text (a variant that normalises to
// x.val).
func (g *generator) idText(x *ident, text string) {
	if !x.seen {
		x.seen = true
		g.seen = append(g.seen, x)
	}
	if !g.first {
		g.buf = append(g.buf, ',')
	}
	g.first = false
	// Identifiers made here are ASCII without quotes or backslashes.
	g.buf = append(g.buf, '"')
	g.buf = append(g.buf, text...)
	g.buf = append(g.buf, '"')
}

func (g *generator) idOpt(x *ident) {
	if x != nil {
		g.id(x)
	}
}

// ids2 adds a and, when not nil, b, maybe a junk value, and ends the list.
func (g *generator) ids2(a, b *ident) {
	g.id(a)
	g.idOpt(b)
	g.junkMaybe(0.002)
	g.endIDs()
}

func (g *generator) ids3(a, b, c *ident) {
	g.id(a)
	g.id(b)
	g.idOpt(c)
	g.junkMaybe(0.002)
	g.endIDs()
}

// junkMaybe adds a junk value with probability p.
func (g *generator) junkMaybe(p float64) {
	if g.r.chance(p) {
		g.id(g.junk[g.r.intn(len(g.junk))])
	}
}

func (g *generator) endIDs() {
	g.buf = append(g.buf, `],"time":`...)
	g.buf = strconv.AppendInt(g.buf, g.lineTime, 10)
	g.buf = append(g.buf, `,"source":"`...)
	g.buf = append(g.buf, g.lineSrc...)
	g.buf = append(g.buf, '"')
}

// propStart opens the string property k; the caller appends the value and
// the closing quote.
func (g *generator) propStart(k string) {
	if g.inProps {
		g.buf = append(g.buf, ',')
	} else {
		g.buf = append(g.buf, `,"props":{`...)
		g.inProps = true
	}
	g.buf = append(g.buf, '"')
	g.buf = append(g.buf, k...)
	g.buf = append(g.buf, `":"`...)
}

// prop adds a property; keys and values made here need no escaping.
func (g *generator) prop(k, v string) {
	g.propStart(k)
	g.buf = append(g.buf, v...)
	g.buf = append(g.buf, '"')
}

// propNum adds a property whose value is prefix followed by n.
func (g *generator) propNum(k, prefix string, n int) {
	g.propStart(k)
	g.buf = append(g.buf, prefix...)
	g.buf = strconv.AppendInt(g.buf, int64(n), 10)
	g.buf = append(g.buf, '"')
}

func (g *generator) end() {
	if g.inProps {
		g.buf = append(g.buf, '}')
	}
	g.endLine()
}

func (g *generator) endLine() {
	g.buf = append(g.buf, "}\n"...)
	g.lines = append(g.lines, lineRef{t: g.lineTime, seq: g.seq, off: g.lineStart, end: len(g.buf)})
	g.seq++
	g.stats.Lines++
}

func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	b = appendJSONBody(b, s)
	return append(b, '"')
}

// appendJSONBody appends s escaped for a JSON string.
func appendJSONBody(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, `\u00`...)
			b = append(b, hexDigits[c>>4], hexDigits[c&15])
		default:
			b = append(b, c)
		}
	}
	return b
}
