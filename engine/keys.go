package engine

import "encoding/binary"

// Key layout: one keyspace, one-byte prefixes, big-endian integers so prefix
// scans come out ordered. Values are msgpack.
//
//	i type 0x00 value      → node id, profile id      identifier → node and its profile (8 bytes)
//	n node                 → nodeRec                  node → type, value, profile
//	t node                 → factsRec                 traits and consent said of this node
//	p profile              → profRec                  profile with its member list (or a forwarding pointer)
//	v node time seq linked → eventRec                 events, keyed by their anchor
//	s seq                  → groupRec                 link groups in arrival order
//	g node seq             → (empty)                  the link groups a node is in (an event's anchor finds its own through the event)
//	x hash                 → (empty)                  suppressed identifiers (salted hash)
//	d message id           → expiry (ms)              applied Record.MessageIDs (with a Badger TTL)
//	S name                 → expression               saved segments
//	T name                 → TypeSpec                 declared identifier types
//	c                      → metaRec                  counters
const (
	pIdent   = 'i'
	pNode    = 'n'
	pFacts   = 't'
	pProfile = 'p'
	pEvent   = 'v'
	pGroup   = 's'
	pNodeGrp = 'g'
	pSuppr   = 'x'
	pMessage = 'd'
	pSegment = 'S'
	pType    = 'T'
	pMeta    = 'c'
)

func identKey(typ, val string) []byte {
	k := make([]byte, 0, 2+len(typ)+len(val))
	k = append(k, pIdent)
	k = append(k, typ...)
	k = append(k, 0)
	return append(k, val...)
}

func u32Key(prefix byte, n uint32) []byte {
	k := make([]byte, 5)
	k[0] = prefix
	binary.BigEndian.PutUint32(k[1:], n)
	return k
}

func nodeKey(n uint32) []byte    { return u32Key(pNode, n) }
func factsKey(n uint32) []byte   { return u32Key(pFacts, n) }
func profileKey(p uint32) []byte { return u32Key(pProfile, p) }

func eventPrefix(n uint32) []byte { return u32Key(pEvent, n) }
func nodeGroupPrefix(n uint32) []byte {
	return u32Key(pNodeGrp, n)
}

// memberEntry is one member of a profile: its node and "type:value".
type memberEntry struct {
	Node uint32 `msgpack:"n"`
	ID   string `msgpack:"i"`
}

// timeBits maps a signed Unix-ms time onto an unsigned that sorts the same.
func timeBits(t int64) uint64     { return uint64(t) ^ (1 << 63) }
func timeFromBits(b uint64) int64 { return int64(b ^ (1 << 63)) }

// eventKey is an event's key. linked marks an event whose identifiers form
// a link group (seq is then also that group's key): its anchor has no
// node → group entry, the group is found through the event.
func eventKey(anchor uint32, t int64, seq uint64, linked bool) []byte {
	k := make([]byte, 22)
	k[0] = pEvent
	binary.BigEndian.PutUint32(k[1:], anchor)
	binary.BigEndian.PutUint64(k[5:], timeBits(t))
	binary.BigEndian.PutUint64(k[13:], seq)
	if linked {
		k[21] = 1
	}
	return k
}

// eventLinked reports whether an event key marks a linked event.
func eventLinked(k []byte) bool { return len(k) > 21 && k[21] == 1 }

// parseEventKey returns the anchor, time and seq of an event key.
func parseEventKey(k []byte) (uint32, int64, uint64) {
	return binary.BigEndian.Uint32(k[1:]), timeFromBits(binary.BigEndian.Uint64(k[5:])), binary.BigEndian.Uint64(k[13:])
}

func groupKey(seq uint64) []byte {
	k := make([]byte, 9)
	k[0] = pGroup
	binary.BigEndian.PutUint64(k[1:], seq)
	return k
}

func nodeGroupKey(n uint32, seq uint64) []byte {
	k := make([]byte, 13)
	k[0] = pNodeGrp
	binary.BigEndian.PutUint32(k[1:], n)
	binary.BigEndian.PutUint64(k[5:], seq)
	return k
}

