package engine

import (
	"context"

	"github.com/idgraph/idgraph/engine/internal/graph"
	"github.com/idgraph/idgraph/engine/internal/store"
	"github.com/idgraph/idgraph/engine/internal/writer"
	"github.com/vmihailenco/msgpack/v5"
)

// DeclareType adds an identifier type. Declaring an existing custom type
// again with the same rules is a no-op; built-in types and declared ones
// cannot be changed (that would change the replay of old data).
func (db *DB) DeclareType(ctx context.Context, t TypeSpec) error {
	_, err := db.submitOne(ctx, &declareOp{db: db, spec: t})
	return err
}

type declareOp struct {
	db   *DB
	spec TypeSpec
}

type declarePlan struct {
	op    *declareOp
	types *graph.Types // nil: the type exists already with these rules
}

func (o *declareOp) Plan(r writer.Reader) (writer.Plan, error) {
	t := o.spec
	if t.Normalize == "" {
		t.Normalize = NormTrim
	}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	tt := o.db.local(r).types
	if cur, ok := tt.Lookup(t.Name); ok {
		if cur == t && !graph.IsBuiltin(t.Name) {
			return &declarePlan{op: o}, nil
		}
		return nil, graph.Errorf(graph.Conflict, t.Name, "type %s already exists with other rules; types cannot be changed once declared", t.Name)
	}
	next, err := tt.With(t)
	if err != nil {
		return nil, err
	}
	o.spec = t
	return &declarePlan{op: o, types: next}, nil
}

func (p *declarePlan) Apply(tx *writer.Tx) (any, error) {
	if p.types == nil {
		return Result{}, nil
	}
	b, err := msgpack.Marshal(&p.op.spec)
	if err != nil {
		return nil, err
	}
	tx.PutNamed(store.NamedType, p.op.spec.Name, b)
	// Later operations of this transaction use the new type at once;
	// readers once it is committed.
	db, tt := p.op.db, p.types
	db.local(tx).types = tt
	tx.After(func(uint64) { db.types.Store(tt) })
	return Result{}, nil
}

func decodeTypeSpec(b []byte) (TypeSpec, error) {
	var t TypeSpec
	if err := msgpack.Unmarshal(b, &t); err != nil {
		return t, err
	}
	return t, nil
}

// SaveSegment stores a named segment expression (its text; the query
// layer parses it). check, when set, runs in the writer before anything is
// written, with the saved segments as they are then (name → expression),
// so a caller can refuse cycles without a race. Saving an existing name
// replaces it.
func (db *DB) SaveSegment(ctx context.Context, name, expr string, check func(saved map[string]string) error) error {
	_, err := db.submitOne(ctx, &segmentOp{db: db, name: name, expr: expr, save: true, check: check})
	return err
}

// DropSegment removes a named segment and reports whether it existed.
// check, when set, can refuse the drop (segments that use it).
func (db *DB) DropSegment(ctx context.Context, name string, check func(saved map[string]string) error) (bool, error) {
	res, err := db.submitOne(ctx, &segmentOp{db: db, name: name, check: check})
	return res.Removed > 0, err
}

type segmentOp struct {
	db         *DB
	name, expr string
	save       bool
	check      func(map[string]string) error
}

type segmentPlan struct {
	op     *segmentOp
	exists bool
}

func (o *segmentOp) Plan(r writer.Reader) (writer.Plan, error) {
	if err := graph.CheckName("segment name", o.name); err != nil {
		return nil, err
	}
	all, err := r.NamedAll(store.NamedSegment)
	if err != nil {
		return nil, err
	}
	saved := make(map[string]string, len(all))
	for k, v := range all {
		saved[k] = string(v)
	}
	_, exists := saved[o.name]
	if !o.save && !exists {
		return &segmentPlan{op: o}, nil
	}
	if o.check != nil {
		if err := o.check(saved); err != nil {
			return nil, err
		}
	}
	return &segmentPlan{op: o, exists: exists}, nil
}

func (p *segmentPlan) Apply(tx *writer.Tx) (any, error) {
	o := p.op
	db, name, expr := o.db, o.name, o.expr
	switch {
	case o.save:
		tx.PutNamed(store.NamedSegment, name, []byte(expr))
		tx.After(func(uint64) { db.setSegment(name, expr, true) })
		return Result{}, nil
	case p.exists:
		tx.DeleteNamed(store.NamedSegment, name)
		tx.After(func(uint64) { db.setSegment(name, "", false) })
		return Result{Removed: 1}, nil
	}
	return Result{}, nil
}

func (db *DB) setSegment(name, expr string, present bool) {
	db.segMu.Lock()
	defer db.segMu.Unlock()
	if present {
		db.segs[name] = expr
	} else {
		delete(db.segs, name)
	}
}

// Segment returns a saved segment's expression.
func (db *DB) Segment(name string) (string, bool) {
	db.segMu.RLock()
	defer db.segMu.RUnlock()
	expr, ok := db.segs[name]
	return expr, ok
}

// Segments returns every saved segment, name → expression. Saved segments
// are few and read on every WHO, so they are kept in memory.
func (db *DB) Segments() map[string]string {
	db.segMu.RLock()
	defer db.segMu.RUnlock()
	out := make(map[string]string, len(db.segs))
	for k, v := range db.segs {
		out[k] = v
	}
	return out
}
