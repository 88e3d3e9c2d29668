package httpapi_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idgraph/idgraph/engine"
	"github.com/idgraph/idgraph/httpapi"
)

// TestSegmentNodeSDK sends identify, track, page, alias and a batch with
// Segment's own SDK for Node, pointed at the server with its host setting
// (testdata/sdk/send.mjs). The batch's first try is committed and then
// answered 500; the SDK retries it, and the events count once. It skips
// when node or the package is missing (`npm ci --prefix
// httpapi/testdata/sdk` installs it; .ci/run does).
func TestSegmentNodeSDK(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	dir := filepath.Join("testdata", "sdk")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@segment", "analytics-node", "package.json")); err != nil {
		t.Skip("@segment/analytics-node is not installed: npm ci --prefix httpapi/testdata/sdk")
	}
	e := start(t, httpapi.Options{WriteKeys: map[string]string{"sdk-write-key": "node"}})
	var batchTries atomic.Int32
	httpapi.SetFailAfterCommit(e.srv, func(recs []engine.Record) bool {
		for _, r := range recs {
			if r.Event == "Product Viewed" {
				return batchTries.Add(1) == 1
			}
		}
		return false
	})

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "send.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "IDGRAPH_HOST="+e.url, "IDGRAPH_WRITE_KEY=sdk-write-key")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node send.mjs: %v\n%s", err, out)
	}
	if n := batchTries.Load(); n != 2 {
		t.Errorf("the batch arrived %d times, want 2 (the forced 500, then the retry)", n)
	}

	ann := e.who("email:sdk.ann@example.com")
	if ann == nil {
		t.Fatal("no profile for the identified email")
	}
	wantIDs := []string{"cookie:sdk-anon-1", "cookie:sdk-old-anon", "email:sdk.ann@example.com", "user:sdk-user-1"}
	if !reflect.DeepEqual(ann.IDs, wantIDs) {
		t.Errorf("ids %v, want %v", ann.IDs, wantIDs)
	}
	if want := map[string]string{"email": "Sdk.Ann@Example.com", "plan": "pro"}; !reflect.DeepEqual(ann.Traits, want) {
		t.Errorf("traits %v, want %v", ann.Traits, want)
	}
	evs, err := e.db.Timeline("user:sdk-user-1", engine.TimelinePage{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, ev := range evs {
		names = append(names, ev.Name+"/"+ev.Source)
	}
	if want := []string{"page/node", "Order Completed/node"}; !reflect.DeepEqual(names, want) || ann.Events != 2 {
		t.Errorf("events %v (%d), want %v", names, ann.Events, want)
	}
	// The SDK stamps "timestamp" with the machine's clock.
	if d := time.Since(evs[1].Time); d < -time.Hour || d > time.Hour {
		t.Errorf("event time %v, want about now", evs[1].Time)
	}
	bo := e.who("user:sdk-user-2")
	if bo == nil || bo.Events != 5 {
		t.Fatalf("batch profile: %+v, want 5 events (not 10: the retry must not count)", bo)
	}
}
