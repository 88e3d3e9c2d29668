package bench

import (
	"bufio"
	"cmp"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"
)

// Config describes a synthetic population. The zero value of each field
// means its default; see [DefaultConfig].
type Config struct {
	// People is the number of people (default 100,000).
	People int
	// Seed selects the population; the same Config gives byte-identical
	// output.
	Seed uint64
	// Days is the length of the period covered (default 365).
	Days int
	// Start is the first instant of the period (default 2026-01-01T00:00Z).
	Start time.Time
	// EventsPerPerson is the mean number of events per person over the
	// period (default 20); consent and trait lines come on top.
	EventsPerPerson float64
	// EventNames are the minor events (wishlist_add, share …) sprinkled into
	// sessions, each equally likely (default [DefaultEventNames]). The
	// funnel events — page_view, view, product_view, search, add_to_cart,
	// begin_checkout, purchase, login, app_open, service_visit … — are
	// always generated.
	EventNames []string
}

// DefaultEventNames are the minor events of [Config.EventNames].
var DefaultEventNames = []string{"wishlist_add", "share", "review_submitted", "coupon_applied", "store_locator", "logout"}

// DefaultConfig returns the default configuration: 100,000 people over 365
// days from 2026-01-01, 20 events each on average, seed 1.
func DefaultConfig() Config {
	return Config{
		People:          100_000,
		Seed:            1,
		Days:            365,
		Start:           time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		EventsPerPerson: 20,
		EventNames:      DefaultEventNames,
	}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.People == 0 {
		c.People = d.People
	}
	if c.Days == 0 {
		c.Days = d.Days
	}
	if c.Start.IsZero() {
		c.Start = d.Start
	}
	if c.EventsPerPerson == 0 {
		c.EventsPerPerson = d.EventsPerPerson
	}
	if c.EventNames == nil {
		c.EventNames = d.EventNames
	}
	return c
}

// Stats summarises a generated population.
type Stats struct {
	People       int `json:"people"`
	Households   int `json:"households"`
	ActivePeople int `json:"active_people"` // people with at least one event
	SoldDevices  int `json:"sold_devices"`

	Lines    int   `json:"lines"`
	Events   int   `json:"events"`
	Consents int   `json:"consents"` // consent lines
	Traits   int   `json:"traits"`   // trait lines
	Bytes    int64 `json:"bytes"`

	Identifiers        int `json:"identifiers"` // distinct, normalised
	SharedIdentifiers  int `json:"shared_identifiers"`
	BlockedIdentifiers int `json:"blocked_identifiers"`

	ByEvent  map[string]int `json:"by_event"`
	BySource map[string]int `json:"by_source"`
}

