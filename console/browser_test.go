package console_test

// Browser tests: the console in a real headless Chromium (Debian's
// package), driven with chromedp, against a real server on loopback. They
// skip when no Chromium is found (set IDGRAPH_CHROMIUM to its path, or put
// chromium on PATH). Waits are on DOM conditions, with generous timeouts;
// nothing asserts a duration. TestBrowserFirstPaint measures and logs the
// first paint of a 50-identifier profile; -screenshots DIR writes the
// README's pictures.

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/performance"
	"github.com/chromedp/chromedp"

	"github.com/idgraph/idgraph/engine"
	"github.com/idgraph/idgraph/httpapi"
	"github.com/idgraph/idgraph/query"
)

var screenshots = flag.String("screenshots", "", "write the console's screenshots (PNG) into this directory")

// clock is the fixed "now" of the store, the executor and the server.
var clock = time.Date(2026, 11, 10, 12, 0, 0, 0, time.UTC)

// wait bounds every wait on the page: generous, for a loaded machine.
const wait = 90 * time.Second

// The browser, started once for the package's tests (TestMain closes it).
var (
	browserOnce   sync.Once
	browserCtx    context.Context
	browserCancel context.CancelFunc
	browserErr    error
)

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if browserCancel != nil {
		browserCancel()
	}
	os.Exit(code)
}

// chromium finds the browser, or skips the test.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("IDGRAPH_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no Chromium found (install Debian's chromium, or set IDGRAPH_CHROMIUM): browser test skipped")
	return ""
}

// newTab opens a tab of the shared browser, sized for the screenshots.
func newTab(t *testing.T) context.Context {
	t.Helper()
	path := chromium(t)
	browserOnce.Do(func() {
		opts := append(chromedp.DefaultExecAllocatorOptions[:],
			chromedp.ExecPath(path),
			chromedp.NoSandbox, // tests run as root in CI
			chromedp.WindowSize(1360, 1000),
			chromedp.Flag("lang", "en-US"),
		)
		alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
		ctx, cancel := chromedp.NewContext(alloc)
		browserCtx = ctx
		browserCancel = func() { cancel(); cancelAlloc() }
		browserErr = chromedp.Do(ctx) // starts the browser
	})
	if browserErr != nil {
		t.Fatalf("starting %s: %v", path, browserErr)
	}
	tab, cancel := chromedp.NewContext(browserCtx)
	t.Cleanup(cancel)
	if err := chromedp.Do(tab); err != nil {
		t.Fatal(err)
	}
	return tab
}

// site is a store with a population and the HTTP server in front of it.
type site struct {
	t   *testing.T
	db  *engine.DB
	x   *query.Executor
	url string
}

func newSite(t *testing.T, opts httpapi.Options) *site {
	t.Helper()
	eo := engine.DefaultOptions(t.TempDir())
	eo.InMemory = true
	eo.Now = func() time.Time { return clock }
	db, err := engine.Open(eo)
	if err != nil {
		t.Fatal(err)
	}
	x := query.NewExecutor(db)
	x.SetClock(func() time.Time { return clock })
	opts.Logger = slog.New(slog.DiscardHandler)
	opts.Now = func() time.Time { return clock }
	srv, err := httpapi.New(db, x, opts)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		srv.Close()
		srv.Shutdown(ctx)
		if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Error(err)
		}
		db.Close()
	})
	s := &site{t: t, db: db, x: x, url: "http://" + ln.Addr().String()}
	s.populate()
	return s
}

// exec runs a statement as the read-write user.
func (s *site) exec(line string) query.Value {
	s.t.Helper()
	v, err := s.x.ExecLine(context.Background(), nil, line)
	if err != nil {
		s.t.Fatalf("%s: %v", line, err)
	}
	return v
}

// json runs a statement and decodes its reply as the JSON API sends it.
func (s *site) json(line string, into any) {
	s.t.Helper()
	b, err := json.Marshal(s.exec(line).JSON())
	if err != nil {
		s.t.Fatal(err)
	}
	if err := json.Unmarshal(b, into); err != nil {
		s.t.Fatal(err)
	}
}

