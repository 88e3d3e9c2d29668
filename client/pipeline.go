package client

import (
	"context"
	"errors"
	"time"
)

// errNotExecuted is the result of a Cmd whose pipeline has not run.
var errNotExecuted = errors.New("idgraph: pipeline not executed")

// Cmd is a statement queued in a Pipeline. Its result is there once the
// pipeline's Exec has returned.
type Cmd[T any] struct {
	k    call[T]
	val  T
	err  error
	done bool
}

// Result returns the statement's decoded reply or its error.
func (c *Cmd[T]) Result() (T, error) {
	if !c.done {
		var zero T
		return zero, errNotExecuted
	}
	return c.val, c.err
}

// Val returns the decoded reply (the zero value on error).
func (c *Cmd[T]) Val() T { return c.val }

// Err returns the statement's error.
func (c *Cmd[T]) Err() error {
	if !c.done {
		return errNotExecuted
	}
	return c.err
}

func (c *Cmd[T]) words() ([]string, error) { return c.k.args, c.k.err }

func (c *Cmd[T]) finish(reply any, err error) {
	c.done = true
	if err == nil {
		if e, ok := reply.(*Error); ok {
			err = e
		} else {
			c.val, err = c.k.result(reply)
		}
	}
	c.err = err
}

func (c *Cmd[T]) result() any {
	if c.err != nil {
		return c.err
	}
	return c.val
}

type queued interface {
	words() ([]string, error)
	finish(reply any, err error)
	result() any
}

// Pipeline queues statements and sends them in one write, reading all
// replies in one round trip. It is not safe for concurrent use; the Client
// behind it is.
type Pipeline struct {
	c    *Client
	cmds []queued
}

// Pipeline starts an empty pipeline.
func (c *Client) Pipeline() *Pipeline { return &Pipeline{c: c} }

func queue[T any](p *Pipeline, k call[T]) *Cmd[T] {
	cmd := &Cmd[T]{k: k}
	p.cmds = append(p.cmds, cmd)
	return cmd
}

// Len is the number of statements queued.
func (p *Pipeline) Len() int { return len(p.cmds) }

// Exec sends the queued statements and reads their replies, then empties
// the pipeline. results[i] is the i-th statement's result as its Client
// method returns it (*TrackResult, *Profile, int64, ...) or, if it failed,
// its error. err is the first error, a statement's or the connection's; on
// a connection error every statement not answered has that error.
func (p *Pipeline) Exec(ctx context.Context) ([]any, error) {
	cmds := p.cmds
	p.cmds = nil
	if len(cmds) == 0 {
		return nil, nil
	}
	wire, sent := sendable(cmds)
	var connErr error
	if len(wire) > 0 {
		replies, err := p.c.exec(ctx, wire)
		connErr = err
		for i, q := range sent {
			if err != nil {
				q.finish(nil, err)
			} else {
				q.finish(replies[i], nil)
			}
		}
	}
	results := make([]any, len(cmds))
	var first error
	for i, q := range cmds {
		results[i] = q.result()
		if err, ok := results[i].(error); ok && first == nil {
			first = err
		}
	}
	if connErr != nil {
		first = connErr
	}
	return results, first
}

// sendable returns the words of the queued commands that could be built,
// and those commands; the others are answered with their error here, not
// sent.
func sendable(cmds []queued) (wire [][]string, sent []queued) {
	for _, q := range cmds {
		args, err := q.words()
		if err != nil {
			q.finish(nil, err)
			continue
		}
		wire = append(wire, args)
		sent = append(sent, q)
	}
	return wire, sent
}

// Do queues a raw command; see Client.Do.
func (p *Pipeline) Do(args ...string) *Cmd[any] {
	k := call[any]{args: args, decode: func(v any) (any, error) { return v, nil }}
	if len(args) == 0 {
		k.err = errors.New("idgraph: no command")
	}
	return queue(p, k)
}

// Track queues a TRACK; see Client.Track.
func (p *Pipeline) Track(event string, ids []string, opts TrackOptions) *Cmd[*TrackResult] {
	return queue(p, trackCall(event, ids, opts))
}

// Merge queues a MERGE; see Client.Merge.
func (p *Pipeline) Merge(ids []string, from string) *Cmd[*TrackResult] {
	return queue(p, mergeCall(ids, from))
}

// Set queues a SET; see Client.Set.
func (p *Pipeline) Set(id string, traits map[string]string, at time.Time) *Cmd[uint32] {
	return queue(p, setCall(id, traits, at))
}

// Consent queues a CONSENT; see Client.Consent.
func (p *Pipeline) Consent(id, purpose string, grant bool, at time.Time) *Cmd[uint32] {
	return queue(p, consentCall(id, purpose, grant, at))
}

// Who queues a WHO; see Client.Who.
func (p *Pipeline) Who(id string) *Cmd[*Profile] { return queue(p, whoCall(id)) }

// Why queues a WHY; see Client.Why.
func (p *Pipeline) Why(a, b string) *Cmd[*Why] { return queue(p, whyCall(a, b)) }

// Timeline queues a TIMELINE; see Client.Timeline.
func (p *Pipeline) Timeline(id string, limit int, before time.Time) *Cmd[[]Event] {
	return queue(p, timelineCall(id, limit, before))
}

// Unlink queues an UNLINK; see Client.Unlink.
func (p *Pipeline) Unlink(a, b string) *Cmd[*UnlinkResult] { return queue(p, unlinkCall(a, b)) }

// Forget queues a FORGET; see Client.Forget.
func (p *Pipeline) Forget(id string, suppress bool) *Cmd[*ForgetResult] {
	return queue(p, forgetCall(id, suppress))
}

// SegmentCount queues a SEGMENT COUNT; see Client.SegmentCount.
func (p *Pipeline) SegmentCount(expr string, asOf time.Time) *Cmd[int64] {
	return queue(p, segmentCountCall(expr, asOf))
}

// SegmentIDs queues a SEGMENT IDS; see Client.SegmentIDs.
func (p *Pipeline) SegmentIDs(expr string, asOf time.Time, limit int, after uint32) *Cmd[[]uint32] {
	return queue(p, segmentIDsCall(expr, asOf, limit, after))
}
