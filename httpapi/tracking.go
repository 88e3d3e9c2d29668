package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/idgraph/idgraph/engine"
	"github.com/idgraph/idgraph/load"
	"github.com/idgraph/idgraph/query"
)

// maxListed bounds the failed calls one 400 reply names.
const maxListed = 10

// tracking returns the handler of one endpoint of the tracking API; call is
// the Segment call the path names, or "batch".
//
// A request is read and every call mapped before anything is applied;
// all of its calls then go to the engine in one Apply, so that calls from
// many concurrent requests share the writer's group commits, and the reply
// is sent only after that commit.
func (s *Server) tracking(call string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		cors(w)
		receivedAt := s.opts.Now().UTC()
		headerKey, hasHeader := basicUser(r)
		if hasHeader && s.keyed() {
			if _, ok := s.opts.WriteKeys[headerKey]; !ok {
				unauthorized(w, "unknown write key")
				return
			}
		}
		lim := limits{call: s.opts.MaxCallBytes, request: s.opts.MaxRequestBytes}
		b, err := decodeBody(http.MaxBytesReader(w, r.Body, int64(lim.request)), call == "batch", lim)
		if err != nil {
			trackingError(w, http.StatusBadRequest, err.Error())
			return
		}
		key := headerKey
		if !hasHeader {
			key = b.writeKey
		}
		source := ""
		if s.keyed() {
			var ok bool
			if source, ok = s.opts.WriteKeys[key]; !ok {
				msg := "unknown write key"
				if key == "" {
					msg = "missing write key: send it as the Basic-auth user name or as \"writeKey\" in the body"
				}
				unauthorized(w, msg)
				return
			}
		}

		recs := make([]engine.Record, len(b.calls))
		var bad []error
		for i, raw := range b.calls {
			index := i
			if call != "batch" {
				index = -1
			}
			rec, err := mapCall(raw, call, &b, receivedAt)
			if err != nil {
				bad = append(bad, &callError{index, err.Error()})
				continue
			}
			if source != "" {
				rec.Source = source
			}
			if err := s.checkRecord(rec); err != nil {
				bad = append(bad, &callError{index, engineMessage(err)})
				continue
			}
			recs[i] = rec
		}
		if len(bad) > 0 {
			trackingError(w, http.StatusBadRequest, joinErrors(bad)+"; nothing was applied")
			return
		}

		ctx, cancel := context.WithTimeout(r.Context(), s.opts.RequestTimeout)
		defer cancel()
		_, errs, err := s.b.ApplyRecords(ctx, recs)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, engine.ErrClosed) || unavailable(err) {
				w.Header().Set("Retry-After", "1")
				trackingError(w, http.StatusServiceUnavailable, "the store could not take the calls now; nothing was applied, retry")
				return
			}
			s.opts.Logger.Error("HTTP tracking: apply failed", "err", err)
			trackingError(w, http.StatusInternalServerError, "the store failed to commit the calls; retry (a retry never counts a call twice)")
			return
		}
		var failed []error
		for i, e := range errs {
			if e == nil {
				continue
			}
			index := i
			if call != "batch" {
				index = -1
			}
			failed = append(failed, &callError{index, engineMessage(e)})
		}
		if len(failed) > 0 {
			// The engine refused what the mapping could not check (see
			// the package doc): the other calls are committed.
			msg := joinErrors(failed)
			if n := len(recs) - len(failed); n > 0 {
				msg += fmt.Sprintf("; the other %d call(s) were applied", n)
			} else {
				msg += "; nothing was applied"
			}
			trackingError(w, http.StatusBadRequest, msg)
			return
		}
		if hook := s.failAfterCommit.Load(); hook != nil && (*hook)(recs) {
			trackingError(w, http.StatusInternalServerError, "injected failure after the commit (test hook)")
			return
		}
		writeJSON(w, http.StatusOK, map[string]bool{"success": true})
	}
}

// checkRecord runs the engine's own validation of a record before
// anything of the request is applied. The engine of this branch exports no
// validator, so it checks nothing yet; with engine.DB.CheckRecord it
// becomes `return s.db.CheckRecord(rec)`, and a request is then all or
// nothing for every rule the engine can check without reading the store.
func (s *Server) checkRecord(rec engine.Record) error { return s.b.CheckRecord(rec) }

// unavailable reports a cluster that cannot take writes now (no leader,
// no majority): the client should retry.
func unavailable(err error) bool {
	var qe *query.Error
	return errors.As(err, &qe) && qe.Code == query.CodeUnavailable
}

// keyed reports whether write keys are required.
func (s *Server) keyed() bool { return len(s.opts.WriteKeys) > 0 }

// basicUser returns the Basic-auth user name, Segment's way of sending the
// write key (the password is empty and ignored).
func basicUser(r *http.Request) (string, bool) {
	user, _, ok := r.BasicAuth()
	return user, ok
}