// populate loads a small shop: Ann (serial SN-1, whose cookie was refused
// to another user and whose device moved to him), Bo (SN-2), visitors, a
// 50-identifier customer (a hub: every identifier seen with user:big),
// and one with 40 cookies (drawn as a cluster).
func (s *site) populate() {
	lines := []string{
		`TRACK page_view cookie:c1 AT 2026-11-01T10:00:00Z FROM web`,
		`TRACK signup cookie:c1 user:1 email:ann@example.com AT 2026-11-01T10:05:00Z FROM web`,
		`TRACK purchase user:1 serial:SN-1 AT 2026-11-02T11:00:00Z FROM pos PROPS '{"sku":"P1","total":699,"category":"phones"}'`,
		`TRACK login user:2 cookie:c1 AT 2026-11-03T10:00:00Z FROM web`,
		`TRACK app_open device:d1 user:1 AT 2026-11-04T10:00:00Z FROM app`,
		`TRACK app_open device:d1 user:2 AT 2026-11-05T10:00:00Z FROM app`,
		`TRACK service_visit serial:SN-1 phone:+4915100000001 AT 2026-11-06T09:00:00Z FROM service PROPS '{"issue":"screen"}'`,
		`SET user:1 tier=gold first_name=Ann`,
		`CONSENT user:1 email GRANT`,
		`CONSENT user:1 sms DENY`,
		`TAG user:1 vip`,
		`TRACK purchase user:3 email:bo@example.com serial:SN-2 AT 2026-11-07T12:00:00Z FROM web PROPS '{"sku":"P2","total":49,"category":"cases"}'`,
		`SET user:3 tier=silver`,
		`TRACK page_view cookie:v1 AT 2026-11-08T08:00:00Z FROM web`,
		`TRACK page_view cookie:v2 AT 2026-11-08T08:30:00Z FROM web`,
		`TRACK add_to_cart cookie:v2 AT 2026-11-08T08:31:00Z FROM web PROPS '{"sku":"P1"}'`,
		`SEGMENT SAVE buyers DID purchase`,
		`COMPUTE ltv AS SUM total OF purchase`,
	}
	for _, l := range lines {
		s.exec(l)
	}
	// user:big: 49 identifiers of six types, each seen with user:big.
	var big []string
	for i := 0; i < 5; i++ {
		big = append(big, fmt.Sprintf("email:big%d@example.com", i), fmt.Sprintf("phone:+49176123450%02d", i))
	}
	for i := 0; i < 10; i++ {
		big = append(big, fmt.Sprintf("app:a%d", i), fmt.Sprintf("serial:BIG-%d", i), fmt.Sprintf("cookie:big%d", i))
	}
	for i := 0; i < 9; i++ {
		big = append(big, fmt.Sprintf("idfa:f%d", i))
	}
	for i, id := range big {
		s.exec(fmt.Sprintf("TRACK page_view user:big %s AT %d FROM web", id, clock.Add(-time.Duration(50-i)*time.Hour).UnixMilli()))
	}
	// email:office@shop.example: a shared address seen with 20 user ids;
	// the first keeps it, the other 19 links are refused.
	for i := 0; i < 20; i++ {
		s.exec(fmt.Sprintf("TRACK login email:office@shop.example user:o%02d AT %d FROM web", i, clock.Add(-time.Duration(30-i)*time.Hour).UnixMilli()))
	}
	// user:many: 40 cookies.
	for i := 0; i < 40; i++ {
		s.exec(fmt.Sprintf("TRACK page_view user:many cookie:m%02d AT %d FROM web", i, clock.Add(-time.Duration(40-i)*time.Hour).UnixMilli()))
	}
}

// graphOf is GRAPH's reply.
type graphOf struct {
	Profile int64 `json:"profile"`
	Nodes   []struct {
		ID      string `json:"id"`
		Profile int64  `json:"profile"`
		Inside  bool   `json:"inside"`
	} `json:"nodes"`
	Edges []struct {
		From, To, Status, Rule string
	} `json:"edges"`
}

// page drives one tab.
type page struct {
	t   *testing.T
	ctx context.Context
	s   *site
}

func open(t *testing.T, s *site) *page {
	return &page{t: t, ctx: newTab(t), s: s}
}

func (p *page) do(actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, wait)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.t.Fatal(err)
	}
}

func (p *page) go_(path string) {
	p.t.Helper()
	p.do(chromedp.Navigate(p.s.url + path))
}

// until waits for a JavaScript condition to hold.
func (p *page) until(cond string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, wait)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](cond,
		chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(wait))); err != nil {
		p.t.Fatalf("waiting for %s: %v", cond, err)
	}
}

// ready waits until the page shows a view.
func (p *page) ready(view string) {
	p.t.Helper()
	p.until(fmt.Sprintf(`document.body.dataset.ready === %q`, view))
}

func eval[T any](p *page, js string) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, wait)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		p.t.Fatalf("%s: %v", js, err)
	}
	return v
}

// click clicks an element through the DOM (SVG shapes included).
func (p *page) click(sel string) {
	p.t.Helper()
	if !eval[bool](p, fmt.Sprintf(`(() => { const e = document.querySelector(%q); if (!e) return false; e.dispatchEvent(new MouseEvent('click', {bubbles: true})); return true; })()`, sel)) {
		p.t.Fatalf("no element %s to click", sel)
	}
}

