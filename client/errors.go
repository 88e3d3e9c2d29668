package client

import (
	"errors"
	"strconv"
	"strings"
)

// Sentinel errors to test with errors.Is. Server errors arrive as *Error,
// which matches the sentinel of its code.
var (
	// ErrNotFound: WHO of an unknown identifier, or an ERR NOTFOUND reply.
	ErrNotFound = errors.New("idgraph: not found")
	// ErrSyntax: a statement the server could not parse (ERR SYNTAX), or an
	// expression the client could not split (an unbalanced quote).
	ErrSyntax = errors.New("idgraph: syntax error")
	// ErrBadID: a malformed identifier, or none left after blocked values
	// were dropped (ERR BADID).
	ErrBadID = errors.New("idgraph: bad identifier")
	// ErrNoAuth: authentication required or refused (ERR NOAUTH).
	ErrNoAuth = errors.New("idgraph: not authenticated")
	// ErrReadOnly: a write on a read-only session (ERR READONLY).
	ErrReadOnly = errors.New("idgraph: read-only session")
	// ErrTooLarge: a command over the server's limits (ERR TOOLARGE).
	ErrTooLarge = errors.New("idgraph: command too large")
	// ErrClosed: the Client was closed.
	ErrClosed = errors.New("idgraph: client closed")
)

// Error is an error reply from the server: a code such as "ERR SYNTAX", the
// 1-based position of the offending word (0 when no single word is at
// fault) and the server's message.
type Error struct {
	Code string
	Pos  int
	Msg  string
}

// Error returns the reply as the server wrote it.
func (e *Error) Error() string {
	switch {
	case e.Pos > 0:
		return e.Code + " at word " + strconv.Itoa(e.Pos) + ": " + e.Msg
	case e.Msg == "":
		return e.Code
	}
	return e.Code + " " + e.Msg
}

// Is matches the sentinel error of the code (and the plain Redis spellings
// NOAUTH, WRONGPASS and READONLY).
func (e *Error) Is(target error) bool {
	switch target {
	case ErrSyntax:
		return e.Code == "ERR SYNTAX"
	case ErrBadID:
		return e.Code == "ERR BADID"
	case ErrNotFound:
		return e.Code == "ERR NOTFOUND"
	case ErrTooLarge:
		return e.Code == "ERR TOOLARGE"
	case ErrNoAuth:
		return e.Code == "ERR NOAUTH" || e.Code == "NOAUTH" || e.Code == "WRONGPASS"
	case ErrReadOnly:
		return e.Code == "ERR READONLY" || e.Code == "READONLY"
	}
	return false
}

var knownCodes = []string{"ERR SYNTAX", "ERR BADID", "ERR NOTFOUND", "ERR TOOLARGE", "ERR NOAUTH", "ERR READONLY"}

// parseError splits an error reply such as "ERR SYNTAX at word 5: message"
// into its parts. An unknown code is the reply's first word.
func parseError(s string) *Error {
	code, rest := "", ""
	for _, k := range knownCodes {
		if s == k || strings.HasPrefix(s, k+" ") {
			code, rest = k, strings.TrimPrefix(s[len(k):], " ")
			break
		}
	}
	if code == "" {
		code, rest, _ = strings.Cut(s, " ")
	}
	e := &Error{Code: code, Msg: rest}
	if after, ok := strings.CutPrefix(rest, "at word "); ok {
		num, msg, ok := strings.Cut(after, ": ")
		if pos, err := strconv.Atoi(num); ok && err == nil && pos > 0 {
			e.Pos, e.Msg = pos, msg
		}
	}
	return e
}