// Generate writes the behaviour of a synthetic population to w as NDJSON in
// the project's load format, one line per event, consent decision or trait
// update, in time order:
//
//	{"event":"purchase","ids":["cookie:…","email:…"],"time":1767225600000,"source":"web","props":{"sku":"SKU10001","category":"laptops","amount":"19.90","currency":"EUR"}}
//	{"ids":["email:…"],"time":…,"source":"web","consent":{"email":"grant"}}
//	{"ids":["user:…"],"time":…,"source":"crm","traits":{"tier":"gold","age":"34"}}
//
// and returns the ground truth of every identifier written. The output
// depends only on cfg: the same Config gives the same bytes.
//
// The population: households of one to four people; most people have a
// customer number (user:), one or two emails (some shared within a
// household, some mistyped at checkout), a phone (some a household's
// landline), one to three devices with an app instance (new on reinstall),
// a push token and an advertising id (zeroed when tracking is limited), and
// browsers whose cookie changes every few weeks. A few devices are sold to
// someone else mid-year. Junk values (cookie:null, email:undefined …)
// appear now and then beside real identifiers.
func Generate(cfg Config, w io.Writer) (*Truth, Stats, error) {
	cfg = cfg.withDefaults()
	if cfg.People < 0 || cfg.Days < 0 || cfg.EventsPerPerson < 0 {
		return nil, Stats{}, errors.New("bench: negative People, Days or EventsPerPerson")
	}
	if cfg.People > 50_000_000 {
		return nil, Stats{}, fmt.Errorf("bench: %d people is more than the generator supports (50M)", cfg.People)
	}
	g := &generator{
		cfg:     cfg,
		r:       newRNG(cfg.Seed),
		startMS: cfg.Start.UnixMilli(),
		byEvent: make(map[string]int, 32),
		bySrc:   make(map[string]int, 4),
	}
	// Sessions average about meanEventsPerSession events; aim the session
	// rate at the requested events per person.
	g.baseRate = cfg.EventsPerPerson / meanEventsPerSession / float64(max(cfg.Days, 1))
	g.zeroIDFA = &ident{val: "idfa:00000000-0000-0000-0000-000000000000"}
	g.zeroAAID = &ident{val: "aaid:00000000-0000-0000-0000-000000000000"}
	for _, j := range junkValues {
		g.junk = append(g.junk, &ident{val: j})
	}
	g.stats.People = cfg.People
	g.population()

	bw := bufio.NewWriterSize(w, 1<<20)
	if err := g.run(bw); err != nil {
		return nil, Stats{}, err
	}
	if err := bw.Flush(); err != nil {
		return nil, Stats{}, fmt.Errorf("bench: write population: %w", err)
	}

	entries := make([]truthEntry, len(g.seen))
	for i, x := range g.seen {
		entries[i] = truthEntry{x.val, x.owners}
	}
	truth := buildTruth(entries)
	g.stats.Identifiers = truth.Len()
	_, g.stats.SharedIdentifiers, g.stats.BlockedIdentifiers = truth.Counts()
	g.stats.ByEvent, g.stats.BySource = g.byEvent, g.bySrc
	return truth, g.stats, nil
}

// meanEventsPerSession is measured over the default session mix; it only
// calibrates the session rate.
const meanEventsPerSession = 4.6

// junkValues are blocked values that real trackers send; they appear beside
// real identifiers of unrelated people and must not glue them.
var junkValues = []string{
	"cookie:null", "cookie:undefined", "email:undefined", "email:null",
	"email:none", "user:anonymous", "user:null", "user:-1", "user:0",
	"phone:0", "device:00000000-0000-0000-0000-000000000000",
	"email:[object object]", "cookie:nan", "user:unknown",
}

const dayMS = 86_400_000

type generator struct {
	cfg      Config
	r        *rng
	people   []person
	baseRate float64
	startMS  int64

	zeroIDFA, zeroAAID *ident
	junk               []*ident
	seen               []*ident // identifiers written, in first-seen order

	stats   Stats
	byEvent map[string]int
	bySrc   map[string]int
	orders  int

	// The day being generated: lines are built into buf and written in time
	// order once the day is complete.
	buf   []byte
	lines []lineRef
	seq   uint32

	// The line being built.
	lineStart int
	lineTime  int64
	lineSrc   string
	first     bool
	inProps   bool
}

type lineRef struct {
	t        int64
	seq      uint32
	off, end int
}

// run schedules sessions day by day: each person's next session follows an
// exponential gap at the person's own rate.
func (g *generator) run(w *bufio.Writer) error {
	days := g.cfg.Days
	buckets := make([][]int32, days)
	for i := range g.people {
		p := &g.people[i]
		if d, ok := g.nextDay(p, 0); ok {
			buckets[d] = append(buckets[d], p.id)
		}
	}
	active := make([]bool, len(g.people))
	for day := 0; day < days; day++ {
		b := buckets[day]
		for i := 0; i < len(b); i++ { // b grows when someone comes back the same day
			p := &g.people[b[i]]
			g.session(p, day)
			if !active[p.id] {
				active[p.id] = true
				g.stats.ActivePeople++
			}
			switch next, ok := g.nextDay(p, day); {
			case !ok:
			case next == day:
				b = append(b, p.id)
			default:
				buckets[next] = append(buckets[next], p.id)
			}
		}
		buckets[day] = nil
		if err := g.flushDay(w); err != nil {
			return err
		}
	}
	return nil
}

