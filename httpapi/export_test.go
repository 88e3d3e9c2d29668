package httpapi

import "github.com/idgraph/idgraph/engine"

// SetFailAfterCommit installs the fault hook: after each tracking request
// is committed, f is asked, and true makes the server answer 500 as if the
// acknowledgement were lost. f may block, holding the request in progress.
func SetFailAfterCommit(s *Server, f func(recs []engine.Record) bool) { s.failAfterCommit.Store(&f) }
