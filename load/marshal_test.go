package load

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
)

// marshalByEncoder is MarshalOurs as encoding/json writes it: the
// reference the hand-written encoder is held to.
func marshalByEncoder(r Record) ([]byte, error) {
	type ours struct {
		Event   string            `json:"event,omitempty"`
		IDs     []string          `json:"ids"`
		Time    string            `json:"time,omitempty"`
		Source  string            `json:"source,omitempty"`
		Props   json.RawMessage   `json:"props,omitempty"`
		Traits  map[string]string `json:"traits,omitempty"`
		Consent map[string]string `json:"consent,omitempty"`
		Tags    []string          `json:"tags,omitempty"`
		Message string            `json:"message_id,omitempty"`
	}
	o := ours{Event: r.Event, IDs: r.IDs, Source: r.Source, Props: r.Props, Traits: r.Traits, Tags: r.Tags, Message: r.MessageID}
	if !r.Time.IsZero() {
		o.Time = r.Time.UTC().Format(time.RFC3339Nano)
	}
	if len(r.Consent) > 0 {
		o.Consent = map[string]string{}
		for k, v := range r.Consent {
			o.Consent[k] = "deny"
			if v {
				o.Consent[k] = "grant"
			}
		}
	}
	return json.Marshal(&o)
}

// TestMarshalOursReadsBackAsTheEncoderWrites wants every random record,
// written by MarshalOurs and read back as a RECORD is, to give what the
// same record written by encoding/json gives: the same record, or the
// same reason. Props are the one difference: the encoder escapes HTML
// characters in them, MarshalOurs keeps them as the record holds them
// (compact), so a remote load stores the bytes an embedded one does.
func TestMarshalOursReadsBackAsTheEncoderWrites(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	texts := []string{"", "a", "email:a@b.c", `q"uo\te`, "tab\there\nnl\r\x01\x1f", "<&>", "\u2028\u2029", "é✓😀", "bad\xff\xfeutf8", "a b"}
	text := func() string { return texts[rng.IntN(len(texts))] + texts[rng.IntN(len(texts))] }
	props := []string{"", `{"a":1}`, `{ "sku" : "A 1", "n" : [1, 2] }`, `{"s":"<b>\u2028"}`, `[1]`, `{"a":`}
	for range 5000 {
		r := Record{Event: text(), Source: text(), MessageID: text()}
		for range rng.IntN(3) + 1 {
			r.IDs = append(r.IDs, "cookie:"+text())
		}
		if rng.IntN(2) == 0 {
			r.Time = time.Unix(rng.Int64N(4e9), rng.Int64N(1e9)).In(time.FixedZone("x", 3600*(rng.IntN(20)-10)))
		}
		if p := props[rng.IntN(len(props))]; p != "" {
			r.Props = json.RawMessage(p)
		}
		for range rng.IntN(3) {
			if r.Traits == nil {
				r.Traits = map[string]string{}
			}
			r.Traits[text()] = text()
		}
		for range rng.IntN(3) {
			if r.Consent == nil {
				r.Consent = map[string]bool{}
			}
			r.Consent[text()] = rng.IntN(2) == 0
		}
		for range rng.IntN(3) {
			r.Tags = append(r.Tags, text())
		}
		mine, errMine := r.MarshalOurs()
		ref, errRef := marshalByEncoder(r)
		if (errMine != nil) != (errRef != nil) {
			t.Fatalf("%+v: MarshalOurs error %v, encoder error %v", r, errMine, errRef)
		}
		if errRef != nil {
			continue
		}
		got, errGot := ParseRecord(mine)
		want, errWant := ParseRecord(ref)
		if errGot == nil && len(r.Props) > 0 {
			var c bytes.Buffer
			json.Compact(&c, r.Props)
			if !bytes.Equal(got.Props, c.Bytes()) {
				t.Fatalf("props %s read back as %s", r.Props, got.Props)
			}
			got.Props, want.Props = nil, nil
		}
		if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(errGot, errWant) {
			t.Fatalf("record %+v\nMarshalOurs %s\n-> %+v, %v\nencoder %s\n-> %+v, %v", r, mine, got, errGot, ref, want, errWant)
		}
	}
}