// nextDay draws the day of p's next session after an exponential gap; ok
// is false when it falls after the period.
func (g *generator) nextDay(p *person, day int) (int, bool) {
	gap := g.r.exp(1 / p.rate)
	if !(gap < float64(g.cfg.Days-day)) { // also +Inf or NaN for a zero rate
		return 0, false
	}
	return day + int(gap), true
}

func (g *generator) flushDay(w *bufio.Writer) error {
	slices.SortFunc(g.lines, func(a, b lineRef) int {
		if c := cmp.Compare(a.t, b.t); c != 0 {
			return c
		}
		return cmp.Compare(a.seq, b.seq)
	})
	for _, l := range g.lines {
		if _, err := w.Write(g.buf[l.off:l.end]); err != nil {
			return fmt.Errorf("bench: write population: %w", err)
		}
	}
	g.stats.Bytes += int64(len(g.buf))
	g.buf, g.lines = g.buf[:0], g.lines[:0]
	return nil
}

// hourWeights is when sessions start (UTC hour 0–22): quiet nights, busy
// evenings.
var hourWeights = []float64{1, 0.6, 0.4, 0.3, 0.3, 0.5, 1.2, 2.5, 3.5, 4, 4.2, 4.4, 5, 4.8, 4.5, 4.5, 4.8, 5.2, 6, 6.8, 7, 6, 4}

func (g *generator) session(p *person, day int) {
	r := g.r
	dayStart := g.startMS + int64(day)*dayMS
	t := dayStart + int64(r.weighted(hourWeights))*3_600_000 + int64(r.intn(3_600_000))
	s := &session{g: g, p: p, t: t, end: dayStart + dayMS - 1}
	// Channels: app when a device is active, web, store (needs a phone or an
	// email), and the CRM (service visits, newsletters).
	appW := 0.0
	if p.appPref > 0 && s.activeDevice(day) != nil {
		appW = p.appPref
	}
	switch r.weighted([]float64{appW, 0.9 - appW, 0.07, 0.05}) {
	case 0:
		s.app(day)
	case 2:
		if !s.pos() {
			s.web()
		}
	case 3:
		s.crm()
	default:
		s.web()
	}
}

// session generates the events of one visit of one person.
type session struct {
	g   *generator
	p   *person
	t   int64 // time of the next event
	end int64 // last millisecond of the day
}

// step moves the clock to the next event, a few seconds to a minute later.
func (s *session) step() {
	s.t = min(s.t+3000+int64(s.g.r.intn(60_000)), s.end)
}

// geometric returns 0, 1, 2 … with the given mean.
func (r *rng) geometric(mean float64) int {
	n := 0
	for p := mean / (1 + mean); r.chance(p) && n < 50; n++ {
	}
	return n
}

var webPaths = []string{"/", "/", "/", "/sale", "/new", "/category/shoes", "/category/dresses", "/category/electronics", "/category/home", "/help", "/stores", "/account"}
var searchTerms = []string{"shoes", "red dress", "headphones", "gift", "sale", "lamp", "jacket", "sneakers", "coffee", "kids"}

