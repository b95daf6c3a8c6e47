package main

import (
	"cmp"
	"fmt"
	"math"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/twisted-go/threadpool/bench/internal/runs"
)

// poolOrder is the order of the rows: the two references first.
var poolOrder = []string{"fixed", "lazy", "go", "threadpool", "threadpool-block", "ants", "pond", "workerpool", "conc", "errgroup"}

// peers are the library peers the targets compare threadpool with.
var peers = []string{"ants", "pond", "workerpool", "conc", "errgroup"}

var scenarioOrder = []string{"tiny", "tiny8", "sleep", "cpu", "latency", "burst"}

// group is one scenario at one size: the runs of every pool.
type group struct {
	*runs.Group[Result]
	submitters int
	quick      bool
}

// Key groups the runs (runs.Run).
func (r Result) Key() (scenario string, size int, pool, err string) {
	return r.Scenario, r.Size, r.Pool, r.Error
}

// agg is the median and range of one figure over the runs of one pool.
type agg struct{ med, lo, hi float64 }

func aggregate(rs []Result, f func(Result) float64) agg {
	a := runs.Aggregate(rs, f)
	return agg{a.Med, a.Lo, a.Hi}
}

func readRuns(path string) ([]*group, int, error) {
	groups, n, err := runs.Read[Result](path)
	if err != nil {
		return nil, 0, err
	}
	var out []*group
	for _, rg := range groups {
		g := &group{Group: rg, submitters: 1}
		for _, rs := range rg.Runs {
			g.submitters = rs[0].Submitters
			for _, r := range rs {
				g.quick = g.quick || r.Quick
			}
		}
		out = append(out, g)
	}
	slices.SortFunc(out, func(a, b *group) int {
		return cmp.Or(cmp.Compare(slices.Index(scenarioOrder, a.Scenario), slices.Index(scenarioOrder, b.Scenario)),
			cmp.Compare(a.Size, b.Size))
	})
	return out, n, nil
}

func (g *group) pools() []string {
	var ps []string
	for _, p := range poolOrder {
		if len(g.Runs[p]) > 0 || len(g.Failed[p]) > 0 {
			ps = append(ps, p)
		}
	}
	for p := range g.Runs {
		if !slices.Contains(ps, p) {
			ps = append(ps, p)
		}
	}
	return ps
}

func (g *group) title() string {
	procs := runtime.GOMAXPROCS(0)
	for _, rs := range g.Runs {
		procs = rs[0].GOMAXPROCS
		break
	}
	size := fmt.Sprintf("size %d", g.Size)
	if g.Size == procs {
		size += " (= GOMAXPROCS)"
	}
	n, bursts := 0, 1
	for _, rs := range g.Runs {
		n, bursts = rs[0].Tasks, max(1, len(rs[0].AfterGaps))
		break
	}
	switch g.Scenario {
	case "tiny", "tiny8":
		return fmt.Sprintf("%s: %s empty tasks from %d submitter(s), %s", g.Scenario, thousands(n), g.submitters, size)
	case "sleep":
		return fmt.Sprintf("sleep: %s tasks of time.Sleep(1 ms), %s", thousands(n), size)
	case "cpu":
		return fmt.Sprintf("cpu: %s tasks of SHA-256 over 80 KiB, %s", thousands(n), size)
	case "latency":
		return fmt.Sprintf("latency: submit → task start on an idle warm pool, %s samples, %s", thousands(n), size)
	case "burst":
		limits := []string{}
		for _, l := range []int{g.Size, g.Size / 4, g.Size / 2, g.Size}[:min(bursts, 4)] {
			limits = append(limits, fmt.Sprint(l))
		}
		return fmt.Sprintf("burst-resize: %d bursts of %s tasks of time.Sleep(100 µs), limit %s (for pools that resize), %v gaps, min %d and idle timeout %v (for pools that take them)",
			bursts, thousands(n/bursts), strings.Join(limits, " → "), burstGap, procs, burstIdle)
	}
	return g.Scenario
}

