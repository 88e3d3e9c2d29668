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
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// WriteCharts draws the report's charts into dir, each as SVG and PNG:
// latency.{svg,png} — p50, p99 and p99.9 of every workload and baseline
// that has latencies, on a log scale — and throughput.{svg,png} — the
// throughput of each, idgraph's workloads and the baselines in two colours.
// It returns the SVG paths of the charts drawn; a chart without data is
// skipped.
func (r *Report) WriteCharts(dir string) ([]string, error) {
	var paths []string
	all := append(append([]Workload(nil), r.Workloads...), r.Baselines...)
	if p, err := latencyChart(all); err != nil {
		return nil, err
	} else if p != nil {
		out, err := save(p, dir, "latency", 7*vg.Inch, 4.5*vg.Inch)
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

func latencyChart(ws []Workload) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = "Latency percentiles"
	p.Y.Label.Text = "µs (log scale)"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	p.NominalX("p50", "p99", "p99.9")
	p.Legend.Top = true
	p.Legend.Left = true
	var args []any
	top := 0.0
	for _, w := range ws {
		var xys plotter.XYs
		for i, d := range []time.Duration{w.P50, w.P99, w.P999} {
			if d > 0 { // a percentile not measured is left out
				xys = append(xys, plotter.XY{X: float64(i), Y: float64(d) / 1e3})
				top = max(top, float64(d)/1e3)
			}
		}
		if len(xys) > 0 {
			args = append(args, w.Name, xys)
		}
	}
	if len(args) == 0 {
		return nil, nil
	}
	if err := plotutil.AddLinePoints(p, args...); err != nil {
		return nil, fmt.Errorf("latency chart: %w", err)
	}
	p.Y.Max = top * 10 // a decade of room for the legend
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
