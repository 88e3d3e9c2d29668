package engine

import (
	"context"
	"maps"

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
	tx.After(func(uint64) {
		db.types.Store(tt)
		db.defsV.Add(1)
	})
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
	_, err := db.submitOne(ctx, &definitionOp{db: db, kind: store.NamedSegment, name: name, text: expr, save: true, check: check})
	return err
}

// DropSegment removes a named segment and reports whether it existed.
// check, when set, can refuse the drop (segments that use it).
func (db *DB) DropSegment(ctx context.Context, name string, check func(saved map[string]string) error) (bool, error) {
	res, err := db.submitOne(ctx, &definitionOp{db: db, kind: store.NamedSegment, name: name, check: check})
	return res.Removed > 0, err
}

// SaveComputed stores the definition of a computed trait (its text; the
// query layer parses and evaluates it). check runs in the writer, as for
// SaveSegment, with the computed traits as they are then.
func (db *DB) SaveComputed(ctx context.Context, name, def string, check func(defs map[string]string) error) error {
	_, err := db.submitOne(ctx, &definitionOp{db: db, kind: store.NamedCompute, name: name, text: def, save: true, check: check})
	return err
}

// DropComputed removes a computed trait and reports whether it existed.
func (db *DB) DropComputed(ctx context.Context, name string, check func(defs map[string]string) error) (bool, error) {
	res, err := db.submitOne(ctx, &definitionOp{db: db, kind: store.NamedCompute, name: name, check: check})
	return res.Removed > 0, err
}

// definitionOp saves or drops a saved segment or a computed trait.
type definitionOp struct {
	db         *DB
	kind       store.Named
	name, text string
	save       bool
	check      func(map[string]string) error
}

type definitionPlan struct {
	op     *definitionOp
	exists bool
}

func (o *definitionOp) Plan(r writer.Reader) (writer.Plan, error) {
	what := "segment name"
	if o.kind == store.NamedCompute {
		what = "computed trait name"
	}
	if err := graph.CheckName(what, o.name); err != nil {
		return nil, err
	}
	all, err := r.NamedAll(o.kind)
	if err != nil {
		return nil, err
	}
	defs := make(map[string]string, len(all))
	for k, v := range all {
		defs[k] = string(v)
	}
	_, exists := defs[o.name]
	if !o.save && !exists {
		return &definitionPlan{op: o}, nil
	}
	if o.check != nil {
		if err := o.check(defs); err != nil {
			return nil, err
		}
	}
	return &definitionPlan{op: o, exists: exists}, nil
}

func (p *definitionPlan) Apply(tx *writer.Tx) (any, error) {
	o := p.op
	db, kind, name, text := o.db, o.kind, o.name, o.text
	l := db.local(tx)
	l.defsChanged = true
	if kind == store.NamedCompute {
		l.allRedefined = true
	} else if o.save {
		if l.redefined == nil {
			l.redefined = map[string]bool{}
		}
		l.redefined[name] = true
	}
	switch {
	case o.save:
		tx.PutNamed(kind, name, []byte(text))
		tx.After(func(uint64) { db.setDefinition(kind, name, text, true) })
		return Result{}, nil
	case p.exists:
		tx.DeleteNamed(kind, name)
		tx.After(func(uint64) { db.setDefinition(kind, name, "", false) })
		return Result{Removed: 1}, nil
	}
	return Result{}, nil
}

func (db *DB) setDefinition(kind store.Named, name, text string, present bool) {
	db.segMu.Lock()
	defer db.segMu.Unlock()
	defer db.defsV.Add(1)
	// Replaced, not changed: SegmentDefs and ComputedDefs hand the maps
	// out.
	var m map[string]string
	if kind == store.NamedCompute {
		m = maps.Clone(db.comps)
		db.comps = m
		db.compsV++
	} else {
		m = maps.Clone(db.segs)
		db.segs = m
	}
	if present {
		m[name] = text
	} else {
		delete(m, name)
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
	return maps.Clone(db.segs)
}

// SegmentDefs is Segments without the copy, for callers on every WHO and
// every watched commit: the map is shared and must not be changed.
func (db *DB) SegmentDefs() map[string]string {
	db.segMu.RLock()
	defer db.segMu.RUnlock()
	return db.segs
}

// Computed returns every computed trait, name → definition; like saved
// segments they are kept in memory.
func (db *DB) Computed() map[string]string {
	db.segMu.RLock()
	defer db.segMu.RUnlock()
	return maps.Clone(db.comps)
}

// ComputedDefs is Computed without the copy, for callers on every WHO:
// the map is shared and must not be changed. The number changes whenever
// the definitions do, so a caller can keep what it derives from them.
func (db *DB) ComputedDefs() (map[string]string, uint64) {
	db.segMu.RLock()
	defer db.segMu.RUnlock()
	return db.comps, db.compsV
}
