package bench

import (
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Figures of this process and this machine that the report quotes: peak
// resident memory, the load average, disk usage of a directory.

// PeakRSS returns the peak resident set size of this process in bytes: the
// kernel's high-water mark (VmHWM in /proc/self/status) on Linux, the
// getrusage maximum elsewhere on Unix, 0 when neither is available.
func PeakRSS() int64 {
	if v := procKB("VmHWM"); v > 0 {
		return v
	}
	return maxRSS()
}

// AnonRSS returns the anonymous resident memory of this process in bytes
// (RssAnon in /proc/self/status: the heap and other private memory, not the
// pages of mapped files, which the kernel can drop), or 0 when unknown.
func AnonRSS() int64 {
	return procKB("RssAnon")
}

func procKB(field string) int64 {
	v := procField("/proc/self/status", field)
	kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(v, "kB")), 10, 64)
	if err != nil {
		return 0
	}
	return kb * 1024
}

// SampleAnonRSS samples [AnonRSS] every interval until the returned
// function is called, which returns the highest sample (0 when unknown).
// The kernel keeps no high-water mark of anonymous memory alone, so a
// peak shorter than the interval can be missed.
func SampleAnonRSS(every time.Duration) (stop func() int64) {
	peak := AnonRSS() // the sampling goroutine's until stop has waited for it
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				peak = max(peak, AnonRSS())
			}
		}
	})
	var once sync.Once
	return func() int64 {
		once.Do(func() {
			close(done)
			wg.Wait()
			peak = max(peak, AnonRSS())
		})
		return peak
	}
}

// ResetPeakRSS resets the peak resident set size to the current one, so
// that the next [PeakRSS] is the peak of what runs in between (Linux:
// "5" written to /proc/self/clear_refs). It reports whether it could; when
// not, PeakRSS is the peak since the process started.
func ResetPeakRSS() bool {
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
}

// LoadAverage returns the 1, 5 and 15 minute load averages as the kernel
// prints them ("0.52 0.61 0.70"), or "" when unknown.
func LoadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// DiskUsage returns the bytes allocated to the files under dir, as du
// counts them (Badger's value logs are sparse, so their size overstates).
func DiskUsage(dir string) int64 { return diskUsage(dir) }