func (s *session) web() {
	g, r, p := s.g, s.g.r, s.p
	b := p.browsers[r.intn(len(p.browsers))]
	if b.cookie == nil || s.t >= b.expires {
		v := strconv.AppendUint([]byte("cookie:"), 1_000_000_000+r.next()%9_000_000_000, 10)
		v = append(v, '.')
		v = strconv.AppendInt(v, s.t/1000, 10)
		b.cookie = &ident{val: string(v), owners: b.users}
		b.expires = s.t + int64(r.exp(21*dayMS))
	}
	ck := b.cookie
	var user *ident
	if p.user != nil && r.chance(0.3) {
		user = p.user
		g.begin(s.t, "login", "web")
		g.id(user)
		g.id(ck)
		g.endIDs()
		g.prop("method", "password")
		g.end()
		s.traits("web", user)
		s.step()
	}
	for i, n := 0, 1+r.geometric(2.5); i < n; i++ {
		switch x := r.float(); {
		case x < 0.1:
			g.begin(s.t, "search", "web")
			g.ids2(ck, user)
			g.prop("q", searchTerms[r.intn(len(searchTerms))])
		case x < 0.5:
			g.begin(s.t, "product_view", "web")
			g.ids2(ck, user)
			g.propNum("sku", "SKU", g.sku())
		default:
			g.begin(s.t, "page_view", "web")
			g.ids2(ck, user)
			g.prop("path", webPaths[r.intn(len(webPaths))])
		}
		g.end()
		s.step()
	}
	s.minor("web", ck, user)
	if r.chance(0.22) {
		sku := g.sku()
		g.begin(s.t, "add_to_cart", "web")
		g.ids2(ck, user)
		g.propNum("sku", "SKU", sku)
		g.prop("qty", "1")
		g.end()
		s.step()
		if r.chance(0.1) {
			g.begin(s.t, "remove_from_cart", "web")
			g.ids2(ck, user)
			g.propNum("sku", "SKU", sku)
			g.end()
			s.step()
		}
		if r.chance(0.45) {
			email := s.email()
			g.begin(s.t, "begin_checkout", "web")
			g.id(ck)
			g.id(email)
			g.idOpt(user)
			g.junkMaybe(0.02)
			g.endIDs()
			g.end()
			s.step()
			if r.chance(0.85) {
				g.begin(s.t, "purchase", "web")
				g.id(ck)
				g.id(email)
				g.idOpt(user)
				g.endIDs()
				s.order(sku)
				g.end()
				s.consent(email, "web")
				s.step()
			}
		}
	}
	if r.chance(0.02) {
		email := s.email()
		g.begin(s.t, "newsletter_signup", "web")
		g.id(ck)
		g.id(email)
		g.endIDs()
		g.end()
		s.p.consent = 0 // always asked on sign-up
		s.consent(email, "web")
	}
}

func (s *session) activeDevice(day int) *device {
	var found *device
	n := 0
	for _, d := range s.p.devices {
		if d.from <= day && day < d.until {
			n++
			if s.g.r.intn(n) == 0 {
				found = d
			}
		}
	}
	return found
}

func (s *session) app(day int) {
	g, r, p := s.g, s.g.r, s.p
	d := s.activeDevice(day)
	g.ready(d)
	if r.chance(0.025) { // reinstall: a new app instance, often a new token
		d.app = g.newApp(d.users)
		if !d.ios || r.chance(0.5) {
			d.push = g.newPush(d.users, d.ios)
		}
		d.loggedIn = -1
	}
	src := "app"
	if r.chance(0.1) {
		g.begin(s.t, "push_open", src)
		g.id(d.push)
		g.id(d.id)
		g.id(d.app)
		g.endIDs()
		g.propNum("campaign", "c", r.intn(40))
		g.end()
		s.step()
	}
	g.begin(s.t, "app_open", src)
	g.id(d.app)
	g.id(d.id)
	g.id(d.push)
	g.id(d.ad)
	g.junkMaybe(0.003)
	g.endIDs()
	if d.ios {
		g.prop("os", "ios")
	} else {
		g.prop("os", "android")
	}
	g.end()
	s.step()
	if p.user != nil && d.loggedIn != p.id && r.chance(0.7) {
		g.begin(s.t, "login", src)
		g.id(p.user)
		g.id(d.id)
		g.id(d.push)
		g.id(d.app)
		g.endIDs()
		g.prop("method", "app")
		g.end()
		d.loggedIn = p.id
		s.traits(src, p.user)
		s.step()
	}
	var user *ident
	if d.loggedIn >= 0 {
		user = g.people[d.loggedIn].user // a shared tablet may be logged in as someone else
	}
	for i, n := 0, 1+r.geometric(2.8); i < n; i++ {
		if r.chance(0.35) {
			g.begin(s.t, "product_view", src)
			g.ids3(d.app, d.id, user)
			g.propNum("sku", "SKU", g.sku())
		} else {
			g.begin(s.t, "view", src)
			g.ids3(d.app, d.id, user)
			g.prop("screen", appScreens[r.intn(len(appScreens))])
		}
		g.end()
		s.step()
	}
	s.minor(src, d.app, user)
	if r.chance(0.2) {
		sku := g.sku()
		g.begin(s.t, "add_to_cart", src)
		g.ids3(d.app, d.id, user)
		g.propNum("sku", "SKU", sku)
		g.propNum("qty", "", 1+r.geometric(0.3))
		g.end()
		s.step()
		if r.chance(0.45) {
			g.begin(s.t, "purchase", src)
			g.id(d.app)
			g.id(d.id)
			g.idOpt(user)
			var email *ident
			if r.chance(0.5) {
				email = s.email()
				g.id(email)
			}
			g.endIDs()
			s.order(sku)
			g.end()
			if email != nil {
				s.consent(email, src)
			}
			s.step()
		}
	}
}

