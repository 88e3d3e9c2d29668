package engine_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idgraph/idgraph/engine"
	"github.com/idgraph/idgraph/index"
)

func openMem(t *testing.T) *engine.DB {
	t.Helper()
	opts := engine.DefaultOptions("")
	opts.InMemory = true
	db, err := engine.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

var ctx = context.Background()

func at(h int) time.Time { return time.Date(2026, 11, 1, h, 0, 0, 0, time.UTC) }

func track(t testing.TB, db *engine.DB, name string, h int, ids ...string) engine.Result {
	t.Helper()
	r, err := db.Track(ctx, engine.Event{Name: name, IDs: ids, Time: at(h)})
	if err != nil {
		t.Fatalf("TRACK %s %v: %v", name, ids, err)
	}
	return r
}

func who(t *testing.T, db *engine.DB, id string) *engine.Profile {
	t.Helper()
	p, err := db.Who(id)
	if err != nil {
		t.Fatalf("WHO %s: %v", id, err)
	}
	return p
}

func wantIDs(t *testing.T, db *engine.DB, id string, want ...string) *engine.Profile {
	t.Helper()
	p := who(t, db, id)
	slices.Sort(want)
	if !slices.Equal(p.IDs, want) {
		t.Fatalf("WHO %s: ids %v, want %v", id, p.IDs, want)
	}
	return p
}

func TestAnonymousBrowsingBecomesCustomerHistory(t *testing.T) {
	db := openMem(t)
	anon := track(t, db, "page_view", 1, "cookie:abc")
	track(t, db, "page_view", 2, "cookie:abc")
	track(t, db, "add_to_cart", 3, "cookie:abc")
	signup := track(t, db, "signup", 4, "user:42", "email:Ann@Example.com", "cookie:abc")
	if signup.Profile != anon.Profile {
		t.Fatalf("the older (anonymous) profile id survives: got %d want %d", signup.Profile, anon.Profile)
	}
	p := wantIDs(t, db, "user:42", "cookie:abc", "email:ann@example.com", "user:42")
	if p.Events != 4 || !p.FirstSeen.Equal(at(1)) || !p.LastSeen.Equal(at(4)) {
		t.Fatalf("history: events=%d first=%v last=%v", p.Events, p.FirstSeen, p.LastSeen)
	}
	tl, err := db.Timeline("email:ann@example.com", engine.TimelinePage{Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(tl) != 2 || tl[0].Name != "signup" || tl[1].Name != "add_to_cart" {
		t.Fatalf("timeline newest first: %+v", tl)
	}
}

func TestWebAndAppJoinedByOneLogin(t *testing.T) {
	db := openMem(t)
	track(t, db, "page_view", 1, "cookie:web1")
	track(t, db, "app_open", 2, "app:inst1", "device:D1", "push:tok1")
	track(t, db, "login", 3, "user:7", "cookie:web1")
	track(t, db, "login", 4, "user:7", "app:inst1")
	wantIDs(t, db, "push:tok1", "app:inst1", "cookie:web1", "device:d1", "push:tok1", "user:7")
}

func TestDeviceAndPushMoveToNewOwnerAndBack(t *testing.T) {
	db := openMem(t)
	ann := track(t, db, "login", 1, "user:ann", "device:dev1", "push:p1").Profile
	bob := track(t, db, "login", 2, "user:bob", "device:dev1", "push:p1").Profile
	if ann == bob {
		t.Fatal("two user ids merged")
	}
	wantIDs(t, db, "user:bob", "device:dev1", "push:p1", "user:bob")
	wantIDs(t, db, "user:ann", "user:ann")
	track(t, db, "login", 3, "user:ann", "device:dev1", "push:p1")
	wantIDs(t, db, "user:ann", "device:dev1", "push:p1", "user:ann")
	wantIDs(t, db, "user:bob", "user:bob")
}

func TestEventsMoveWithTheirDevice(t *testing.T) {
	db := openMem(t)
	track(t, db, "login", 1, "user:ann", "device:dev1")
	track(t, db, "app_open", 2, "device:dev1")
	track(t, db, "app_open", 3, "device:dev1")
	track(t, db, "login", 4, "user:bob", "device:dev1")
	if got := who(t, db, "user:bob").Events; got != 3 {
		t.Fatalf("bob counts the device's events and his login: %d", got)
	}
	if got := who(t, db, "user:ann").Events; got != 1 {
		t.Fatalf("ann keeps only her login: %d", got)
	}
}

func TestTwoUserIDsNeverMergeThroughSharedBrowser(t *testing.T) {
	db := openMem(t)
	track(t, db, "login", 1, "user:a", "cookie:shared")
	r := track(t, db, "login", 2, "user:b", "cookie:shared")
	if len(r.Refused) != 1 || r.Refused[0].ID != "cookie:shared" || r.Refused[0].Rule != "limit user=1" {
		t.Fatalf("refused: %+v", r.Refused)
	}
	wantIDs(t, db, "user:a", "cookie:shared", "user:a")
	wantIDs(t, db, "user:b", "user:b")
	w, err := db.Why("user:a", "user:b")
	if err != nil {
		t.Fatal(err)
	}
	if w.Linked || len(w.Path) != 2 || !strings.Contains(w.Reason, "limit user=1") {
		t.Fatalf("WHY: %+v", w)
	}
}

func TestJunkValuesNeverGlueStrangers(t *testing.T) {
	db := openMem(t)
	zero := "idfa:00000000-0000-0000-0000-000000000000"
	r1 := track(t, db, "install", 1, "user:a", zero, "cookie:null")
	r2 := track(t, db, "install", 2, "user:b", zero, "email:UNDEFINED")
	if r1.Profile == r2.Profile {
		t.Fatal("strangers glued by junk")
	}
	if !slices.Equal(r1.Dropped, []string{zero, "cookie:null"}) || !slices.Equal(r2.Dropped, []string{zero, "email:UNDEFINED"}) {
		t.Fatalf("dropped: %v / %v", r1.Dropped, r2.Dropped)
	}
	if _, err := db.Who(zero); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("a blocked value never becomes a node: %v", err)
	}
	if _, err := db.Track(ctx, engine.Event{Name: "x", IDs: []string{"cookie:null"}}); !errors.Is(err, engine.ErrBadID) {
		t.Fatalf("only junk is an error: %v", err)
	}
}

func TestSurvivorAndForwardingIDs(t *testing.T) {
	db := openMem(t)
	old := track(t, db, "view", 1, "cookie:c1").Profile
	young := track(t, db, "view", 2, "email:e@x.io").Profile
	r, err := db.Merge(ctx, []string{"email:e@x.io", "cookie:c1"}, "crm", at(3))
	if err != nil {
		t.Fatal(err)
	}
	if r.Profile != old {
		t.Fatalf("survivor %d, want the older %d", r.Profile, old)
	}
	p := who(t, db, "profile:"+itoa(young))
	if p.ID != old {
		t.Fatalf("profile:%d forwards to %d, got %d", young, old, p.ID)
	}
}

func TestUnlinkSplitsAndReResolves(t *testing.T) {
	db := openMem(t)
	track(t, db, "login", 1, "user:u", "cookie:c")
	track(t, db, "login", 2, "user:u", "email:e@x.io")
	r, err := db.Unlink(ctx, "user:u", "cookie:c")
	if err != nil {
		t.Fatal(err)
	}
	if r.Removed != 1 || r.Profiles[0] == r.Profiles[1] {
		t.Fatalf("unlink: %+v", r)
	}
	wantIDs(t, db, "user:u", "email:e@x.io", "user:u")
	wantIDs(t, db, "cookie:c", "cookie:c")
	if _, err := db.Unlink(ctx, "user:u", "user:u"); !errors.Is(err, engine.ErrInvalid) {
		t.Fatalf("unlink with itself: %v", err)
	}
}

func TestForgetErasesProfile(t *testing.T) {
	db := openMem(t)
	track(t, db, "login", 1, "user:u", "email:e@x.io", "cookie:c")
	track(t, db, "login", 2, "user:other", "cookie:c") // refused: cookie stays with u
	if _, err := db.SetTraits(ctx, "user:u", []engine.Trait{{Name: "name", Value: "Ann"}}, at(3)); err != nil {
		t.Fatal(err)
	}
	r, err := db.Forget(ctx, "email:e@x.io", true)
	if err != nil {
		t.Fatal(err)
	}
	if r.Removed != 3 || r.Events != 1 {
		t.Fatalf("forget: %+v", r)
	}
	for _, id := range []string{"user:u", "email:e@x.io", "cookie:c"} {
		if _, err := db.Who(id); !errors.Is(err, engine.ErrNotFound) {
			t.Fatalf("WHO %s after FORGET: %v", id, err)
		}
	}
	wantIDs(t, db, "user:other", "user:other")
	// Suppressed: a new event carrying the erased email drops it.
	r2 := track(t, db, "view", 4, "email:E@x.io", "cookie:new")
	if len(r2.Dropped) != 0 || !slices.Equal(r2.Suppressed, []string{"email:E@x.io"}) {
		t.Fatalf("suppressed id not dropped: %+v", r2)
	}
	if _, err := db.Forget(ctx, "email:nobody@x.io", false); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("forget unknown: %v", err)
	}
}

func TestTraitsAndConsentLaterWins(t *testing.T) {
	db := openMem(t)
	track(t, db, "login", 1, "user:u", "email:e@x.io")
	set := func(id, v string, h int) {
		if _, err := db.SetTraits(ctx, id, []engine.Trait{{Name: "tier", Value: v}}, at(h)); err != nil {
			t.Fatal(err)
		}
	}
	set("user:u", "gold", 5)
	set("email:e@x.io", "silver", 4) // older: loses
	if got := who(t, db, "user:u").Traits["tier"]; got != "gold" {
		t.Fatalf("tier %q", got)
	}
	db.Consent(ctx, "user:u", "email", true, at(2))
	db.Consent(ctx, "email:e@x.io", "email", false, at(1))
	if got := who(t, db, "user:u").Consent; !got["email"] {
		t.Fatalf("consent %v", got)
	}
	// A trait set on a new identifier creates it.
	if _, err := db.SetTraits(ctx, "phone:+1 (555) 010-9999", []engine.Trait{{Name: "city", Value: "Oslo"}}, at(1)); err != nil {
		t.Fatal(err)
	}
	wantIDs(t, db, "phone:+15550109999", "phone:+15550109999")
}

func TestBadInputChangesNothing(t *testing.T) {
	db := openMem(t)
	bad := [][]string{
		{"cookie:a", "nocolon"},
		{"cookie:a", "Email:x"},
		{"cookie:a", "fax:123"},
		{"cookie:a", "profile:1"},
		{"cookie:a", "email:" + strings.Repeat("x", 1100)},
		{"cookie:a", "email:\xff"},
		{},
	}
	for _, ids := range bad {
		if _, err := db.Track(ctx, engine.Event{Name: "x", IDs: ids}); !errors.Is(err, engine.ErrInvalid) {
			t.Fatalf("TRACK %q: %v", ids, err)
		}
	}
	many := make([]string, 33)
	for i := range many {
		many[i] = "cookie:c" + itoa(uint32(i))
	}
	if _, err := db.Track(ctx, engine.Event{Name: "x", IDs: many}); !errors.Is(err, engine.ErrTooLarge) {
		t.Fatalf("33 ids: %v", err)
	}
	if _, err := db.Track(ctx, engine.Event{Name: "x", IDs: []string{"cookie:a"}, Props: []byte("[1]")}); !errors.Is(err, engine.ErrInvalid) {
		t.Fatalf("props not an object: %v", err)
	}
	if _, err := db.Track(ctx, engine.Event{Name: "", IDs: []string{"cookie:a"}}); !errors.Is(err, engine.ErrInvalid) {
		t.Fatalf("empty event name: %v", err)
	}
	if _, err := db.Who("cookie:a"); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("a failed call created cookie:a: %v", err)
	}
}

