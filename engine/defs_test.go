package engine_test

import (
	"errors"
	"testing"

	"github.com/idgraph/idgraph/engine"
	"github.com/idgraph/idgraph/query"
)

// DefsVersion moves with every definition readers use (types, saved
// segments, computed traits) and with nothing else: a reply stamped with
// it (query.Stamp) goes stale when a definition changes, even in the
// moment between the definition's commit and its being seen.
func TestDefsVersionMovesWithDefinitionsOnly(t *testing.T) {
	db := openMem(t)
	v := db.DefsVersion()
	step := func(what string, moves bool, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		now := db.DefsVersion()
		if (now != v) != moves {
			t.Fatalf("%s: DefsVersion %d -> %d, want moved=%v", what, v, now, moves)
		}
		v = now
	}
	step("declare a type", true, db.DeclareType(ctx, engine.TypeSpec{Name: "loyalty", Limit: 1, Priority: 2}))
	step("save a segment", true, db.SaveSegment(ctx, "s", "DID view", nil))
	step("save a computed trait", true, db.SaveComputed(ctx, "c", "COUNT view", nil))
	_, err := db.DropSegment(ctx, "s", nil)
	step("drop a segment", true, err)
	_, err = db.DropComputed(ctx, "c", nil)
	step("drop a computed trait", true, err)
	track(t, db, "view", 1, "cookie:a")
	step("an event", false, nil)
	refuse := errors.New("refused")
	if err := db.SaveSegment(ctx, "t", "DID view", func(map[string]string) error { return refuse }); !errors.Is(err, refuse) {
		t.Fatalf("refused save: %v", err)
	}
	step("a refused definition", false, nil)
}

// The change feed's tick commits only when it has something to do: saved
// segments to evaluate (with a watcher) or feed entries to age out. A
// server's executor always installs a watcher; without a saved segment its
// store is left alone, so kept WHO replies are not ended every tick.
func TestTickOnlyWithSavedSegmentsOrFeedEntries(t *testing.T) {
	db := openMem(t)
	db.SetWatcher(query.Watcher{})
	track(t, db, "view", 1, "cookie:a")
	if db.TickDue() {
		t.Fatal("a tick is due with no saved segment and no feed entry")
	}
	if err := db.SaveSegment(ctx, "s", "DID view", nil); err != nil {
		t.Fatal(err)
	}
	if !db.TickDue() {
		t.Fatal("no tick due with a saved segment watched")
	}
	track(t, db, "view", 2, "cookie:b") // cookie:b enters s: a feed entry
	if _, err := db.DropSegment(ctx, "s", nil); err != nil {
		t.Fatal(err)
	}
	if !db.TickDue() {
		t.Fatal("no tick due with feed entries to age out")
	}
}