var appScreens = []string{"home", "home", "feed", "category", "search", "cart", "account", "offers"}

// pos is a purchase (or a return) in a store, identified by the loyalty
// phone number, sometimes an email or the customer number.
func (s *session) pos() bool {
	g, r, p := s.g, s.g.r, s.p
	var ids []*ident
	var texts []string
	if p.phone != nil {
		ids = append(ids, p.phone)
		if r.chance(0.5) {
			texts = append(texts, p.phone.alt)
		} else {
			texts = append(texts, p.phone.val)
		}
	}
	if len(ids) == 0 || r.chance(0.25) {
		e := s.email()
		ids = append(ids, e)
		texts = append(texts, emailVariant(r, e.val))
	}
	if p.user != nil && r.chance(0.2) {
		ids = append(ids, p.user)
		texts = append(texts, p.user.val)
	}
	name := "purchase"
	if r.chance(0.05) {
		name = "return"
	}
	g.begin(s.t, name, "pos")
	for i, x := range ids {
		g.idText(x, texts[i])
	}
	g.junkMaybe(0.004)
	g.endIDs()
	g.propNum("store", "S", 100+r.intn(60))
	s.orderProps(g.sku())
	g.end()
	return true
}

// crm is what the shop's CRM records: newsletter engagement, service
// visits, profile updates.
func (s *session) crm() {
	g, r, p := s.g, s.g.r, s.p
	email := s.email()
	if p.consent == 1 && r.chance(0.6) {
		g.begin(s.t, "email_open", "crm")
		g.id(email)
		g.endIDs()
		g.propNum("campaign", "n", r.intn(52))
		g.end()
		s.step()
		if r.chance(0.3) {
			g.begin(s.t, "email_click", "crm")
			g.id(email)
			g.endIDs()
			g.end()
		}
		return
	}
	name := "service_visit"
	if r.chance(0.3) {
		name = "support_ticket"
	}
	g.begin(s.t, name, "crm")
	switch {
	case p.phone != nil && r.chance(0.5):
		g.idText(p.phone, p.phone.alt)
	case p.user != nil:
		g.id(p.user)
	}
	g.idText(email, emailVariant(r, email.val))
	g.junkMaybe(0.01)
	g.endIDs()
	g.prop("reason", serviceReasons[r.intn(len(serviceReasons))])
	g.end()
	s.step()
	if r.chance(0.3) {
		p.traits = false
		if p.user != nil {
			s.traits("crm", p.user)
		} else {
			s.traits("crm", email)
		}
	}
	if p.consent != 0 && r.chance(0.1) {
		p.consent = 0 // asked again
		s.consent(email, "crm")
	}
}

