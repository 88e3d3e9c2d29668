package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Report is the result of a benchmark run: where it ran, the population,
// each workload and baseline measured, and the accuracy of the partitions
// compared. It is written as JSON ([Report.WriteJSON]) and rendered as
// Markdown ([Report.WriteMarkdown]) with charts ([Report.WriteCharts]).
type Report struct {
	Title      string    `json:"title"`
	Started    time.Time `json:"started"`
	Machine    Machine   `json:"machine"`
	Population *Config   `json:"population,omitempty"`
	Stats      *Stats    `json:"stats,omitempty"`

	// Workloads are idgraph's figures; Baselines are the other systems'
	// (and raw Badger's), measured in the same run. A workload names its
	// baseline; [Report.Compare] fills in the ratios.
	Workloads []Workload `json:"workloads"`
	Baselines []Workload `json:"baselines"`

	Accuracy []Accuracy `json:"accuracy,omitempty"`
	// Goals are the claims the run checks, each with its measured value.
	Goals []Goal   `json:"goals,omitempty"`
	Notes []string `json:"notes,omitempty"`

	// LoadBefore and LoadAfter are the machine's load averages (1, 5 and
	// 15 minutes) when the run started and ended: figures from a busy
	// machine read low.
	LoadBefore string `json:"load_before,omitempty"`
	LoadAfter  string `json:"load_after,omitempty"`
}

// Workload is the figures of one measured workload. Throughput is Ops per
// second. Latencies are per operation; zero means not measured.
type Workload struct {
	Name       string        `json:"name"`
	Unit       string        `json:"unit,omitempty"` // what Ops counts: "events", "keys", "requests" …; "ops" if empty
	Ops        int64         `json:"ops"`
	Seconds    float64       `json:"seconds"`
	Throughput float64       `json:"throughput"`
	P50        time.Duration `json:"p50_ns,omitempty"`
	P99        time.Duration `json:"p99_ns,omitempty"`
	P999       time.Duration `json:"p999_ns,omitempty"`
	Baseline   string        `json:"baseline,omitempty"`          // name of a Report.Baselines entry
	Ratio      float64       `json:"ratio,omitempty"`             // Throughput / the baseline's
	Memory     int64         `json:"memory_bytes,omitempty"`      // peak resident memory of the process while it ran
	AnonMemory int64         `json:"anon_memory_bytes,omitempty"` // the same, without the pages of mapped files (sampled)
	Disk       int64         `json:"disk_bytes,omitempty"`
	Note       string        `json:"note,omitempty"`
	// Load is the 1-minute load average when the workload started.
	Load string `json:"load,omitempty"`
}

// NewWorkload returns a workload of ops operations in elapsed time, with
// latencies from rec when it is not nil.
func NewWorkload(name string, ops int64, elapsed time.Duration, rec *Recorder) Workload {
	w := Workload{Name: name, Ops: ops, Seconds: elapsed.Seconds()}
	if elapsed > 0 {
		w.Throughput = float64(ops) / elapsed.Seconds()
	}
	if rec != nil && rec.Count() > 0 {
		w.P50, w.P99, w.P999 = rec.Percentile(50), rec.Percentile(99), rec.Percentile(99.9)
	}
	return w
}

// Machine describes where a report was measured.
type Machine struct {
	CPU       string `json:"cpu"`
	Cores     int    `json:"cores"`
	Memory    uint64 `json:"memory_bytes"`
	GoVersion string `json:"go_version"`
	OS        string `json:"os"`
	Arch      string `json:"arch"`
}

// DetectMachine describes this machine (CPU model and memory from /proc on
// Linux; "unknown" elsewhere).
func DetectMachine() Machine {
	m := Machine{CPU: "unknown", Cores: runtime.NumCPU(), GoVersion: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH}
	if v := procField("/proc/cpuinfo", "model name"); v != "" {
		m.CPU = v
	}
	if v := procField("/proc/meminfo", "MemTotal"); v != "" {
		if kb, err := strconv.ParseUint(strings.TrimSuffix(v, " kB"), 10, 64); err == nil {
			m.Memory = kb * 1024
		}
	}
	return m
}

