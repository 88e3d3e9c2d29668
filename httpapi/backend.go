package httpapi

import (
	"context"

	"github.com/idgraph/idgraph/engine"
	"github.com/idgraph/idgraph/query"
)

// Backend is what the HTTP API reads and writes through: one store (New
// wraps an engine.DB and its executor), or a cluster node, whose writes go
// through the replicated log (cluster.Node is a Backend).
type Backend interface {
	// Exec runs one statement of the JSON API.
	Exec(ctx context.Context, s *query.Session, args []string) (query.Value, error)
	// ApplyRecords applies the tracking API's records in order, each
	// atomically, as engine.DB.Apply of engine.RecordOp does.
	ApplyRecords(ctx context.Context, recs []engine.Record) ([]engine.Result, []error, error)
	// CheckRecord validates a record as applying it would (engine.DB.CheckRecord).
	CheckRecord(rec engine.Record) error
	// Segment returns a saved segment's expression.
	Segment(name string) (string, bool)
}

// single is the Backend of one store.
type single struct {
	db *engine.DB
	x  *query.Executor
}

func (b single) Exec(ctx context.Context, s *query.Session, args []string) (query.Value, error) {
	return b.x.Exec(ctx, s, args)
}

func (b single) ApplyRecords(ctx context.Context, recs []engine.Record) ([]engine.Result, []error, error) {
	ops := make([]engine.Op, len(recs))
	for i, rec := range recs {
		ops[i] = engine.RecordOp(rec)
	}
	return b.db.Apply(ctx, ops)
}

func (b single) CheckRecord(rec engine.Record) error { return b.db.CheckRecord(rec) }
func (b single) Segment(name string) (string, bool)  { return b.db.Segment(name) }
