package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"
)

// TrackOptions are the optional parts of TRACK. The zero value sends none.
type TrackOptions struct {
	// At is when the event happened (AT); zero means now, on the server.
	At time.Time
	// From is the source channel (FROM); empty means the connection's
	// default.
	From string
	// Props are the event's properties (PROPS), a JSON object: a string,
	// []byte or json.RawMessage is sent as it is, anything else is
	// marshalled with encoding/json. Nil sends none.
	Props any
}

// TrackResult is the reply to TRACK and MERGE.
type TrackResult struct {
	// Profile is the profile that holds the event's anchor identifier.
	Profile uint32
	// Dropped are the identifiers dropped as blocked values.
	Dropped []string
	// Refused are the identifiers whose link the rules refused.
	Refused []Refusal
}

// Refusal is an identifier that stayed in its own profile, and the rule
// that kept it there.
type Refusal struct {
	ID   string
	Rule string
}

// Profile is the reply to WHO.
type Profile struct {
	ID       uint32
	IDs      []string          // every identifier, type:value, sorted
	Traits   map[string]string // name → value
	Consent  map[string]bool   // purpose → granted (false: denied)
	Segments []string          // named segments the profile is in
	// FirstSeen and LastSeen are zero when the profile has no events.
	FirstSeen time.Time
	LastSeen  time.Time
	Events    int64
}

// Why is the reply to WHY: whether two identifiers are linked, the chain of
// edges between them, and the server's explanation.
type Why struct {
	Linked bool
	Path   []Edge
	Reason string
}

// Edge is one co-occurrence of two identifiers and its evidence.
type Edge struct {
	From, To  string
	Status    string // "linked" or "refused"
	Rule      string // the rule that refused the link, if it was refused
	Count     int64
	FirstSeen time.Time
	LastSeen  time.Time
	Source    string
}

// Event is one entry of a TIMELINE.
type Event struct {
	Time   time.Time
	Name   string
	Source string
	IDs    []string
	Props  json.RawMessage // a JSON object; nil when the event had none
}

// UnlinkResult is the reply to UNLINK.
type UnlinkResult struct {
	Removed  int64    // co-occurrences removed
	Profiles []uint32 // the profiles the identifiers are in afterwards
}

// ForgetResult is the reply to FORGET.
type ForgetResult struct {
	Profile uint32 // the profile erased
	IDs     int64  // identifiers erased
	Events  int64  // events erased
}

// call is one statement: its words, or the error that kept it from being
// built, and how to decode its reply.
type call[T any] struct {
	args   []string
	err    error
	decode func(any) (T, error)
}

