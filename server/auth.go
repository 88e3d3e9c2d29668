package server

import (
	"sync"
	"time"
)

// Failed logins are slowed down and their log lines rate-limited, so that
// guessing passwords is slow and cannot flood the log:
//
//   - a connection's first failed AUTH is answered at once; each further
//     consecutive failure waits twice as long as the one before, from
//     authDelayBase up to authDelayMax, before its error is sent (a success
//     starts the count again). The wait happens in the connection's own
//     goroutine, holding no lock, and Shutdown cuts it short.
//   - "authentication failed" lines are logged at most authLogBurst at once
//     and then one per authLogEvery; the next line logged says how many
//     were left out meanwhile.
const (
	authDelayBase = 100 * time.Millisecond
	authDelayMax  = 5 * time.Second
	authLogBurst  = 10
	authLogEvery  = time.Second
)

// authDelay is the wait before answering the n-th consecutive failure.
func authDelay(n int) time.Duration {
	if n <= 1 {
		return 0
	}
	if n > 12 { // 100ms << 10 is already past the maximum
		return authDelayMax
	}
	return min(authDelayBase<<(n-2), authDelayMax)
}

func sleepUnlessDone(d time.Duration, done <-chan struct{}) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-done:
	}
}

// authFailed counts, logs (at a bounded pace) and slows down a failed
// login on c.
func (c *conn) authFailed() {
	c.authFailures++
	s := c.s
	s.stats.authFailed.Add(1)
	if ok, left := s.authLog.allow(s.now()); ok {
		remote, id := c.log()
		args := []any{"id", id, "remote", remote, "consecutive_failures", c.authFailures}
		if left > 0 {
			args = append(args, "not_logged_since_last", left)
		}
		s.opts.Logger.Warn("authentication failed", args...)
	}
	if d := authDelay(c.authFailures); d > 0 {
		// Replies already produced go out first, so the client is not
		// kept waiting for them too.
		c.w.bw.Flush()
		s.sleep(d, s.done)
	}
}

// logLimiter is a token bucket for log lines: burst at once, then one per
// every. Any goroutine may call allow; it holds its lock only to count.
type logLimiter struct {
	mu      sync.Mutex
	burst   float64
	every   time.Duration
	tokens  float64
	last    time.Time
	dropped int64 // lines refused since the last one allowed
}

func newLogLimiter(burst int, every time.Duration) *logLimiter {
	return &logLimiter{burst: float64(burst), every: every, tokens: float64(burst)}
}

// allow reports whether a line may be logged now and, if so, how many were
// refused since the last one.
func (l *logLimiter) allow(now time.Time) (bool, int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.last.IsZero() && now.After(l.last) {
		l.tokens = min(l.burst, l.tokens+float64(now.Sub(l.last))/float64(l.every))
	}
	if l.last.IsZero() || now.After(l.last) {
		l.last = now
	}
	if l.tokens < 1 {
		l.dropped++
		return false, 0
	}
	l.tokens--
	n := l.dropped
	l.dropped = 0
	return true, n
}
