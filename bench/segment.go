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
}

// SegmentCall is the Segment-spec call an SDK would send for r: a track
// when r has an event, else an identify (which links its identifiers and
// carries its traits). userId, anonymousId (a cookie, else an app id),
// context.traits.email and .phone, context.device.id, .token and
// .advertisingId (with context.os.name iOS or Android for idfa and aaid)
// carry the identifiers; consent becomes
// context.consent.categoryPreferences; the time becomes "timestamp". It
// returns the call and how many identifiers it could not carry.
func SegmentCall(r *Record, messageID string) (map[string]any, int, bool) {
	call := map[string]any{"messageId": messageID}
	ctxTraits := map[string]any{}
	device := map[string]any{}
	ctx := map[string]any{}
	dropped, appAsAnon := 0, false
	var cookie, app string // anonymousId: a cookie, else an app id
	for _, id := range r.IDs {
		typ, val, ok := strings.Cut(id, ":")
		if !ok {
			dropped++
			continue
		}
		put := func(m map[string]any, k string) {
			if _, dup := m[k]; dup {
				dropped++
				return
			}
			m[k] = val
		}
		switch typ {
		case "user":
			put(call, "userId")
		case "cookie":
			if cookie != "" {
				dropped++
				continue
			}
			cookie = val
		case "app":
			if app != "" {
				dropped++
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
			dropped++
		}
	}
	switch {
	case cookie != "":
		call["anonymousId"] = cookie
		if app != "" {
			dropped++
		}
	case app != "":
		call["anonymousId"], appAsAnon = app, true
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
	return call, dropped, appAsAnon
}

// WriteSegmentBatches reads the population (ReadRecords' format) and writes
// one /v1/batch request body a line, perBatch calls each (the last may hold
// fewer), stopping after max records when max > 0. Message ids are
// "bench-<n>", unique within the run.
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
		if max > 0 && st.Records >= int64(max) {
			return errStop
		}
		call, dropped, app := SegmentCall(rec, fmt.Sprintf("bench-%d", st.Records))
		st.Records++
		st.Dropped += int64(dropped)
		if app {
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
