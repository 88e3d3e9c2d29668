package bench

import (
	"math"
	"strconv"
	"strings"
)

// ident is one identifier value of the synthetic population. owners are the
// people it truly belongs to; seen is set the first time it is written, so
// the truth holds exactly the identifiers that appear in the output.
type ident struct {
	val    string // normalised "type:value"
	text   string // the form written when it differs from val ("" if not)
	alt    string // another way of writing it (a formatted phone number)
	owners []int32
	seen   bool
}

// person is one synthetic customer. Fields that change over the year (a
// device's app instance, a browser's cookie) live in the shared device and
// browser records.
type person struct {
	id       int32
	hh       int32    // household number
	user     *ident   // nil for people without an account
	emails   []*ident // [0] is the primary; may include a household email
	typo     *ident   // a typo'd variant of the primary, or nil
	phone    *ident   // own or household phone, or nil
	devices  []*device
	browsers []*browser
	rate     float64 // mean sessions a day
	appPref  float64 // weight of the app channel when a device is active
	age      int
	tier     int
	consent  int8 // email consent: 0 not asked, 1 granted, -1 denied
	traits   bool // traits sent once
}

// device is a phone or tablet as used by some people during some days. A
// sold device appears as two records sharing the device identifier: the
// seller's (until the sale) and the buyer's (from the sale, with a fresh app
// instance and push token).
type device struct {
	id          *ident
	ios         bool
	push, app   *ident
	ad          *ident // idfa/aaid; the shared zeroed value when tracking is limited
	from, until int    // active days [from, until)
	users       []int32
	loggedIn    int32 // who is logged in in the app, -1 nobody
}

// browser is a web browser; its cookie churns every few weeks.
type browser struct {
	cookie  *ident
	expires int64 // Unix ms
	users   []int32
}

var firstNames = strings.Fields(`anna ben clara david emma felix greta hannah ivan jana
 jonas julia karl lara leon lena lukas maria max mia noah olga paul quinn rosa
 sam sara tom ute vera will xenia yusuf zoe ali bruno chloe diego elif fatima
 george hugo ines jack kim liam marta nina oscar pia raj sofia theo uma victor
 wei yara zara amir bea`)

var lastNames = strings.Fields(`schmidt mueller smith jones garcia martin rossi
 novak kowalski dubois silva santos kim lee wang chen nguyen patel khan ali
 ivanova petrov hansen jensen nielsen berg lind virtanen horvath nagy popescu
 costa ferreira lopez gomez diaz moreau bernard fischer weber meyer wagner
 becker schulz hoffmann koch richter klein wolf neumann schwarz zimmermann
 braun hartmann lange werner krause`)

var emailDomains = []string{"gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com", "web.de", "gmx.de", "proton.me", "mail.ru", "orange.fr"}
var emailDomainWeights = []float64{40, 8, 10, 8, 10, 6, 6, 3, 4, 5}
var typoDomains = map[string]string{"gmail.com": "gmial.com", "yahoo.com": "yaho.com", "outlook.com": "outlok.com", "hotmail.com": "hotmial.com", "icloud.com": "iclod.com"}

var phonePrefixes = []string{"+49151", "+49170", "+44770", "+33612", "+1415", "+3934"}

// population builds people, households and their identifiers.
func (g *generator) population() {
	r := g.r
	n := g.cfg.People
	g.people = make([]person, n)
	usedEmail := make(map[string]bool, n*2)
	usedPhone := make(map[string]bool, n)
	hhSizeW := []float64{45, 28, 15, 12}
	hh := int32(0)
	for start := 0; start < n; hh++ {
		size := min(1+r.weighted(hhSizeW), n-start)
		members := make([]int32, size)
		for i := range members {
			members[i] = int32(start + i)
		}
		last := lastNames[r.intn(len(lastNames))]
		for _, m := range members {
			g.newPerson(m, hh, last, usedEmail, usedPhone)
		}
		if size > 1 {
			g.household(members, usedEmail)
		}
		start += size
	}
	g.stats.Households = int(hh)
	g.sellDevices()
}

