package bench

import (
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

// TestSampleAnonRSSSeesTheHeapGrow touches 64 MiB of fresh heap while the
// sampler runs: its peak must show most of it.
func TestSampleAnonRSSSeesTheHeapGrow(t *testing.T) {
	debug.FreeOSMemory() // what earlier tests freed would otherwise be reused, already resident
	before := AnonRSS()
	if before == 0 {
		t.Skip("no RssAnon on this system")
	}
	stop := SampleAnonRSS(2 * time.Millisecond)
	buf := make([]byte, 64<<20)
	for i := 0; i < len(buf); i += 4096 {
		buf[i] = 1
	}
	time.Sleep(50 * time.Millisecond)
	peak := stop()
	runtime.KeepAlive(buf)
	if grew := peak - before; grew < 32<<20 {
		t.Errorf("the sampled peak grew by %d bytes over %d; want at least 32 MiB after touching 64 MiB", grew, before)
	}
	if again := stop(); again < peak {
		t.Errorf("a second stop gave %d, below the peak %d", again, peak)
	}
}
