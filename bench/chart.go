package bench

import (
	"errors"
	"fmt"
	"image/color"
	"math"
	"path/filepath"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// WriteCharts draws the report's charts into dir, each as SVG and PNG:
// latency.{svg,png} — p50, p99 and p99.9 of every workload and baseline
// that has latencies, one row each on a log scale — and throughput.{svg,png} — the
// throughput of each, idgraph's workloads and the baselines in two colours.
// It returns the SVG paths of the charts drawn; a chart without data is
// skipped.
func (r *Report) WriteCharts(dir string) ([]string, error) {
	var paths []string
	all := append(append([]Workload(nil), r.Workloads...), r.Baselines...)
	if p, err := latencyChart(all); err != nil {
		return nil, err
	} else if p != nil {
		out, err := save(p, dir, "latency", 7*vg.Inch, vg.Length(1.2+0.3*float64(len(all)))*vg.Inch)
		if err != nil {
			return nil, err
		}
		paths = append(paths, out)
	}
	if len(all) > 0 {
		p, err := throughputChart(r.Workloads, r.Baselines)
		if err != nil {
			return nil, err
		}
		out, err := save(p, dir, "throughput", 7*vg.Inch, vg.Length(1.2+0.35*float64(len(all)))*vg.Inch)
		if err != nil {
			return nil, err
		}
		paths = append(paths, out)
	}
	return paths, nil
}

func save(p *plot.Plot, dir, name string, w, h vg.Length) (string, error) {
	svg := filepath.Join(dir, name+".svg")
	for _, f := range []string{svg, filepath.Join(dir, name+".png")} {
		if err := p.Save(w, h, f); err != nil {
			return "", fmt.Errorf("chart %s: %w", f, err)
		}
	}
	return svg, nil
}

// latencyChart is a dot plot on a log scale: one row per workload with a
// latency, its p50, p99 and p99.9 as three markers joined by a line.
func latencyChart(ws []Workload) (*plot.Plot, error) {
	var rows []Workload
	for _, w := range ws {
		if w.P50 > 0 || w.P99 > 0 || w.P999 > 0 {
			rows = append(rows, w)
		}
	}
	if len(rows) == 0 {
		return nil, nil
	}
	p := plot.New()
	p.Title.Text = "Latency per operation (µs, log scale)"
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	n := len(rows)
	names := make([]string, n)
	series := [3]plotter.XYs{}
	lo, hi := math.Inf(1), 0.0
	for i, w := range rows {
		k := n - 1 - i // the first workload at the top
		names[k] = w.Name
		var span plotter.XYs
		for q, d := range []time.Duration{w.P50, w.P99, w.P999} {
			if d <= 0 { // a percentile not measured is left out
				continue
			}
			xy := plotter.XY{X: float64(d) / 1e3, Y: float64(k)}
			series[q] = append(series[q], xy)
			span = append(span, xy)
			lo, hi = min(lo, xy.X), max(hi, xy.X)
		}
		if len(span) > 1 {
			l, err := plotter.NewLine(span)
			if err != nil {
				return nil, fmt.Errorf("latency chart: %w", err)
			}
			l.LineStyle.Color = color.RGBA{R: 0xc0, G: 0xc0, B: 0xc0, A: 0xff}
			p.Add(l)
		}
	}
	styles := []struct {
		label string
		c     color.Color
		shape draw.GlyphDrawer
	}{
		{"p50", color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}, draw.CircleGlyph{}},
		{"p99", color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff}, draw.TriangleGlyph{}},
		{"p99.9", color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}, draw.SquareGlyph{}},
	}
	for q, st := range styles {
		if len(series[q]) == 0 {
			continue
		}
		sc, err := plotter.NewScatter(series[q])
		if err != nil {
			return nil, fmt.Errorf("latency chart: %w", err)
		}
		sc.GlyphStyle.Color, sc.GlyphStyle.Shape, sc.GlyphStyle.Radius = st.c, st.shape, vg.Points(3.5)
		p.Add(sc)
		p.Legend.Add(st.label, sc)
	}
	p.NominalY(names...)
	p.X.Min, p.X.Max = lo/2, hi*40 // room for the legend on the right
	p.Legend.Top = true
	return p, nil
}

// throughputChart is a dot plot on a log scale, since figures range from a
// few queries to hundreds of thousands of requests a second.
func throughputChart(workloads, baselines []Workload) (*plot.Plot, error) {
	n := len(workloads) + len(baselines)
	if n == 0 {
		return nil, errors.New("throughput chart: no data")
	}
	p := plot.New()
	p.Title.Text = "Throughput (operations per second, log scale)"
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	// Row k (bottom-up) shows item n-1-k, so the first workload is at the
	// top and the baselines below.
	names := make([]string, n)
	var ours, theirs plotter.XYs
	var labels plotter.XYLabels
	lo, hi := math.Inf(1), 0.0
	for i, w := range append(append([]Workload(nil), workloads...), baselines...) {
		k := n - 1 - i
		names[k] = w.Name
		if w.Throughput <= 0 {
			continue
		}
		xy := plotter.XY{X: w.Throughput, Y: float64(k)}
		if i < len(workloads) {
			ours = append(ours, xy)
		} else {
			theirs = append(theirs, xy)
		}
		labels.XYs = append(labels.XYs, xy)
		labels.Labels = append(labels.Labels, "  "+count(int64(w.Throughput+0.5))+"/s")
		lo, hi = min(lo, w.Throughput), max(hi, w.Throughput)
	}
	if hi == 0 {
		return nil, errors.New("throughput chart: no throughput")
	}
	for _, s := range []struct {
		xys   plotter.XYs
		label string
		c     color.Color
	}{{ours, "idgraph", color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}}, {theirs, "baseline", color.RGBA{R: 0x80, G: 0x80, B: 0x80, A: 0xff}}} {
		if len(s.xys) == 0 {
			continue
		}
		sc, err := plotter.NewScatter(s.xys)
		if err != nil {
			return nil, fmt.Errorf("throughput chart: %w", err)
		}
		sc.GlyphStyle.Color = s.c
		sc.GlyphStyle.Shape = draw.CircleGlyph{}
		sc.GlyphStyle.Radius = vg.Points(4)
		p.Add(sc)
		p.Legend.Add(s.label, sc)
	}
	lb, err := plotter.NewLabels(labels)
	if err != nil {
		return nil, fmt.Errorf("throughput chart: %w", err)
	}
	for i := range lb.TextStyle {
		lb.TextStyle[i].YAlign = -0.5
	}
	p.Add(lb)
	p.NominalY(names...)
	p.X.Min, p.X.Max = lo/2, hi*20 // room for the labels
	p.Legend.Top = true
	return p, nil
}