func (g *generator) newPerson(id, hh int32, last string, usedEmail, usedPhone map[string]bool) {
	r := g.r
	p := &g.people[id]
	p.id, p.hh = id, hh
	me := []int32{id}
	if r.chance(0.8) {
		// A customer number: unique because 7919 is prime to 90,000,000.
		u := 10_000_000 + (int64(id)*7919+int64(g.cfg.Seed%1000))%90_000_000
		p.user = &ident{val: "user:" + strconv.FormatInt(u, 10), owners: me}
	}
	if r.chance(0.3) { // a different surname than the household's
		last = lastNames[r.intn(len(lastNames))]
	}
	first := firstNames[r.intn(len(firstNames))]
	nEmails := 1
	if r.chance(0.3) {
		nEmails = 2
	}
	for i := 0; i < nEmails; i++ {
		addr := g.emailAddress(first, last, usedEmail)
		p.emails = append(p.emails, &ident{val: "email:" + addr, owners: me})
	}
	if r.chance(0.06) {
		p.typo = &ident{val: "email:" + typoEmail(r, p.emails[0].val[len("email:"):]), owners: me}
	}
	if r.chance(0.6) {
		var num string
		for {
			b := []byte(phonePrefixes[r.intn(len(phonePrefixes))])
			for i := 0; i < 7; i++ {
				b = append(b, byte('0'+r.intn(10)))
			}
			if num = string(b); !usedPhone[num] {
				usedPhone[num] = true
				break
			}
		}
		p.phone = &ident{val: "phone:" + num, alt: "phone:" + formatPhone(num), owners: me}
	}
	p.rate = g.baseRate * lognormal(r, 1.0)
	p.age = r.between(18, 80)
	p.tier = r.weighted([]float64{60, 25, 10, 5})
	if r.chance(0.75) {
		p.appPref = 0.4 + 0.4*r.float()
		for i, nd := 0, r.between(1, 3); i < nd; i++ {
			p.devices = append(p.devices, g.newDevice(me, 0, g.cfg.Days, nil))
		}
	}
	for i, nb := 0, r.between(1, 2); i < nb; i++ {
		p.browsers = append(p.browsers, &browser{users: me})
	}
}

// household adds what a household shares: an email (on 2–4 members), a
// landline used for the loyalty card, a family tablet, a home computer.
func (g *generator) household(members []int32, usedEmail map[string]bool) {
	r := g.r
	if r.chance(0.3) {
		// One member's primary address, used by others of the household too.
		owner := &g.people[members[0]]
		e := owner.emails[0]
		k := r.between(2, len(members))
		e.owners = members[:k:k]
		for _, m := range members[1:k] {
			p := &g.people[m]
			if r.chance(0.5) {
				p.emails = append([]*ident{e}, p.emails...) // their main one
			} else {
				p.emails = append(p.emails, e)
			}
		}
	}
	if r.chance(0.15) {
		if ph := g.people[members[0]].phone; ph != nil {
			ph.owners = members
			for _, m := range members[1:] {
				g.people[m].phone = ph
			}
		}
	}
	if r.chance(0.2) {
		d := g.newDevice(members, 0, g.cfg.Days, nil)
		for _, m := range members {
			p := &g.people[m]
			p.devices = append(p.devices, d)
			if p.appPref == 0 {
				p.appPref = 0.3
			}
		}
	}
	if r.chance(0.25) {
		b := &browser{users: members}
		for _, m := range members {
			g.people[m].browsers = append(g.people[m].browsers, b)
		}
	}
}

// newDevice creates a device used by users during [from, until). id is the
// device identifier to reuse (a sold device), or nil. Identifiers are made
// on first use (see ready), as most devices of light users are never seen.
func (g *generator) newDevice(users []int32, from, until int, id *ident) *device {
	return &device{id: id, ios: g.r.chance(0.45), from: from, until: until, users: users, loggedIn: -1}
}

// ready makes the device's identifiers that do not exist yet.
func (g *generator) ready(d *device) {
	r := g.r
	if d.id == nil {
		d.id = &ident{val: "device:" + r.uuid(), owners: d.users}
	}
	if d.app == nil {
		d.app = g.newApp(d.users)
	}
	if d.push == nil {
		d.push = g.newPush(d.users, d.ios)
	}
	if d.ad != nil {
		return
	}
	switch {
	case r.chance(0.4) && d.ios: // limited ad tracking: the zeroed id
		d.ad = g.zeroIDFA
	case r.chance(0.4):
		d.ad = g.zeroAAID
	case d.ios:
		u := r.uuid()
		d.ad = &ident{val: "idfa:" + u, text: "idfa:" + strings.ToUpper(u), owners: d.users}
	default:
		d.ad = &ident{val: "aaid:" + r.uuid(), owners: d.users}
	}
}