var serviceReasons = []string{"repair", "fitting", "return", "warranty", "advice", "pickup"}

// email picks the address the person gives: usually their own, now and then
// their typo'd variant.
func (s *session) email() *ident {
	r, p := s.g.r, s.p
	if p.typo != nil && r.chance(0.2) {
		return p.typo
	}
	if len(p.emails) == 1 || r.chance(0.7) {
		return p.emails[0]
	}
	return p.emails[1+r.intn(len(p.emails)-1)]
}

// emailVariant is the address as a shop assistant types it: sometimes
// capitalised, sometimes with a stray space.
func emailVariant(r *rng, val string) string {
	switch r.intn(8) {
	case 0:
		// The first character of the address, capitalised when it is a
		// letter (a typo'd address may start with a dot or a digit: left
		// as it is, so the line stays valid JSON).
		b := []byte(val)
		if c := b[6]; 'a' <= c && c <= 'z' {
			b[6] = c - ('a' - 'A')
		}
		return string(b)
	case 1:
		return val + " "
	}
	return val
}

// consent records the person's email consent the first time they are
// asked: most grant, some deny.
func (s *session) consent(email *ident, src string) {
	g, r, p := s.g, s.g.r, s.p
	if p.consent != 0 {
		return
	}
	decision := "grant"
	p.consent = 1
	if r.chance(0.3) {
		decision, p.consent = "deny", -1
	}
	g.beginLine(s.t, src)
	g.id(email)
	g.endIDs()
	g.buf = append(g.buf, `,"consent":{"email":"`...)
	g.buf = append(g.buf, decision...)
	g.buf = append(g.buf, `"}`...)
	g.endLine()
	g.stats.Consents++
}

var tiers = []string{"basic", "silver", "gold", "platinum"}

// traits sends the person's traits once, on a login or a CRM update.
func (s *session) traits(src string, id *ident) {
	g, r, p := s.g, s.g.r, s.p
	if p.traits {
		return
	}
	p.traits = true
	if r.chance(0.05) && p.tier < len(tiers)-1 {
		p.tier++
	}
	g.beginLine(s.t, src)
	g.id(id)
	g.endIDs()
	g.buf = append(g.buf, `,"traits":{"tier":"`...)
	g.buf = append(g.buf, tiers[p.tier]...)
	g.buf = append(g.buf, `","age":"`...)
	g.buf = strconv.AppendInt(g.buf, int64(p.age), 10)
	g.buf = append(g.buf, `"}`...)
	g.endLine()
	g.stats.Traits++
}

// minor adds one of the configured minor events to some sessions.
func (s *session) minor(src string, a, b *ident) {
	g, r := s.g, s.g.r
	if len(g.cfg.EventNames) == 0 || !r.chance(0.15) {
		return
	}
	g.begin(s.t, g.cfg.EventNames[r.intn(len(g.cfg.EventNames))], src)
	g.ids2(a, b)
	g.end()
	s.step()
}

// order adds the properties of an order.
func (s *session) order(sku int) {
	g := s.g
	g.orders++
	g.propNum("order_id", "O", g.orders)
	s.orderProps(sku)
}

// categories are the product categories; a SKU's is fixed.
var categories = []string{"phones", "laptops", "shoes", "dresses", "home", "beauty", "toys"}

func (s *session) orderProps(sku int) {
	g, r := s.g, s.g.r
	g.propNum("sku", "SKU", sku)
	g.prop("category", categories[sku%len(categories)])
	cents := 499 + r.intn(20000)
	if r.chance(0.1) {
		cents += r.intn(100_000)
	}
	g.propStart("amount")
	g.buf = strconv.AppendInt(g.buf, int64(cents/100), 10)
	g.buf = append(g.buf, '.', byte('0'+cents/10%10), byte('0'+cents%10), '"')
	g.prop("currency", "EUR")
}

// sku picks a product: a few are very popular.
func (g *generator) sku() int {
	return 10000 + int(g.r.exp(400))%5000
}
