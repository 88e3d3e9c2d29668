package bench

import (
	"fmt"
	"math"
	"time"
)

// Goal is one performance or accuracy claim and how the run measured up to
// it: the value, the target, whether it was met and by how much.
type Goal struct {
	Name   string     `json:"name"`
	Target string     `json:"target"`
	Value  string     `json:"value"`
	Status GoalStatus `json:"status"`
	// Margin says by how much the goal was met or missed ("1.8× the
	// target", "12% short").
	Margin string `json:"margin,omitempty"`
	// Indicative is set when the run was smaller than the scale the target
	// is stated for: the status is that of the figure at the scale run.
	Indicative bool   `json:"indicative,omitempty"`
	Note       string `json:"note,omitempty"`
}

// GoalStatus is the outcome of a [Goal].
type GoalStatus string

// The outcomes of a goal.
const (
	GoalMet         GoalStatus = "met"
	GoalMissed      GoalStatus = "missed"
	GoalNotMeasured GoalStatus = "not measured"
)

// GoalAtLeast is the goal "value ≥ target"; format renders both numbers.
func GoalAtLeast(name string, value, target float64, format func(float64) string) Goal {
	g := Goal{Name: name, Target: "≥ " + format(target), Value: format(value)}
	switch {
	case !(value >= 0) || target <= 0 || math.IsInf(value, 0):
		g.Status, g.Value = GoalNotMeasured, "—"
	case value >= target:
		g.Status, g.Margin = GoalMet, fmt.Sprintf("%.2f× the target (+%.1f%%)", value/target, 100*(value/target-1))
	default:
		g.Status, g.Margin = GoalMissed, fmt.Sprintf("%.0f%% short (%.2f× the target)", 100*(1-value/target), value/target)
	}
	return g
}

// GoalAtMost is the goal "value ≤ target"; format renders both numbers.
func GoalAtMost(name string, value, target float64, format func(float64) string) Goal {
	g := Goal{Name: name, Target: "≤ " + format(target), Value: format(value)}
	switch {
	case !(value > 0) || target <= 0 || math.IsInf(value, 0):
		g.Status, g.Value = GoalNotMeasured, "—"
	case value <= target:
		g.Status, g.Margin = GoalMet, fmt.Sprintf("%.0f%% under (%.2f× the target)", 100*(1-value/target), value/target)
	default:
		g.Status, g.Margin = GoalMissed, fmt.Sprintf("%.0f%% over (%.2f× the target)", 100*(value/target-1), value/target)
	}
	return g
}

// GoalSkipped is a goal that could not be measured in this run, with the
// reason.
func GoalSkipped(name, target, why string) Goal {
	return Goal{Name: name, Target: target, Value: "—", Status: GoalNotMeasured, Note: why}
}

// statusText renders a status for tables.
func (g Goal) statusText() string {
	s := string(g.Status)
	if g.Status == GoalMissed {
		s = "MISSED"
	}
	if g.Indicative && g.Status != GoalNotMeasured {
		s += " (at this scale)"
	}
	return s
}

// FormatCount renders a number with thin thousands separators.
func FormatCount(v float64) string { return count(int64(math.Round(v))) }

// FormatRatio renders a ratio such as 0.83×.
func FormatRatio(v float64) string { return fmt.Sprintf("%.2f×", v) }

// FormatBytes renders a size in binary units.
func FormatBytes(v float64) string { return bytesIEC(int64(v)) }

// FormatMillis renders a duration given in milliseconds.
func FormatMillis(v float64) string { return fmt.Sprintf("%.3g ms", v) }

// FormatFixed4 renders a fraction with four decimals (precision, F1).
func FormatFixed4(v float64) string { return fmt.Sprintf("%.4f", v) }

// FormatDuration renders a latency with three significant digits.
func FormatDuration(d time.Duration) string { return dur(d) }