// nodeGroupSeq returns the link group's seq from a node → group key.
func nodeGroupSeq(k []byte) uint64 { return binary.BigEndian.Uint64(k[5:]) }

func segmentKey(name string) []byte { return append([]byte{pSegment}, name...) }
func typeKey(name string) []byte    { return append([]byte{pType}, name...) }
func supprKey(h []byte) []byte      { return append([]byte{pSuppr}, h...) }
func messageKey(id string) []byte   { return append([]byte{pMessage}, id...) }

var metaKey = []byte{pMeta}

// nodeRec is an identifier's node.
type nodeRec struct {
	Type    string `msgpack:"t"`
	Value   string `msgpack:"v"`
	Profile uint32 `msgpack:"p"`
}

// stamped is a trait value with the time it was set and the arrival seq
// that breaks ties between equal times.
type stamped struct {
	V string `msgpack:"v"`
	T int64  `msgpack:"t"`
	S uint64 `msgpack:"s"`
}

// decision of consent for one purpose.
type consentVal struct {
	Grant bool   `msgpack:"g"`
	T     int64  `msgpack:"t"`
	S     uint64 `msgpack:"s"`
}

func newer(t1 int64, s1 uint64, t2 int64, s2 uint64) bool {
	return t1 > t2 || t1 == t2 && s1 > s2
}

// factsRec holds what SET and CONSENT said about one node; a profile's
// traits and consent are the latest of its members' facts, so they stay exact
// when a profile splits.
type factsRec struct {
	Traits  map[string]stamped    `msgpack:"tr,omitempty"`
	Consent map[string]consentVal `msgpack:"co,omitempty"`
}

// profRec is a profile, or (Into != 0) the forwarding pointer a merged-away
// profile leaves behind.
type profRec struct {
	Into    uint32                `msgpack:"i,omitempty"`
	Created int64                 `msgpack:"c,omitempty"`
	Counts  map[string]int        `msgpack:"n,omitempty"`
	Members int                   `msgpack:"m,omitempty"`
	Events  int64                 `msgpack:"e,omitempty"`
	First   int64                 `msgpack:"f,omitempty"`
	Last    int64                 `msgpack:"l,omitempty"`
	Traits  map[string]stamped    `msgpack:"tr,omitempty"`
	Consent map[string]consentVal `msgpack:"co,omitempty"`
	// Mem lists the members, so WHO is two point reads: identifier → profile
	// id, profile id → this record.
	Mem []memberEntry `msgpack:"mm,omitempty"`
}

// eventRec is one tracked event, stored under its anchor node.
type eventRec struct {
	Name   string   `msgpack:"n"`
	Source string   `msgpack:"s"`
	IDs    []uint32 `msgpack:"i"`
	Props  []byte   `msgpack:"p,omitempty"`
}

// groupRec is one link group: the identifiers an event or MERGE showed
// together. Sets starts as one set; UNLINK splits sets. Rules holds, aligned
// with Sets, the decision of the last resolution ("" = linked).
type groupRec struct {
	Time   int64      `msgpack:"t"`
	Source string     `msgpack:"s"`
	Anchor uint32     `msgpack:"a,omitempty"` // the event's anchor; 0 for MERGE
	Sets   [][]uint32 `msgpack:"g"`
	Rules  [][]string `msgpack:"r"`
}

// metaRec holds the counters; it is written in every batch.
type metaRec struct {
	Node    uint32 `msgpack:"n"`
	Profile uint32 `msgpack:"p"`
	Seq     uint64 `msgpack:"s"`
	Gen     uint64 `msgpack:"g"`
	Salt    []byte `msgpack:"salt"`
	// Erase is set by FORGET and cleared once a clean shutdown has
	// compacted the erased values out of the files.
	Erase bool `msgpack:"erase,omitempty"`
	// Purge lists forgotten nodes whose events are still to be deleted
	// (a FORGET of a profile with very many events; see DB.purge).
	Purge []uint32 `msgpack:"purge,omitempty"`
}

// identValue is the value of an identifier key: its node and profile.
func identValue(n, p uint32) []byte {
	v := make([]byte, 8)
	binary.BigEndian.PutUint32(v, n)
	binary.BigEndian.PutUint32(v[4:], p)
	return v
}
