package bench

import (
	"os"
	"strconv"
	"strings"
)

// Figures of this process and this machine that the report quotes: peak
// resident memory, the load average, disk usage of a directory.

// PeakRSS returns the peak resident set size of this process in bytes: the
// kernel's high-water mark (VmHWM in /proc/self/status) on Linux, the
// getrusage maximum elsewhere on Unix, 0 when neither is available.
func PeakRSS() int64 {
	if v := procField("/proc/self/status", "VmHWM"); v != "" {
		if kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(v, "kB")), 10, 64); err == nil {
			return kb * 1024
		}
	}
	return maxRSS()
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
