package badgerstore

import (
	"encoding/binary"

	"github.com/idgraph/idgraph/engine/internal/store"
)

// Key layout: one keyspace, one-byte prefixes, big-endian integers so that
// prefix scans come out ordered.
//
//	i type 0x00 value      → node, profile (8 bytes)   identifier → node and its profile
//	n node                 → node record               type, value, profile
//	t node                 → facts                     traits, consent and tags said of the node
//	t node chunk#          → part of the facts         when they are long (chunks.go)
//	p profile              → profile record            members, counts, span, or a forwarding pointer
//	q profile              → facts                     the profile's combined traits, consent and tags
//	q profile chunk#       → part of the facts         when they are long (chunks.go)
//	v anchor time seq      → link record               events and MERGEs, under their anchor
//	g node anchor          → (empty)                   a record anchored on anchor holds node
//	x hash                 → (empty)                   suppressed identifiers (salted hash)
//	d message id           → until (8 bytes, TTL)      applied Record.MessageIDs
//	S|T|C name             → bytes                     named records: segments, types, computed traits
//	f cursor               → change                    the change feed, by cursor (engine's encoding)
//	w segment 0x00 hi16    → roaring bitmap            a saved segment's members as last reported, by chunk
//	c                      → meta                      counters, generation, format
const (
	pIdent   = 'i'
	pNode    = 'n'
	pFacts   = 't'
	pProfile = 'p'
	pPFacts  = 'q'
	pRecord  = 'v'
	pPartner = 'g'
	pSuppr   = 'x'
	pMessage = 'd'
	pMeta    = 'c'
)

var metaKey = []byte{pMeta}

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
func profileKey(p uint32) []byte { return u32Key(pProfile, p) }

// timeBits maps a signed Unix-ms time onto an unsigned that sorts the same.
func timeBits(t int64) uint64     { return uint64(t) ^ (1 << 63) }
func timeFromBits(b uint64) int64 { return int64(b ^ (1 << 63)) }

const recordKeyLen = 21

func recordKey(k store.RecordKey) []byte {
	b := make([]byte, recordKeyLen)
	b[0] = pRecord
	binary.BigEndian.PutUint32(b[1:], k.Anchor)
	binary.BigEndian.PutUint64(b[5:], timeBits(k.Time))
	binary.BigEndian.PutUint64(b[13:], k.Seq)
	return b
}

func parseRecordKey(b []byte) (store.RecordKey, bool) {
	if len(b) != recordKeyLen || b[0] != pRecord {
		return store.RecordKey{}, false
	}
	return store.RecordKey{
		Anchor: binary.BigEndian.Uint32(b[1:]),
		Time:   timeFromBits(binary.BigEndian.Uint64(b[5:])),
		Seq:    binary.BigEndian.Uint64(b[13:]),
	}, true
}

func partnerKey(n, a uint32) []byte {
	b := make([]byte, 9)
	b[0] = pPartner
	binary.BigEndian.PutUint32(b[1:], n)
	binary.BigEndian.PutUint32(b[5:], a)
	return b
}

func supprKey(h [32]byte) []byte                 { return append([]byte{pSuppr}, h[:]...) }
func messageKey(id string) []byte                { return append([]byte{pMessage}, id...) }
func blobKey(kind store.Blob, key []byte) []byte { return append([]byte{byte(kind)}, key...) }

func namedKey(kind store.Named, name string) []byte {
	return append([]byte{byte(kind)}, name...)
}
