package bench

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// Truth is the ground truth of a generated population: for every identifier
// that appears in the output (normalised as in [Normalize]), the people it
// belongs to. Most identifiers have one owner. Some have several: an email a
// household shares, a family tablet, a device sold to a new owner mid-year
// (both owners). Blocked values (cookie:null, the zeroed advertising id …)
// belong to nobody.
//
// People are numbered from 0 to Config.People-1. A Truth is read-only once
// built and safe for concurrent readers.
type Truth struct {
	index  map[string]int32 // identifier → entry
	ids    []string         // entry → identifier
	owner  []int32          // entry → person; noOwner; or -2-k for shared[k]
	shared [][]int32        // owner sets (ascending) of shared identifiers
}

const noOwner = -1

// Len returns the number of identifiers in the truth.
func (t *Truth) Len() int { return len(t.ids) }

// Owners returns the people an identifier belongs to, ascending; nil for a
// blocked value. ok is false when the identifier is not in the truth. The
// slice must not be modified.
func (t *Truth) Owners(id string) (owners []int32, ok bool) {
	e, ok := t.index[id]
	if !ok {
		return nil, false
	}
	return t.entryOwners(e), true
}

func (t *Truth) entryOwners(e int32) []int32 {
	switch o := t.owner[e]; {
	case o >= 0:
		return []int32{o}
	case o == noOwner:
		return nil
	default:
		return t.shared[-2-o]
	}
}

// Owner returns the single owner of an identifier, and false when the
// identifier is unknown, blocked or shared.
func (t *Truth) Owner(id string) (int32, bool) {
	e, ok := t.index[id]
	if !ok || t.owner[e] < 0 {
		return 0, false
	}
	return t.owner[e], true
}

// All yields every identifier with its owners, in the order they first
// appear in the generated output (or in the file [ReadTruth] read).
func (t *Truth) All() func(yield func(id string, owners []int32) bool) {
	return func(yield func(string, []int32) bool) {
		for e, id := range t.ids {
			if !yield(id, t.entryOwners(int32(e))) {
				return
			}
		}
	}
}

// Counts returns how many identifiers have a single owner, several owners
// and none (blocked values).
func (t *Truth) Counts() (single, shared, blocked int) {
	for _, o := range t.owner {
		switch {
		case o >= 0:
			single++
		case o == noOwner:
			blocked++
		default:
			shared++
		}
	}
	return
}

// truthEntry is an identifier with its owners, for building a Truth.
type truthEntry struct {
	id     string
	owners []int32
}

// buildTruth builds a Truth from entries, keeping their order; the owners
// of an identifier listed twice are united.
func buildTruth(entries []truthEntry) *Truth {
	t := &Truth{
		index: make(map[string]int32, len(entries)),
		ids:   make([]string, 0, len(entries)),
		owner: make([]int32, 0, len(entries)),
	}
	for _, en := range entries {
		owners := en.owners
		if e, dup := t.index[en.id]; dup {
			owners = append(slices.Clone(t.entryOwners(e)), owners...)
			slices.Sort(owners)
			owners = slices.Compact(owners)
			t.setOwners(e, owners)
			continue
		}
		if !slices.IsSorted(owners) {
			owners = slices.Sorted(slices.Values(owners))
		}
		e := int32(len(t.ids))
		t.index[en.id] = e
		t.ids = append(t.ids, en.id)
		t.owner = append(t.owner, 0)
		t.setOwners(e, owners)
	}
	return t
}

func (t *Truth) setOwners(e int32, owners []int32) {
	switch {
	case len(owners) == 0:
		t.owner[e] = noOwner
	case len(owners) == 1:
		t.owner[e] = owners[0]
	case t.owner[e] < noOwner: // already shared: replace the set
		t.shared[-2-t.owner[e]] = owners
	default:
		t.owner[e] = int32(-2 - len(t.shared))
		t.shared = append(t.shared, owners)
	}
}

// WriteTo writes the truth as text, one identifier a line in the order of
// [Truth.All]:
// the identifier, a tab, and its owners separated by commas, or "-" for a
// blocked value. [ReadTruth] reads it back.
func (t *Truth) WriteTo(w io.Writer) (int64, error) {
	bw := bufio.NewWriterSize(w, 1<<16)
	var n int64
	var line []byte
	for e, id := range t.ids {
		line = append(line[:0], id...)
		line = append(line, '\t')
		owners := t.entryOwners(int32(e))
		if len(owners) == 0 {
			line = append(line, '-')
		}
		for i, o := range owners {
			if i > 0 {
				line = append(line, ',')
			}
			line = strconv.AppendInt(line, int64(o), 10)
		}
		line = append(line, '\n')
		m, err := bw.Write(line)
		n += int64(m)
		if err != nil {
			return n, err
		}
	}
	return n, bw.Flush()
}

// ReadTruth reads a truth written by [Truth.WriteTo].
func ReadTruth(r io.Reader) (*Truth, error) {
	var entries []truthEntry
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	for lineNo := 1; sc.Scan(); lineNo++ {
		id, list, ok := strings.Cut(sc.Text(), "\t")
		if !ok {
			return nil, fmt.Errorf("truth line %d: no tab", lineNo)
		}
		var owners []int32
		if list != "-" {
			for f := range strings.SplitSeq(list, ",") {
				o, err := strconv.ParseInt(f, 10, 32)
				if err != nil || o < 0 {
					return nil, fmt.Errorf("truth line %d: bad owner %q", lineNo, f)
				}
				owners = append(owners, int32(o))
			}
		}
		entries = append(entries, truthEntry{id, owners})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read truth: %w", err)
	}
	return buildTruth(entries), nil
}