// procField returns the value of the first "key : value" line of a /proc file.
func procField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// NewReport returns an empty report started now on this machine.
func NewReport(title string) *Report {
	return &Report{Title: title, Started: time.Now().UTC().Truncate(time.Second), Machine: DetectMachine()}
}

// Compare sets each workload's Ratio to its throughput divided by its
// baseline's; workloads without a known baseline get 0.
func (r *Report) Compare() {
	base := make(map[string]float64, len(r.Baselines))
	for _, b := range r.Baselines {
		base[b.Name] = b.Throughput
	}
	for i := range r.Workloads {
		w := &r.Workloads[i]
		w.Ratio = 0
		if t := base[w.Baseline]; t > 0 {
			w.Ratio = w.Throughput / t
		}
	}
}

// Find returns the workload or baseline of that name, or nil.
func (r *Report) Find(name string) *Workload {
	for _, list := range [][]Workload{r.Workloads, r.Baselines} {
		for i := range list {
			if list[i].Name == name {
				return &list[i]
			}
		}
	}
	return nil
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// ReadReport reads a report written by [Report.WriteJSON].
func ReadReport(rd io.Reader) (*Report, error) {
	var r Report
	if err := json.NewDecoder(rd).Decode(&r); err != nil {
		return nil, fmt.Errorf("read report: %w", err)
	}
	return &r, nil
}

// WriteMarkdown renders the report: the machine, the population, tables of
// workloads, baselines and accuracy, then the charts named (paths relative
// to where the Markdown will be).
func (r *Report) WriteMarkdown(w io.Writer, charts ...string) error {
	var b strings.Builder
	title := r.Title
	if title == "" {
		title = "idgraph benchmark"
	}
	fmt.Fprintf(&b, "# %s\n\n", title)
	if !r.Started.IsZero() {
		fmt.Fprintf(&b, "Run %s.\n\n", r.Started.Format(time.RFC3339))
	}

	m := r.Machine
	b.WriteString("## Machine\n\n| CPU | cores | memory | Go | OS |\n|---|---:|---:|---|---|\n")
	fmt.Fprintf(&b, "| %s | %d | %s | %s | %s/%s |\n\n", cell(m.CPU), m.Cores, bytesIEC(int64(m.Memory)), m.GoVersion, m.OS, m.Arch)
	if r.LoadBefore != "" || r.LoadAfter != "" {
		fmt.Fprintf(&b, "Load average (1, 5, 15 min): %s at the start, %s at the end.\n\n", orDash(r.LoadBefore), orDash(r.LoadAfter))
	}

	if len(r.Goals) > 0 {
		b.WriteString("## Goals\n\n| goal | target | measured | status | margin |\n|---|---|---|---|---|\n")
		for _, g := range r.Goals {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", cell(g.Name), cell(g.Target), cell(g.Value), g.statusText(), cell(orDash(g.Margin)))
		}
		b.WriteString("\n")
		for _, g := range r.Goals {
			if g.Note != "" {
				fmt.Fprintf(&b, "- **%s**: %s\n", cell(g.Name), g.Note)
			}
		}
		b.WriteString("\n")
	}

	if s := r.Stats; s != nil {
		b.WriteString("## Population\n\n")
		if c := r.Population; c != nil {
			fmt.Fprintf(&b, "Seed %d, %d days from %s.\n\n", c.Seed, c.Days, c.Start.Format("2006-01-02"))
		}
		b.WriteString("| people | households | active | events | consent lines | trait lines | size | identifiers | shared | blocked | sold devices |\n")
		b.WriteString("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n\n",
			count(int64(s.People)), count(int64(s.Households)), count(int64(s.ActivePeople)), count(int64(s.Events)),
			count(int64(s.Consents)), count(int64(s.Traits)), bytesIEC(s.Bytes), count(int64(s.Identifiers)),
			count(int64(s.SharedIdentifiers)), count(int64(s.BlockedIdentifiers)), count(int64(s.SoldDevices)))
	}

	writeWorkloads(&b, "Workloads", r.Workloads, true)
	writeWorkloads(&b, "Baselines", r.Baselines, false)

	if len(r.Accuracy) > 0 {
		b.WriteString("## Accuracy\n\nPairwise, over identifiers with a single true owner (shared and blocked identifiers are not scored).\n\n")
		b.WriteString("| partition | precision | recall | F1 | profiles | people | scored ids | missing |\n|---|---:|---:|---:|---:|---:|---:|---:|\n")
		for _, a := range r.Accuracy {
			fmt.Fprintf(&b, "| %s | %.4f | %.4f | %.4f | %s | %s | %s | %s |\n", cell(a.Name), a.Precision, a.Recall, a.F1,
				count(int64(a.Profiles)), count(int64(a.People)), count(int64(a.Scored)), count(int64(a.Missing)))
		}
		b.WriteString("\n")
	}

	if len(charts) > 0 {
		b.WriteString("## Charts\n\n")
		for _, c := range charts {
			name := strings.TrimSuffix(c[strings.LastIndexByte(c, '/')+1:], ".svg")
			name = strings.TrimSuffix(name, ".png")
			fmt.Fprintf(&b, "![%s](%s)\n\n", name, c)
		}
	}
	if len(r.Notes) > 0 {
		b.WriteString("## Notes\n\n")
		for _, n := range r.Notes {
			fmt.Fprintf(&b, "- %s\n", n)
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeWorkloads(b *strings.Builder, title string, ws []Workload, ratios bool) {
	if len(ws) == 0 {
		return
	}
	fmt.Fprintf(b, "## %s\n\n| workload | ops | seconds | throughput | p50 | p99 | p99.9 |", title)
	if ratios {
		b.WriteString(" baseline | ratio |")
	}
	b.WriteString("\n|---|---:|---:|---:|---:|---:|---:|")
	if ratios {
		b.WriteString("---|---:|")
	}
	b.WriteString("\n")
	for _, w := range ws {
		unit := w.Unit
		if unit == "" {
			unit = "ops"
		}
		fmt.Fprintf(b, "| %s | %s %s | %.2f | %s/s | %s | %s | %s |", cell(w.Name), count(w.Ops), unit, w.Seconds,
			count(int64(w.Throughput+0.5)), dur(w.P50), dur(w.P99), dur(w.P999))
		if ratios {
			ratio := "—"
			if w.Ratio > 0 {
				ratio = fmt.Sprintf("%.2f×", w.Ratio)
			}
			base := w.Baseline
			if base == "" {
				base = "—"
			}
			fmt.Fprintf(b, " %s | %s |", cell(base), ratio)
		}
		b.WriteString("\n")
	}
	for _, w := range ws {
		if w.Note != "" || w.Memory > 0 || w.Disk > 0 || w.Load != "" {
			fmt.Fprintf(b, "\n- **%s**:", cell(w.Name))
			if w.Memory > 0 {
				fmt.Fprintf(b, " peak RSS %s", bytesIEC(w.Memory))
				if w.AnonMemory > 0 {
					fmt.Fprintf(b, " (anonymous %s)", bytesIEC(w.AnonMemory))
				}
				b.WriteString(";")
			}
			if w.Disk > 0 {
				fmt.Fprintf(b, " disk %s;", bytesIEC(w.Disk))
			}
			if w.Load != "" {
				fmt.Fprintf(b, " load %s;", w.Load)
			}
			if w.Note != "" {
				fmt.Fprintf(b, " %s", w.Note)
			}
		}
	}
	b.WriteString("\n\n")
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// cell escapes a table cell.
func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// dur formats a latency with three significant digits; "—" when zero.
func dur(d time.Duration) string {
	switch {
	case d <= 0:
		return "—"
	case d < time.Microsecond:
		return fmt.Sprintf("%dns", d)
	case d < time.Millisecond:
		return strconv.FormatFloat(float64(d)/1e3, 'g', 3, 64) + "µs"
	case d < time.Second:
		return strconv.FormatFloat(float64(d)/1e6, 'g', 3, 64) + "ms"
	default:
		return strconv.FormatFloat(d.Seconds(), 'g', 3, 64) + "s"
	}
}

// count formats an integer with thin thousands separators: 1 234 567.
func count(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteString("\u202f")
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// bytesIEC formats a size in binary units.
func bytesIEC(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