// typeInto replaces an input's value by typing it.
func (p *page) typeInto(sel, text string) {
	p.t.Helper()
	if !eval[bool](p, fmt.Sprintf(`(() => { const e = document.querySelector(%q); if (!e) return false; e.value = ''; e.focus(); return true; })()`, sel)) {
		p.t.Fatalf("no input %s", sel)
	}
	p.do(chromedp.SendKeys(chromedp.CSS(sel), text))
}

func (p *page) text(sel string) string {
	p.t.Helper()
	return eval[string](p, fmt.Sprintf(`(document.querySelector(%q) || {}).textContent || ''`, sel))
}

func (p *page) count(sel string) int {
	p.t.Helper()
	return eval[int](p, fmt.Sprintf(`document.querySelectorAll(%q).length`, sel))
}

// shot writes a screenshot of the element sel (the viewport when "")
// into the -screenshots directory.
func (p *page) shot(name, sel string) {
	p.t.Helper()
	if *screenshots == "" {
		return
	}
	ctx, cancel := context.WithTimeout(p.ctx, wait)
	defer cancel()
	action := chromedp.CaptureScreenshot()
	if sel != "" {
		action = chromedp.Screenshot(chromedp.CSS(sel))
	}
	b, err := chromedp.Run(ctx, action)
	if err != nil {
		p.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(*screenshots, name), b, 0o644); err != nil {
		p.t.Fatal(err)
	}
}

// TestBrowserProfile looks a serial up from the box and checks the card
// against WHO, the drawing against GRAPH (nodes, edges, the refused edge
// dashed with its rule, the moved identifier marked), an edge's WHY, and
// the timeline against TIMELINE.
func TestBrowserProfile(t *testing.T) {
	s := newSite(t, httpapi.Options{})
	p := open(t, s)
	p.go_("/")
	p.ready("home")
	p.typeInto("#lookup-id", "serial:SN-1")
	p.click("#lookup button")
	p.ready("profile")
	if got := eval[string](p, `location.pathname`); got != "/profile/serial:SN-1" {
		t.Errorf("URL %s, want /profile/serial:SN-1", got)
	}

	var who struct {
		Profile   int64             `json:"profile"`
		IDs       []string          `json:"ids"`
		Traits    map[string]string `json:"traits"`
		Consent   map[string]string `json:"consent"`
		Tags      []string          `json:"tags"`
		Segments  []string          `json:"segments"`
		FirstSeen string            `json:"first_seen"`
		LastSeen  string            `json:"last_seen"`
		Events    int               `json:"events"`
	}
	s.json("WHO serial:SN-1", &who)
	if got := p.text("#card-profile"); got != fmt.Sprint(who.Profile) {
		t.Errorf("card profile %q, want %d", got, who.Profile)
	}
	ids := eval[[]string](p, `[...document.querySelectorAll('#card-ids .chip')].map(e => e.dataset.id)`)
	if !slices.Equal(sorted(ids), sorted(who.IDs)) {
		t.Errorf("card identifiers %v, want %v", ids, who.IDs)
	}
	if got, want := p.text("#card-traits"), "Traitsfirst_nameAnntiergold"; got != want {
		t.Errorf("traits %q, want %q", got, want)
	}
	if got, want := p.text("#card-consent"), "Consentemail✓ grantedsms✗ denied"; got != want {
		t.Errorf("consent %q, want %q", got, want)
	}
	if got, want := p.text("#card-tags"), "Tags"+strings.Join(who.Tags, ""); got != want {
		t.Errorf("tags %q, want %q", got, want)
	}
	if got, want := p.text("#card-segments"), "Segments"+strings.Join(who.Segments, ""); got != want || len(who.Segments) != 1 {
		t.Errorf("segments %q, want %q", got, want)
	}
	if got := p.text("#card-computed"); got != "Computed traitsltv699" {
		t.Errorf("computed %q", got)
	}
	human := func(t string) string { return strings.Replace(strings.Replace(t, "T", " ", 1), ".000Z", " UTC", 1) }
	if got := p.text("#card-first") + " / " + p.text("#card-last"); got != human(who.FirstSeen)+" / "+human(who.LastSeen) {
		t.Errorf("first/last seen %q, want %s / %s", got, who.FirstSeen, who.LastSeen)
	}
	if got := p.text("#card-events"); got != fmt.Sprint(who.Events) {
		t.Errorf("events %q, want %d", got, who.Events)
	}

	var g graphOf
	s.json("GRAPH serial:SN-1", &g)
	if n, e := p.count("#graph .node"), p.count("#graph .edge"); n != len(g.Nodes) || e != len(g.Edges) {
		t.Errorf("drawn %d nodes and %d edges, GRAPH has %d and %d", n, e, len(g.Nodes), len(g.Edges))
	}
	drawn := eval[[]string](p, `[...document.querySelectorAll('#graph .node')].map(e => e.dataset.id)`)
	var want []string
	for _, n := range g.Nodes {
		want = append(want, n.ID)
	}
	if !slices.Equal(sorted(drawn), sorted(want)) {
		t.Errorf("drawn nodes %v, GRAPH %v", drawn, want)
	}
	// The refused link (cookie:c1 with user:2) is dashed and says its rule.
	refused := `#graph .edge.refused[data-from="cookie:c1"][data-to="user:2"]`
	if dash := eval[string](p, `getComputedStyle(document.querySelector('`+refused+` .stroke')).strokeDasharray`); dash == "" || dash == "none" {
		t.Errorf("refused edge not dashed: %q", dash)
	}
	if got := p.text(refused + " .edge-label"); got != "refused · limit user=1" {
		t.Errorf("refused edge label %q", got)
	}
	if got := p.text(`#graph .node.moved[data-id="device:d1"] .node-label`); got != "device:d1 ↗ moved to profile 3" {
		t.Errorf("moved node label %q", got)
	}
	if got := p.text(`#graph .edge[data-from="cookie:c1"][data-to="user:1"] .edge-label`); got != "1× web" {
		t.Errorf("linked edge label %q", got)
	}
	// Clicking the refused edge shows WHY's evidence for that pair.
	p.click(refused)
	p.until(`!!document.getElementById('why-reason')`)
	var why struct {
		Linked bool
		Reason string
	}
	s.json("WHY cookie:c1 user:2", &why)
	if got, linked := p.text("#why-reason"), eval[string](p, `document.getElementById('why-reason').dataset.linked`); got != why.Reason || linked != fmt.Sprint(why.Linked) {
		t.Errorf("WHY shown %q (linked %s), want %q (%v)", got, linked, why.Reason, why.Linked)
	}
	if got := p.text("#evidence li.why-refused .why-status"); got != "refused (limit user=1)" {
		t.Errorf("WHY path status %q", got)
	}
	p.shot("console-profile.png", "")
	// Clicking two identifiers one after the other asks WHY for the pair.
	p.click(`#graph .node[data-id="email:ann@example.com"]`)
	p.until(`!!document.querySelector('#graph .node.selected')`)
	p.click(`#graph .node[data-id="serial:SN-1"]`)
	p.until(`(document.getElementById('why-title') || {}).textContent === 'WHY email:ann@example.com serial:SN-1'`)
	s.json("WHY email:ann@example.com serial:SN-1", &why)
	if got := p.text("#why-reason"); got != why.Reason || !why.Linked {
		t.Errorf("WHY of two identifiers of the profile: %q, want %q", got, why.Reason)
	}

	var tl []struct{ Event, Source string }
	s.json("TIMELINE serial:SN-1", &tl)
	rows := eval[[]string](p, `[...document.querySelectorAll('#timeline tbody tr')].map(r => r.cells[1].textContent + '/' + r.cells[2].textContent)`)
	var wantRows []string
	for _, e := range tl {
		wantRows = append(wantRows, e.Event+"/"+e.Source)
	}
	if !slices.Equal(rows, wantRows) {
		t.Errorf("timeline %v, want %v (newest first)", rows, wantRows)
	}

	// An unknown identifier says so; a profile of its own has a link.
	p.go_("/profile/" + url.PathEscape("email:nobody@example.com"))
	p.ready("profile")
	if got := p.text("#card .error"); got != "No profile holds email:nobody@example.com." {
		t.Errorf("unknown identifier: %q", got)
	}
}

