// Command netfloor measures the floor of two network layers on one machine:
// how many requests a second each can answer when answering costs nothing
// but a map lookup and a copy of an encoded reply, as a cached WHO does in
// idgraph's server.
//
//	netfloor -mode go    a goroutine per connection, bufio, a flush when the
//	                     read buffer is empty: the shape of idgraph's server
//	netfloor -mode gnet  an event loop per core (github.com/panjf2000/gnet/v2)
//
// Both answer RESP PING with +PONG and WHO <id> with a 260-byte reply of
// the shape of a bench profile's. run.sh drives them and Redis with
// redis-benchmark. It is its own module so that idgraph does not depend on
// gnet: the measurement decides whether an event loop is worth building.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"strconv"

	"github.com/panjf2000/gnet/v2"
)

// whoReply is a RESP2 WHO reply of a bench profile (three identifiers).
var whoReply = func() []byte {
	var b bytes.Buffer
	bulk := func(s string) { fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(s), s) }
	b.WriteString("*18\r\n")
	bulk("profile")
	b.WriteString(":123456\r\n")
	bulk("ids")
	b.WriteString("*3\r\n")
	for _, id := range []string{"cookie:b000000012345", "email:u000000012345@bench.io", "user:b000000012345"} {
		bulk(id)
	}
	for _, k := range []string{"traits", "consent", "tags", "segments"} {
		bulk(k)
		b.WriteString("*0\r\n")
	}
	bulk("first_seen")
	bulk("2026-10-01T00:00:00.000Z")
	bulk("last_seen")
	bulk("2026-10-01T00:00:00.000Z")
	bulk("events")
	b.WriteString(":0\r\n")
	return b.Bytes()
}()

// replies maps an identifier to its encoded reply, as the server's cache
// does; filled before serving and only read afterwards.
var replies = map[string][]byte{}

var errFrame = errors.New("not a RESP array")

// parse reads one RESP array of bulk strings from b into args. It returns
// the bytes used, 0 when b holds no whole command yet.
func parse(b []byte, args [][]byte) ([][]byte, int, error) {
	if len(b) == 0 {
		return nil, 0, nil
	}
	if b[0] != '*' {
		return nil, 0, errFrame
	}
	n, pos, ok := header(b, 0)
	if !ok {
		return nil, 0, nil
	}
	args = args[:0]
	for range n {
		if pos >= len(b) {
			return nil, 0, nil
		}
		if b[pos] != '$' {
			return nil, 0, errFrame
		}
		l, next, ok := header(b, pos)
		if !ok {
			return nil, 0, nil
		}
		if next+l+2 > len(b) {
			return nil, 0, nil
		}
		args = append(args, b[next:next+l])
		pos = next + l + 2
	}
	return args, pos, nil
}

// header reads "<prefix><number>\r\n" at b[at:]: the number and where the
// next line starts.
func header(b []byte, at int) (n, next int, ok bool) {
	i := bytes.IndexByte(b[at:], '\n')
	if i < 2 {
		return 0, 0, false
	}
	n, err := strconv.Atoi(string(b[at+1 : at+i-1]))
	if err != nil || n < 0 {
		return 0, 0, false
	}
	return n, at + i + 1, true
}

// answer appends the reply to args to out.
func answer(args [][]byte, out []byte) []byte {
	switch {
	case len(args) == 1:
		return append(out, "+PONG\r\n"...)
	case len(args) == 2:
		if r, ok := replies[string(args[1])]; ok {
			return append(out, r...)
		}
		return append(out, "$-1\r\n"...)
	}
	return append(out, "-ERR wrong number of arguments\r\n"...)
}

// loop is the gnet event handler: each readable connection's whole buffer
// is answered in one write.
type loop struct {
	gnet.BuiltinEventEngine
}

func (*loop) OnTraffic(c gnet.Conn) gnet.Action {
	buf, _ := c.Peek(-1)
	var out []byte
	args := make([][]byte, 0, 4)
	used := 0
	for {
		a, n, err := parse(buf[used:], args)
		if err != nil {
			return gnet.Close
		}
		if n == 0 {
			break
		}
		out = answer(a, out)
		used += n
	}
	c.Discard(used)
	if len(out) > 0 {
		c.Write(out)
	}
	return gnet.None
}

// serveGo answers each connection on its own goroutine.
func serveGo(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	for {
		nc, err := ln.Accept()
		if err != nil {
			return err
		}
		go serveConn(nc)
	}
}

func serveConn(nc net.Conn) {
	defer nc.Close()
	br := bufio.NewReaderSize(nc, 16<<10)
	bw := bufio.NewWriterSize(nc, 16<<10)
	var pending []byte
	args := make([][]byte, 0, 4)
	chunk := make([]byte, 16<<10)
	var out []byte
	for {
		if br.Buffered() == 0 && bw.Flush() != nil {
			return
		}
		n, err := br.Read(chunk)
		if err != nil {
			return
		}
		pending = append(pending, chunk[:n]...)
		used := 0
		for {
			a, k, err := parse(pending[used:], args)
			if err != nil {
				return
			}
			if k == 0 {
				break
			}
			out = answer(a, out[:0])
			bw.Write(out)
			used += k
		}
		pending = append(pending[:0], pending[used:]...)
	}
}

func main() {
	mode := flag.String("mode", "go", "go (a goroutine per connection) or gnet (an event loop per core)")
	addr := flag.String("addr", "127.0.0.1:7999", "address to listen on")
	keys := flag.Int("keys", 100000, "identifiers email:u<i>@bench.io, i < keys, that have a reply")
	flag.Parse()
	for i := range *keys {
		replies[fmt.Sprintf("email:u%d@bench.io", i)] = whoReply
	}
	var err error
	switch *mode {
	case "go":
		err = serveGo(*addr)
	case "gnet":
		err = gnet.Run(&loop{}, "tcp://"+*addr, gnet.WithMulticore(true))
	default:
		err = fmt.Errorf("unknown -mode %q", *mode)
	}
	log.Fatal(err)
}
