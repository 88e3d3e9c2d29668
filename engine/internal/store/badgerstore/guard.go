package badgerstore

import (
	"fmt"

	"github.com/dgraph-io/badger/v4"
	"github.com/idgraph/idgraph/engine/internal/store"
)

// Badger panics on some damaged tables (a block offset or length read from
// a flipped byte, before the block's checksum is checked). Every read this
// package makes goes through guard or cursor, which turn such a panic into
// store.ErrCorrupt, so a damaged file is reported, never a crash.

// guard recovers a panic of a Badger read into *err.
func guard(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%w: reading the store failed (%v); run idgraph check, restore from a backup", store.ErrCorrupt, r)
	}
}

// cursor wraps a Badger iterator: each step recovers a panic into err and
// ends the iteration.
type cursor struct {
	it  *badger.Iterator
	err error
}

func (c *cursor) step(f func()) bool {
	if c.err != nil {
		return false
	}
	func() {
		defer guard(&c.err)
		f()
	}()
	if c.err != nil {
		return false
	}
	ok := false
	func() {
		defer guard(&c.err)
		ok = c.it.Valid()
	}()
	return ok && c.err == nil
}

func (c *cursor) rewind() bool       { return c.step(c.it.Rewind) }
func (c *cursor) seek(k []byte) bool { return c.step(func() { c.it.Seek(k) }) }
func (c *cursor) next() bool         { return c.step(c.it.Next) }

// value reads the current item's value.
func (c *cursor) value(f func([]byte) error) (err error) {
	defer guard(&err)
	return c.it.Item().Value(f)
}

func (c *cursor) close() {
	defer guard(&c.err)
	c.it.Close()
}