// TestBrowserBigProfiles: a hub is drawn as one, and a type with many
// identifiers is one cluster node until clicked.
func TestBrowserBigProfiles(t *testing.T) {
	s := newSite(t, httpapi.Options{})
	p := open(t, s)
	p.go_("/profile/user:big")
	p.ready("profile")
	var g graphOf
	s.json("GRAPH user:big", &g)
	if n := p.count("#graph .node"); n != len(g.Nodes) || n != 50 {
		t.Errorf("user:big: %d nodes drawn, GRAPH has %d", n, len(g.Nodes))
	}
	if got := p.text(`#graph .node.hub[data-id="user:big"] .node-label`); got != "user:big · hub, 49 links" {
		t.Errorf("hub label %q", got)
	}
	if n := p.count("#graph .node.hub"); n != 1 {
		t.Errorf("%d hubs, want 1", n)
	}
	p.shot("console-hub.png", ".graph-box")

	// The timeline pages by cursor: 25, then the 24 older ones, newest
	// first, as TIMELINE gives them.
	var tl []struct{ Time, Event, Cursor string }
	s.json("TIMELINE user:big LIMIT 100", &tl)
	cursors := `[...document.querySelectorAll('#timeline tbody tr')].map(r => r.dataset.cursor)`
	if got := eval[[]string](p, cursors); len(got) != 25 || len(tl) != 49 {
		t.Fatalf("first page: %d rows (TIMELINE has %d)", len(got), len(tl))
	}
	p.click("#timeline-more")
	p.until(`document.querySelectorAll('#timeline tbody tr').length === 49`)
	var want []string
	for _, e := range tl {
		want = append(want, e.Cursor)
	}
	if got := eval[[]string](p, cursors); !slices.Equal(got, want) {
		t.Errorf("timeline pages %v\nwant %v", got, want)
	}
	if !eval[bool](p, `document.getElementById('timeline-more').hidden`) {
		t.Error("Older events still offered after the last page")
	}

	p.go_("/profile/user:many")
	p.ready("profile")
	s.json("GRAPH user:many", &g)
	if len(g.Nodes) != 41 || len(g.Edges) != 40 {
		t.Fatalf("GRAPH user:many: %d nodes, %d edges", len(g.Nodes), len(g.Edges))
	}
	if n, e := p.count("#graph .node"), p.count("#graph .edge"); n != 2 || e != 1 {
		t.Errorf("clustered: %d nodes and %d edges drawn, want 2 and 1", n, e)
	}
	if got := p.text(`#graph .node.cluster .node-label`); got != "cookie ×40" {
		t.Errorf("cluster label %q", got)
	}
	if got := p.text(`#graph .edge .edge-label`); got != "40× web" {
		t.Errorf("cluster edge label %q", got)
	}
	p.click(`#graph .node.cluster`)
	p.until(`document.querySelectorAll('#graph .node').length === 41`)
	if e := p.count("#graph .edge"); e != 40 {
		t.Errorf("expanded: %d edges drawn, want 40", e)
	}

	// A shared address: a hub whose 19 refused users, outside the
	// profile, are one cluster with one dashed edge.
	p.go_("/profile/" + url.PathEscape("email:office@shop.example"))
	p.ready("profile")
	s.json("GRAPH email:office@shop.example", &g)
	if len(g.Nodes) != 21 || len(g.Edges) != 20 {
		t.Fatalf("GRAPH email:office@shop.example: %d nodes, %d edges", len(g.Nodes), len(g.Edges))
	}
	if got := p.text(`#graph .node.cluster.outside .node-label`); got != "user ×19 outside" {
		t.Errorf("outside cluster label %q", got)
	}
	if got := p.text(`#graph .edge.refused .edge-label`); got != "refused · limit user=1" || p.count("#graph .edge") != 2 {
		t.Errorf("refused cluster edge %q, %d edges drawn", got, p.count("#graph .edge"))
	}
	if got := p.text(`#graph .node.hub .node-label`); got != "email:office@shop.example · hub, 20 links" {
		t.Errorf("shared address label %q", got)
	}
	p.click(`#graph .edge.refused`)
	p.until(`document.querySelectorAll('#evidence ul.pairs li').length === 19`)
	p.click(`#evidence ul.pairs li button`)
	p.until(`((document.getElementById('why-title') || {}).textContent || '').startsWith('WHY email:office@shop.example user:o')`)
	p.shot("console-shared.png", ".graph-box")
}

