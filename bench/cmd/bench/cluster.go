package main

// The cluster scenarios: the pool across processes on NATS JetStream
// (module cluster). The bench process runs an embedded NATS server
// (natsembed, on a loopback port) and the submitting Client; the workers are
// this binary re-executed (-cluster-worker URL), one cluster.Worker each.
//
//	bench -scenario cluster-tput -pool exact-ephemeral -size 3   # size = worker processes
//	bench -scenario cluster-rtt  -pool prefetch100 -size 1
//
// The "pool" names the variant: "exact" or "prefetch<N>" (cluster.WithPrefetch),
// then "-ephemeral" for cluster.WithEphemeralResults (else results are stored,
// the default), then "-memory" for cluster.WithMemoryStorage (else the
// default file storage). Handlers are empty.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/twisted-go/threadpool"
	"github.com/twisted-go/threadpool/cluster"
	"github.com/twisted-go/threadpool/cluster/natsembed"
)

// Work sizes of the cluster scenarios (full run; -quick divides them by quickDiv).
const (
	clusterTasks      = 20_000 // cluster-tput: measured tasks
	clusterWarm       = 1_000  // cluster-tput: warm-up tasks
	clusterSubmitters = 256    // cluster-tput: concurrent submitting goroutines (Submit waits for the PubAck)
	clusterSamples    = 2_000  // cluster-rtt: measured round trips
	clusterWarmRTT    = 200    // cluster-rtt: warm-up round trips
	clusterSlots      = 16     // each worker's pool: New(0, clusterSlots)
	clusterPrefix     = "bench"
	clusterWait       = 120 * time.Second // bound of every wait of a run
)

// clusterVariants are the variants run.sh runs, in the report's order.
var clusterVariants = []string{"exact", "exact-ephemeral", "prefetch100", "prefetch100-ephemeral", "prefetch100-ephemeral-memory"}

// clusterVariant is a parsed variant name.
type clusterVariant struct {
	prefetch  int
	ephemeral bool
	memory    bool // cluster.WithMemoryStorage
}

// parseVariant parses exact|prefetch<N>[-ephemeral][-memory].
func parseVariant(name string) (clusterVariant, error) {
	var v clusterVariant
	mode, mem := strings.CutSuffix(name, "-memory")
	mode, eph := strings.CutSuffix(mode, "-ephemeral")
	v.ephemeral, v.memory = eph, mem
	switch {
	case mode == "exact":
	case strings.HasPrefix(mode, "prefetch"):
		n, err := strconv.Atoi(strings.TrimPrefix(mode, "prefetch"))
		if err != nil || n < 1 {
			return v, fmt.Errorf("bad cluster variant %q", name)
		}
		v.prefetch = n
	default:
		return v, fmt.Errorf("unknown cluster variant %q: exact or prefetch<N>, then optionally -ephemeral, -memory", name)
	}
	return v, nil
}

// registry is the benchmark's handler: it returns its argument.
func registry() (*cluster.Registry, cluster.Task[int, int]) {
	r := cluster.NewRegistry()
	t := cluster.Register(r, "empty", func(ctx context.Context, n int) (int, error) { return n, nil })
	return r, t
}

