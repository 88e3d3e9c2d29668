package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/idgraph/idgraph/server"
)

// parseSize reads a byte count: digits, optionally followed by a binary
// unit k, m or g (with or without "b" or "ib", any case: 64m = 64mb = 64MiB
// = 67108864).
func parseSize(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"kb", 1 << 10}, {"mb", 1 << 20}, {"gb", 1 << 30},
		{"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30}, {"b", 1}} {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSuffix(t, u.suffix), u.mult
			break
		}
	}
	if t == "" || len(t) > 19 {
		return 0, fmt.Errorf("bad size %q: want bytes, or a number with k, m or g", s)
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("bad size %q: want bytes, or a number with k, m or g", s)
	}
	if n > math.MaxInt64/mult {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	return n * mult, nil
}

// parseOutputLimit reads "HARD SOFT SECONDS" as Redis's
// client-output-buffer-limit does; 0 turns a limit off.
func parseOutputLimit(s string) (server.OutputLimit, error) {
	f := strings.Fields(s)
	if len(f) != 3 {
		return server.OutputLimit{}, fmt.Errorf("bad output buffer limit %q: want HARD SOFT SECONDS, e.g. \"256m 64m 60\"", s)
	}
	hard, err := parseSize(f[0])
	if err != nil {
		return server.OutputLimit{}, err
	}
	soft, err := parseSize(f[1])
	if err != nil {
		return server.OutputLimit{}, err
	}
	secs, err := strconv.ParseInt(f[2], 10, 64)
	if err != nil || secs < 0 || secs > 1<<31 {
		return server.OutputLimit{}, fmt.Errorf("bad output buffer limit %q: SECONDS must be a whole number of seconds", s)
	}
	off := func(n int64) int64 {
		if n == 0 {
			return -1
		}
		return n
	}
	lim := server.OutputLimit{Hard: off(hard), Soft: off(soft), SoftTime: time.Duration(secs) * time.Second}
	if lim.Soft > 0 && secs == 0 {
		return server.OutputLimit{}, fmt.Errorf("bad output buffer limit %q: a soft limit needs SECONDS", s)
	}
	if lim.Soft < 0 {
		lim.SoftTime = -1
	}
	return lim, nil
}

// serveLimits applies --max-command-bytes and --client-output-buffer-limit.
func serveLimits(o *server.Options, maxCommand, outLimit string) error {
	n, err := parseSize(maxCommand)
	if err != nil {
		return exitError{2, "--max-command-bytes: " + err.Error()}
	}
	if n == 0 || n > math.MaxInt32 {
		return exitError{2, fmt.Sprintf("--max-command-bytes: %s is out of range (1 byte to 2 GiB)", maxCommand)}
	}
	o.MaxCommandBytes = int(n)
	if o.OutputLimit, err = parseOutputLimit(outLimit); err != nil {
		return exitError{2, "--client-output-buffer-limit: " + err.Error()}
	}
	return nil
}
