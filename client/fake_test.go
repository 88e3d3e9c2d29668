package client_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/idgraph/idgraph/client"
)

// fakeServer speaks just enough RESP to script replies: it reads commands
// as arrays of bulk strings, records them per connection, and answers each
// with the raw RESP its handler returns. The server's own behaviour is
// tested against this client in the main module (server/client_test.go);
// this module has no dependencies, so here the server is a script.
type fakeServer struct {
	addr   string
	handle func(args []string) string

	mu    sync.Mutex
	conns [][][]string // per connection, the commands in order
}

func newFakeServer(t *testing.T, handle func(args []string) string) *fakeServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeServer{addr: ln.Addr().String(), handle: handle}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			f.mu.Lock()
			f.conns = append(f.conns, nil)
			i := len(f.conns) - 1
			f.mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer nc.Close()
				f.serve(nc, i)
			}()
		}
	}()
	return f
}

func (f *fakeServer) serve(nc net.Conn, i int) {
	br := bufio.NewReader(nc)
	for {
		args, err := readCommand(br)
		if err != nil {
			return
		}
		f.mu.Lock()
		f.conns[i] = append(f.conns[i], args)
		f.mu.Unlock()
		if _, err := io.WriteString(nc, f.handle(args)); err != nil {
			return
		}
	}
}

// commands returns the commands of connection i.
func (f *fakeServer) commands(i int) [][]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if i >= len(f.conns) {
		return nil
	}
	return f.conns[i]
}

func readCommand(br *bufio.Reader) ([]string, error) {
	line, err := br.ReadString('\n')
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(line, "*") {
		return nil, fmt.Errorf("not an array: %q", line)
	}
	n, err := strconv.Atoi(strings.TrimSpace(line[1:]))
	if err != nil {
		return nil, err
	}
	args := make([]string, n)
	for i := range args {
		h, err := br.ReadString('\n')
		if err != nil {
			return nil, err
		}
		size, err := strconv.Atoi(strings.TrimSpace(h[1:]))
		if err != nil {
			return nil, err
		}
		b := make([]byte, size+2)
		if _, err := io.ReadFull(br, b); err != nil {
			return nil, err
		}
		args[i] = string(b[:size])
	}
	return args, nil
}

// resp3 answers like an idgraph server that speaks RESP3.
func resp3(args []string) string {
	switch strings.ToUpper(args[0]) {
	case "HELLO":
		if len(args) > 3 && args[4] == "wrong" {
			return "-ERR NOAUTH invalid password\r\n"
		}
		return "%1\r\n$5\r\nproto\r\n:3\r\n"
	case "AUTH":
		if args[len(args)-1] == "wrong" {
			return "-ERR NOAUTH invalid password\r\n"
		}
		return "+OK\r\n"
	case "CLIENT":
		if strings.Contains(args[2], " ") {
			return "-ERR SYNTAX client names cannot contain spaces\r\n"
		}
		return "+OK\r\n"
	case "PING":
		return "+PONG\r\n"
	case "WHO":
		return "%4\r\n$7\r\nprofile\r\n:12\r\n$3\r\nids\r\n*1\r\n$10\r\ncookie:abc\r\n" +
			"$6\r\ntraits\r\n%1\r\n$4\r\ncity\r\n$4\r\nOslo\r\n$6\r\nevents\r\n:5\r\n"
	case "WHY":
		return "%3\r\n$6\r\nlinked\r\n#t\r\n$4\r\npath\r\n*0\r\n$6\r\nreason\r\n$4\r\nsame\r\n"
	case "MIXED":
		return "*8\r\n_\r\n#f\r\n,2.5\r\n(12345678901234567890\r\n=8\r\ntxt:text\r\n~1\r\n+s\r\n-ERR BADID nested\r\n$-1\r\n"
	}
	return "-ERR SYNTAX unknown statement\r\n"
}

