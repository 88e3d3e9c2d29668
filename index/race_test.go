//go:build race

package index

// raceEnabled shrinks the random tests under the race detector, which
// slows them about tenfold; the concurrency they check needs no volume.
const raceEnabled = true
