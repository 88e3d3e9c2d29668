//go:build unix

package main

import "syscall"

// restrictUmask makes every file and directory this process creates from
// now on private to its owner (umask 077).
func restrictUmask() { syscall.Umask(0o077) }
