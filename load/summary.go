package load

import (
	"fmt"
	"strconv"
	"time"
)

// Summary counts what a load did. The loader fills Lines, Events, Merges and
// Rejected (Add and Reject do it); the sink that applies the records fills
// IDsCreated and Refused; the caller sets Elapsed.
type Summary struct {
	Lines      int64 // records and rejected lines read (blank lines and CSV headers not counted)
	Events     int64 // records with an event
	Merges     int64 // records without one: identify, alias, merges, trait and consent updates
	Rejected   int64 // lines that could not be parsed, or that the sink refused as a whole
	IDsCreated int64 // identifiers new to the graph
	Refused    int64 // links refused by the resolution rules
	Elapsed    time.Duration
}

// Add counts a record that was read.
func (s *Summary) Add(r Record) {
	s.Lines++
	if r.Event != "" {
		s.Events++
	} else {
		s.Merges++
	}
}

// Reject counts a line that was read but rejected.
func (s *Summary) Reject() {
	s.Lines++
	s.Rejected++
}

// EventsPerSecond is the event rate over Elapsed; 0 when Elapsed is not
// positive.
func (s Summary) EventsPerSecond() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Events) / s.Elapsed.Seconds()
}

// String reports the summary on one line, for example
//
//	2,771 lines in 1.25s: 2,771 events, 0 merges, 0 rejected; 1,500 ids created, 0 links refused; 2,217 events/s
func (s Summary) String() string {
	return fmt.Sprintf("%s lines in %v: %s events, %s merges, %s rejected; %s ids created, %s links refused; %s events/s",
		thousands(s.Lines), roundDuration(s.Elapsed), thousands(s.Events), thousands(s.Merges),
		thousands(s.Rejected), thousands(s.IDsCreated), thousands(s.Refused),
		thousands(int64(s.EventsPerSecond()+0.5)))
}

// roundDuration keeps three significant figures or so: 1.25s, 312ms, 2m3s.
func roundDuration(d time.Duration) time.Duration {
	switch {
	case d >= time.Minute:
		return d.Round(time.Second)
	case d >= time.Second:
		return d.Round(10 * time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(time.Millisecond)
	}
	return d.Round(time.Microsecond)
}

// thousands formats n with commas between groups of three digits.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := n < 0
	if neg {
		s = s[1:]
	}
	var b []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			b = append(b, ',')
		}
		b = append(b, s[i])
	}
	if neg {
		return "-" + string(b)
	}
	return string(b)
}
