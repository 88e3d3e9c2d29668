package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// The population as Segment-spec calls, for the HTTP ingest workload: what
// an SDK would send for each record, batched for POST /v1/batch.

// SegmentStats counts what WriteSegmentBatches wrote.
type SegmentStats struct {
	Records int64 `json:"records"` // calls written
	Events  int64 `json:"events"`  // of which track calls
	Batches int64 `json:"batches"` // request bodies
	// AppIDs counts app-instance ids sent as anonymousId (so stored as
	// cookie:): Segment's calls have no field for them, and the mobile
	// SDKs put their install id in anonymousId.
	AppIDs int64 `json:"app_ids"`
	// Dropped counts identifiers no call field could carry: a second one
	// of a type, or a type the Segment mapping does not know.
	Dropped int64 `json:"dropped"`
	// Skipped counts records left out because no identifier their call
	// could carry survives blocking (say serial:… and cookie:undefined,
	// where only the cookie has a field): the engine would refuse the call.
	Skipped int64 `json:"skipped"`
}

// SegmentCallInfo says what SegmentCall did with a record's identifiers.
type SegmentCallInfo struct {
	Carried   []string // the identifiers the call carries
	Dropped   int      // identifiers it could not carry
	AppAsAnon bool     // an app id went into anonymousId
}

// SegmentCall is the Segment-spec call an SDK would send for r: a track
// when r has an event, else an identify (which links its identifiers and
// carries its traits). userId, anonymousId (a cookie, else an app id),
// context.traits.email and .phone, context.device.id, .token and
// .advertisingId (with context.os.name iOS or Android for idfa and aaid)
// carry the identifiers; consent becomes
// context.consent.categoryPreferences; the time becomes "timestamp". It
// returns the call and what became of the identifiers.
func SegmentCall(r *Record, messageID string) (map[string]any, SegmentCallInfo) {
	call := map[string]any{"messageId": messageID}
	ctxTraits := map[string]any{}
	device := map[string]any{}
	ctx := map[string]any{}
	var info SegmentCallInfo
	var cookie, app string // anonymousId: a cookie, else an app id
	for _, id := range r.IDs {
		typ, val, ok := strings.Cut(id, ":")
		if !ok {
			info.Dropped++
			continue
		}
		put := func(m map[string]any, k string) {
			if _, dup := m[k]; dup {
				info.Dropped++
				return
			}
			m[k] = val
			info.Carried = append(info.Carried, id)
		}
		switch typ {
		case "user":
			put(call, "userId")
		case "cookie":
			if cookie != "" {
				info.Dropped++
				continue
			}
			cookie = val
		case "app":
			if app != "" {
				info.Dropped++
				continue
			}
			app = val
		case "email", "phone":
			put(ctxTraits, typ)
		case "device":
			put(device, "id")
		case "push":
			put(device, "token")
		case "idfa", "aaid":
			put(device, "advertisingId")
			if typ == "idfa" {
				ctx["os"] = map[string]any{"name": "iOS"}
			} else {
				ctx["os"] = map[string]any{"name": "Android"}
			}
		default:
			info.Dropped++
		}
	}
	switch {
	case cookie != "":
		call["anonymousId"] = cookie
		info.Carried = append(info.Carried, "cookie:"+cookie)
		if app != "" {
			info.Dropped++
		}
	case app != "":
		call["anonymousId"], info.AppAsAnon = app, true
		info.Carried = append(info.Carried, "cookie:"+app)
	}
	if len(ctxTraits) > 0 {
		ctx["traits"] = ctxTraits
	}
	if len(device) > 0 {
		ctx["device"] = device
	}
	if len(r.Consent) > 0 {
		prefs := map[string]any{}
		for k, v := range r.Consent {
			prefs[k] = strings.EqualFold(v, "grant")
		}
		ctx["consent"] = map[string]any{"categoryPreferences": prefs}
	}
	if len(ctx) > 0 {
		call["context"] = ctx
	}
	if r.Time != 0 {
		call["timestamp"] = time.UnixMilli(r.Time).UTC().Format("2006-01-02T15:04:05.000Z")
	}
	if r.Event != "" {
		call["type"], call["event"] = "track", r.Event
		if len(r.Props) > 0 {
			call["properties"] = r.Props
		}
	} else {
		call["type"] = "identify"
		if len(r.Traits) > 0 {
			call["traits"] = r.Traits
		}
	}
	return call, info
}

// anyUnblocked reports whether an identifier of ids survives blocking.
func anyUnblocked(ids []string) bool {
	for _, id := range ids {
		if _, blocked, ok := Normalize(id); ok && !blocked {
			return true
		}
	}
	return false
}

// WriteSegmentBatches reads the population (ReadRecords' format) and writes
// one /v1/batch request body a line, perBatch calls each (the last may hold
// fewer), stopping after max records when max > 0. Records none of whose
// carried identifiers survives blocking are skipped (and counted). Message
// ids are "bench-<n>", unique within the run.
func WriteSegmentBatches(r io.Reader, w io.Writer, perBatch, max int) (SegmentStats, error) {
	var st SegmentStats
	bw := bufio.NewWriterSize(w, 1<<20)
	calls := make([]map[string]any, 0, perBatch)
	flush := func() error {
		if len(calls) == 0 {
			return nil
		}
		b, err := json.Marshal(map[string]any{"batch": calls})
		if err != nil {
			return err
		}
		bw.Write(b)
		bw.WriteByte('\n')
		st.Batches++
		calls = calls[:0]
		return nil
	}
	errStop := fmt.Errorf("enough records")
	err := ReadRecords(r, func(rec *Record) error {
		if max > 0 && st.Records+st.Skipped >= int64(max) {
			return errStop
		}
		call, info := SegmentCall(rec, fmt.Sprintf("bench-%d", st.Records+st.Skipped))
		if !anyUnblocked(info.Carried) {
			st.Skipped++
			return nil
		}
		st.Records++
		st.Dropped += int64(info.Dropped)
		if info.AppAsAnon {
			st.AppIDs++
		}
		if rec.Event != "" {
			st.Events++
		}
		calls = append(calls, call)
		if len(calls) == perBatch {
			return flush()
		}
		return nil
	})
	if err != nil && err != errStop {
		return st, err
	}
	if err := flush(); err != nil {
		return st, err
	}
	return st, bw.Flush()
}
