package bench

import (
	"errors"
	"fmt"
	"image/color"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Scaling lays the reports of runs at different populations side by side:
// the figures that show how idgraph grows with the number of people.
type Scaling struct {
	Machine Machine         `json:"machine"` // the largest run's
	Runs    []ScalingRun    `json:"runs"`    // by people, ascending
	Figures []ScalingFigure `json:"figures"`
}

// ScalingRun is one report's population and conditions.
type ScalingRun struct {
	People  int       `json:"people"`
	Events  int       `json:"events"`
	Started time.Time `json:"started"`
	Load    string    `json:"load"` // load average at the start and the end
}

// ScalingFigure is one figure of every run, in the order of Scaling.Runs;
// 0 where a run did not measure it.
type ScalingFigure struct {
	Name   string    `json:"name"`
	Kind   string    `json:"kind"` // "count", "latency" (nanoseconds), "bytes" or "ratio"
	Values []float64 `json:"values"`
	// Chart is set for the figures the growth chart draws.
	Chart bool `json:"chart,omitempty"`
}

// NewScaling collects the scaling figures of two or more reports of the
// suite, each at a different population.
func NewScaling(reports []*Report) (*Scaling, error) {
	if len(reports) < 2 {
		return nil, errors.New("scaling: want two or more reports")
	}
	rs := slices.Clone(reports)
	for _, r := range rs {
		if r.Stats == nil || r.Stats.People <= 0 {
			return nil, fmt.Errorf("scaling: report %q has no population", r.Title)
		}
	}
	slices.SortFunc(rs, func(a, b *Report) int { return a.Stats.People - b.Stats.People })
	for i := 1; i < len(rs); i++ {
		if rs[i].Stats.People == rs[i-1].Stats.People {
			return nil, fmt.Errorf("scaling: two reports at %d people", rs[i].Stats.People)
		}
	}
	s := &Scaling{Machine: rs[len(rs)-1].Machine}
	for _, r := range rs {
		s.Runs = append(s.Runs, ScalingRun{People: r.Stats.People, Events: r.Stats.Events, Started: r.Started,
			Load: orDash(r.LoadBefore) + " → " + orDash(r.LoadAfter)})
	}
	add := func(name, kind string, chart bool, value func(*Report) float64) {
		f := ScalingFigure{Name: name, Kind: kind, Chart: chart}
		measured := false
		for _, r := range rs {
			v := value(r)
			if !(v > 0) || math.IsInf(v, 0) {
				v = 0
			}
			measured = measured || v > 0
			f.Values = append(f.Values, v)
		}
		if measured {
			s.Figures = append(s.Figures, f)
		}
	}
	workload := func(r *Report, name string) Workload {
		if w := r.Find(name); w != nil {
			return *w
		}
		return Workload{}
	}
	rate := func(name string) func(*Report) float64 {
		return func(r *Report) float64 { return workload(r, name).Throughput }
	}
	lat := func(name string, p func(Workload) time.Duration) func(*Report) float64 {
		return func(r *Report) float64 { return float64(p(workload(r, name))) }
	}
	p50 := func(w Workload) time.Duration { return w.P50 }
	p99 := func(w Workload) time.Duration { return w.P99 }

	add("ingest, embedded (events/s)", "count", true, rate("ingest-embedded"))
	add("ingest chunk of 1,000 records, p99", "latency", true, lat("ingest-embedded", p99))
	add("peak RSS of the embedded ingest", "bytes", false, func(r *Report) float64 { return float64(workload(r, "ingest-embedded").Memory) })
	add("peak RSS, highest of all workloads", "bytes", true, func(r *Report) float64 {
		var m int64
		for _, w := range r.Workloads {
			m = max(m, w.Memory)
		}
		return float64(m)
	})
	add("peak anonymous RSS, highest of all workloads", "bytes", false, func(r *Report) float64 {
		var m int64
		for _, w := range r.Workloads {
			m = max(m, w.AnonMemory)
		}
		return float64(m)
	})
	add("disk after the ingest", "bytes", true, func(r *Report) float64 { return float64(workload(r, "ingest-embedded").Disk) })
	add("disk per event (bytes)", "count", false, func(r *Report) float64 {
		return float64(workload(r, "ingest-embedded").Disk) / float64(r.Stats.Events)
	})
	add("WHO embedded (calls/s)", "count", false, rate("who-embedded"))
	add("WHO embedded p50", "latency", false, lat("who-embedded", p50))
	add("WHO embedded p99", "latency", true, lat("who-embedded", p99))
	add("WHO over TCP, -P 1 (requests/s)", "count", true, rate("who-tcp"))
	add("WHO over TCP, -P 1, p50", "latency", false, lat("who-tcp", p50))
	add("WHO over TCP, -P 1, p99", "latency", false, lat("who-tcp", p99))
	add("WHO over TCP ÷ Redis GET, -P 1", "ratio", false, func(r *Report) float64 {
		return ratioOf(workload(r, "who-tcp").Throughput, workload(r, "redis-get").Throughput)
	})
	add("WHO over TCP, -P 16 (requests/s)", "count", false, rate("who-tcp-P16"))
	add("MERGE, 4 goroutines (logins/s)", "count", false, rate("merge-embedded"))
	for _, w := range rs[len(rs)-1].Workloads {
		if name, ok := strings.CutPrefix(w.Name, "segment-"); ok {
			chart := name == "abandoned-cart" || name == "browsers-not-buyers"
			add("segment "+name+", p50", "latency", chart, lat(w.Name, p50))
			add("segment "+name+", p99", "latency", false, lat(w.Name, p99))
		}
	}
	add("baseline: Redis GET, -P 1 (requests/s)", "count", false, rate("redis-get"))
	add("baseline: Redis GET, -P 16 (requests/s)", "count", false, rate("redis-get-P16"))
	add("baseline: raw Badger writes (keys/s)", "count", false, rate("badger-writes"))
	add("baseline: raw Badger gets, 1 goroutine, p50", "latency", false, lat("badger-gets", p50))
	add("baseline: PostgreSQL abandoned-cart, p50", "latency", false, lat("postgres-abandoned-cart", p50))
	add("abandoned-cart: PostgreSQL p50 ÷ idgraph p50", "ratio", false, func(r *Report) float64 {
		return ratioOf(float64(workload(r, "postgres-abandoned-cart").P50), float64(workload(r, "segment-abandoned-cart").P50))
	})
	return s, nil
}

func ratioOf(a, b float64) float64 {
	if a <= 0 || b <= 0 {
		return 0
	}
	return a / b
}

// format renders one value of the figure; "—" when not measured.
func (f ScalingFigure) format(v float64) string {
	if v <= 0 {
		return "—"
	}
	switch f.Kind {
	case "latency":
		return dur(time.Duration(v))
	case "bytes":
		return bytesIEC(int64(v))
	case "ratio":
		return fmt.Sprintf("%.2f×", v)
	default:
		return count(int64(v + 0.5))
	}
}

// WriteMarkdown renders the scaling table, then the chart named (a path
// relative to where the Markdown will be), if any.
func (s *Scaling) WriteMarkdown(w io.Writer, chart string) error {
	var b strings.Builder
	b.WriteString("## Scaling\n\n")
	if m := s.Machine; m.Cores > 0 {
		fmt.Fprintf(&b, "On %s, %d cores, %s of memory, %s, %s/%s. Each run measured its own baselines.\n\n", m.CPU, m.Cores, bytesIEC(int64(m.Memory)), m.GoVersion, m.OS, m.Arch)
	}
	b.WriteString("| figure |")
	for _, r := range s.Runs {
		fmt.Fprintf(&b, " %s people |", count(int64(r.People)))
	}
	first, last := s.Runs[0], s.Runs[len(s.Runs)-1]
	fmt.Fprintf(&b, " last ÷ first |\n|---|%s---:|\n", strings.Repeat("---:|", len(s.Runs)))
	fmt.Fprintf(&b, "| events |")
	for _, r := range s.Runs {
		fmt.Fprintf(&b, " %s |", count(int64(r.Events)))
	}
	fmt.Fprintf(&b, " %.2f× |\n", float64(last.Events)/float64(max(first.Events, 1)))
	for _, f := range s.Figures {
		fmt.Fprintf(&b, "| %s |", cell(f.Name))
		for _, v := range f.Values {
			fmt.Fprintf(&b, " %s |", f.format(v))
		}
		growth := "—"
		if a, z := f.Values[0], f.Values[len(f.Values)-1]; a > 0 && z > 0 {
			growth = fmt.Sprintf("%.2f×", z/a)
		}
		fmt.Fprintf(&b, " %s |\n", growth)
	}
	runs := make([]string, len(s.Runs))
	for i, r := range s.Runs {
		runs[i] = fmt.Sprintf("%s people at %s (load average %s)", count(int64(r.People)), r.Started.Format(time.RFC3339), r.Load)
	}
	fmt.Fprintf(&b, "\nRuns: %s.\n\n", strings.Join(runs, "; "))
	if chart != "" {
		fmt.Fprintf(&b, "![scaling](%s)\n\n", chart)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteChart draws, on log-log axes, each charted figure relative to its
// value in the smallest run, against the people, with the line of growth in
// proportion to the people for reference. It returns the SVG's path.
func (s *Scaling) WriteChart(dir string) (string, error) {
	p := plot.New()
	p.Title.Text = "Growth with the population (relative to the smallest run, log-log)"
	p.X.Label.Text = "people"
	p.Y.Label.Text = "figure ÷ its value in the smallest run"
	p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	var ticks plot.ConstantTicks
	for _, r := range s.Runs {
		ticks = append(ticks, plot.Tick{Value: float64(r.People), Label: shortCount(r.People)})
	}
	p.X.Tick.Marker = ticks
	people0 := float64(s.Runs[0].People)
	ref := plotter.XYs{}
	for _, r := range s.Runs {
		ref = append(ref, plotter.XY{X: float64(r.People), Y: float64(r.People) / people0})
	}
	l, err := plotter.NewLine(ref)
	if err != nil {
		return "", fmt.Errorf("scaling chart: %w", err)
	}
	l.LineStyle.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	l.LineStyle.Color = color.Gray{Y: 0x80}
	p.Add(l)
	p.Legend.Add("in proportion to the people", l)
	palette := []color.RGBA{
		{0x1f, 0x77, 0xb4, 0xff}, {0xff, 0x7f, 0x0e, 0xff}, {0x2c, 0xa0, 0x2c, 0xff}, {0xd6, 0x27, 0x28, 0xff},
		{0x94, 0x67, 0xbd, 0xff}, {0x8c, 0x56, 0x4b, 0xff}, {0xe3, 0x77, 0xc2, 0xff}, {0x17, 0xbe, 0xcf, 0xff},
	}
	shapes := []draw.GlyphDrawer{draw.CircleGlyph{}, draw.TriangleGlyph{}, draw.SquareGlyph{}, draw.PlusGlyph{}, draw.CrossGlyph{}, draw.RingGlyph{}, draw.BoxGlyph{}, draw.PyramidGlyph{}}
	n := 0
	for _, f := range s.Figures {
		if !f.Chart || f.Values[0] <= 0 {
			continue
		}
		var xys plotter.XYs
		for i, v := range f.Values {
			if v > 0 {
				xys = append(xys, plotter.XY{X: float64(s.Runs[i].People), Y: v / f.Values[0]})
			}
		}
		line, points, err := plotter.NewLinePoints(xys)
		if err != nil {
			return "", fmt.Errorf("scaling chart: %w", err)
		}
		c := palette[n%len(palette)]
		line.LineStyle.Color, points.GlyphStyle.Color = c, c
		points.GlyphStyle.Shape, points.GlyphStyle.Radius = shapes[n%len(shapes)], vg.Points(3)
		p.Add(line, points)
		p.Legend.Add(f.Name, line, points)
		n++
	}
	p.Legend.Top, p.Legend.Left = true, true
	return save(p, dir, "scaling", 7*vg.Inch, 5*vg.Inch)
}

// shortCount writes 300000 as 300k and 1000000 as 1M.
func shortCount(n int) string {
	switch {
	case n >= 1_000_000 && n%100_000 == 0:
		return strconv.FormatFloat(float64(n)/1e6, 'f', -1, 64) + "M"
	case n >= 1_000 && n%100 == 0:
		return strconv.FormatFloat(float64(n)/1e3, 'f', -1, 64) + "k"
	}
	return strconv.Itoa(n)
}