// TestBrowserSegmentEditor types a segment and checks the live count
// against SEGMENT COUNT, a syntax error marked at its word, the members
// with chosen fields, the CSV export's rows, save, and the editor's link.
func TestBrowserSegmentEditor(t *testing.T) {
	s := newSite(t, httpapi.Options{})
	p := open(t, s)
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(p.ctx, wait)
	defer cancel()
	if _, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dir, EventsEnabled: ptr(true),
	}); err != nil {
		t.Fatal(err)
	}
	p.go_("/segment")
	p.ready("segment")

	countOf := func(expr string) int64 { return s.exec("SEGMENT COUNT " + expr).Int }
	for _, expr := range []string{"DID purchase", "HAS serial AND NOT HAS phone", "DID page_view WITHIN 7d OR TAGGED vip"} {
		p.typeInto("#expr", expr)
		want := countOf(expr)
		p.until(fmt.Sprintf(`document.getElementById('expr').value === %q && document.getElementById('count').dataset.value === '%d' && !document.getElementById('count').classList.contains('stale')`, expr, want))
		if got := eval[string](p, `location.pathname + location.search`); got != "/segment?expr="+url.QueryEscape(expr) && got != "/segment?expr="+strings.ReplaceAll(url.QueryEscape(expr), "+", "%20") {
			t.Errorf("URL %s for %q", got, expr)
		}
	}

	// A syntax error is marked at its word, as the server counts words.
	bad := `DID purchase AND AND HAS email`
	p.typeInto("#expr", bad)
	_, err := s.x.ExecLine(context.Background(), nil, "SEGMENT COUNT "+bad)
	var qe *query.Error
	if !errors.As(err, &qe) || qe.Pos == 0 {
		t.Fatalf("SEGMENT COUNT %s: %v, want a positioned error", bad, err)
	}
	b, _ := json.Marshal(qe.Error())
	p.until(fmt.Sprintf(`(document.getElementById('expr-error') || {}).textContent === %s && !!document.getElementById('expr-mark')`, b))
	words, _ := query.SplitLine(bad)
	if got, want := p.text("#expr-mirror mark"), words[qe.Pos-3]; got != want {
		t.Errorf("marked %q, want word %d %q", got, qe.Pos-2, want)
	}
	if got := eval[string](p, `document.getElementById('expr-mirror').dataset.word`); got != fmt.Sprint(qe.Pos-2) {
		t.Errorf("marked word %s, want %d", got, qe.Pos-2)
	}
	p.shot("console-segment-error.png", ".editor-grid > div")

	// Members with chosen fields, and the CSV export.
	expr := "DID purchase OR HAS serial"
	p.typeInto("#expr", expr)
	p.until(fmt.Sprintf(`document.getElementById('count').dataset.value === '%d'`, countOf(expr)))
	p.typeInto("#fields", "email, serial, trait:tier, consent:email, tags, computed:ltv")
	p.click("#members-show")
	p.until(`!!document.getElementById('members-table')`)
	ids := s.exec("SEGMENT IDS " + expr)
	want := [][]string{{"profile", "email", "serial", "trait:tier", "consent:email", "tags", "computed:ltv"}}
	for _, id := range ids.Arr {
		var w struct {
			Profile  int64
			IDs      []string
			Traits   map[string]string
			Consent  map[string]string
			Tags     []string
			Computed map[string]any
		}
		s.json(fmt.Sprintf("WHO profile:%d", id.Int), &w)
		of := func(typ string) string {
			var v []string
			for _, x := range w.IDs {
				if r, ok := strings.CutPrefix(x, typ+":"); ok {
					v = append(v, r)
				}
			}
			return strings.Join(v, "; ")
		}
		ltv := ""
		if v, ok := w.Computed["ltv"]; ok && v != nil {
			ltv = fmt.Sprint(v)
		}
		want = append(want, []string{fmt.Sprint(w.Profile), of("email"), of("serial"), w.Traits["tier"], w.Consent["email"], strings.Join(w.Tags, "; "), ltv})
	}
	shown := eval[[][]string](p, `[...document.querySelectorAll('#members-table tr')].map(r => [...r.cells].map(c => c.textContent))`)
	if fmt.Sprint(shown) != fmt.Sprint(want) {
		t.Errorf("members\n got %q\nwant %q", shown, want)
	}
	p.shot("console-segment.png", "")

	done := chromedp.BrowserEvents(ctx, browser.DownloadProgress)
	p.click("#export-csv")
	var file string
	for ev, err := range done {
		if err != nil {
			t.Fatalf("waiting for the CSV download: %v", err)
		}
		if ev.State == browser.DownloadProgressStateCompleted {
			file = filepath.Join(dir, ev.GUID)
			break
		}
		if ev.State == browser.DownloadProgressStateCanceled {
			t.Fatal("the CSV download was cancelled")
		}
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(rows) != fmt.Sprint(want) {
		t.Errorf("CSV\n got %q\nwant %q", rows, want)
	}

	// Save, then the saved segments page lists it; the change feed says
	// whether the server has one.
	p.typeInto("#save-name", "serial_owners")
	p.click("#save-form button")
	p.until(`document.getElementById('status').textContent === 'Saved as serial_owners.'`)
	var list map[string]string
	s.json("SEGMENT LIST", &list)
	if list["serial_owners"] != expr {
		t.Errorf("SEGMENT LIST after save: %v", list)
	}
	p.go_("/segments")
	p.ready("segments")
	p.until(`!!document.querySelector('#saved tr[data-name="serial_owners"]')`)
	p.until(`['unavailable', 'live'].includes(document.getElementById('feed-state').dataset.feed)`)
	resp, err := http.Get(s.url + "/v1/changes?block=0")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	wantFeed := "live"
	if resp.StatusCode == http.StatusNotFound {
		wantFeed = "unavailable"
	}
	if got := eval[string](p, `document.getElementById('feed-state').dataset.feed`); got != wantFeed {
		t.Errorf("change feed state %q, want %q (GET /v1/changes: %d)", got, wantFeed, resp.StatusCode)
	}
	// Drop takes a second click.
	drop := `#saved tr[data-name="serial_owners"] button`
	p.click(drop)
	p.until(`document.querySelector('#saved tr[data-name="serial_owners"] button').textContent === 'Really drop?'`)
	list = nil
	if s.json("SEGMENT LIST", &list); list["serial_owners"] == "" {
		t.Fatal("dropped on the first click")
	}
	p.click(drop)
	p.until(`!document.querySelector('#saved tr[data-name="serial_owners"]')`)
	list = nil
	if s.json("SEGMENT LIST", &list); list["serial_owners"] != "" || list["buyers"] == "" {
		t.Errorf("SEGMENT LIST after the drop: %v", list)
	}

	// The editor's link opens the editor with the expression counted.
	p.go_("/segment?expr=" + url.QueryEscape("TAGGED vip"))
	p.ready("segment")
	p.until(fmt.Sprintf(`document.getElementById('count').dataset.value === '%d'`, countOf("TAGGED vip")))
	if got := eval[string](p, `document.getElementById('expr').value`); got != "TAGGED vip" {
		t.Errorf("editor opened with %q", got)
	}
}

