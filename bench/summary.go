package bench

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteSummary prints the report for a terminal: the goals, then one line
// per workload and baseline with its throughput and latencies, then the
// accuracy of each partition.
func (r *Report) WriteSummary(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if len(r.Goals) > 0 {
		fmt.Fprintln(tw, "GOAL\tTARGET\tMEASURED\tSTATUS\tMARGIN")
		for _, g := range r.Goals {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", g.Name, g.Target, g.Value, g.statusText(), orDash(g.Margin))
		}
		fmt.Fprintln(tw, "\t\t\t\t")
	}
	fmt.Fprintln(tw, "WORKLOAD\tOPS\tTHROUGHPUT\tP50\tP99\tP99.9\tVS BASELINE")
	row := func(wl Workload) {
		unit := wl.Unit
		if unit == "" {
			unit = "ops"
		}
		vs := "—"
		if wl.Ratio > 0 {
			vs = fmt.Sprintf("%.2f× %s", wl.Ratio, wl.Baseline)
		}
		fmt.Fprintf(tw, "%s\t%s %s\t%s/s\t%s\t%s\t%s\t%s\n", wl.Name, count(wl.Ops), unit,
			count(int64(wl.Throughput+0.5)), dur(wl.P50), dur(wl.P99), dur(wl.P999), vs)
	}
	for _, wl := range r.Workloads {
		row(wl)
	}
	for _, wl := range r.Baselines {
		row(wl)
	}
	if len(r.Accuracy) > 0 {
		fmt.Fprintln(tw, "\t\t\t\t\t\t")
		fmt.Fprintln(tw, "PARTITION\tPRECISION\tRECALL\tF1")
		for _, a := range r.Accuracy {
			fmt.Fprintf(tw, "%s\t%.4f\t%.4f\t%.4f\n", a.Name, a.Precision, a.Recall, a.F1)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(r.Notes) > 0 {
		if _, err := fmt.Fprintf(w, "\n%s\n", "- "+strings.Join(r.Notes, "\n- ")); err != nil {
			return err
		}
	}
	return nil
}
