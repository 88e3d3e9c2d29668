package graph

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// Kind classifies an Error: what the caller did wrong, so the language can
// map it to a protocol code without reading the message.
type Kind uint8

// The kinds of Error.
const (
	// Invalid is malformed input other than an identifier: a name, a value,
	// a time, PROPS, a missing part of a call.
	Invalid Kind = iota + 1
	// BadID is a malformed identifier: no colon, an unknown type, a value
	// too long or empty, control characters.
	BadID
	// NotFound is an identifier or profile that the store does not hold.
	NotFound
	// TooLarge is input past a limit: too many identifiers, too long a
	// value, an operation that cannot fit in one transaction.
	TooLarge
	// Conflict is a write that contradicts what is stored: redeclaring a
	// type with other rules, dropping a segment others use.
	Conflict
	// NoSpace is a write refused because the disk is nearly full.
	NoSpace
)

func (k Kind) String() string {
	switch k {
	case Invalid:
		return "invalid"
	case BadID:
		return "bad identifier"
	case NotFound:
		return "not found"
	case TooLarge:
		return "too large"
	case Conflict:
		return "conflict"
	case NoSpace:
		return "no space"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Error is the engine's one error for bad input. Arg is the offending input
// exactly as the caller gave it (an identifier, a name, a value; "" when the
// error is about the call as a whole), so that a caller holding the words of
// a statement can point at the one that is wrong. Msg is a sentence a person
// can act on.
type Error struct {
	Kind Kind
	Arg  string
	Msg  string
	// Err, when set, is a more precise cause for errors.Is (an expired
	// change feed cursor).
	Err error
}

func (e *Error) Error() string { return e.Msg }

// Unwrap returns the precise cause, if any.
func (e *Error) Unwrap() error { return e.Err }

// Sentinels for errors.Is. Every *Error is ErrInvalid; each kind is also its
// own sentinel.
var (
	ErrInvalid  = errors.New("invalid input")
	ErrBadID    = errors.New("bad identifier")
	ErrNotFound = errors.New("not found")
	ErrTooLarge = errors.New("too large")
	ErrConflict = errors.New("conflict")
	ErrNoSpace  = errors.New("no space")
)

// Is makes errors.Is(err, ErrBadID) and friends work. Every kind but
// NotFound and NoSpace is also ErrInvalid: the caller sent something wrong.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrInvalid:
		return e.Kind != NotFound && e.Kind != NoSpace
	case ErrBadID:
		return e.Kind == BadID
	case ErrNotFound:
		return e.Kind == NotFound
	case ErrTooLarge:
		return e.Kind == TooLarge
	case ErrConflict:
		return e.Kind == Conflict
	case ErrNoSpace:
		return e.Kind == NoSpace
	}
	return false
}

// Errorf builds an *Error of kind k about arg.
func Errorf(k Kind, arg string, format string, args ...any) *Error {
	return &Error{Kind: k, Arg: arg, Msg: fmt.Sprintf(format, args...)}
}

// Clip shortens user input quoted back in messages to 64 bytes.
func Clip(s string) string {
	if len(s) <= 64 {
		return s
	}
	cut := 64
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