// TestBrowserUsers: with passwords, the page asks for one; the read-only
// user sees no write button anywhere; the read-write user may FORGET, and
// only after typing the identifier again.
func TestBrowserUsers(t *testing.T) {
	s := newSite(t, httpapi.Options{Password: "rw-secret", ReadOnlyPassword: "ro-secret"})
	p := open(t, s)
	p.go_("/profile/serial:SN-1")
	p.ready("login")
	p.typeInto("#login-password", "wrong")
	p.click("#login-form button")
	p.until(`document.getElementById('login-error').textContent === 'That password was refused.'`)

	p.typeInto("#login-password", "ro-secret")
	p.click("#login-form button")
	p.ready("profile")
	if got := p.text("#user"); got != "read-only user" {
		t.Errorf("user shown %q", got)
	}
	writes := `document.querySelectorAll('.write, #forget, #save-form, #saved button').length`
	if n := eval[int](p, writes); n != 0 {
		t.Errorf("read-only user: %d write controls on the profile", n)
	}
	p.go_("/segments") // a new page load: the password stays in the tab
	p.ready("segments")
	p.until(`!!document.querySelector('#saved tr[data-name="buyers"]')`)
	if n := eval[int](p, writes); n != 0 {
		t.Errorf("read-only user: %d write controls on the saved segments", n)
	}
	p.go_("/segment?expr=DID%20purchase")
	p.ready("segment")
	if n := eval[int](p, writes); n != 0 {
		t.Errorf("read-only user: %d write controls in the editor", n)
	}
	p.shot("console-readonly.png", "")

	// The read-write user, in a tab of its own.
	q := open(t, s)
	q.go_("/profile/serial:SN-1")
	q.ready("login")
	q.typeInto("#login-password", "rw-secret")
	q.click("#login-form button")
	q.ready("profile")
	if q.count("#forget") != 1 || q.count("#save-form") != 1 {
		t.Fatal("read-write user: no Forget button or no Save form")
	}
	q.click("#forget")
	q.until(`document.getElementById('forget-dialog').open`)
	q.typeInto("#forget-again", "serial:SN-")
	if !eval[bool](q, `document.getElementById('forget-confirm').disabled`) {
		t.Error("Forget enabled before the identifier was typed again in full")
	}
	q.typeInto("#forget-again", "serial:SN-1")
	q.until(`!document.getElementById('forget-confirm').disabled`)
	q.click("#forget-confirm")
	q.until(`document.getElementById('status').textContent.startsWith('Forgotten: profile ')`)
	if v := s.exec("WHO serial:SN-1"); v.Kind != query.KindNil {
		t.Errorf("after FORGET, WHO serial:SN-1 = %v", v)
	}
}