func TestCustomTypeDeclared(t *testing.T) {
	db := openMem(t)
	if err := db.DeclareType(ctx, engine.TypeSpec{Name: "loyalty", Limit: 1, Priority: 2, Normalize: engine.NormUpper}); err != nil {
		t.Fatal(err)
	}
	track(t, db, "join", 1, "loyalty:ab12", "cookie:x")
	wantIDs(t, db, "cookie:x", "cookie:x", "loyalty:AB12")
	if err := db.DeclareType(ctx, engine.TypeSpec{Name: "user", Limit: 3, Priority: 1}); !errors.Is(err, engine.ErrInvalid) {
		t.Fatalf("redeclaring a built-in: %v", err)
	}
}

func TestReopenKeepsEverything(t *testing.T) {
	dir := t.TempDir()
	db, err := engine.Open(engine.DefaultOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	track(t, db, "login", 1, "user:u", "cookie:c")
	track(t, db, "view", 2, "cookie:c")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = engine.Open(engine.DefaultOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	p := wantIDs(t, db, "cookie:c", "cookie:c", "user:u")
	if p.Events != 2 {
		t.Fatalf("events %d", p.Events)
	}
	if got := db.Index().Did(didEver("view")).GetCardinality(); got != 1 {
		t.Fatalf("index after reopen: %d", got)
	}
	if problems, err := db.Check(); err != nil || len(problems) > 0 {
		t.Fatalf("check: %v %v", err, problems)
	}
}

func itoa(n uint32) string { return strconv.FormatUint(uint64(n), 10) }

func didEver(name string) index.DidQuery {
	return index.DidQuery{Name: name, From: math.MinInt64, To: math.MaxInt64}
}

func TestHubsReportSharedIdentifiers(t *testing.T) {
	db := openMem(t)
	for i := 0; i < 5; i++ {
		track(t, db, "login", i, "user:u"+itoa(uint32(i)), "email:office@corp.example")
	}
	track(t, db, "login", 9, "user:solo", "email:solo@x.io")
	hubs, err := db.Hubs(3, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(hubs) != 1 || hubs[0].ID != "email:office@corp.example" || hubs[0].Profiles != 4 || hubs[0].Refused != 4 {
		t.Fatalf("hubs: %+v", hubs)
	}
}

// Readers hammering WHO fill the read cache while the writer changes the
// same profiles; after each acknowledged write, WHO must show it.
func TestReadCacheNeverStaleAfterAck(t *testing.T) {
	db := openMem(t)
	stop := make(chan struct{})
	done := make(chan struct{})
	var last atomic.Int64
	for g := 0; g < 3; g++ {
		go func() {
			defer func() { done <- struct{}{} }()
			for {
				select {
				case <-stop:
					return
				default:
				}
				i := last.Load()
				db.Who("cookie:c" + itoa(uint32(i)))
				db.Who("email:e" + itoa(uint32(i)) + "@x.io")
			}
		}()
	}
	for i := 0; i < 300; i++ {
		last.Store(int64(i))
		c, e := "cookie:c"+itoa(uint32(i)), "email:e"+itoa(uint32(i))+"@x.io"
		track(t, db, "view", 1, c)
		track(t, db, "view", 1, e)
		track(t, db, "login", 2, e, c)
		p := who(t, db, c)
		if !slices.Contains(p.IDs, e) || p.Events != 3 {
			t.Fatalf("step %d: WHO after an acknowledged merge: %+v", i, p)
		}
		if q := who(t, db, e); q.ID != p.ID {
			t.Fatalf("step %d: %s resolves to %d, %s to %d", i, e, q.ID, c, p.ID)
		}
	}
	close(stop)
	for g := 0; g < 3; g++ {
		<-done
	}
}

// While merges and unlinks are in flight, WHO returns either nothing or a
// profile that holds the identifier asked for: never a mix of two moments.
func TestWhoNeverMixesMoments(t *testing.T) {
	db := openMem(t)
	stop := make(chan struct{})
	errs := make(chan string, 4)
	var last atomic.Int64
	for g := 0; g < 3; g++ {
		go func() {
			bad := ""
			defer func() { errs <- bad }()
			for {
				select {
				case <-stop:
					return
				default:
				}
				id := "user:u" + itoa(uint32(last.Load()))
				p, err := db.Who(id)
				if errors.Is(err, engine.ErrNotFound) {
					continue
				}
				if err != nil {
					bad = "WHO " + id + ": " + err.Error()
					return
				}
				if !slices.Contains(p.IDs, id) {
					bad = "WHO " + id + " returned a profile without it: " + strings.Join(p.IDs, ",")
					return
				}
			}
		}()
	}
	for i := 1; i <= 400; i++ {
		last.Store(int64(i))
		u, c := "user:u"+itoa(uint32(i)), "cookie:c"+itoa(uint32(i))
		track(t, db, "view", 1, c)
		track(t, db, "view", 1, u)
		for k := 0; k < 2; k++ {
			if _, err := db.Merge(ctx, []string{u, c}, "crm", at(2)); err != nil {
				t.Fatal(err)
			}
			if _, err := db.Unlink(ctx, u, c); err != nil {
				t.Fatal(err)
			}
		}
	}
	close(stop)
	for g := 0; g < 3; g++ {
		if bad := <-errs; bad != "" {
			t.Fatal(bad)
		}
	}
}

// A batch larger than one Badger transaction is committed in pieces: every
// operation in it succeeds.
func TestLargeBatchCommitsInPieces(t *testing.T) {
	db := openMem(t)
	props := []byte(`{"blob":"` + strings.Repeat("x", 60000) + `"}`)
	ops := make([]engine.Op, 300)
	for i := range ops {
		ops[i] = engine.TrackOp(engine.Event{Name: "big", IDs: []string{"cookie:b" + itoa(uint32(i))}, Props: props, Time: at(1)})
	}
	_, errs, err := db.Apply(ctx, ops)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range errs {
		if e != nil {
			t.Fatalf("op %d: %v", i, e)
		}
	}
	if got := db.Index().Did(didEver("big")).GetCardinality(); got != 300 {
		t.Fatalf("profiles that did big: %d", got)
	}
}

func TestLongForwardingChainsResolve(t *testing.T) {
	db := openMem(t)
	for i := 1; i <= 70; i++ {
		track(t, db, "v", 1, "cookie:c"+itoa(uint32(i)))
	}
	for i := 69; i >= 1; i-- {
		if _, err := db.Merge(ctx, []string{"cookie:c" + itoa(uint32(i)), "cookie:c" + itoa(uint32(i+1))}, "crm", at(2)); err != nil {
			t.Fatal(err)
		}
	}
	p, err := db.Who("profile:70")
	if err != nil || p.ID != 1 || len(p.IDs) != 70 {
		t.Fatalf("profile:70 after a chain of 69 merges: %v %+v", err, p)
	}
	if _, err := db.SetTraits(ctx, "profile:70", []engine.Trait{{Name: "a", Value: "b"}}, at(3)); err != nil {
		t.Fatal(err)
	}
}

// A profile with more events than one transaction can delete is still
// forgotten: its events are purged in chunks before FORGET answers.
func TestForgetHugeProfile(t *testing.T) {
	db := openMem(t)
	track(t, db, "login", 1, "user:heavy", "cookie:heavy")
	ops := make([]engine.Op, 0, 2000)
	for i := 0; i < 25000; i++ {
		ops = append(ops, engine.TrackOp(engine.Event{Name: "view", IDs: []string{"cookie:heavy"}, Time: at(2).Add(time.Duration(i) * time.Millisecond)}))
		if len(ops) == cap(ops) {
			if _, _, err := db.Apply(ctx, ops); err != nil {
				t.Fatal(err)
			}
			ops = ops[:0]
		}
	}
	if _, _, err := db.Apply(ctx, ops); err != nil {
		t.Fatal(err)
	}
	track(t, db, "view", 3, "cookie:bystander")
	r, err := db.Forget(ctx, "user:heavy", false)
	if err != nil {
		t.Fatal(err)
	}
	if r.Events != 25001 {
		t.Fatalf("events erased: %d", r.Events)
	}
	if _, err := db.Who("cookie:heavy"); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("after FORGET: %v", err)
	}
	if got := db.Index().Did(didEver("view")).GetCardinality(); got != 1 {
		t.Fatalf("profiles that viewed: %d", got)
	}
	if problems, err := db.Check(); err != nil || len(problems) > 0 {
		t.Fatalf("check: %v %v", err, problems)
	}
}

func TestNormalisationAndConfigurableBlocklist(t *testing.T) {
	opts := engine.DefaultOptions("")
	opts.InMemory = true
	opts.Blocked = []string{"", "guest"}
	db, err := engine.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	r := track(t, db, "register", 1, "serial: ab-12c ", "email: Ann@Example.COM", "cookie:GUEST", "cookie:null", "idfa:0000-0000")
	// With the list replaced, "null" is an ordinary value; zero ids stay blocked.
	if !slices.Equal(r.Dropped, []string{"cookie:GUEST", "idfa:0000-0000"}) {
		t.Fatalf("dropped: %v", r.Dropped)
	}
	wantIDs(t, db, "serial:AB-12C", "cookie:null", "email:ann@example.com", "serial:AB-12C")
}

// Below the disk reserve, writes are refused with a clear error while
// reads go on; a store opened without the reserve opens read-only.
func TestDiskReserveRefusesWritesKeepsReads(t *testing.T) {
	dir := t.TempDir()
	db, err := engine.Open(engine.DefaultOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	track(t, db, "view", 1, "cookie:before-full")
	db.Close()
	opts := engine.DefaultOptions(dir)
	opts.DiskReserve = 1 << 60 // more than any disk has free: "full"
	if db, err = engine.Open(opts); err != nil {
		t.Fatalf("open on a full disk: %v", err)
	}
	defer db.Close()
	wantIDs(t, db, "cookie:before-full", "cookie:before-full")
	_, err = db.Track(ctx, engine.Event{Name: "view", IDs: []string{"cookie:after-full"}})
	var e *engine.Error
	if !errors.As(err, &e) || e.Kind != engine.KindNoSpace || !strings.Contains(e.Msg, "reserve") {
		t.Fatalf("write on a full disk: %v", err)
	}
	if _, err := db.Who("cookie:after-full"); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("a refused write changed something: %v", err)
	}
	// BACKUP cannot eat into the reserve either, and leaves no file.
	if _, _, err := db.BackupToDir(); !errors.As(err, &e) || e.Kind != engine.KindNoSpace || !strings.Contains(e.Msg, "below the reserve") {
		t.Fatalf("BACKUP on a full disk: %v", err)
	}
	if files, _ := os.ReadDir(opts.BackupDir); len(files) > 1 || len(files) == 1 && !strings.Contains(files[0].Name(), "journal") {
		t.Fatalf("a refused backup left files: %v", files)
	}
}

// A SET past the limits fails whole and changes nothing: more than
// MaxTraits traits in one call, a value over MaxTraitLen, or a profile
// that would hold more than MaxProfileTraits traits.
func TestTraitLimitsRefuseWholeCalls(t *testing.T) {
	db := openMem(t)
	track(t, db, "signup", 1, "email:many@example.com")
	set := func(n, from, valueLen int) error {
		traits := make([]engine.Trait, n)
		for i := range traits {
			traits[i] = engine.Trait{Name: fmt.Sprintf("t%04d", from+i), Value: strings.Repeat("v", valueLen)}
		}
		_, err := db.SetTraits(ctx, "email:many@example.com", traits, at(2))
		return err
	}
	for i := 0; i < engine.MaxProfileTraits/50; i++ {
		if err := set(50, i*50, 10); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"one trait past the profile's limit", set(1, engine.MaxProfileTraits, 10), "at most 1000 traits"},
		{"more traits than one call takes", set(engine.MaxTraits+1, 0, 10), "65 traits in one call"},
		{"a value over the limit", set(1, 0, engine.MaxTraitLen+1), "1024"},
	}
	for _, c := range cases {
		var e *engine.Error
		if !errors.As(c.err, &e) || !strings.Contains(e.Msg, c.want) {
			t.Errorf("%s: %v, want an error saying %q", c.name, c.err, c.want)
		}
	}
	p := who(t, db, "email:many@example.com")
	if len(p.Traits) != engine.MaxProfileTraits || p.Traits["t0000"] != "vvvvvvvvvv" {
		t.Errorf("after the refused calls: %d traits, t0000=%q; want them unchanged", len(p.Traits), p.Traits["t0000"])
	}
}
