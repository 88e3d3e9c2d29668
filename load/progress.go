package load

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// ProgressStyle selects how progress is shown.
type ProgressStyle int

const (
	// ProgressAuto draws a bar when Out is a terminal and prints lines
	// otherwise.
	ProgressAuto ProgressStyle = iota
	// ProgressBar draws a bar of bytes read, redrawn in place.
	ProgressBar
	// ProgressLines prints a line every Interval, for logs and pipes.
	ProgressLines
	// ProgressOff shows nothing.
	ProgressOff
)

// ProgressOptions configures a Progress. The zero value reports to standard
// error, as a bar on a terminal and a line every 10 seconds otherwise.
type ProgressOptions struct {
	Out      io.Writer        // default os.Stderr
	Total    int64            // total bytes of input; 0 or less if unknown
	Style    ProgressStyle    // default ProgressAuto
	Interval time.Duration    // between plain lines; default 10s
	Now      func() time.Time // clock; default time.Now
}

// Progress reports a running load. The loading goroutine calls Update as it
// goes (cheap enough for every record) and Finish at the end; Progress is not
// safe for concurrent use.
type Progress struct {
	out      io.Writer
	total    int64
	interval time.Duration
	now      func() time.Time
	bar      *progressbar.ProgressBar // nil unless drawing a bar
	off      bool

	start    time.Time
	last     time.Time // when a line was last printed or the bar redrawn
	lastDone int64
}

// NewProgress returns a Progress that starts its clock now.
func NewProgress(opts ProgressOptions) *Progress {
	p := &Progress{out: opts.Out, total: opts.Total, interval: opts.Interval, now: opts.Now}
	if p.out == nil {
		p.out = os.Stderr
	}
	if p.interval <= 0 {
		p.interval = 10 * time.Second
	}
	if p.now == nil {
		p.now = time.Now
	}
	style := opts.Style
	if style == ProgressAuto {
		style = ProgressLines
		if f, ok := p.out.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			style = ProgressBar
		}
	}
	switch style {
	case ProgressOff:
		p.off = true
	case ProgressBar:
		max := p.total
		if max <= 0 {
			max = -1 // unknown: a spinner
		}
		p.bar = progressbar.NewOptions64(max,
			progressbar.OptionSetWriter(p.out),
			progressbar.OptionSetDescription("loading"),
			progressbar.OptionShowBytes(true),
			progressbar.OptionShowCount(),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(p.out) }),
		)
	}
	p.start = p.now()
	p.last = p.start
	return p
}

// Update reports that done bytes of the input have been read and s counted
// so far.
func (p *Progress) Update(done int64, s Summary) {
	if p.off {
		return
	}
	if p.bar != nil {
		// Bytes arrive in buffer-sized steps; redraw only when they do.
		if done != p.lastDone {
			p.lastDone = done
			p.bar.Set64(done)
		}
		return
	}
	now := p.now()
	if now.Sub(p.last) < p.interval {
		return
	}
	p.last = now
	fmt.Fprintln(p.out, p.line(done, s, now.Sub(p.start)))
}

// Finish ends the report: the bar is completed; plain lines need no ending.
func (p *Progress) Finish() {
	if p.bar != nil {
		if p.total > 0 {
			p.bar.Set64(p.total)
		}
		p.bar.Finish()
	}
}

// line is one plain progress report, for example
//
//	loading: 1.5 MB of 6.0 MB (25%), 10,000 lines, 9,990 events, 10 rejected, 1,000 events/s
func (p *Progress) line(done int64, s Summary, elapsed time.Duration) string {
	read := byteSize(done)
	if p.total > 0 {
		read = fmt.Sprintf("%s of %s (%d%%)", byteSize(done), byteSize(p.total), done*100/p.total)
	}
	s.Elapsed = elapsed
	return fmt.Sprintf("loading: %s, %s lines, %s events, %s rejected, %s events/s",
		read, thousands(s.Lines), thousands(s.Events), thousands(s.Rejected),
		thousands(int64(s.EventsPerSecond()+0.5)))
}

// byteSize formats n bytes in decimal units: 999 B, 1.5 kB, 12.3 MB.
func byteSize(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	f, units := float64(n), "kMGTPE"
	i := -1
	for f >= unit && i < len(units)-1 {
		f /= unit
		i++
	}
	return fmt.Sprintf("%.1f %cB", f, units[i])
}