func ms(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

// run sends one statement and decodes its reply.
func run[T any](ctx context.Context, c *Client, k call[T]) (T, error) {
	var zero T
	if k.err != nil {
		return zero, k.err
	}
	v, err := c.Do(ctx, k.args...)
	if err != nil {
		return zero, err
	}
	return k.result(v)
}

func (k call[T]) result(v any) (T, error) {
	out, err := k.decode(v)
	if err != nil && !errors.Is(err, ErrNotFound) {
		var zero T
		return zero, fmt.Errorf("idgraph: %s: %w", k.args[0], err)
	}
	return out, err
}

func trackCall(event string, ids []string, o TrackOptions) call[*TrackResult] {
	args := append([]string{"TRACK", event}, ids...)
	if !o.At.IsZero() {
		args = append(args, "AT", ms(o.At))
	}
	if o.From != "" {
		args = append(args, "FROM", o.From)
	}
	k := call[*TrackResult]{decode: decodeTrack}
	if o.Props != nil {
		var props string
		switch p := o.Props.(type) {
		case string:
			props = p
		case []byte:
			props = string(p)
		case json.RawMessage:
			props = string(p)
		default:
			b, err := json.Marshal(p)
			if err != nil {
				k.err = fmt.Errorf("idgraph: TRACK props: %w", err)
			}
			props = string(b)
		}
		args = append(args, "PROPS", props)
	}
	k.args = args
	return k
}

func mergeCall(ids []string, from string) call[*TrackResult] {
	args := append([]string{"MERGE"}, ids...)
	if from != "" {
		args = append(args, "FROM", from)
	}
	return call[*TrackResult]{args: args, decode: decodeTrack}
}

func decodeTrack(v any) (*TrackResult, error) {
	d, err := decodeMap(v)
	if err != nil {
		return nil, err
	}
	r := &TrackResult{Profile: d.profileID("profile"), Dropped: d.strs("dropped")}
	refused, err := toArray(d.m["refused"])
	if err != nil {
		return nil, fmt.Errorf("field refused: %w", err)
	}
	for _, e := range refused {
		rd, err := decodeMap(e)
		if err != nil {
			return nil, fmt.Errorf("field refused: %w", err)
		}
		r.Refused = append(r.Refused, Refusal{ID: rd.str("id"), Rule: rd.str("rule")})
		if rd.err != nil {
			return nil, fmt.Errorf("field refused: %w", rd.err)
		}
	}
	return r, d.err
}

func setCall(id string, traits map[string]string, at time.Time) call[uint32] {
	names := make([]string, 0, len(traits))
	for name := range traits {
		names = append(names, name)
	}
	sort.Strings(names)
	args := []string{"SET", id}
	for _, name := range names {
		args = append(args, name+"="+traits[name])
	}
	if !at.IsZero() {
		args = append(args, "AT", ms(at))
	}
	return call[uint32]{args: args, decode: decodeProfileField}
}

func consentCall(id, purpose string, grant bool, at time.Time) call[uint32] {
	decision := "DENY"
	if grant {
		decision = "GRANT"
	}
	args := []string{"CONSENT", id, purpose, decision}
	if !at.IsZero() {
		args = append(args, "AT", ms(at))
	}
	return call[uint32]{args: args, decode: decodeProfileField}
}

// decodeProfileField reads {profile: int}.
func decodeProfileField(v any) (uint32, error) {
	d, err := decodeMap(v)
	if err != nil {
		return 0, err
	}
	return d.profileID("profile"), d.err
}

func whoCall(id string) call[*Profile] {
	return call[*Profile]{args: []string{"WHO", id}, decode: decodeProfile}
}

func decodeProfile(v any) (*Profile, error) {
	if v == nil {
		return nil, ErrNotFound
	}
	d, err := decodeMap(v)
	if err != nil {
		return nil, err
	}
	p := &Profile{
		ID:        d.profileID("profile"),
		IDs:       d.strs("ids"),
		Segments:  d.strs("segments"),
		FirstSeen: d.time("first_seen"),
		LastSeen:  d.time("last_seen"),
		Events:    d.int("events"),
	}
	if p.Traits, err = toStringMap(d.m["traits"]); err != nil {
		return nil, fmt.Errorf("field traits: %w", err)
	}
	consent, err := toStringMap(d.m["consent"])
	if err != nil {
		return nil, fmt.Errorf("field consent: %w", err)
	}
	p.Consent = make(map[string]bool, len(consent))
	for purpose, decision := range consent {
		switch decision {
		case "grant", "GRANT":
			p.Consent[purpose] = true
		case "deny", "DENY":
			p.Consent[purpose] = false
		default:
			return nil, fmt.Errorf("field consent: %w", badShape("grant or deny", decision))
		}
	}
	return p, d.err
}

func whyCall(a, b string) call[*Why] {
	return call[*Why]{args: []string{"WHY", a, b}, decode: decodeWhy}
}

func decodeWhy(v any) (*Why, error) {
	d, err := decodeMap(v)
	if err != nil {
		return nil, err
	}
	w := &Why{Linked: d.bool("linked"), Reason: d.str("reason")}
	path, err := toArray(d.m["path"])
	if err != nil {
		return nil, fmt.Errorf("field path: %w", err)
	}
	for _, e := range path {
		ed, err := decodeMap(e)
		if err != nil {
			return nil, fmt.Errorf("field path: %w", err)
		}
		w.Path = append(w.Path, Edge{
			From: ed.str("from"), To: ed.str("to"), Status: ed.str("status"), Rule: ed.str("rule"),
			Count: ed.int("count"), FirstSeen: ed.time("first_seen"), LastSeen: ed.time("last_seen"),
			Source: ed.str("source"),
		})
		if ed.err != nil {
			return nil, fmt.Errorf("field path: %w", ed.err)
		}
	}
	return w, d.err
}

func timelineCall(id string, limit int, before time.Time) call[[]Event] {
	args := []string{"TIMELINE", id}
	if limit > 0 {
		args = append(args, "LIMIT", strconv.Itoa(limit))
	}
	if !before.IsZero() {
		args = append(args, "BEFORE", ms(before))
	}
	return call[[]Event]{args: args, decode: decodeTimeline}
}

func decodeTimeline(v any) ([]Event, error) {
	arr, err := toArray(v)
	if err != nil {
		return nil, err
	}
	events := make([]Event, 0, len(arr))
	for _, e := range arr {
		d, err := decodeMap(e)
		if err != nil {
			return nil, err
		}
		ev := Event{Time: d.time("time"), Name: d.str("event"), Source: d.str("source"), IDs: d.strs("ids")}
		if props := d.str("props"); props != "" {
			ev.Props = json.RawMessage(props)
		}
		if d.err != nil {
			return nil, d.err
		}
		events = append(events, ev)
	}
	return events, nil
}

func unlinkCall(a, b string) call[*UnlinkResult] {
	return call[*UnlinkResult]{args: []string{"UNLINK", a, b}, decode: func(v any) (*UnlinkResult, error) {
		d, err := decodeMap(v)
		if err != nil {
			return nil, err
		}
		r := &UnlinkResult{Removed: d.int("removed")}
		profiles, err := toArray(d.m["profiles"])
		if err != nil {
			return nil, fmt.Errorf("field profiles: %w", err)
		}
		for _, p := range profiles {
			id, err := toProfileID(p)
			if err != nil {
				return nil, fmt.Errorf("field profiles: %w", err)
			}
			r.Profiles = append(r.Profiles, id)
		}
		return r, d.err
	}}
}

func forgetCall(id string, suppress bool) call[*ForgetResult] {
	args := []string{"FORGET", id}
	if suppress {
		args = append(args, "SUPPRESS")
	}
	return call[*ForgetResult]{args: args, decode: func(v any) (*ForgetResult, error) {
		d, err := decodeMap(v)
		if err != nil {
			return nil, err
		}
		return &ForgetResult{Profile: d.profileID("profile"), IDs: d.int("ids"), Events: d.int("events")}, d.err
	}}
}

// segmentArgs is SEGMENT <sub> followed by the expression's words.
func segmentArgs(sub, expr string) ([]string, error) {
	words, err := splitExpr(expr)
	if err != nil {
		return nil, err
	}
	return append([]string{"SEGMENT", sub}, words...), nil
}

func segmentCountCall(expr string, asOf time.Time) call[int64] {
	args, err := segmentArgs("COUNT", expr)
	if !asOf.IsZero() {
		args = append(args, "ASOF", ms(asOf))
	}
	return call[int64]{args: args, err: err, decode: toInt}
}

func segmentIDsCall(expr string, asOf time.Time, limit int, after uint32) call[[]uint32] {
	args, err := segmentArgs("IDS", expr)
	if !asOf.IsZero() {
		args = append(args, "ASOF", ms(asOf))
	}
	if limit > 0 {
		args = append(args, "LIMIT", strconv.Itoa(limit))
	}
	if after > 0 {
		args = append(args, "AFTER", strconv.FormatUint(uint64(after), 10))
	}
	return call[[]uint32]{args: args, err: err, decode: func(v any) ([]uint32, error) {
		arr, err := toArray(v)
		if err != nil {
			return nil, err
		}
		ids := make([]uint32, len(arr))
		for i, e := range arr {
			if ids[i], err = toProfileID(e); err != nil {
				return nil, err
			}
		}
		return ids, nil
	}}
}

func segmentSaveCall(name, expr string) call[struct{}] {
	words, err := splitExpr(expr)
	args := append([]string{"SEGMENT", "SAVE", name}, words...)
	return call[struct{}]{args: args, err: err, decode: decodeOK}
}

func decodeOK(v any) (struct{}, error) {
	if s, ok := v.(string); !ok || s != "OK" {
		return struct{}{}, badShape("OK", v)
	}
	return struct{}{}, nil
}

func segmentDropCall(name string) call[bool] {
	return call[bool]{args: []string{"SEGMENT", "DROP", name}, decode: toBool}
}

func segmentListCall() call[map[string]string] {
	return call[map[string]string]{args: []string{"SEGMENT", "LIST"}, decode: toStringMap}
}

// Track records an event carrying ids (TRACK) and returns the profile it
// counts for, with any identifiers dropped or refused.
func (c *Client) Track(ctx context.Context, event string, ids []string, opts TrackOptions) (*TrackResult, error) {
	return run(ctx, c, trackCall(event, ids, opts))
}

// Merge links identifiers explicitly (MERGE), from source if not empty.
func (c *Client) Merge(ctx context.Context, ids []string, from string) (*TrackResult, error) {
	return run(ctx, c, mergeCall(ids, from))
}

// Set sets traits of the profile holding id (SET), as of at when not zero,
// and returns the profile's id.
func (c *Client) Set(ctx context.Context, id string, traits map[string]string, at time.Time) (uint32, error) {
	return run(ctx, c, setCall(id, traits, at))
}

// Consent records a consent decision for purpose (CONSENT), as of at when
// not zero, and returns the profile's id.
func (c *Client) Consent(ctx context.Context, id, purpose string, grant bool, at time.Time) (uint32, error) {
	return run(ctx, c, consentCall(id, purpose, grant, at))
}

// Who returns the profile holding id (WHO), or ErrNotFound.
func (c *Client) Who(ctx context.Context, id string) (*Profile, error) {
	return run(ctx, c, whoCall(id))
}

// Why explains whether and how two identifiers are linked (WHY).
func (c *Client) Why(ctx context.Context, a, b string) (*Why, error) {
	return run(ctx, c, whyCall(a, b))
}

// Timeline returns the events of the profile holding id, newest first
// (TIMELINE): at most limit of them when limit > 0, only those before
// before when it is not zero.
func (c *Client) Timeline(ctx context.Context, id string, limit int, before time.Time) ([]Event, error) {
	return run(ctx, c, timelineCall(id, limit, before))
}

// Unlink removes the direct link between a and b and re-resolves (UNLINK).
func (c *Client) Unlink(ctx context.Context, a, b string) (*UnlinkResult, error) {
	return run(ctx, c, unlinkCall(a, b))
}

// Forget erases the profile holding id (FORGET); with suppress, events that
// later carry one of its identifiers drop it (FORGET ... SUPPRESS).
func (c *Client) Forget(ctx context.Context, id string, suppress bool) (*ForgetResult, error) {
	return run(ctx, c, forgetCall(id, suppress))
}

// SegmentCount counts the profiles matching expr (SEGMENT COUNT), with
// windows ending at asOf when it is not zero.
func (c *Client) SegmentCount(ctx context.Context, expr string, asOf time.Time) (int64, error) {
	return run(ctx, c, segmentCountCall(expr, asOf))
}

// SegmentIDs returns the ids of profiles matching expr in ascending order
// (SEGMENT IDS): at most limit when limit > 0, only those above after when
// after > 0 (for paging), with windows ending at asOf when it is not zero.
func (c *Client) SegmentIDs(ctx context.Context, expr string, asOf time.Time, limit int, after uint32) ([]uint32, error) {
	return run(ctx, c, segmentIDsCall(expr, asOf, limit, after))
}

// SegmentSave names a segment expression (SEGMENT SAVE).
func (c *Client) SegmentSave(ctx context.Context, name, expr string) error {
	_, err := run(ctx, c, segmentSaveCall(name, expr))
	return err
}

// SegmentDrop deletes a named segment (SEGMENT DROP) and reports whether
// it existed.
func (c *Client) SegmentDrop(ctx context.Context, name string) (bool, error) {
	return run(ctx, c, segmentDropCall(name))
}

// SegmentList returns the named segments and their expressions (SEGMENT
// LIST).
func (c *Client) SegmentList(ctx context.Context) (map[string]string, error) {
	return run(ctx, c, segmentListCall())
}

// Ping checks that the server answers (PING).
func (c *Client) Ping(ctx context.Context) error {
	v, err := c.Do(ctx, "PING")
	if err == nil && v != "PONG" {
		err = fmt.Errorf("idgraph: PING: %w", badShape("PONG", v))
	}
	return err
}
