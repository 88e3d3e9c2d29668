package client

import (
	"context"
	"fmt"
	"strconv"
)

// ReplyType is the RESP type a reply arrived as.
type ReplyType uint8

// The reply types. RESP2 has only Status, Error, Int, String, Array and Nil;
// RESP3 (Options.Protocol 3) adds the rest.
const (
	ReplyNil       ReplyType = iota // null bulk, null array, RESP3 null
	ReplyStatus                     // simple string: +OK
	ReplyError                      // error: -ERR ...; Str holds the whole text
	ReplyInt                        // integer
	ReplyString                     // bulk string
	ReplyArray                      // array
	ReplyMap                        // RESP3 map; Elems hold key, value, key, value...
	ReplySet                        // RESP3 set
	ReplyBool                       // RESP3 boolean; Int is 0 or 1
	ReplyDouble                     // RESP3 double; Float holds it, Str the text sent
	ReplyBigNumber                  // RESP3 big number; Str holds the digits
	ReplyVerbatim                   // RESP3 verbatim string; Str without its "txt:" format
)

// Reply is one server reply with its RESP type kept: what Do flattens into
// plain Go values (a map into a flat array, a status into a string) stays
// apart here, so that a caller can show a reply exactly as the server sent
// it. DoReply returns it.
type Reply struct {
	Type  ReplyType
	Str   string  // Status, Error, String, Verbatim, BigNumber, Double
	Int   int64   // Int, Bool
	Float float64 // Double
	Elems []Reply // Array, Set; Map: key, value, key, value...
	// Attrs are the RESP3 attributes sent before the reply, key, value,
	// key, value... (idgraph sends "warnings", a list of strings).
	Attrs []Reply
}

// Warnings returns the warnings the server attached to the reply.
func (r Reply) Warnings() []string {
	var out []string
	for i := 0; i+1 < len(r.Attrs); i += 2 {
		if r.Attrs[i].Str == "warnings" {
			for _, w := range r.Attrs[i+1].Elems {
				out = append(out, w.Str)
			}
		}
	}
	return out
}

// Err returns the error of an error reply as a *Error, and nil for any
// other reply.
func (r Reply) Err() error {
	if r.Type != ReplyError {
		return nil
	}
	return parseError(r.Str)
}

// plain converts a reply into the values Do documents: nil, string, int64,
// *Error, or []any of those (maps flat, key then value).
func (r Reply) plain() any {
	switch r.Type {
	case ReplyNil:
		return nil
	case ReplyInt, ReplyBool:
		return r.Int
	case ReplyError:
		return parseError(r.Str)
	case ReplyArray, ReplyMap, ReplySet:
		out := make([]any, len(r.Elems))
		for i, e := range r.Elems {
			out[i] = e.plain()
		}
		return out
	}
	return r.Str
}

// String renders the reply on one line, for messages and debugging.
func (r Reply) String() string {
	switch r.Type {
	case ReplyNil:
		return "(nil)"
	case ReplyInt:
		return strconv.FormatInt(r.Int, 10)
	case ReplyBool:
		return strconv.FormatBool(r.Int != 0)
	case ReplyString, ReplyVerbatim:
		return strconv.Quote(r.Str)
	case ReplyArray, ReplyMap, ReplySet:
		return fmt.Sprint(r.plain())
	}
	return r.Str
}

// DoReply sends one command and returns its reply with its type kept (see
// Reply). An error reply is returned as a *Error, as by Do; an error nested
// in an array is an element of type ReplyError.
func (c *Client) DoReply(ctx context.Context, args ...string) (Reply, error) {
	if len(args) == 0 {
		return Reply{}, fmt.Errorf("%w: no command", ErrSyntax)
	}
	replies, err := c.execTyped(ctx, [][]string{args})
	if err != nil {
		return Reply{}, err
	}
	if err := replies[0].Err(); err != nil {
		return Reply{}, err
	}
	return replies[0], nil
}
