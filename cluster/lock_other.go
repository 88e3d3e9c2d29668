//go:build !unix

package cluster

import (
	"os"
	"path/filepath"
)

// lockDir opens the lock file; without flock, nothing stops a second
// process.
func lockDir(dir string) (*os.File, error) {
	return os.OpenFile(filepath.Join(dir, "LOCK"), os.O_CREATE|os.O_RDWR, 0o600)
}