func TestDoReplyKeepsRESP3Types(t *testing.T) {
	f := newFakeServer(t, resp3)
	c, err := client.Dial(context.Background(), client.Options{Addr: f.addr, Protocol: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()

	s := func(v string) client.Reply { return client.Reply{Type: client.ReplyString, Str: v} }
	got, err := c.DoReply(ctx, "WHO", "cookie:abc")
	want := client.Reply{Type: client.ReplyMap, Elems: []client.Reply{
		s("profile"), {Type: client.ReplyInt, Int: 12},
		s("ids"), {Type: client.ReplyArray, Elems: []client.Reply{s("cookie:abc")}},
		s("traits"), {Type: client.ReplyMap, Elems: []client.Reply{s("city"), s("Oslo")}},
		s("events"), {Type: client.ReplyInt, Int: 5},
	}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("WHO:\n got %#v, %v\nwant %#v", got, err, want)
	}

	got, err = c.DoReply(ctx, "MIXED")
	want = client.Reply{Type: client.ReplyArray, Elems: []client.Reply{
		{Type: client.ReplyNil},
		{Type: client.ReplyBool, Int: 0},
		{Type: client.ReplyDouble, Str: "2.5", Float: 2.5},
		{Type: client.ReplyBigNumber, Str: "12345678901234567890"},
		{Type: client.ReplyVerbatim, Str: "text"},
		{Type: client.ReplySet, Elems: []client.Reply{{Type: client.ReplyStatus, Str: "s"}}},
		{Type: client.ReplyError, Str: "ERR BADID nested"},
		{Type: client.ReplyNil},
	}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("MIXED:\n got %#v, %v\nwant %#v", got, err, want)
	}
	if e := got.Elems[6].Err(); !errors.Is(e, client.ErrBadID) {
		t.Errorf("nested error: %v, want ErrBadID", e)
	}

	if _, err := c.DoReply(ctx, "NOSUCH"); !errors.Is(err, client.ErrSyntax) {
		t.Errorf("error reply: %v, want ErrSyntax", err)
	}

	// The typed calls decode RESP3 maps and booleans as they do RESP2's.
	p, err := c.Who(ctx, "cookie:abc")
	if err != nil || p.ID != 12 || p.Traits["city"] != "Oslo" || p.Events != 5 {
		t.Errorf("Who over RESP3: %+v, %v", p, err)
	}
	w, err := c.Why(ctx, "cookie:abc", "cookie:abc")
	if err != nil || !w.Linked || w.Reason != "same" {
		t.Errorf("Why over RESP3: %+v, %v", w, err)
	}
	// Do keeps its documented shape: maps flat.
	v, err := c.Do(ctx, "WHY", "a:1", "b:2")
	if want := []any{"linked", int64(1), "path", []any{}, "reason", "same"}; err != nil || !reflect.DeepEqual(v, want) {
		t.Errorf("Do over RESP3: %#v, %v", v, err)
	}
}

func TestHandshakeSetsProtocolAuthAndName(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts client.Options
		want [][]string // the commands before the first PING
	}{
		{"RESP2 plain", client.Options{}, nil},
		{"RESP2 name", client.Options{Name: "web"}, [][]string{{"CLIENT", "SETNAME", "web"}}},
		{"RESP2 auth and name", client.Options{Password: "pw", Name: "crm"},
			[][]string{{"AUTH", "pw"}, {"CLIENT", "SETNAME", "crm"}}},
		{"RESP2 user", client.Options{Username: "reader", Password: "pw"}, [][]string{{"AUTH", "reader", "pw"}}},
		{"RESP3 plain", client.Options{Protocol: 3}, [][]string{{"HELLO", "3"}}},
		{"RESP3 auth and name", client.Options{Protocol: 3, Password: "pw", Name: "pos"},
			[][]string{{"HELLO", "3", "AUTH", "default", "pw", "SETNAME", "pos"}}},
		{"RESP3 user", client.Options{Protocol: 3, Username: "reader", Password: "pw"},
			[][]string{{"HELLO", "3", "AUTH", "reader", "pw"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeServer(t, resp3)
			tc.opts.Addr = f.addr
			c, err := client.Dial(context.Background(), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			want := append(tc.want, []string{"PING"})
			if got := f.commands(0); !reflect.DeepEqual(got, want) {
				t.Errorf("commands %q, want %q", got, want)
			}
		})
	}
}

func TestHandshakeErrors(t *testing.T) {
	f := newFakeServer(t, resp3)
	ctx := context.Background()
	for _, opts := range []client.Options{
		{Addr: f.addr, Password: "wrong"},
		{Addr: f.addr, Password: "wrong", Protocol: 3},
	} {
		if _, err := client.Dial(ctx, opts); !errors.Is(err, client.ErrNoAuth) || !strings.Contains(err.Error(), "auth") {
			t.Errorf("protocol %d, wrong password: %v, want ErrNoAuth", opts.Protocol, err)
		}
	}
	if _, err := client.Dial(ctx, client.Options{Addr: f.addr, Name: "two words"}); !errors.Is(err, client.ErrSyntax) ||
		!strings.Contains(err.Error(), "client name") {
		t.Errorf("bad name: %v", err)
	}
	if _, err := client.Dial(ctx, client.Options{Addr: f.addr, Protocol: 4}); err == nil || !strings.Contains(err.Error(), "want 2 or 3") {
		t.Errorf("protocol 4: %v", err)
	}
}

func TestPipelineSendsOneWrite(t *testing.T) {
	f := newFakeServer(t, resp3)
	c, err := client.Dial(context.Background(), client.Options{Addr: f.addr, PoolSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p := c.Pipeline()
	who := p.Who("cookie:abc")
	bad := p.Do("NOSUCH")
	if _, err := p.Exec(context.Background()); !errors.Is(err, client.ErrSyntax) {
		t.Errorf("Exec: %v", err)
	}
	if pr, err := who.Result(); err != nil || pr.ID != 12 {
		t.Errorf("who: %v %v", pr, err)
	}
	if !errors.Is(bad.Err(), client.ErrSyntax) {
		t.Errorf("bad: %v", bad.Err())
	}
	if got := f.commands(0); len(got) != 3 {
		t.Errorf("commands on the one connection: %q", got)
	}
}
