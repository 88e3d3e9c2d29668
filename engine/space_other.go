//go:build !unix

package engine

// freeBytes is not known on this system: the reserve is not checked.
func freeBytes(string) (int64, bool) { return 0, false }
