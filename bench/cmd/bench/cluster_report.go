package main

import (
	"bufio"
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"
)

// clusterMarker starts the cluster section of RESULTS.md. The section runs
// to the end of the file; writeClusterReport replaces it, and writeReport
// (the single-machine report) keeps it.
const clusterMarker = "<!-- cluster section: written by bench -cluster-report; see run.sh CLUSTER= -->"

// The cluster's speed targets, read from a probe made before the module
// was written (ephemeral results, 3 worker processes, on 2 cores); stored
// results are to reach at least half of them.
const (
	targetExactTput    = 10_000.0 // tasks/s, exact pull
	targetPrefetchTput = 45_000.0 // tasks/s, prefetch 100
	targetP50          = 0.41     // ms
	targetP99          = 0.76     // ms
)

// groupsMarker starts the task groups section of RESULTS.md, written by
// hand from the testing.B benchmarks of bench/groups. It runs to
// the cluster section; both reports keep it.
const groupsMarker = "<!-- groups section: from bench/groups (go test -bench), kept by both reports -->"

// keepClusterSection returns the sections of the file at path that the
// single-machine report keeps: the groups section, if any, and the cluster
// section, from the first of their markers to the end; or "".
func keepClusterSection(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	for _, m := range []string{groupsMarker, clusterMarker} {
		if i := strings.Index(string(b), m); i >= 0 {
			return string(b[i:])
		}
	}
	return ""
}

// clusterKey is one table row: a variant with a number of worker processes.
type clusterKey struct {
	scenario, variant string
	procs             int
}

func readClusterRuns(path string) (map[clusterKey][]Result, map[clusterKey][]string, int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, 0, err
	}
	defer f.Close()
	runs := map[clusterKey][]Result{}
	failed := map[clusterKey][]string{}
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var r Result
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			return nil, nil, 0, fmt.Errorf("%s: %v: %s", path, err, line)
		}
		n++
		k := clusterKey{r.Scenario, r.Pool, r.Size}
		if r.Error != "" {
			failed[k] = append(failed[k], r.Error)
			continue
		}
		runs[k] = append(runs[k], r)
	}
	return runs, failed, n, sc.Err()
}

