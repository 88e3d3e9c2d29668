package engine

import (
	"github.com/idgraph/idgraph/engine/internal/graph"
	"github.com/idgraph/idgraph/engine/internal/writer"
)

// Error is the engine's error for bad input: Kind says what is wrong, Arg
// is the offending input exactly as given (an identifier, a name, a value;
// "" when the error concerns the call as a whole), Msg a sentence a person
// can act on. The query language maps Kind to a protocol code and Arg to
// the position of the word, without reading Msg.
type Error = graph.Error

// Kind classifies an Error.
type Kind = graph.Kind

// The kinds of Error.
const (
	KindInvalid  = graph.Invalid
	KindBadID    = graph.BadID
	KindNotFound = graph.NotFound
	KindTooLarge = graph.TooLarge
	KindConflict = graph.Conflict
	KindNoSpace  = graph.NoSpace
)

// Sentinels for errors.Is. Every *Error of a kind other than NotFound and
// NoSpace is ErrInvalid (the caller sent something wrong) and also the
// sentinel of its kind.
var (
	ErrInvalid  = graph.ErrInvalid
	ErrBadID    = graph.ErrBadID
	ErrNotFound = graph.ErrNotFound
	ErrTooLarge = graph.ErrTooLarge
	ErrConflict = graph.ErrConflict
	ErrNoSpace  = graph.ErrNoSpace
	ErrClosed   = writer.ErrClosed
)

func invalid(arg, format string, args ...any) *Error {
	return graph.Errorf(graph.Invalid, arg, format, args...)
}

func notFound(arg, format string, args ...any) *Error {
	return graph.Errorf(graph.NotFound, arg, format, args...)
}
