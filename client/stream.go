package client

import (
	"context"
	"fmt"
	"time"
)

// Stream is one connection for a caller that keeps pipelines in flight:
// Send writes a pipeline's commands and returns without waiting for their
// replies, which a goroutine of the Stream reads as they come. The server
// runs a connection's commands in order, so pipelines sent one after the
// other apply in that order, and a bulk load can prepare its next
// pipeline while the server applies the last one (a Pipeline's Exec waits
// for every reply before the caller can send more).
//
// A Stream is used from one goroutine; its Flights may be waited for from
// any. Close it to give the connection back.
type Stream struct {
	c       *Client
	cn      *conn
	flights chan *Flight
	read    chan struct{} // closed when the reader has stopped
	stop    func() bool   // detaches the context's cancellation
	err     error         // the connection's error, once Send saw one
}

// Flight is a pipeline sent on a Stream.
type Flight struct {
	cmds  []queued
	ready chan struct{}
	err   error // the connection's error, if it failed before every reply came
}

// Stream takes a connection out of the pool for a Stream. Cancelling ctx
// closes the connection, which fails what is in flight.
func (c *Client) Stream(ctx context.Context) (*Stream, error) {
	cn, err := c.get(ctx)
	if err != nil {
		return nil, err
	}
	cn.setDeadline(time.Time{})
	s := &Stream{c: c, cn: cn, flights: make(chan *Flight, 16), read: make(chan struct{})}
	s.stop = context.AfterFunc(ctx, func() { cn.nc.Close() })
	go s.readReplies()
	return s, nil
}

// Send writes p's commands and returns at once; the Flight's Wait waits
// for their replies, after which each command's Result is set as Exec
// sets it. p is empty afterwards and can be used again.
func (s *Stream) Send(p *Pipeline) (*Flight, error) {
	if s.err != nil {
		return nil, s.err
	}
	wire, sent := sendable(p.cmds)
	p.cmds = nil
	f := &Flight{cmds: sent, ready: make(chan struct{})}
	for _, args := range wire {
		s.cn.writeCommand(args)
	}
	if err := s.cn.bw.Flush(); err != nil {
		s.err = fmt.Errorf("idgraph: %w", err)
		for _, q := range f.cmds {
			q.finish(nil, s.err)
		}
		f.err = s.err
		close(f.ready)
		return f, s.err
	}
	s.flights <- f
	return f, nil
}

// Wait waits until every reply of the flight is read (or the connection
// failed) and returns the connection's error, if any; a command's own
// error is in its Result.
func (f *Flight) Wait() error {
	<-f.ready
	return f.err
}

// readReplies reads the replies of each flight in the order they were
// sent. After a read error every later command fails with it.
func (s *Stream) readReplies() {
	defer close(s.read)
	var failed error
	for f := range s.flights {
		for _, q := range f.cmds {
			if failed != nil {
				q.finish(nil, failed)
				continue
			}
			v, err := s.cn.readReply()
			if err != nil {
				failed = fmt.Errorf("idgraph: %w", err)
				q.finish(nil, failed)
				continue
			}
			q.finish(v.plain(), nil)
		}
		f.err = failed
		close(f.ready)
	}
	if failed != nil {
		s.cn.broken = true
	}
}

// Close waits for the flights in the air and gives the connection back
// (or closes it, if it failed).
func (s *Stream) Close() error {
	close(s.flights)
	<-s.read
	if !s.stop() || s.err != nil {
		s.cn.broken = true // the context ended and closed it, or a write failed
	}
	s.c.put(s.cn)
	return s.err
}