// writeClusterReport replaces the cluster section of out (appending one if
// it has none) with the tables of the cluster runs in the file in.
func writeClusterReport(in, out, note, command string) error {
	runs, failed, n, err := readClusterRuns(in)
	if err != nil {
		return err
	}
	var keys []clusterKey
	for k := range runs {
		keys = append(keys, k)
	}
	for k := range failed {
		if runs[k] == nil {
			keys = append(keys, k)
		}
	}
	variantIndex := func(v string) int {
		if i := slices.Index(clusterVariants, v); i >= 0 {
			return i
		}
		return len(clusterVariants)
	}
	slices.SortFunc(keys, func(a, b clusterKey) int {
		return cmp.Or(cmp.Compare(a.scenario, b.scenario), cmp.Compare(a.procs, b.procs),
			cmp.Compare(variantIndex(a.variant), variantIndex(b.variant)), cmp.Compare(a.variant, b.variant))
	})
	med := func(k clusterKey, f func(Result) float64) agg { return aggregate(runs[k], f) }
	tput := func(r Result) float64 { return r.TasksPerSec }
	p50 := func(r Result) float64 { return float64(r.P50Ns) / 1e6 }
	p99 := func(r Result) float64 { return float64(r.P99Ns) / 1e6 }
	quick, loads, slots := false, []float64{}, 0
	for _, rs := range runs {
		for _, r := range rs {
			quick = quick || r.Quick
			loads = append(loads, r.Load1)
			slots = r.Slots
		}
	}

	var b strings.Builder
	b.WriteString(clusterMarker + "\n\n## Across machines: the cluster module\n\n")
	if note != "" {
		fmt.Fprintf(&b, "> %s\n\n", note)
	}
	fmt.Fprintf(&b, "- Date: %s\n", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "- Machine: %d CPUs (nproc), %s, GOMAXPROCS %d\n", runtime.NumCPU(), cpuModel(), runtime.GOMAXPROCS(0))
	fmt.Fprintf(&b, "- Go: %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if len(loads) > 0 {
		fmt.Fprintf(&b, "- 1-minute load average at the start of each run: %s–%s (the runs use every core: load from other processes lowers the figures)\n",
			num(slices.Min(loads)), num(slices.Max(loads)))
	}
	fmt.Fprintf(&b, "- Command: `%s` (%d runs, each in its own process", command, n)
	if quick {
		b.WriteString("; QUICK mode: a tenth of the work, not for comparison")
	}
	b.WriteString(")\n\n")
	fmt.Fprintf(&b, "Each run starts one embedded NATS server (natsembed on a loopback port; the cluster "+
		"module's default stream settings: file storage, AckWait 30 s) and the submitting `cluster.Client` in the "+
		"bench process, and N worker processes (the bench binary re-executed), each one `cluster.Worker` "+
		"on a local pool of 0..%d, all on the same 2 cores. Handlers are empty (they return their argument). "+
		"*exact* is the default exact pull; *prefetch100* is `WithPrefetch(100)`; *-ephemeral* is "+
		"`WithEphemeralResults()`, else results are stored (the default); *-memory* is `WithMemoryStorage()` "+
		"(streams in the server's memory: no file writes, and nothing survives a server restart). "+
		"**cluster-tput**: %s tasks submitted by %d goroutines (`Submit` returns once the task is stored), "+
		"each then waiting for its Futures; tasks/s is tasks over the wall time until the last Future "+
		"resolved; stored/s is tasks over the time until the last `Submit` returned. "+
		"**cluster-rtt**: %s sequential round trips, `Submit` to the Future resolved, on a warm idle cluster. "+
		"CPU µs/task is the user+system CPU time of every process (the bench process: server and client; "+
		"/proc for the workers) over the measured phase; the workers' share is shown apart. "+
		"Each cell is the median over the runs; *range* is the smallest and largest run.\n\n",
		slots, thousands(clusterTasks), clusterSubmitters, thousands(clusterSamples))

	// Targets.
	b.WriteString("### The cluster's speed targets on this run\n\n" +
		"From a probe made before the module was written: ephemeral results, 3 worker processes, 2 cores: about 10,000 tasks/s in exact mode, " +
		"45,000 with a prefetch of 100, a round trip of 0.41 ms p50 / 0.76 ms p99; stored results within half of that " +
		"(at least half the throughput, at most twice the round trip).\n\n" +
		"| target | figures (medians) | met |\n|---|---|---|\n")
	row := func(target string, k clusterKey, f func(Result) float64, unit string, want float64, atLeast bool) {
		rs := runs[k]
		if len(rs) == 0 {
			fmt.Fprintf(&b, "| %s | no run | n/a |\n", target)
			return
		}
		v := aggregate(rs, f).med
		ok := v >= want
		if !atLeast {
			ok = v <= want
		}
		met := "no"
		if ok {
			met = "yes"
		}
		fmt.Fprintf(&b, "| %s | %s %s (%s) | %s |\n", target, num(v), unit, ratio(v, want)+" of the target", met)
	}
	for _, eph := range []bool{true, false} {
		suffix, scale, what := "-ephemeral", 1.0, "ephemeral"
		if !eph {
			suffix, scale, what = "", 0.5, "stored"
		}
		row(fmt.Sprintf("%s, 3 workers, exact: ≥ %s tasks/s", what, thousands(int(targetExactTput*scale))),
			clusterKey{"cluster-tput", "exact" + suffix, 3}, tput, "tasks/s", targetExactTput*scale, true)
		row(fmt.Sprintf("%s, 3 workers, prefetch 100: ≥ %s tasks/s", what, thousands(int(targetPrefetchTput*scale))),
			clusterKey{"cluster-tput", "prefetch100" + suffix, 3}, tput, "tasks/s", targetPrefetchTput*scale, true)
		if k := (clusterKey{"cluster-tput", "prefetch100" + suffix + "-memory", 3}); len(runs[k]) > 0 {
			row(fmt.Sprintf("%s, memory storage, 3 workers, prefetch 100: ≥ %s tasks/s", what, thousands(int(targetPrefetchTput*scale))),
				k, tput, "tasks/s", targetPrefetchTput*scale, true)
		}
		row(fmt.Sprintf("%s, 3 workers, exact: round trip p50 ≤ %s ms", what, num(targetP50/scale)),
			clusterKey{"cluster-rtt", "exact" + suffix, 3}, p50, "ms", targetP50/scale, false)
		row(fmt.Sprintf("%s, 3 workers, exact: round trip p99 ≤ %s ms", what, num(targetP99/scale)),
			clusterKey{"cluster-rtt", "exact" + suffix, 3}, p99, "ms", targetP99/scale, false)
	}
	b.WriteString("\n")

	rangeOf := func(a agg) string { return num(a.lo) + "–" + num(a.hi) }
	us := func(f func(Result) float64) func(Result) float64 {
		return func(r Result) float64 { return f(r) / 1000 }
	}
	cpuAll := us(func(r Result) float64 { return r.CPUNsPerTask })
	cpuW := us(func(r Result) float64 { return r.WorkerCPUNsPerTask })
	runsCell := func(k clusterKey) string {
		s := fmt.Sprint(len(runs[k]))
		if f := len(failed[k]); f > 0 {
			s += fmt.Sprintf(" (+%d failed)", f)
		}
		return s
	}
	failedRow := func(k clusterKey) bool {
		if len(runs[k]) > 0 {
			return false
		}
		fmt.Fprintf(&b, "| **%s** | %d | 0 | failed: %s |\n", k.variant, k.procs, strings.Join(failed[k], "; "))
		return true
	}
	for _, sc := range []string{"cluster-tput", "cluster-rtt"} {
		first := true
		for _, k := range keys {
			if k.scenario != sc {
				continue
			}
			if first {
				first = false
				if sc == "cluster-tput" {
					fmt.Fprintf(&b, "### cluster-tput: %s empty tasks from %d submitting goroutines\n\n", thousands(runsTasks(runs, sc)), clusterSubmitters)
					b.WriteString("| variant | worker processes | runs | tasks/s | range | stored/s | CPU µs/task (all) | workers' CPU µs/task | allocs/task (server + client) | load1 |\n|---|---|---|---|---|---|---|---|---|---|\n")
				} else {
					fmt.Fprintf(&b, "### cluster-rtt: %s sequential round trips, Submit → Future resolved\n\n", thousands(runsTasks(runs, sc)))
					b.WriteString("| variant | worker processes | runs | p50 ms | range | p99 ms | range | max ms | CPU µs/task (all) | workers' CPU µs/task | load1 |\n|---|---|---|---|---|---|---|---|---|---|---|\n")
				}
			}
			if failedRow(k) {
				continue
			}
			load := rangeOf(med(k, func(r Result) float64 { return r.Load1 }))
			if sc == "cluster-tput" {
				t := med(k, tput)
				fmt.Fprintf(&b, "| **%s** | %d | %s | %s | %s | %s | %s | %s | %s | %s |\n", k.variant, k.procs, runsCell(k),
					num(math.Round(t.med)), rangeOf(t), num(math.Round(med(k, func(r Result) float64 { return r.StoredPerSec }).med)),
					num(med(k, cpuAll).med), num(med(k, cpuW).med),
					num(med(k, func(r Result) float64 { return r.AllocsPerTask }).med), load)
			} else {
				a50, a99 := med(k, p50), med(k, p99)
				fmt.Fprintf(&b, "| **%s** | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", k.variant, k.procs, runsCell(k),
					num(a50.med), rangeOf(a50), num(a99.med), rangeOf(a99),
					num(med(k, func(r Result) float64 { return float64(r.MaxNs) / 1e6 }).med),
					num(med(k, cpuAll).med), num(med(k, cpuW).med), load)
			}
		}
		if !first {
			b.WriteString("\n")
		}
	}

	old, err := os.ReadFile(out)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	head := string(old)
	if i := strings.Index(head, clusterMarker); i >= 0 {
		head = head[:i]
	}
	if head != "" && !strings.HasSuffix(head, "\n\n") {
		head = strings.TrimRight(head, "\n") + "\n\n"
	}
	return os.WriteFile(out, []byte(head+b.String()), 0o644)
}

// runsTasks is the task count of the scenario's runs (they all have the same).
func runsTasks(runs map[clusterKey][]Result, scenario string) int {
	for k, rs := range runs {
		if k.scenario == scenario && len(rs) > 0 {
			return rs[0].Tasks
		}
	}
	return 0
}
