// Command bench runs one scenario on one pool and prints one JSON line of
// figures (run mode), or turns the JSON lines of many runs into a Markdown
// report (report mode). bench/run.sh drives both; see bench/README.md.
//
//	bench -pool threadpool -scenario tiny -size 0      # one run, size 0 = GOMAXPROCS
//	bench -report results/raw.jsonl -out RESULTS.md    # the report
package main

import (
	"crypto/sha256"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/twisted-go/threadpool/bench/pools"
)

// Result is the figures of one run: one scenario on one pool in one process.
type Result struct {
	Pool       string `json:"pool"`
	Scenario   string `json:"scenario"`
	Size       int    `json:"size"`
	Submitters int    `json:"submitters"`
	Tasks      int    `json:"tasks"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	Quick      bool   `json:"quick,omitempty"`
	Error      string `json:"error,omitempty"`

	WallNs         int64   `json:"wall_ns"`
	NsPerTask      float64 `json:"ns_per_task"`
	CPUNsPerTask   float64 `json:"cpu_ns_per_task"` // user+system CPU time of the process / tasks
	AllocsPerTask  float64 `json:"allocs_per_task"`
	BytesPerTask   float64 `json:"bytes_per_task"`
	PeakGoroutines int     `json:"peak_goroutines"` // above the harness's own, sampled every ms
	PeakRSSKiB     int64   `json:"peak_rss_kib"`    // VmHWM of the measured phase

	// cpu
	WorkNs float64 `json:"work_ns,omitempty"` // one task's work, run serially
	// latency
	P50Ns int64 `json:"p50_ns,omitempty"`
	P99Ns int64 `json:"p99_ns,omitempty"`
	MaxNs int64 `json:"max_ns,omitempty"`
	// burst
	Resized   bool  `json:"resized,omitempty"`
	Min       int   `json:"min,omitempty"`
	AfterGaps []int `json:"after_gaps,omitempty"` // goroutines above the harness's at the end of each gap

	// cluster scenarios (cluster.go): Size is the number of worker processes
	// and CPUNsPerTask covers every process (server and client, workers).
	Slots              int     `json:"slots,omitempty"` // each worker's pool max
	Prefetch           int     `json:"prefetch,omitempty"`
	Ephemeral          bool    `json:"ephemeral,omitempty"`
	Memory             bool    `json:"memory,omitempty"` // memory storage
	TasksPerSec        float64 `json:"tasks_per_sec,omitempty"`
	StoredPerSec       float64 `json:"stored_per_sec,omitempty"` // cluster-tput: tasks / time until the last Submit returned
	Load1              float64 `json:"load1,omitempty"`          // the 1-minute load average at the start
	WorkerCPUNsPerTask float64 `json:"worker_cpu_ns_per_task,omitempty"`
	DuplicateResults   int     `json:"duplicate_results,omitempty"`
}

func main() {
	var (
		pool       = flag.String("pool", "", "pool to run: "+strings.Join(pools.Names(), ", "))
		scenario   = flag.String("scenario", "", "scenario: tiny, tiny8, sleep, cpu, latency, burst; cluster-tput, cluster-rtt (-pool a cluster variant, -size worker processes)")
		size       = flag.Int("size", 0, "pool size (worker limit); 0 means GOMAXPROCS")
		quick      = flag.Bool("quick", false, "a tenth of the work, to check the instrument")
		smoke      = flag.Bool("smoke", false, "a hundredth of the work (the smoke test's size; implies -quick)")
		cpuprofile = flag.String("cpuprofile", "", "write a CPU profile of the measured phase to this file")
		memprofile = flag.String("memprofile", "", "write an allocation profile (every allocation) to this file")
		report     = flag.String("report", "", "report mode: read JSON lines from this file")
		out        = flag.String("out", "RESULTS.md", "report mode: the Markdown file to write")
		note       = flag.String("note", "", "report mode: a note printed under the title")
		command    = flag.String("command", "bench/run.sh", "report mode: the command that produced the runs")
		clusterRep = flag.String("cluster-report", "", "cluster report mode: read the cluster runs' JSON lines from this file and replace the cluster section of -out")
		clusterW   = flag.String("cluster-worker", "", "run as a cluster worker process on this NATS URL (started by the cluster scenarios)")
		prefetch   = flag.Int("prefetch", 0, "cluster worker: cluster.WithPrefetch")
		slots      = flag.Int("slots", clusterSlots, "cluster worker: its pool's max")
		memory     = flag.Bool("memory", false, "cluster worker: cluster.WithMemoryStorage")
		submitters = flag.Int("submitters", 0, "cluster-tput: submitting goroutines; 0 means 256")
	)
	flag.Parse()
	if *clusterW != "" {
		if err := clusterWorkerMain(*clusterW, *prefetch, *slots, *memory, *cpuprofile); err != nil {
			fmt.Fprintln(os.Stderr, "bench worker:", err)
			os.Exit(1)
		}
		return
	}
	if *clusterRep != "" {
		if err := writeClusterReport(*clusterRep, *out, *note, *command); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if *report != "" {
		if err := writeReport(*report, *out, *note, *command); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if *size == 0 && !strings.HasPrefix(*scenario, "cluster-") {
		*size = runtime.GOMAXPROCS(0)
	}
	if *memprofile != "" {
		runtime.MemProfileRate = 1
	}
	if *smoke {
		*quick, quickDiv = true, 100
	}
	var r *Result
	var err error
	if strings.HasPrefix(*scenario, "cluster-") {
		r, err = runCluster(*pool, *scenario, *size, *submitters, *quick, *cpuprofile)
	} else {
		r, err = run(*pool, *scenario, *size, *quick, *cpuprofile)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	if *memprofile != "" {
		if f, err := os.Create(*memprofile); err == nil {
			_ = pprof.Lookup("allocs").WriteTo(f, 0)
			f.Close()
		}
	}
	b, _ := json.Marshal(r)
	fmt.Println(string(b))
}

// quickDiv divides the work sizes under -quick (-smoke: 100).
var quickDiv = 10

// Work sizes of the full run; -quick divides them by quickDiv.
const (
	tinyTasks      = 1_000_000
	sleepTasks     = 20_000
	cpuTasks       = 10_000
	latencySamples = 2_000
	burstTasks     = 50_000
	warmTasks      = 10_000 // tasks run before the measured phase of tiny
)

var (
	epoch = time.Now()
	// cpuBuf is what a cpu task hashes: SHA-256 of 80 KiB is about 50 µs
	// on the 2-core machine the targets were set on.
	cpuBuf = make([]byte, 80<<10)
	sink   atomic.Uint64
)

func now() int64 { return int64(time.Since(epoch)) }

func cpuWork() {
	h := sha256.Sum256(cpuBuf)
	sink.Add(uint64(h[0]))
}

func run(poolName, scenario string, size int, quick bool, cpuprofile string) (*Result, error) {
	div := 1
	if quick {
		div = quickDiv
	}
	r := &Result{Pool: poolName, Scenario: scenario, Size: size, Submitters: 1,
		GOMAXPROCS: runtime.GOMAXPROCS(0), Quick: quick}
	cfg := pools.Config{Size: size}
	switch scenario {
	case "tiny", "tiny8", "sleep", "cpu", "latency":
	case "burst":
		cfg.Min = runtime.GOMAXPROCS(0)
		cfg.IdleTimeout = burstIdle
		r.Min = cfg.Min
	default:
		return nil, fmt.Errorf("unknown scenario %q", scenario)
	}
	if scenario == "cpu" {
		r.WorkNs = measureWork()
	}

	base := runtime.NumGoroutine()
	p, err := pools.New(poolName, cfg)
	if err != nil {
		return nil, err
	}

	// m measures the phase between start and stop.
	var m meter
	m.base = base + 1 // the sampler itself
	var stopProfile func()
	start := func() {
		runtime.GC()
		resetHWM()
		if cpuprofile != "" {
			f, err := os.Create(cpuprofile)
			if err == nil && pprof.StartCPUProfile(f) == nil {
				stopProfile = func() { pprof.StopCPUProfile(); f.Close() }
			}
		}
		m.start()
	}
	stop := func(tasks int) {
		m.stop()
		if stopProfile != nil {
			stopProfile()
		}
		m.fill(r, tasks)
	}

	var wg sync.WaitGroup
	switch scenario {
	case "tiny", "tiny8":
		if scenario == "tiny8" {
			r.Submitters = 8
		}
		submit := p.Submitter(func() { wg.Done() })
		batch(&wg, submit, warmTasks/div, r.Submitters)
		n := tinyTasks / div
		start()
		batch(&wg, submit, n, r.Submitters)
		stop(n)
	case "sleep":
		submit := p.Submitter(func() { time.Sleep(time.Millisecond); wg.Done() })
		batch(&wg, submit, size, 1)
		n := sleepTasks / div
		start()
		batch(&wg, submit, n, 1)
		stop(n)
	case "cpu":
		submit := p.Submitter(func() { cpuWork(); wg.Done() })
		batch(&wg, submit, 100, 1)
		n := cpuTasks / div
		start()
		batch(&wg, submit, n, 1)
		stop(n)
	case "latency":
		started := make(chan int64, 1)
		submit := p.Submitter(func() { started <- now() })
		handoff := func() int64 {
			// Let the last task's worker go back to sleep: the pool is idle.
			time.Sleep(latencyGap)
			t0 := now()
			submit()
			return <-started - t0
		}
		for range 200 {
			handoff()
		}
		n := latencySamples / div
		lat := make([]int64, n)
		start()
		for i := range lat {
			lat[i] = handoff()
		}
		stop(n)
		slices.Sort(lat)
		r.P50Ns, r.P99Ns, r.MaxNs = lat[n/2], lat[n*99/100], lat[n-1]
	case "burst":
		submit := p.Submitter(func() { time.Sleep(burstTaskSleep); wg.Done() })
		rs, resizable := p.(pools.Resizer)
		r.Resized = resizable
		limits := []int{size, size / 4, size / 2, size}
		if quick {
			limits = limits[:2]
		}
		n := burstTasks / div
		start()
		var busy time.Duration
		for _, limit := range limits {
			if resizable {
				rs.Resize(max(limit, 1))
			}
			t0 := time.Now()
			batch(&wg, submit, n, 1)
			busy += time.Since(t0)
			time.Sleep(burstGap)
			r.AfterGaps = append(r.AfterGaps, runtime.NumGoroutine()-m.base)
		}
		stop(n * len(limits))
		r.WallNs = int64(busy) // the bursts, without the gaps
		r.NsPerTask = float64(busy) / float64(n*len(limits))
	}
	p.Close()
	return r, nil
}

const (
	latencyGap     = 100 * time.Microsecond
	burstTaskSleep = 100 * time.Microsecond
	burstGap       = 400 * time.Millisecond
	burstIdle      = 100 * time.Millisecond // idle timeout for pools that take one
)

// batch submits n tasks from the given number of goroutines (the calling
// one when 1) and waits until all have run.
func batch(wg *sync.WaitGroup, submit func(), n, submitters int) {
	wg.Add(n)
	if submitters == 1 {
		for range n {
			submit()
		}
	} else {
		var sg sync.WaitGroup
		for i := range submitters {
			k := n / submitters
			if i < n%submitters {
				k++
			}
			sg.Go(func() {
				for range k {
					submit()
				}
			})
		}
		sg.Wait()
	}
	wg.Wait()
}

// measureWork returns the median time of one cpu task run serially.
func measureWork() float64 {
	d := make([]int64, 101)
	for i := range d {
		t0 := now()
		cpuWork()
		d[i] = now() - t0
	}
	slices.Sort(d)
	return float64(d[len(d)/2])
}

// meter takes the figures of the measured phase.
type meter struct {
	base  int
	peak  atomic.Int64
	done  chan struct{}
	ended sync.WaitGroup
	t0    time.Time
	wall  time.Duration
	ms0   runtime.MemStats
	ms1   runtime.MemStats
	cpu0  time.Duration
	cpu1  time.Duration
}

// cpuTime is the user and system CPU time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func (m *meter) start() {
	m.done = make(chan struct{})
	m.ended.Add(1)
	go func() {
		defer m.ended.Done()
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			if g := int64(runtime.NumGoroutine() - m.base); g > m.peak.Load() {
				m.peak.Store(g)
			}
			select {
			case <-m.done:
				return
			case <-t.C:
			}
		}
	}()
	runtime.ReadMemStats(&m.ms0)
	m.cpu0 = cpuTime()
	m.t0 = time.Now()
}

func (m *meter) stop() {
	m.wall = time.Since(m.t0)
	m.cpu1 = cpuTime()
	runtime.ReadMemStats(&m.ms1)
	close(m.done)
	m.ended.Wait()
}

func (m *meter) fill(r *Result, tasks int) {
	r.Tasks = tasks
	r.WallNs = int64(m.wall)
	r.NsPerTask = float64(m.wall) / float64(tasks)
	r.CPUNsPerTask = float64(m.cpu1-m.cpu0) / float64(tasks)
	r.AllocsPerTask = float64(m.ms1.Mallocs-m.ms0.Mallocs) / float64(tasks)
	r.BytesPerTask = float64(m.ms1.TotalAlloc-m.ms0.TotalAlloc) / float64(tasks)
	r.PeakGoroutines = int(m.peak.Load())
	r.PeakRSSKiB = vmHWM()
}

// resetHWM resets the kernel's peak RSS of the process to its current RSS
// (Linux ≥ 4.0), so VmHWM covers only the measured phase.
func resetHWM() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// vmHWM returns the peak resident set size in KiB, or -1.
func vmHWM() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				v, err := strconv.ParseInt(f[0], 10, 64)
				if err == nil {
					return v
				}
			}
		}
	}
	return -1
}