// TestBrowserWordsMatchServer: the page splits an expression into words
// as the server does, so an error's word is marked where the server means.
func TestBrowserWordsMatchServer(t *testing.T) {
	s := newSite(t, httpapi.Options{})
	p := open(t, s)
	p.go_("/")
	p.ready("home")
	cases := []string{
		`DID purchase`, `  DID   purchase  `, `TRAIT "first name" = Ann`, `TRAIT 'it''s' = x`,
		`DID "a b"c`, `DID "x\"y" OR 'q\'r'`, `a"b c"d e`, `"\x41\n\t" z`, "tab\tsep\nnl", `"unbalanced`, `'also`, ``,
	}
	// And random lines of the characters that matter, compared in one go.
	rng := rand.New(rand.NewPCG(19, 7))
	const alphabet = " \t\"'\\xA1bn="
	for i := 0; i < 400; i++ {
		b := make([]byte, rng.IntN(14))
		for j := range b {
			b[j] = alphabet[rng.IntN(len(alphabet))]
		}
		cases = append(cases, string(b))
	}
	all, _ := json.Marshal(cases)
	got := eval[[]struct {
		Words []string
		Error string
		Back  string
	}](p, fmt.Sprintf(`import(new URL('words.js', document.querySelector('script[type=module]').src)).then(m => %s.map(c => {
		const r = m.splitWords(c);
		return {words: r.words.map(w => w.text), error: r.error || '', back: r.words.map(w => m.quoteWord(w.text)).join(' ')};
	}))`, all))
	for i, c := range cases {
		want, err := query.SplitLine(c)
		g := got[i]
		if (err != nil) != (g.Error != "") {
			t.Errorf("%q: server error %v, page error %q", c, err, g.Error)
			continue
		}
		if err != nil {
			continue
		}
		if !slices.Equal(g.Words, want) && len(g.Words)+len(want) > 0 {
			t.Errorf("%q: page %q, server %q", c, g.Words, want)
		}
		// quoteWord writes each word back so that the server reads it.
		if again, err := query.SplitLine(g.Back); err != nil || !slices.Equal(again, want) && len(want) > 0 {
			t.Errorf("%q: quoted back as %q, which the server reads as %q (%v)", c, g.Back, again, err)
		}
	}
}

