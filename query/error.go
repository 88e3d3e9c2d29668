package query

import "fmt"

// Error codes: the first words of every error reply (SPEC.md §4).
const (
	CodeSyntax   = "ERR SYNTAX"
	CodeBadID    = "ERR BADID"
	CodeNotFound = "ERR NOTFOUND"
	CodeTooLarge = "ERR TOOLARGE"
	CodeNoAuth   = "ERR NOAUTH"
	CodeReadOnly = "ERR READONLY"
	CodeGeneric  = "ERR"
)

// Error is a statement's failure as the client sees it: a code, the 1-based
// position of the offending word (0 when no single word is at fault) and a
// sentence a person can act on.
type Error struct {
	Code string
	Pos  int
	Msg  string
	err  error // the engine's error it stands for, if any
}

// Unwrap returns the engine's error the error stands for, so that
// errors.Is(err, engine.ErrExpiredCursor) and the like see through it.
func (e *Error) Unwrap() error { return e.err }

func (e *Error) Error() string {
	if e.Pos > 0 {
		return fmt.Sprintf("%s at word %d: %s", e.Code, e.Pos, e.Msg)
	}
	return e.Code + " " + e.Msg
}

// Errorf builds an *Error.
func Errorf(code string, pos int, format string, args ...any) *Error {
	return &Error{Code: code, Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

// Codes beyond SPEC.md's list, for what the engine refuses on grounds other
// than the words themselves.
const (
	CodeConflict    = "ERR CONFLICT"    // contradicts what is stored (a type's rules, a segment in use)
	CodeNoSpace     = "ERR NOSPACE"     // writes are refused: the disk is nearly full
	CodeUnavailable = "ERR UNAVAILABLE" // a cluster node that cannot reach a majority
)