func unauthorized(w http.ResponseWriter, msg string) {
	w.Header().Set("WWW-Authenticate", `Basic realm="idgraph tracking API"`)
	trackingError(w, http.StatusUnauthorized, msg)
}

// mapCall turns one raw call into an engine record: the type the path
// names (or the call's own "type" in a batch), the batch's context under
// the call's, the server's receivedAt and Segment's clock-skew correction,
// then load.SegmentCall, the mapping `idgraph load` uses too.
func mapCall(raw json.RawMessage, call string, b *body, receivedAt time.Time) (engine.Record, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return engine.Record{}, errors.New("not valid JSON: " + strings.TrimPrefix(err.Error(), "json: "))
	}
	if obj == nil {
		return engine.Record{}, errors.New("a call must be a JSON object")
	}
	if call != "batch" {
		obj["type"] = jsonString(call)
	}
	if b.context != nil {
		merged, err := mergeContext(b.context, obj["context"])
		if err != nil {
			return engine.Record{}, err
		}
		obj["context"] = merged
	}
	if _, ok := present(obj, "timestamp"); !ok {
		if ot, ok := present(obj, "originalTimestamp"); ok {
			sent, ok := present(obj, "sentAt")
			if !ok && b.sentAt != nil {
				sent, ok = b.sentAt, true
			}
			if ok {
				t0, err := load.ParseSegmentTime(ot, "originalTimestamp")
				if err != nil {
					return engine.Record{}, err
				}
				t1, err := load.ParseSegmentTime(sent, "sentAt")
				if err != nil {
					return engine.Record{}, err
				}
				// Segment's correction for the device clock: the time
				// between the event and the send, by the device's clock,
				// counted back from when the server received it.
				obj["timestamp"] = jsonString(receivedAt.Add(-t1.Sub(t0)).Format(time.RFC3339Nano))
			}
		}
	}
	obj["receivedAt"] = jsonString(receivedAt.Format(time.RFC3339Nano))
	rec, err := load.SegmentCall(obj)
	if err != nil {
		return engine.Record{}, err
	}
	if len(rec.MessageID) > engine.MaxMessageIDLen {
		return engine.Record{}, fmt.Errorf(`"messageId" of %d bytes is longer than %d`, len(rec.MessageID), engine.MaxMessageIDLen)
	}
	return engineRecord(rec), nil
}

// engineRecord is a load.Record as one engine record (traits in name
// order, so that equal calls give equal operations).
func engineRecord(r load.Record) engine.Record {
	rec := engine.Record{Event: r.Event, IDs: r.IDs, Time: r.Time, Source: r.Source, Props: r.Props,
		Consent: r.Consent, MessageID: r.MessageID}
	names := make([]string, 0, len(r.Traits))
	for k := range r.Traits {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		rec.Traits = append(rec.Traits, engine.Trait{Name: k, Value: r.Traits[k]})
	}
	return rec
}

// mergeContext adds the batch's context fields the call's context lacks.
func mergeContext(batchCtx, callCtx json.RawMessage) (json.RawMessage, error) {
	var base map[string]json.RawMessage
	if err := json.Unmarshal(batchCtx, &base); err != nil {
		return nil, errors.New(`the batch's "context" must be a JSON object`)
	}
	if len(callCtx) > 0 && !isJSONNull(callCtx) {
		var own map[string]json.RawMessage
		if err := json.Unmarshal(callCtx, &own); err != nil || own == nil {
			return nil, errors.New(`"context" must be a JSON object`)
		}
		for k, v := range own {
			base[k] = v
		}
	}
	return json.Marshal(base)
}

// present returns obj[key] unless it is missing or null, as the mapping
// reads optional fields.
func present(obj map[string]json.RawMessage, key string) (json.RawMessage, bool) {
	raw, ok := obj[key]
	if !ok || isJSONNull(raw) {
		return nil, false
	}
	return raw, true
}

func jsonString(s string) json.RawMessage {
	b, _ := json.Marshal(s)
	return b
}

// engineMessage is an engine error without the sentinel prefixes.
func engineMessage(err error) string {
	msg := err.Error()
	for _, p := range []string{"invalid input: bad identifier: ", "invalid input: too large: ", "invalid input: "} {
		msg = strings.TrimPrefix(msg, p)
	}
	return msg
}

// joinErrors lists up to maxListed errors and says how many more there are.
func joinErrors(errs []error) string {
	var parts []string
	for i, e := range errs {
		if i == maxListed {
			parts = append(parts, fmt.Sprintf("and %d more", len(errs)-maxListed))
			break
		}
		parts = append(parts, e.Error())
	}
	return strings.Join(parts, "; ")
}
