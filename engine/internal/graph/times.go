package graph

import (
	"strconv"
	"time"
)

// Bounds of a time: 1970-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z.
const (
	maxUnixMilli = 253402300799999
	// A number from 10^9 to 10^11 reads as a plausible date both in Unix
	// seconds (2001 to 5138) and in milliseconds (1970-01-12 to 1973-03-03):
	// it is refused rather than guessed.
	ambiguousFrom = 1_000_000_000
	ambiguousTo   = 100_000_000_000
)

// ParseTime reads a time as every input of idgraph writes it: RFC 3339
// (fractional seconds and offsets allowed) or a whole number of Unix
// milliseconds, from 1970 to the end of 9999, in UTC truncated to the
// millisecond. A number of 10 or 11 digits is refused as ambiguous, with a
// hint: it is most often Unix seconds, which would land in 1970.
func ParseTime(s string) (time.Time, error) {
	if allDigits(s) {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n > maxUnixMilli {
			return time.Time{}, Errorf(Invalid, s, "time %s is out of range: Unix milliseconds go from 0 to %d", Clip(s), int64(maxUnixMilli))
		}
		if n >= ambiguousFrom && n < ambiguousTo {
			return time.Time{}, Errorf(Invalid, s, "time %s is ambiguous: in Unix seconds it is %s, in milliseconds %s; write %s000 for those seconds, or an RFC 3339 time",
				s, time.Unix(n, 0).UTC().Format(time.RFC3339), time.UnixMilli(n).UTC().Format("2006-01-02T15:04:05.000Z"), s)
		}
		return time.UnixMilli(n).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, Errorf(Invalid, s, "bad time %q: use RFC 3339 or Unix milliseconds", Clip(s))
	}
	ms := t.UnixMilli()
	if t.Before(time.Unix(0, 0)) || ms > maxUnixMilli {
		return time.Time{}, Errorf(Invalid, s, "time %s is out of range: 1970-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z", Clip(s))
	}
	return time.UnixMilli(ms).UTC(), nil
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