func thousands(n int) string { return runs.Thousands(n) }

// num formats a figure with a precision that suits its size.
func num(v float64) string { return runs.Num(v) }

func ratio(v, ref float64) string {
	if math.IsNaN(v) || math.IsNaN(ref) || ref <= 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f×", v/ref)
}

// withRatios is "value (×fixed / ×go)"; a reference below floor gives no ratio.
func withRatios(v, fixed, gor, floor float64) string {
	if fixed < floor {
		fixed = math.NaN()
	}
	if gor < floor {
		gor = math.NaN()
	}
	return fmt.Sprintf("%s (%s / %s)", num(v), ratio(v, fixed), ratio(v, gor))
}

// figure is one column of a table.
type figure struct {
	head string
	get  func(Result) float64
	rng  bool // show the range too
	// floor is the smallest reference a ratio is taken to: below it (an
	// allocation count that rounds to none) a ratio means nothing.
	floor float64
}

var (
	fNs     = figure{"ns/task", func(r Result) float64 { return r.NsPerTask }, true, 0}
	fCPU    = figure{"CPU ns/task", func(r Result) float64 { return r.CPUNsPerTask }, false, 0}
	fAllocs = figure{"allocs/task", func(r Result) float64 { return r.AllocsPerTask }, false, 0.05}
	fBytes  = figure{"B/task", func(r Result) float64 { return r.BytesPerTask }, false, 4}
	fGor    = figure{"peak goroutines", func(r Result) float64 { return float64(r.PeakGoroutines) }, false, 1}
	fRSS    = figure{"peak RSS MiB", func(r Result) float64 { return float64(r.PeakRSSKiB) / 1024 }, false, 0}
	fWall   = figure{"wall ms", func(r Result) float64 { return float64(r.WallNs) / 1e6 }, true, 0}
	fP50    = figure{"p50 ns", func(r Result) float64 { return float64(r.P50Ns) }, true, 0}
	fP99    = figure{"p99 ns", func(r Result) float64 { return float64(r.P99Ns) }, true, 0}
	fMax    = figure{"max ns", func(r Result) float64 { return float64(r.MaxNs) }, false, 0}
	fLeft   = figure{"most left after a gap", func(r Result) float64 { return float64(slices.Max(r.AfterGaps)) }, false, 1}
)

func (g *group) figures() []figure {
	switch g.Scenario {
	case "sleep":
		return []figure{fWall, fNs, fCPU, fAllocs, fBytes, fGor, fRSS}
	case "latency":
		return []figure{fP50, fP99, fMax, fAllocs, fBytes, fGor, fRSS}
	case "burst":
		return []figure{fNs, fLeft, fCPU, fAllocs, fBytes, fGor, fRSS}
	}
	return []figure{fNs, fCPU, fAllocs, fBytes, fGor, fRSS}
}

func (g *group) agg(pool string, f figure) agg { return aggregate(g.Runs[pool], f.get) }

func (g *group) table(b *strings.Builder) {
	figs := g.figures()
	fmt.Fprintf(b, "### %s\n\n", g.title())
	head := []string{"pool", "runs"}
	for _, f := range figs {
		head = append(head, f.head)
		if f.rng {
			head = append(head, "range")
		}
	}
	switch g.Scenario {
	case "cpu":
		head = append(head, "work ns (serial)")
	case "burst":
		head = append(head, "resized", "left after each gap (median run)")
	}
	fmt.Fprintf(b, "| %s |\n|%s\n", strings.Join(head, " | "), strings.Repeat("---|", len(head)))
	for _, p := range g.pools() {
		rs := g.Runs[p]
		row := []string{"**" + p + "**", fmt.Sprint(len(rs))}
		if len(rs) == 0 {
			row = append(row, "failed: "+strings.Join(g.Failed[p], "; "))
			fmt.Fprintf(b, "| %s |\n", strings.Join(row, " | "))
			continue
		}
		if n := len(g.Failed[p]); n > 0 {
			row[1] += fmt.Sprintf(" (+%d failed)", n)
		}
		for _, f := range figs {
			a := g.agg(p, f)
			row = append(row, withRatios(a.med, g.agg("fixed", f).med, g.agg("go", f).med, f.floor))
			if f.rng {
				row = append(row, num(a.lo)+"–"+num(a.hi))
			}
		}
		switch g.Scenario {
		case "cpu":
			row = append(row, num(g.agg(p, figure{get: func(r Result) float64 { return r.WorkNs }}).med))
		case "burst":
			med := medianRun(rs, fNs.get)
			resized := "no"
			if med.Resized {
				resized = "yes"
			}
			row = append(row, resized, fmt.Sprint(med.AfterGaps))
		}
		fmt.Fprintf(b, "| %s |\n", strings.Join(row, " | "))
	}
	b.WriteString("\n")
}

