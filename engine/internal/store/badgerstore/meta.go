package badgerstore

import (
	"fmt"

	"github.com/idgraph/idgraph/engine/internal/store"
	"github.com/vmihailenco/msgpack/v5"
)

// formatVersion is the layout of the keys and records this package writes.
// Format 1 was the first release's (node → group entries, link records in
// their own keys); it is not read.
const formatVersion = 2

// metaRec is the meta record: the engine's counters plus what the store
// keeps for itself (the format, and the generation of the commit that wrote
// it, which every commit does).
type metaRec struct {
	Format   int      `msgpack:"f"`
	Gen      uint64   `msgpack:"g"`
	Node     uint32   `msgpack:"n"`
	Profile  uint32   `msgpack:"p"`
	Seq      uint64   `msgpack:"s"`
	Salt     []byte   `msgpack:"salt"`
	Erase    bool     `msgpack:"erase,omitempty"`
	EraseSeq uint64   `msgpack:"eseq,omitempty"`
	Purge    []uint32 `msgpack:"purge,omitempty"`
	CFirst   uint64   `msgpack:"cf,omitempty"`
	CLast    uint64   `msgpack:"cl,omitempty"`
}

func encodeMeta(m store.Meta, gen uint64) []byte {
	b, err := msgpack.Marshal(&metaRec{Format: formatVersion, Gen: gen, Node: m.Node, Profile: m.Profile,
		Seq: m.Seq, Salt: m.Salt, Erase: m.Erase, EraseSeq: m.EraseSeq, Purge: m.Purge, CFirst: m.ChangeFirst, CLast: m.ChangeLast})
	if err != nil {
		panic(err) // a struct of plain fields always encodes
	}
	return b
}

func decodeMeta(b []byte) (store.Meta, uint64, error) {
	var r metaRec
	if err := msgpack.Unmarshal(b, &r); err != nil {
		return store.Meta{}, 0, fmt.Errorf("%w: meta record: %v", store.ErrCorrupt, err)
	}
	if r.Format != formatVersion {
		return store.Meta{}, 0, fmt.Errorf("the data directory holds format %d; this idgraph reads format %d (load the data again into a new directory)", r.Format, formatVersion)
	}
	return store.Meta{Node: r.Node, Profile: r.Profile, Seq: r.Seq, Salt: r.Salt, Erase: r.Erase, EraseSeq: r.EraseSeq, Purge: r.Purge,
		ChangeFirst: r.CFirst, ChangeLast: r.CLast}, r.Gen, nil
}
