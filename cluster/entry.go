package cluster

import (
	"errors"
	"fmt"
	"time"

	"github.com/idgraph/idgraph/engine"

	"github.com/vmihailenco/msgpack/v5"
)

// entryVersion is the first byte of every log entry's data; a node refuses
// entries of a version it does not know rather than guess at them.
const entryVersion = 1

// Kinds of entry.
const (
	kindInit    uint8 = 1 // the cluster's id and salt; the first command entry of the log
	kindWrite   uint8 = 2 // write statements, applied in order
	kindRecords uint8 = 3 // engine records, applied in order in one group commit
)

// entry is one command of the replicated log. Everything a node needs to
// apply it the same way as every other node is in it.
type entry struct {
	Kind uint8 `msgpack:"k"`

	// kindWrite: the statements (each its words), the session's client
	// name (the default source of TRACK and MERGE), and "now" in Unix
	// milliseconds, as the leader decided it.
	Stmts  [][]string `msgpack:"s,omitempty"`
	Source string     `msgpack:"src,omitempty"`
	Now    int64      `msgpack:"now,omitempty"`
	// Origin is the node that received the write and Req its number
	// there: that node hands its own result for the entry to the waiting
	// client.
	Origin string `msgpack:"o,omitempty"`
	Req    uint64 `msgpack:"r,omitempty"`

	// kindRecords (with Now, Origin and Req as above).
	Records []recordWire `msgpack:"rec,omitempty"`

	// kindInit.
	ClusterID string `msgpack:"id,omitempty"`
	Salt      []byte `msgpack:"salt,omitempty"`
}

// recordWire is an engine.Record in a log entry; times are Unix
// milliseconds (the engine's precision), 0 for none.
type recordWire struct {
	Event     string          `msgpack:"e,omitempty"`
	IDs       []string        `msgpack:"ids"`
	Time      int64           `msgpack:"t,omitempty"`
	Source    string          `msgpack:"src,omitempty"`
	Props     []byte          `msgpack:"p,omitempty"`
	Traits    [][2]string     `msgpack:"tr,omitempty"`
	Consent   map[string]bool `msgpack:"c,omitempty"`
	Tags      []string        `msgpack:"tags,omitempty"`
	MessageID string          `msgpack:"m,omitempty"`
}

func wireRecord(r engine.Record) recordWire {
	w := recordWire{Event: r.Event, IDs: r.IDs, Source: r.Source, Props: r.Props, Consent: r.Consent,
		Tags: r.Tags, MessageID: r.MessageID}
	if !r.Time.IsZero() {
		w.Time = r.Time.UnixMilli()
	}
	for _, t := range r.Traits {
		w.Traits = append(w.Traits, [2]string{t.Name, t.Value})
	}
	return w
}

func (w recordWire) record() engine.Record {
	r := engine.Record{Event: w.Event, IDs: w.IDs, Source: w.Source, Props: w.Props, Consent: w.Consent,
		Tags: w.Tags, MessageID: w.MessageID}
	if w.Time != 0 {
		r.Time = time.UnixMilli(w.Time).UTC()
	}
	for _, t := range w.Traits {
		r.Traits = append(r.Traits, engine.Trait{Name: t[0], Value: t[1]})
	}
	return r
}

func encodeEntry(e *entry) ([]byte, error) {
	b, err := msgpack.Marshal(e)
	if err != nil {
		return nil, err
	}
	return append([]byte{entryVersion}, b...), nil
}

func decodeEntry(b []byte) (*entry, error) {
	if len(b) == 0 {
		return nil, errors.New("empty log entry")
	}
	if b[0] != entryVersion {
		return nil, fmt.Errorf("log entry of version %d: this node knows version %d only; upgrade it", b[0], entryVersion)
	}
	var e entry
	if err := msgpack.Unmarshal(b[1:], &e); err != nil {
		return nil, fmt.Errorf("decode log entry: %w", err)
	}
	return &e, nil
}