// medianRun is the run whose figure f is the median.
func medianRun(rs []Result, f func(Result) float64) Result {
	s := slices.Clone(rs)
	slices.SortFunc(s, func(a, b Result) int { return cmp.Compare(f(a), f(b)) })
	return s[len(s)/2]
}

// targets checks the single-machine speed and memory targets on these runs.
func targets(b *strings.Builder, groups []*group) {
	b.WriteString("## Targets on this run\n\n| target | figures (medians) | met |\n|---|---|---|\n")
	row := func(target, figs string, ok bool, known bool) {
		v := "no"
		switch {
		case !known:
			v = "n/a"
		case ok:
			v = "yes"
		}
		fmt.Fprintf(b, "| %s | %s | %s |\n", target, figs, v)
	}
	med := func(g *group, p string, f figure) float64 { return g.agg(p, f).med }
	bestPeer := func(g *group, f figure) (string, float64) {
		best, bv := "", math.Inf(1)
		for _, p := range peers {
			if v := med(g, p, f); !math.IsNaN(v) && v < bv {
				best, bv = p, v
			}
		}
		return best, bv
	}
	for _, g := range groups {
		tp := func(f figure) float64 { return med(g, "threadpool", f) }
		if len(g.Runs["threadpool"]) == 0 {
			continue
		}
		name := fmt.Sprintf("%s size %d", g.Scenario, g.Size)
		switch g.Scenario {
		case "tiny", "tiny8":
			fx := med(g, "fixed", fNs)
			bp, bv := bestPeer(g, fNs)
			v := tp(fNs)
			row(name+": ≤ 1.5× fixed and faster than every peer",
				fmt.Sprintf("threadpool %s ns, fixed %s (%s), best peer %s %s%s", num(v), num(fx), ratio(v, fx), bp, num(bv), lazyNote(med(g, "lazy", fNs))),
				v <= 1.5*fx && v < bv, !math.IsNaN(fx) && bp != "")
		case "cpu":
			fx := med(g, "fixed", fNs)
			v := tp(fNs)
			row(name+": within 3% of fixed", fmt.Sprintf("threadpool %s ns, fixed %s (%s)", num(v), num(fx), ratio(v, fx)),
				v <= 1.03*fx, !math.IsNaN(fx))
		case "sleep":
			bp, bw := bestPeer(g, fWall)
			rp, br := bestPeer(g, fRSS)
			w, r := tp(fWall), tp(fRSS)
			row(name+": wall ≤ best peer", fmt.Sprintf("threadpool %s ms, best %s %s ms", num(w), bp, num(bw)), w <= bw, bp != "")
			row(name+": peak RSS ≤ best peer", fmt.Sprintf("threadpool %s MiB, best %s %s MiB%s", num(r), rp, num(br), lazyNote(med(g, "lazy", fRSS))), r <= br, rp != "")
		case "latency":
			for _, f := range []figure{fP50, fP99} {
				v, a, fx := tp(f), med(g, "ants", f), med(g, "fixed", f)
				row(name+": "+f.head+" ≤ ants and fixed", fmt.Sprintf("threadpool %s, ants %s, fixed %s%s", num(v), num(a), num(fx), lazyNote(med(g, "lazy", f))),
					v <= a && v <= fx, !math.IsNaN(a) && !math.IsNaN(fx))
			}
		case "burst":
			rs := g.Runs["threadpool"]
			worst := 0
			for _, r := range rs {
				worst = max(worst, slices.Max(r.AfterGaps))
			}
			row(name+": goroutines back to min after each gap", fmt.Sprintf("threadpool: at most %d left, min %d", worst, rs[0].Min),
				worst <= rs[0].Min, true)
			rp, br := bestPeer(g, fRSS)
			r := tp(fRSS)
			row(name+": peak RSS ≤ best peer", fmt.Sprintf("threadpool %s MiB, best %s %s MiB%s", num(r), rp, num(br), lazyNote(med(g, "lazy", fRSS))), r <= br, rp != "")
		}
	}
	b.WriteString("\nAllocation targets (0 allocs per `CallInThread`, ≤ 1 per `Submit` beyond the Future) are measured by the root package's `go test -bench . -benchmem` (see README).\n\n")
}