// clusterWorkerMain is the body of a worker process: a cluster.Worker on url
// until SIGTERM, SIGINT or the end of its connection.
func clusterWorkerMain(url string, prefetch, slots int, memory bool, cpuprofile string) error {
	closed := make(chan struct{})
	nc, err := nats.Connect(url, nats.Name("bench worker"), nats.MaxReconnects(0),
		nats.ClosedHandler(func(*nats.Conn) { close(closed) }))
	if err != nil {
		return err
	}
	defer nc.Close()
	reg, _ := registry()
	opts := []cluster.Option{cluster.WithPrefix(clusterPrefix), cluster.WithPrefetch(prefetch)}
	if memory {
		opts = append(opts, cluster.WithMemoryStorage())
	}
	w, err := cluster.NewWorker(nc, reg, 0, slots, opts...)
	if err != nil {
		return err
	}
	if cpuprofile != "" {
		f, err := os.Create(cpuprofile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	if err := w.Start(); err != nil {
		return err
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	select {
	case <-sig:
	case <-closed:
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	w.Shutdown(ctx)
	return nil
}

// workerProcs are the worker processes of one run.
type workerProcs struct {
	cmds []*exec.Cmd
}

func startWorkerProcs(url string, n int, v clusterVariant, slots int, cpuprofile string) (*workerProcs, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	wp := &workerProcs{}
	for i := range n {
		args := []string{"-cluster-worker", url, "-prefetch", fmt.Sprint(v.prefetch), "-slots", fmt.Sprint(slots),
			"-memory=" + fmt.Sprint(v.memory)}
		if cpuprofile != "" {
			args = append(args, "-cpuprofile", fmt.Sprintf("%s.worker%d", cpuprofile, i+1))
		}
		cmd := exec.Command(exe, args...)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		cmd.WaitDelay = 5 * time.Second
		setPdeathsig(cmd)
		if err := cmd.Start(); err != nil {
			wp.stop()
			return nil, err
		}
		wp.cmds = append(wp.cmds, cmd)
	}
	return wp, nil
}

// stop ends the worker processes: SIGTERM, then SIGKILL after 5 s.
func (wp *workerProcs) stop() {
	for _, c := range wp.cmds {
		c.Process.Signal(syscall.SIGTERM)
	}
	for _, c := range wp.cmds {
		done := make(chan struct{})
		go func() { c.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			c.Process.Kill()
			<-done
		}
	}
}

// cpu is the user+system CPU time of the worker processes, from /proc.
func (wp *workerProcs) cpu() time.Duration {
	var total time.Duration
	for _, c := range wp.cmds {
		total += procCPU(c.Process.Pid)
	}
	return total
}

// procCPU is a process's utime+stime from /proc/<pid>/stat (clock ticks of
// 10 ms), or 0.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The fields after the command (which is in parentheses).
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// runCluster runs one cluster scenario with procs worker processes;
// submitters 0 means clusterSubmitters.
func runCluster(variant, scenario string, procs, submitters int, quick bool, cpuprofile string) (r *Result, err error) {
	v, err := parseVariant(variant)
	if err != nil {
		return nil, err
	}
	if procs < 1 {
		return nil, errors.New("cluster scenarios need -size ≥ 1 (worker processes)")
	}
	div := 1
	if quick {
		div = quickDiv
	}
	r = &Result{Pool: variant, Load1: load1(), Scenario: scenario, Size: procs, GOMAXPROCS: runtime.GOMAXPROCS(0), Quick: quick,
		Slots: clusterSlots, Prefetch: v.prefetch, Ephemeral: v.ephemeral, Memory: v.memory}
	ctx, cancel := context.WithTimeout(context.Background(), clusterWait)
	defer cancel()

	srv, err := natsembed.Start(natsembed.Options{Port: -1})
	if err != nil {
		return nil, err
	}
	defer srv.Shutdown()
	nc, err := srv.Connect()
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	opts := []cluster.Option{cluster.WithPrefix(clusterPrefix)}
	if v.ephemeral {
		opts = append(opts, cluster.WithEphemeralResults())
	}
	if v.memory {
		opts = append(opts, cluster.WithMemoryStorage())
	}
	c, err := cluster.NewClient(ctx, nc, opts...)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	wp, err := startWorkerProcs(srv.ClientURL(), procs, v, clusterSlots, cpuprofile)
	if err != nil {
		return nil, err
	}
	defer wp.stop()
	if err := waitMachines(ctx, c, procs); err != nil {
		return nil, err
	}
	_, task := registry()

	var m meter
	m.base = runtime.NumGoroutine() + 1
	var stopProfile func()
	var wcpu0 time.Duration
	start := func() {
		runtime.GC()
		resetHWM()
		if cpuprofile != "" {
			f, err := os.Create(cpuprofile)
			if err == nil && pprof.StartCPUProfile(f) == nil {
				stopProfile = func() { pprof.StopCPUProfile(); f.Close() }
			}
		}
		wcpu0 = wp.cpu()
		m.start()
	}
	stop := func(tasks int) {
		m.stop()
		wcpu := wp.cpu() - wcpu0
		if stopProfile != nil {
			stopProfile()
		}
		m.fill(r, tasks)
		r.WorkerCPUNsPerTask = float64(wcpu) / float64(tasks)
		r.CPUNsPerTask += r.WorkerCPUNsPerTask // every process's
		r.TasksPerSec = float64(tasks) / (float64(r.WallNs) / 1e9)
	}

	switch scenario {
	case "cluster-tput":
		r.Submitters = clusterSubmitters
		if submitters > 0 {
			r.Submitters = submitters
		}
		if _, err := clusterBatch(ctx, c, task, clusterWarm/div, r.Submitters); err != nil {
			return nil, fmt.Errorf("warm-up: %w", err)
		}
		n := clusterTasks / div
		start()
		t0 := time.Now()
		stored, err := clusterBatch(ctx, c, task, n, r.Submitters)
		stop(n)
		if err != nil {
			return nil, err
		}
		r.StoredPerSec = float64(n) / stored.Sub(t0).Seconds()
	case "cluster-rtt":
		r.Submitters = 1
		roundTrip := func(i int) (time.Duration, error) {
			t0 := time.Now()
			v, err := cluster.Submit(context.Background(), c, task, i).Wait(ctx)
			d := time.Since(t0)
			if err == nil && v != i {
				err = fmt.Errorf("task %d returned %d", i, v)
			}
			return d, err
		}
		for i := range clusterWarmRTT / div {
			if _, err := roundTrip(i); err != nil {
				return nil, fmt.Errorf("warm-up: %w", err)
			}
		}
		n := clusterSamples / div
		lat := make([]int64, n)
		start()
		for i := range lat {
			d, err := roundTrip(i)
			if err != nil {
				return nil, err
			}
			lat[i] = int64(d)
		}
		stop(n)
		slices.Sort(lat)
		r.P50Ns, r.P99Ns, r.MaxNs = lat[n/2], lat[n*99/100], lat[n-1]
	default:
		return nil, fmt.Errorf("unknown scenario %q", scenario)
	}
	st, err := c.Stats(ctx)
	if err == nil {
		r.DuplicateResults = st.DuplicateResults
	}
	return r, nil
}

// clusterBatch submits n empty tasks from the given number of goroutines,
// each waiting for its own Futures once it has submitted its share, checks
// every value, and returns when the last Submit returned (all tasks stored).
func clusterBatch(ctx context.Context, c *cluster.Client, task cluster.Task[int, int], n, submitters int) (time.Time, error) {
	var wg, submitted sync.WaitGroup
	errs := make(chan error, submitters)
	submitted.Add(submitters)
	for s := range submitters {
		wg.Go(func() {
			var fs []*threadpool.Future[int]
			for i := s; i < n; i += submitters {
				fs = append(fs, cluster.Submit(context.Background(), c, task, i))
			}
			submitted.Done()
			for k, f := range fs {
				i := s + k*submitters
				v, err := f.Wait(ctx)
				if err == nil && v != i {
					err = fmt.Errorf("task %d returned %d", i, v)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	submitted.Wait()
	stored := time.Now()
	wg.Wait()
	close(errs)
	return stored, <-errs // nil when none failed
}

// waitMachines waits until n workers answer Stats.
func waitMachines(ctx context.Context, c *cluster.Client, n int) error {
	for {
		sctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		st, err := c.Stats(sctx)
		cancel()
		if err == nil && st.Machines >= n {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%d of %d worker processes answered: %w", st.Machines, n, ctx.Err())
		}
	}
}

// load1 is the 1-minute load average when the run starts: the cluster
// scenarios use every core, so other load on the machine shows in them.
func load1() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return -1
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}
