package engine

import (
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
	"time"

	"github.com/idgraph/idgraph/engine/internal/graph"
	"github.com/idgraph/idgraph/engine/internal/store"
	"github.com/idgraph/idgraph/index"
)

// Profile is a resolved customer: everything WHO answers.
type Profile struct {
	ID        uint32
	IDs       []string          // every identifier, "type:value", sorted
	Traits    map[string]string // latest value per trait
	Consent   map[string]bool   // purpose → latest decision is GRANT
	Tags      []string          // tags on, sorted
	FirstSeen time.Time         // earliest event that counts for it (zero if none)
	LastSeen  time.Time
	Events    int64
	Created   time.Time
}

// Reader reads one moment of the database: a store snapshot and an index
// view of the same generation. Get one with DB.Read.
type Reader struct {
	db *DB
	s  store.Snapshot
	v  *index.View
}

// Read runs f on one moment of the database. Keep f short: the writer
// waits for open readers before it applies the next commit's index
// changes (reads that need no index use the DB's own methods).
func (db *DB) Read(f func(r *Reader) error) error {
	return db.view(func(v *index.View, s store.Snapshot) error {
		return f(&Reader{db: db, s: s, v: v})
	})
}

// Index returns the reader's index view.
func (r *Reader) Index() *index.View { return r.v }

// Gen returns the generation the reader reads.
func (r *Reader) Gen() uint64 { return r.v.Gen() }

// Who returns the profile holding id (an identifier or profile:<id>), or an
// error of kind NotFound.
func (r *Reader) Who(id string) (*Profile, error) { return who(r.db, r.s, id) }

// Who returns the profile holding id (an identifier or profile:<id>), or an
// error of kind NotFound.
func (db *DB) Who(id string) (*Profile, error) {
	var out *Profile
	err := db.snapshot(func(s store.Snapshot) error {
		var err error
		out, err = who(db, s, id)
		return err
	})
	return out, err
}

func who(db *DB, s store.Snapshot, id string) (*Profile, error) {
	p, _, err := db.resolveID(s, id)
	if err != nil {
		return nil, err
	}
	if p == 0 {
		return nil, notFound(id, "%s is not known", graph.Clip(id))
	}
	pr, err := s.Profile(p)
	if err != nil {
		return nil, err
	}
	return profileOf(p, pr), nil
}

func profileOf(p uint32, pr *store.Profile) *Profile {
	out := &Profile{ID: p, Traits: pr.TraitValues(), Consent: pr.Granted(), Tags: pr.TagList(),
		Events: pr.Events, Created: time.UnixMilli(pr.Created).UTC()}
	if pr.Events > 0 {
		out.FirstSeen = time.UnixMilli(pr.First).UTC()
		out.LastSeen = time.UnixMilli(pr.Last).UTC()
	}
	out.IDs = make([]string, len(pr.Members))
	for i, m := range pr.Members {
		out.IDs[i] = m.ID
	}
	slices.Sort(out.IDs)
	slices.Sort(out.Tags)
	return out
}

// resolveID finds the live profile id addresses (an identifier or
// profile:<id>), and the node for an identifier; 0 when unknown.
func (db *DB) resolveID(s store.Reader, raw string) (p, node uint32, err error) {
	if strings.HasPrefix(raw, ProfileType+":") {
		id, err := parseProfileID(raw)
		if err != nil {
			return 0, 0, err
		}
		p, err := live(s, id)
		return p, 0, err
	}
	id, _, blocked, err := db.types.Load().ParseID(raw, db.bl)
	if err != nil || blocked {
		return 0, 0, err
	}
	node, p, err = s.Ident(id.Type, id.Value)
	if errors.Is(err, store.ErrNotFound) {
		return 0, 0, nil
	}
	return p, node, err
}

// TimelineEvent is one event of a profile's history.
type TimelineEvent struct {
	Time   time.Time
	Name   string
	Source string
	IDs    []string // the identifiers it carried (those not since erased)
	Props  []byte   // JSON object or nil
	// Cursor locates the event for paging: TIMELINE ... AFTER <cursor>
	// continues right after it, even among events of the same millisecond.
	Cursor string
}

// DefaultTimelineLimit is TIMELINE's page size when none is given.
const DefaultTimelineLimit = 100

// TimelinePage selects a page of a timeline: at most Limit events
// (DefaultTimelineLimit when 0), newest first, those strictly before Before
// when it is not zero, and those after the event of cursor After (from an
// earlier page) when it is not "".
type TimelinePage struct {
	Limit  int
	Before time.Time
	After  string
}

