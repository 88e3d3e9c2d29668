package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// respConn is a minimal RESP2 client for tests that must know exactly which
// replies arrived: a reply counts as acknowledged once it has been read whole,
// and nothing is ever retried behind the test's back (as a general-purpose
// client may do when a connection breaks).
type respConn struct {
	nc net.Conn
	br *bufio.Reader
	bw *bufio.Writer
}

// respError is an error reply ("-ERR ..."), as opposed to a broken connection.
type respError string

func (e respError) Error() string { return string(e) }

func dialRESP(addr string) (*respConn, error) {
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	return &respConn{nc: nc, br: bufio.NewReader(nc), bw: bufio.NewWriter(nc)}, nil
}

func (c *respConn) Close() error { return c.nc.Close() }

// send buffers one command; flush sends what is buffered.
func (c *respConn) send(args ...string) {
	fmt.Fprintf(c.bw, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(c.bw, "$%d\r\n%s\r\n", len(a), a)
	}
}

func (c *respConn) flush() error { return c.bw.Flush() }

// do sends one command and reads its reply. An error reply is returned as a
// respError value with a nil error.
func (c *respConn) do(args ...string) (any, error) {
	c.send(args...)
	if err := c.flush(); err != nil {
		return nil, err
	}
	return c.read()
}

// read reads one reply: string (simple or bulk), int64, nil, []any or
// respError. The error is non-nil only when the connection failed.
func (c *respConn) read() (any, error) {
	line, err := c.br.ReadString('\n')
	if err != nil {
		return nil, err
	}
	if len(line) < 3 || !strings.HasSuffix(line, "\r\n") {
		return nil, fmt.Errorf("bad reply line %q", line)
	}
	body := line[1 : len(line)-2]
	switch line[0] {
	case '+':
		return body, nil
	case '-':
		return respError(body), nil
	case ':':
		return strconv.ParseInt(body, 10, 64)
	case '_':
		return nil, nil
	case '$':
		n, err := strconv.Atoi(body)
		if err != nil || n < -1 {
			return nil, fmt.Errorf("bad bulk length %q", body)
		}
		if n == -1 {
			return nil, nil
		}
		b := make([]byte, n+2)
		if _, err := io.ReadFull(c.br, b); err != nil {
			return nil, err
		}
		return string(b[:n]), nil
	case '*':
		n, err := strconv.Atoi(body)
		if err != nil || n < -1 {
			return nil, fmt.Errorf("bad array length %q", body)
		}
		if n == -1 {
			return nil, nil
		}
		out := make([]any, n)
		for i := range out {
			if out[i], err = c.read(); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("unexpected reply type %q", line)
}

// replyMap reads a RESP2 map (a flat key/value array) into a Go map.
func replyMap(v any) (map[string]any, bool) {
	a, ok := v.([]any)
	if !ok || len(a)%2 != 0 {
		return nil, false
	}
	m := make(map[string]any, len(a)/2)
	for i := 0; i < len(a); i += 2 {
		k, ok := a[i].(string)
		if !ok {
			return nil, false
		}
		m[k] = a[i+1]
	}
	return m, true
}

// serveInProcess runs `idgraph serve` in this process with extra flags and
// returns its address and a stop function (idempotent; also run at cleanup)
// that shuts the server down gracefully and reports a non-zero exit.
func serveInProcess(t *testing.T, dir string, extra ...string) (addr string, stop func()) {
	t.Helper()
	addr = freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var errb bytes.Buffer
	args := append([]string{"serve", "--listen", addr, "--data", dir, "--log-level", "error"}, extra...)
	go func() {
		var out bytes.Buffer
		done <- run(ctx, args, nil, &out, &errb)
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if code := <-done; code != 0 {
				t.Errorf("serve exited %d: %s", code, errb.String())
			}
		})
	}
	t.Cleanup(stop)
	if err := waitListening(addr, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	return addr, stop
}

// waitListening polls until addr accepts connections, for at most limit.
func waitListening(addr string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("nothing listening on %s after %v", addr, limit)
}

// envInt reads a positive integer knob from the environment.
func envInt(t *testing.T, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive integer", name, s)
	}
	return n
}

// isConnErr reports whether err means the connection is gone (as opposed to
// a protocol bug in the reply).
func isConnErr(err error) bool {
	var ne net.Error // resets, broken pipes and deadlines are *net.OpError
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, &ne)
}
