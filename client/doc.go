// Package client is the Go client of an idgraph server: a pool of RESP2 or
// RESP3 connections, typed calls for every statement of the query language,
// a pipeline, and errors to test with errors.Is.
//
//	c, err := client.Dial(ctx, client.Options{Addr: "127.0.0.1:7380", Password: pw})
//	...
//	res, err := c.Track(ctx, "purchase", []string{"email:ann@example.com", "cookie:abc"},
//		client.TrackOptions{From: "web", Props: map[string]any{"total": 42}})
//	p, err := c.Who(ctx, "cookie:abc")
//	if errors.Is(err, client.ErrNotFound) { ... }
//
// It is a Go module of its own, github.com/idgraph/idgraph/client, with no
// dependencies (not on the rest of idgraph, nor on any Redis library): it
// has its own small RESP reader and writer, so an application that imports
// it adds nothing else to its go.sum.
//
// Options.Name names every connection (CLIENT SETNAME); the server uses the
// name as the source of events and merges sent without FROM. With
// Options.Protocol 3 the connections speak RESP3 (HELLO 3), and DoReply
// returns replies with their RESP3 types kept — maps, booleans, doubles —
// which is how the idgraph shell shows a server's replies exactly as it
// shows an embedded store's.
//
// # Guarantees
//
//   - A Client is safe for concurrent use. It keeps at most PoolSize
//     connections; a call waits for a free one or for its context.
//   - Every call takes a context first. Its deadline becomes the
//     connection's deadline (ReadTimeout tightens it); cancelling it closes
//     the connection the call is using, so the call returns at once with
//     ctx.Err(), and the pool opens a fresh connection for the next call.
//     A connection that saw any transport or protocol error is never reused.
//   - A Pipeline sends all its statements in one write on one connection and
//     reads all replies in one round trip; each statement has its own result.
//   - A Stream keeps pipelines in flight on one connection of its own: Send
//     writes a pipeline and returns at once, a goroutine reads the replies
//     in order, and Flight.Wait waits for one pipeline's. A bulk load
//     prepares its next pipeline while the server applies the last one;
//     the server applies them in the order they were sent.
//   - Error replies are returned as *Error, which carries the code, the word
//     position and the message, and matches ErrSyntax, ErrBadID,
//     ErrNotFound, ErrTooLarge, ErrNoAuth and ErrReadOnly with errors.Is.
//     WHO of an unknown identifier returns ErrNotFound.
//
// Statements are sent as words, one RESP bulk string each, so values may
// hold blanks and quotes. A segment expression is split into words on blanks
// and parentheses, except inside "double" or 'single' quotes, which keep a
// word together (TRAIT city = "New York").
package client