// Timeline returns the events that count for id's profile, newest first.
func (db *DB) Timeline(id string, page TimelinePage) ([]TimelineEvent, error) {
	limit := page.Limit
	if limit <= 0 {
		limit = DefaultTimelineLimit
	}
	var upTo *store.RecordKey // events strictly older than this (time, seq) count
	if !page.Before.IsZero() {
		upTo = &store.RecordKey{Time: page.Before.UnixMilli(), Seq: 0}
	}
	if page.After != "" {
		t, seq, err := parseCursor(page.After)
		if err != nil {
			return nil, err
		}
		if upTo == nil || t < upTo.Time || t == upTo.Time && seq < upTo.Seq {
			upTo = &store.RecordKey{Time: t, Seq: seq}
		}
	}
	var out []TimelineEvent
	err := db.snapshot(func(s store.Snapshot) error {
		p, _, err := db.resolveID(s, id)
		if err != nil {
			return err
		}
		if p == 0 {
			return notFound(id, "%s is not known", graph.Clip(id))
		}
		pr, err := s.Profile(p)
		if err != nil {
			return err
		}
		// Merge the members' newest-first streams.
		type stream struct {
			next func() (*store.Record, error, bool)
			stop func()
			cur  *store.Record
		}
		var streams []*stream
		defer func() {
			for _, st := range streams {
				st.stop()
			}
		}()
		for _, m := range pr.Members {
			rg := store.Range{Reverse: true, EventsOnly: true}
			if upTo != nil {
				to := store.RecordKey{Anchor: m.Node, Time: upTo.Time, Seq: upTo.Seq}
				if to.Seq == 0 {
					to.Time--
					to.Seq = ^uint64(0)
				} else {
					to.Seq--
				}
				rg.To = &to
			}
			next, stop := iter.Pull2(s.Records(m.Node, rg))
			st := &stream{next: next, stop: stop}
			streams = append(streams, st)
			rec, err, ok := next()
			if err != nil {
				return err
			}
			if ok {
				st.cur = rec
			}
		}
		names := map[uint32]string{}
		for len(out) < limit {
			var best *stream
			for _, st := range streams {
				if st.cur != nil && (best == nil || newerKey(st.cur.RecordKey, best.cur.RecordKey)) {
					best = st
				}
			}
			if best == nil {
				break
			}
			rec := best.cur
			te := TimelineEvent{Time: time.UnixMilli(rec.Time).UTC(), Name: rec.Name, Source: rec.Source,
				Props: rec.Props, Cursor: fmt.Sprintf("%d-%d", rec.Time, rec.Seq)}
			for _, n := range rec.IDs {
				name, ok := names[n]
				if !ok {
					if nr, err := s.Node(n); err == nil {
						name = nr.ID()
					}
					names[n] = name
				}
				if name != "" {
					te.IDs = append(te.IDs, name)
				}
			}
			out = append(out, te)
			best.cur = nil
			next, err, ok := best.next()
			if err != nil {
				return err
			}
			if ok {
				best.cur = next
			}
		}
		return nil
	})
	return out, err
}

func newerKey(a, b store.RecordKey) bool { return a.Time > b.Time || a.Time == b.Time && a.Seq > b.Seq }

func parseCursor(c string) (int64, uint64, error) {
	var t int64
	var seq uint64
	if _, err := fmt.Sscanf(c, "%d-%d", &t, &seq); err != nil || fmt.Sprintf("%d-%d", t, seq) != c {
		return 0, 0, invalid(c, "%q is not a timeline cursor (the cursor field of an event, like 1764000000000-42)", graph.Clip(c))
	}
	return t, seq, nil
}

// Moment is one committed moment of the database held open for a long
// read (a segment export): the profiles as they were at its generation,
// readable for as long as it is open, without holding the index (so
// neither the writer nor other readers wait). Close it when done.
type Moment struct {
	db    *DB
	gen   uint64
	s     store.Snapshot
	unpin func()
}

// Moment runs f on the index view of the latest generation (keep it short:
// evaluate what needs the index), then returns that generation's store
// snapshot, pinned, as a Moment.
func (db *DB) Moment(f func(v *index.View) error) (*Moment, error) {
	v := db.idx.View()
	gen := v.Gen()
	unpin := db.st.Pin(gen)
	s, err := db.st.ViewAt(gen)
	if err == nil {
		err = f(v)
	}
	v.Close()
	if err != nil {
		if s != nil {
			s.Close()
		}
		unpin()
		return nil, err
	}
	return &Moment{db: db, gen: gen, s: s, unpin: unpin}, nil
}

// Gen is the moment's generation.
func (m *Moment) Gen() uint64 { return m.gen }

// Profile returns live profile p as it was at the moment.
func (m *Moment) Profile(p uint32) (*Profile, error) {
	pr, err := m.s.Profile(p)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound(fmt.Sprint(p), "profile %d is not known", p)
	}
	if err != nil {
		return nil, err
	}
	return profileOf(p, pr), nil
}

// Close releases the moment.
func (m *Moment) Close() {
	if m.s != nil {
		m.s.Close()
		m.unpin()
		m.s = nil
	}
}
