//go:build !unix

package main

// restrictUmask does nothing where there is no umask; the data directory
// is still created 0700.
func restrictUmask() {}