// TestBrowserFirstPaint measures, in the browser, the time from the
// navigation to the first frame that shows the card and the graph of a
// 50-identifier profile (and to the next, with the timeline's first page),
// over 21 loads (IDGRAPH_PAINT_LOADS), and the CPU time that took (the renderer's, from
// Chromium's Performance metrics, and the server's, from getrusage: on a
// loaded machine the wall time is mostly waiting for a CPU), and logs them
// with the load average. It asserts nothing about time: a loaded machine
// must not fail the test.
func TestBrowserFirstPaint(t *testing.T) {
	loads := 21 // the first loads compile the scripts; later ones use Chromium's code cache, as a console used all day does
	if n, err := strconv.Atoi(os.Getenv("IDGRAPH_PAINT_LOADS")); err == nil && n > 0 {
		loads = n
	}
	s := newSite(t, httpapi.Options{})
	p := open(t, s)
	ctx, cancel := context.WithTimeout(p.ctx, wait)
	defer cancel()
	if _, err := chromedp.Call(ctx, performance.Enable, performance.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	metrics := func() map[string]float64 {
		r, err := chromedp.Call(ctx, performance.GetMetrics, cdp.Empty{})
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]float64{}
		for _, x := range r.Metrics {
			m[x.Name] = x.Value
		}
		return m
	}
	var paint, timeline, thread, work, server []float64
	p.go_("/profile/user:big") // once to warm the caches; then measure
	p.ready("profile")
	for i := 0; i < loads; i++ {
		cpu := cpuTime()
		p.go_("/profile/user:big")
		p.ready("profile")
		p.until(`performance.getEntriesByName('idgraph:profile-timeline').length > 0`)
		server = append(server, float64(cpuTime()-cpu)/1e6)
		m := metrics() // the new document's own counters
		thread = append(thread, 1000*m["ThreadTime"])
		work = append(work, 1000*(m["ScriptDuration"]+m["LayoutDuration"]+m["RecalcStyleDuration"]))
		paint = append(paint, eval[float64](p, `performance.getEntriesByName('idgraph:profile-painted')[0].startTime`))
		timeline = append(timeline, eval[float64](p, `performance.getEntriesByName('idgraph:profile-timeline')[0].startTime`))
		t.Logf("load %d: %s", i, eval[string](p, `(() => { const n = performance.getEntriesByType('navigation')[0]; const at = (m) => (performance.getEntriesByName(m)[0] || {startTime: NaN}).startTime.toFixed(0); return 'response ' + n.responseEnd.toFixed(0) + ', DOMContentLoaded ' + n.domContentLoadedEventStart.toFixed(0) + ', session ' + at('idgraph:session') + ', data ' + at('idgraph:profile-data') + ', card ' + at('idgraph:profile-card') + ', layout ' + at('idgraph:layout') + ', graph ' + at('idgraph:profile-graph') + ', painted ' + at('idgraph:profile-painted') + ', timeline ' + at('idgraph:profile-timeline') + ' ms'; })()`))
	}
	if n := p.count("#graph .node"); n != 50 {
		t.Errorf("%d nodes drawn, want 50", n)
	}
	load, _ := os.ReadFile("/proc/loadavg")
	med := func(v []float64) float64 { v = slices.Clone(v); sort.Float64s(v); return v[len(v)/2] }
	t.Logf("first paint of a 50-identifier profile (card and graph drawn), %d loads: median %.0f ms (min %.0f, max %.0f); "+
		"the timeline's first page drawn after it: median %.0f ms; "+
		"page's main thread: %.0f ms CPU (script+layout+style %.0f ms); server: %.0f ms CPU (medians); load average %s",
		loads, med(paint), slices.Min(paint), slices.Max(paint), med(timeline), med(thread), med(work), med(server), strings.TrimSpace(string(load)))
}

// cpuTime is this process's CPU time (the server runs in it), in ns.
func cpuTime() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	sort.Strings(s)
	return s
}

func ptr[T any](v T) *T { return &v }
