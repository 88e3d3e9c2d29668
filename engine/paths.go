package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/idgraph/idgraph/engine/internal/graph"
	"github.com/idgraph/idgraph/engine/internal/store"
	"github.com/idgraph/idgraph/engine/internal/writer"
	"github.com/idgraph/idgraph/index"
)

// Property paths. The index keeps, per event name, the values of the
// property paths that segment conditions and computed traits use (see
// package index). Registering a path is persisted (a named record) and
// rebuilds that event name's index entries from the stored records — a
// scan of every record, paid once per new path; afterwards the values are
// kept as events arrive.

// MaxPaths bounds the paths registered for one event name.
const MaxPaths = 32

// RegisterPaths makes sure the index keeps the values of paths for events
// named name. It returns once the index has them.
func (db *DB) RegisterPaths(ctx context.Context, name string, paths []string) error {
	have := db.idx.Paths(name)
	var missing []string
	for _, p := range paths {
		if !index.ValidPath(p) {
			return invalid(p, "property path %q: 1 to 8 dot-separated keys, at most 256 bytes", graph.Clip(p))
		}
		if !slices.Contains(have, p) && !slices.Contains(missing, p) {
			missing = append(missing, p)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if err := graph.CheckName("event name", name); err != nil {
		return err
	}
	if db.w == nil {
		// A read-only store has no writer: keep the paths in memory only,
		// for as long as it is open. (Nothing else changes the index then.)
		db.roPaths.Lock()
		defer db.roPaths.Unlock()
		paths := append(db.idx.Paths(name), missing...) // missing holds none of them
		if len(paths) > MaxPaths {
			return graph.Errorf(graph.TooLarge, "", "event %s would have %d property paths indexed; the most is %d", name, len(paths), MaxPaths)
		}
		return db.rebuildSeries(name, paths)
	}
	_, err := db.submitOne(ctx, &pathsOp{db: db, name: name, add: missing})
	return err
}

type pathsOp struct {
	db   *DB
	name string
	add  []string
}

type pathsPlan struct {
	op    *pathsOp
	paths []string
}

func (o *pathsOp) Plan(r writer.Reader) (writer.Plan, error) {
	all, err := r.NamedAll(store.NamedPaths)
	if err != nil {
		return nil, err
	}
	var paths []string
	if b, ok := all[o.name]; ok {
		if err := json.Unmarshal(b, &paths); err != nil {
			return nil, err
		}
	}
	for _, p := range o.add {
		if !slices.Contains(paths, p) {
			paths = append(paths, p)
		}
	}
	if len(paths) > MaxPaths {
		return nil, graph.Errorf(graph.TooLarge, "", "event %s would have %d property paths indexed; the most is %d", o.name, len(paths), MaxPaths)
	}
	return &pathsPlan{op: o, paths: paths}, nil
}

func (p *pathsPlan) Apply(tx *writer.Tx) (any, error) {
	b, err := json.Marshal(p.paths)
	if err != nil {
		return nil, err
	}
	tx.PutNamed(store.NamedPaths, p.op.name, b)
	db, name, paths := p.op.db, p.op.name, p.paths
	// After the commit, with no transaction open and the index at the
	// commit's generation: rebuild the name's entries with their values.
	tx.After(func(gen uint64) {
		if err := db.rebuildSeries(name, paths); err != nil {
			db.logError(fmt.Errorf("index property paths of %s: %w", name, err))
		}
	})
	return Result{}, nil
}

// rebuildSeries re-reads every event named name from the store and gives
// the index its entries with the values of paths.
func (db *DB) rebuildSeries(name string, paths []string) error {
	snap := db.st.View()
	defer snap.Close()
	evs, err := seriesEvents(snap, name)
	if err != nil {
		return err
	}
	db.idx.ReplaceSeries(name, paths, evs)
	return nil
}

// seriesEvents reads every event named name, with the profile it counts
// for (the one holding its anchor).
func seriesEvents(snap store.Snapshot, name string) ([]index.ProfileEvent, error) {
	meta, err := snap.Meta()
	if err != nil {
		return nil, err
	}
	profOf := map[uint32]uint32{}
	var out []index.ProfileEvent
	err = snap.ScanRecords(func(rec *store.Record) error {
		if !rec.Event || rec.Name != name || slices.Contains(meta.Purge, rec.Anchor) {
			return nil
		}
		p, ok := profOf[rec.Anchor]
		if !ok {
			nr, err := snap.Node(rec.Anchor)
			if err != nil {
				return fmt.Errorf("event anchored on node %d: %w", rec.Anchor, err)
			}
			p = nr.Profile
			profOf[rec.Anchor] = p
		}
		out = append(out, index.ProfileEvent{P: p, Event: index.Event{Name: rec.Name, Source: rec.Source, Time: rec.Time, Props: rec.Props}})
		return nil
	})
	return out, err
}

// Paths returns the property paths the index keeps for events named name.
func (db *DB) Paths(name string) []string { return db.idx.Paths(name) }