func (g *generator) newApp(users []int32) *ident {
	return &ident{val: "app:" + string(g.r.appendHex(nil, 32)), owners: users}
}

func (g *generator) newPush(users []int32, ios bool) *ident {
	r := g.r
	var b []byte
	if ios { // APNs: 64 hex digits
		b = r.appendHex(append(b, "push:"...), 64)
	} else { // FCM: instance id, ':', a long base64url-ish token
		const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
		b = append(b, "push:"...)
		for i := 0; i < 22; i++ {
			b = append(b, alphabet[r.intn(64)])
		}
		b = append(b, ":APA91b"...)
		for i := 0; i < 64; i++ {
			b = append(b, alphabet[r.intn(64)])
		}
	}
	return &ident{val: string(b), owners: users}
}

// sellDevices sells a few personal devices mid-year to someone outside the
// household: the device identifier then belongs to both. The seller usually
// buys a replacement.
func (g *generator) sellDevices() {
	r := g.r
	n := len(g.people)
	if n < 2 || g.cfg.Days < 12 {
		return
	}
	for i := range g.people {
		seller := &g.people[i]
		for _, d := range seller.devices {
			if len(d.users) != 1 || d.until != g.cfg.Days || !r.chance(0.03) {
				continue
			}
			buyerID := int32(r.intn(n))
			buyer := &g.people[buyerID]
			if buyer.hh == seller.hh {
				continue
			}
			day := r.between(g.cfg.Days/6, g.cfg.Days*5/6)
			d.until = day
			if d.id == nil {
				d.id = &ident{val: "device:" + r.uuid()}
			}
			d.id.owners = []int32{seller.id, buyerID}
			bd := g.newDevice([]int32{buyerID}, day, g.cfg.Days, d.id)
			bd.ios = d.ios
			buyer.devices = append(buyer.devices, bd)
			if buyer.appPref == 0 {
				buyer.appPref = 0.5
			}
			if r.chance(0.7) {
				seller.devices = append(seller.devices, g.newDevice([]int32{seller.id}, day, g.cfg.Days, nil))
			}
			g.stats.SoldDevices++
		}
	}
}

func (g *generator) emailAddress(first, last string, used map[string]bool) string {
	r := g.r
	for attempt := 0; ; attempt++ {
		var b []byte
		switch r.intn(5) {
		case 0:
			b = append(append(append(b, first...), '.'), last...)
		case 1:
			b = append(append(b, first...), last...)
		case 2:
			b = append(append(append(b, first[0]), '.'), last...)
		case 3:
			b = append(append(append(b, first...), '_'), last...)
		default:
			b = append(b, first...)
		}
		if attempt > 0 || r.chance(0.6) {
			b = strconv.AppendInt(b, int64(r.intn(100*(attempt+1)*(attempt+1))), 10)
		}
		b = append(b, '@')
		b = append(b, emailDomains[r.weighted(emailDomainWeights)]...)
		if s := string(b); !used[s] {
			used[s] = true
			return s
		}
	}
}

// typoEmail returns a plausible mistyping of addr: a misspelt domain, two
// letters swapped, or a letter doubled.
func typoEmail(r *rng, addr string) string {
	local, domain, _ := strings.Cut(addr, "@")
	if t, ok := typoDomains[domain]; ok && r.chance(0.5) {
		return local + "@" + t
	}
	b := []byte(local)
	if len(b) >= 2 && r.chance(0.5) {
		i := r.intn(len(b) - 1)
		if b[i] != b[i+1] {
			b[i], b[i+1] = b[i+1], b[i]
			return string(b) + "@" + domain
		}
	}
	i := r.intn(len(b))
	return string(b[:i+1]) + string(b[i:]) + "@" + domain
}

// formatPhone writes an E.164 number the way people type it: "+49 151 1234567".
func formatPhone(num string) string {
	cc := 3
	if strings.HasPrefix(num, "+1") {
		cc = 2
	}
	return num[:cc] + " " + num[cc:cc+3] + " " + num[cc+3:]
}

// lognormal returns a log-normal value with mean 1.
func lognormal(r *rng, sigma float64) float64 {
	x := sigma*r.normal() - sigma*sigma/2
	if x > 5 {
		x = 5 // keep the heaviest users plausible
	}
	return math.Exp(x)
}
