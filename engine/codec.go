package engine

import (
	"fmt"

	"github.com/vmihailenco/msgpack/v5"
)

// The profile record is read by every WHO and written for every profile a
// batch touches, so it has a hand-written msgpack codec: a fixed array of
// fields, no reflection. profRecVersion lets the layout grow.
const profRecVersion = 1

var _ msgpack.CustomEncoder = (*profRec)(nil)
var _ msgpack.CustomDecoder = (*profRec)(nil)

// EncodeMsgpack writes the record as [version, into, created, members,
// events, first, last, counts, traits, consent, mem].
func (r *profRec) EncodeMsgpack(e *msgpack.Encoder) error {
	try := func(err error) {
		if err != nil {
			panic(codecErr{err})
		}
	}
	return catch(func() {
		try(e.EncodeArrayLen(11))
		try(e.EncodeInt(profRecVersion))
		try(e.EncodeUint(uint64(r.Into)))
		try(e.EncodeInt(r.Created))
		try(e.EncodeInt(int64(r.Members)))
		try(e.EncodeInt(r.Events))
		try(e.EncodeInt(r.First))
		try(e.EncodeInt(r.Last))
		try(e.EncodeMapLen(len(r.Counts)))
		for k, v := range r.Counts {
			try(e.EncodeString(k))
			try(e.EncodeInt(int64(v)))
		}
		try(e.EncodeMapLen(len(r.Traits)))
		for k, v := range r.Traits {
			try(e.EncodeString(k))
			try(e.EncodeArrayLen(3))
			try(e.EncodeString(v.V))
			try(e.EncodeInt(v.T))
			try(e.EncodeUint(v.S))
		}
		try(e.EncodeMapLen(len(r.Consent)))
		for k, v := range r.Consent {
			try(e.EncodeString(k))
			try(e.EncodeArrayLen(3))
			try(e.EncodeBool(v.Grant))
			try(e.EncodeInt(v.T))
			try(e.EncodeUint(v.S))
		}
		try(e.EncodeArrayLen(len(r.Mem)))
		for _, m := range r.Mem {
			try(e.EncodeUint(uint64(m.Node)))
			try(e.EncodeString(m.ID))
		}
	})
}

// DecodeMsgpack reads what EncodeMsgpack wrote.
func (r *profRec) DecodeMsgpack(d *msgpack.Decoder) error {
	*r = profRec{}
	return catch(func() {
		n := must(d.DecodeArrayLen())
		if n != 11 {
			panic(codecErr{fmt.Errorf("profile record has %d fields", n)})
		}
		if v := must(d.DecodeInt()); v != profRecVersion {
			panic(codecErr{fmt.Errorf("profile record version %d", v)})
		}
		r.Into = uint32(must(d.DecodeUint32()))
		r.Created = must(d.DecodeInt64())
		r.Members = must(d.DecodeInt())
		r.Events = must(d.DecodeInt64())
		r.First = must(d.DecodeInt64())
		r.Last = must(d.DecodeInt64())
		if k := must(d.DecodeMapLen()); k > 0 {
			r.Counts = make(map[string]int, k)
			for ; k > 0; k-- {
				r.Counts[must(d.DecodeString())] = must(d.DecodeInt())
			}
		}
		if k := must(d.DecodeMapLen()); k > 0 {
			r.Traits = make(map[string]stamped, k)
			for ; k > 0; k-- {
				name := must(d.DecodeString())
				if must(d.DecodeArrayLen()) != 3 {
					panic(codecErr{fmt.Errorf("bad trait in profile record")})
				}
				r.Traits[name] = stamped{V: must(d.DecodeString()), T: must(d.DecodeInt64()), S: must(d.DecodeUint64())}
			}
		}
		if k := must(d.DecodeMapLen()); k > 0 {
			r.Consent = make(map[string]consentVal, k)
			for ; k > 0; k-- {
				name := must(d.DecodeString())
				if must(d.DecodeArrayLen()) != 3 {
					panic(codecErr{fmt.Errorf("bad consent in profile record")})
				}
				r.Consent[name] = consentVal{Grant: must(d.DecodeBool()), T: must(d.DecodeInt64()), S: must(d.DecodeUint64())}
			}
		}
		if k := must(d.DecodeArrayLen()); k > 0 {
			r.Mem = make([]memberEntry, k)
			for i := range r.Mem {
				r.Mem[i] = memberEntry{Node: must(d.DecodeUint32()), ID: must(d.DecodeString())}
			}
		}
	})
}

// codecErr carries an error out of a codec's straight-line code.
type codecErr struct{ err error }

func must[T any](v T, err error) T {
	if err != nil {
		panic(codecErr{err})
	}
	return v
}

func catch(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			ce, ok := r.(codecErr)
			if !ok {
				panic(r)
			}
			err = ce.err
		}
	}()
	f()
	return nil
}
