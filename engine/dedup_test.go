package engine_test

import (
	"testing"
	"time"

	"github.com/idgraph/idgraph/engine"
)

func TestMessageIDAppliedOnce(t *testing.T) {
	dir := t.TempDir()
	clock := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	opts := engine.DefaultOptions(dir)
	opts.Now = func() time.Time { return clock }
	opts.DedupWindow = time.Hour
	db, err := engine.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	rec := engine.Record{Event: "purchase", IDs: []string{"user:1", "cookie:c1"}, Time: at(1), MessageID: "m-1"}
	// Two copies in one batch and one more in the next: one event.
	res, errs, err := db.Apply(ctx, []engine.Op{engine.RecordOp(rec), engine.RecordOp(rec)})
	if err != nil || errs[0] != nil || errs[1] != nil {
		t.Fatal(err, errs)
	}
	if res[0].Duplicate || !res[1].Duplicate {
		t.Fatalf("duplicates %v %v, want false true", res[0].Duplicate, res[1].Duplicate)
	}
	if p := who(t, db, "user:1"); p.Events != 1 {
		t.Fatalf("events %d, want 1", p.Events)
	}
	// Remembered across a restart.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if db, err = engine.Open(opts); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	res, errs, _ = db.Apply(ctx, []engine.Op{engine.RecordOp(rec)})
	if errs[0] != nil || !res[0].Duplicate {
		t.Fatalf("after reopen: duplicate %v, err %v", res[0].Duplicate, errs[0])
	}
	// A failed record is not remembered: its retry applies.
	bad := engine.Record{Event: "x", IDs: []string{"nocolon"}, MessageID: "m-2"}
	if _, errs, _ = db.Apply(ctx, []engine.Op{engine.RecordOp(bad)}); errs[0] == nil {
		t.Fatal("bad record accepted")
	}
	good := engine.Record{Event: "x", IDs: []string{"user:1"}, Time: at(2), MessageID: "m-2"}
	if res, errs, _ = db.Apply(ctx, []engine.Op{engine.RecordOp(good)}); errs[0] != nil || res[0].Duplicate {
		t.Fatalf("retry of a failed record: duplicate %v, err %v", res[0].Duplicate, errs[0])
	}
	// Past the window the id is forgotten.
	clock = clock.Add(2 * time.Hour)
	if res, errs, _ = db.Apply(ctx, []engine.Op{engine.RecordOp(rec)}); errs[0] != nil || res[0].Duplicate {
		t.Fatalf("after the window: duplicate %v, err %v", res[0].Duplicate, errs[0])
	}
	if p := who(t, db, "user:1"); p.Events != 3 {
		t.Fatalf("events %d, want 3", p.Events)
	}
}