func writeReport(in, out, note, command string) error {
	groups, n, err := readRuns(in)
	if err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString("# Benchmark results\n\n")
	if note != "" {
		fmt.Fprintf(&b, "> %s\n\n", note)
	}
	quick := false
	for _, g := range groups {
		quick = quick || g.quick
	}
	fmt.Fprintf(&b, "- Date: %s\n", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "- Machine: %d CPUs (nproc), %s, GOMAXPROCS %d\n", runtime.NumCPU(), cpuModel(), runtime.GOMAXPROCS(0))
	fmt.Fprintf(&b, "- Go: %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if la, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Fprintf(&b, "- Load average when the report was written: %s\n", strings.Join(strings.Fields(string(la))[:3], " "))
	}
	fmt.Fprintf(&b, "- Command: `%s` (%d runs, each one scenario on one pool in its own process", command, n)
	if quick {
		b.WriteString("; QUICK mode: a tenth of the work, not for comparison")
	}
	b.WriteString(")\n\n")
	b.WriteString("Each cell is the median over the runs, then in parentheses its ratio to the textbook fixed pool " +
		"(the floor) and to raw goroutines: `value (×fixed / ×go)`. *range* is the smallest and largest run. " +
		"ns/task is the wall time of the measured phase divided by its tasks; CPU ns/task is the process's " +
		"user+system CPU time (getrusage) over the same phase, divided likewise: less sensitive to other load on the machine; allocs and bytes per task are " +
		"runtime.MemStats deltas over the phase (every allocation in the process, the harness's included); peak " +
		"goroutines are sampled every millisecond, above the harness's own; peak RSS is the kernel's VmHWM, " +
		"reset at the start of the phase. A ratio is left out (–) where the reference is too close to zero to divide by. " +
		"See README.md for the pools' settings, and [ANALYSIS.md](ANALYSIS.md) for what the figures mean, " +
		"their caveats and their history (written by hand: run.sh rewrites this file, not that one). " +
		"Charts of these medians: [empty tasks, ns/task](results/dispatch.svg), [hand-over p50](results/latency.svg), " +
		"[peak RSS](results/memory.svg).\n\n")
	targets(&b, groups)
	b.WriteString("## Tables\n\n")
	for _, g := range groups {
		g.table(&b)
	}
	b.WriteString(keepClusterSection(out)) // made by its own runs (cluster_report.go)
	return os.WriteFile(out, []byte(b.String()), 0o644)
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for line := range strings.Lines(string(b)) {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

// lazyNote names the A4 floor's figure when the run has it.
func lazyNote(v float64) string {
	if math.IsNaN(v) {
		return ""
	}
	return fmt.Sprintf("; A4 floor lazy %s", num(v))
}
