package client_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/idgraph/idgraph/client"
)

// TestStreamKeepsPipelinesInFlightInOrder sends three pipelines before
// waiting for any, on one connection, and wants each command's own reply.
func TestStreamKeepsPipelinesInFlightInOrder(t *testing.T) {
	f := newFakeServer(t, func(args []string) string {
		switch args[0] {
		case "ECHO":
			return fmt.Sprintf("$%d\r\n%s\r\n", len(args[1]), args[1])
		case "NOSUCH":
			return "-ERR unknown command\r\n"
		case "PING":
			return "+PONG\r\n"
		}
		return "+OK\r\n"
	})
	c, err := client.Dial(context.Background(), client.Options{Addr: f.addr, PoolSize: 1, Protocol: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := c.Stream(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	defer func() {
		if !closed {
			s.Close()
		}
	}()
	var flights []*client.Flight
	var cmds [][]*client.Cmd[any]
	for k := range 3 {
		p := c.Pipeline()
		var these []*client.Cmd[any]
		for i := range 500 {
			these = append(these, p.Do("ECHO", fmt.Sprintf("%d-%d", k, i)))
		}
		these = append(these, p.Do("NOSUCH"))
		fl, err := s.Send(p)
		if err != nil {
			t.Fatal(err)
		}
		flights, cmds = append(flights, fl), append(cmds, these)
	}
	for k, fl := range flights {
		if err := fl.Wait(); err != nil {
			t.Fatal(err)
		}
		for i, cmd := range cmds[k][:500] {
			if v, err := cmd.Result(); err != nil || fmt.Sprint(v) != fmt.Sprintf("%d-%d", k, i) {
				t.Fatalf("pipeline %d command %d: %T %v, %v", k, i, v, v, err)
			}
		}
		if err := cmds[k][500].Err(); err == nil || !strings.Contains(err.Error(), "unknown command") {
			t.Errorf("pipeline %d: NOSUCH gave %v", k, err)
		}
	}
	closed = true
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := len(f.commands(0)); got != 1+3*501 { // the handshake's PING, then ours
		t.Errorf("%d commands on the one connection, want %d", got, 1+3*501)
	}
	// The connection went back to the pool and still works.
	if v, err := c.Do(context.Background(), "ECHO", "after"); err != nil || fmt.Sprint(v) != "after" {
		t.Errorf("after the stream: %v, %v", v, err)
	}
}

// TestStreamFailsWhatIsInFlightWhenTheConnectionDies cancels the
// stream's context with a pipeline in flight and wants its commands to
// fail rather than hang.
func TestStreamFailsWhatIsInFlightWhenTheConnectionDies(t *testing.T) {
	block := make(chan struct{})
	f := newFakeServer(t, func(args []string) string {
		switch args[0] {
		case "PING":
			return "+PONG\r\n"
		case "BLOCK":
			<-block
		}
		return "+OK\r\n"
	})
	t.Cleanup(func() { close(block) })
	c, err := client.Dial(context.Background(), client.Options{Addr: f.addr, PoolSize: 1, Protocol: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithCancel(context.Background())
	s, err := c.Stream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p := c.Pipeline()
	cmd := p.Do("BLOCK")
	fl, err := s.Send(p)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := fl.Wait(); err == nil {
		t.Fatal("the flight did not fail")
	}
	if cmd.Err() == nil {
		t.Fatal("the command did not fail")
	}
	s.Close()
}
