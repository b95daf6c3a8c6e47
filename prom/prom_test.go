package prom_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/goleak"

	"github.com/twisted-go/threadpool"
	"github.com/twisted-go/threadpool/prom"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var counterNames = []string{
	"threadpool_tasks_submitted_total", "threadpool_tasks_completed_total",
	"threadpool_tasks_failed_total", "threadpool_tasks_canceled_total",
	"threadpool_tasks_rejected_total", "threadpool_worker_init_failures_total",
}

var gaugeNames = []string{
	"threadpool_queue_tasks", "threadpool_workers", "threadpool_workers_min",
	"threadpool_workers_max", "threadpool_workers_peak",
}

// failingInit returns the options that give a pool a worker init hook
// failing its first n calls (then succeeding), and a logger that discards
// every record but the pool's reports of those failures: awaitInitFailures
// waits for them. The pool reports a failure once it has counted it in
// Stats.InitFailed.
func failingInit(n int) ([]threadpool.Option, <-chan struct{}) {
	var calls atomic.Int64
	reported := make(chan struct{}, n)
	return []threadpool.Option{
		threadpool.WithLogger(slog.New(initFailures(reported))),
		threadpool.WithWorkerInit(func(threadpool.ThreadInfo) (func(), error) {
			if calls.Add(1) <= int64(n) {
				return nil, errors.New("init failed")
			}
			return nil, nil
		}),
	}, reported
}

// awaitInitFailures waits, 10 s at most, for n reports from failingInit.
func awaitInitFailures(t *testing.T, reported <-chan struct{}, n int) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for i := range n {
		select {
		case <-reported:
		case <-timeout:
			t.Fatalf("%d of %d worker init failures reported in 10 s", i, n)
		}
	}
}

// initFailures is a slog.Handler that signals each worker init failure
// logged, and discards every other record.
type initFailures chan<- struct{}

func (h initFailures) Enabled(context.Context, slog.Level) bool { return true }
func (h initFailures) Handle(_ context.Context, r slog.Record) error {
	if r.Message == "threadpool: worker init failed" {
		select {
		case h <- struct{}{}:
		default: // more failures than the hook makes: awaitInitFailures tells
		}
	}
	return nil
}
func (h initFailures) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h initFailures) WithGroup(string) slog.Handler      { return h }

// busyPool returns a stopped pool named name that has seen every outcome:
// completed, failed (error and panic), canceled (StopNow), rejected; and
// two workers whose init hook failed.
func busyPool(t *testing.T, name string, opts ...threadpool.Option) *threadpool.Pool {
	t.Helper()
	initOpts, initFailed := failingInit(2)
	opts = append(append(opts, threadpool.WithName(name)), initOpts...)
	p, err := threadpool.New(1, 2, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(); err != nil { // its one worker's init fails
		t.Fatal(err)
	}
	awaitInitFailures(t, initFailed, 1)
	if err := p.StartAWorker(); err != nil { // and so does this one's
		t.Fatal(err)
	}
	awaitInitFailures(t, initFailed, 1)
	if s := p.Stats(); s.InitFailed != 2 || s.Workers != 0 {
		t.Fatalf("after two failed inits: %+v", s)
	}
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Add(1)
		err := p.CallInThreadWithCallback(func(any, error) { wg.Done() }, func() (any, error) {
			time.Sleep(time.Millisecond)
			if i%5 == 0 {
				return nil, errors.New("failed")
			}
			return i, nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	wg.Add(1)
	if err := p.CallInThread(func() { defer wg.Done(); panic("boom") }); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	gate, started := make(chan struct{}), make(chan struct{}, 2)
	for range 2 {
		_ = p.CallInThread(func() { started <- struct{}{}; <-gate })
	}
	<-started
	<-started
	for range 3 {
		_ = p.CallInThread(func() {})
	}
	if n := p.StopNow(); n != 3 {
		t.Fatalf("StopNow dropped %d, want 3", n)
	}
	close(gate)
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := p.CallInThread(func() {}); !errors.Is(err, threadpool.ErrStopped) {
		t.Fatalf("after Stop: %v", err)
	}
	return p
}

// expected renders the counters and gauges that s should produce.
func expected(name string, s threadpool.Stats) string {
	var b strings.Builder
	counter := func(n, help string, v uint64) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s counter\n%s{pool=%q} %d\n", n, help, n, n, name, v)
	}
	gauge := func(n, help string, v int) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s gauge\n%s{pool=%q} %d\n", n, help, n, n, name, v)
	}
	counter("threadpool_tasks_submitted_total", "Tasks accepted by the pool.", s.Submitted)
	counter("threadpool_tasks_completed_total", "Tasks that ran and succeeded, their callback too.", s.Completed)
	counter("threadpool_tasks_failed_total", "Tasks that returned an error, panicked or called runtime.Goexit, or whose callback panicked.", s.Failed)
	counter("threadpool_tasks_canceled_total", "Accepted tasks that never ran: their context ended, or a stop dropped them.", s.Canceled)
	counter("threadpool_tasks_rejected_total", "Submissions refused: the pool was stopped, or its bounded backlog full under the Reject policy.", s.Rejected)
	counter("threadpool_worker_init_failures_total", "Workers whose init hook failed: it returned an error, panicked or called runtime.Goexit, and the worker never ran a task.", s.InitFailed)
	gauge("threadpool_queue_tasks", "Tasks accepted and not yet handed to a worker.", s.Queued)
	fmt.Fprintf(&b, "# HELP threadpool_workers Live workers, by state: busy (running a task) or idle.\n# TYPE threadpool_workers gauge\n")
	fmt.Fprintf(&b, "threadpool_workers{pool=%q,state=\"busy\"} %d\nthreadpool_workers{pool=%q,state=\"idle\"} %d\n", name, s.Working, name, s.Waiters)
	gauge("threadpool_workers_min", "The pool's minimum number of workers.", s.Min)
	gauge("threadpool_workers_max", "The pool's maximum number of workers.", s.Max)
	gauge("threadpool_workers_peak", "The most workers alive at once since the pool was made.", s.PeakWorkers)
	return b.String()
}

// At quiescence the exported counters and gauges equal Stats exactly.
func TestCollectorEqualsStats(t *testing.T) {
	timings := prom.NewTimings()
	p := busyPool(t, "db", threadpool.WithObserver(timings.Observe))
	s := p.Stats()
	if s.Completed != 10 || s.Failed != 3 || s.Canceled != 3 || s.Rejected != 1 || s.Submitted != 16 || s.InitFailed != 2 {
		t.Fatalf("the scenario went otherwise: %+v", s)
	}
	c := prom.NewCollector(p, timings)
	names := append(append([]string{}, counterNames...), gaugeNames...)
	if err := testutil.CollectAndCompare(c, strings.NewReader(expected("db", s)), names...); err != nil {
		t.Fatal(err)
	}
	// The histograms hold every task that ran, and none that did not.
	for _, h := range histograms(t, c) {
		if got, want := h.GetSampleCount(), s.Completed+s.Failed; got != want {
			t.Errorf("histogram holds %d tasks, want %d", got, want)
		}
	}
	if n := testutil.CollectAndCount(c); n != 14 {
		t.Errorf("%d metrics, want 14", n)
	}
}

// histograms collects c and returns its two histograms, wait first.
func histograms(t *testing.T, c prometheus.Collector) []*dto.Histogram {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var hs []*dto.Histogram
	for _, mf := range mfs {
		if mf.GetType() == dto.MetricType_HISTOGRAM {
			m := mf.GetMetric()[0]
			if lp := m.GetLabel(); len(lp) != 1 || lp[0].GetName() != "pool" {
				t.Fatalf("%s labels %v, want pool", mf.GetName(), lp)
			}
			hs = append(hs, m.GetHistogram())
		}
	}
	if len(hs) != 2 {
		t.Fatalf("%d histograms, want 2", len(hs))
	}
	// Gather sorts by name: run, then wait.
	return []*dto.Histogram{hs[1], hs[0]}
}

// The names and help texts pass client_golang's linter, and the
// Collector is consistent under the pedantic registry.
func TestCollectorLint(t *testing.T) {
	for _, opts := range [][]prom.Option{nil, {prom.WithNativeHistograms(0)}} {
		timings := prom.NewTimings(opts...)
		p := busyPool(t, "lint", threadpool.WithObserver(timings.Observe))
		c := prom.NewCollector(p, timings)
		problems, err := testutil.CollectAndLint(c)
		if err != nil {
			t.Fatal(err)
		}
		if len(problems) != 0 {
			t.Fatalf("lint problems: %+v", problems)
		}
		reg := prometheus.NewPedanticRegistry()
		if err := reg.Register(c); err != nil {
			t.Fatal(err)
		}
		if _, err := reg.Gather(); err != nil {
			t.Fatal(err)
		}
	}
}

// Timings records exact values in the right buckets; canceled tasks are
// not in the histograms.
func TestTimingsBuckets(t *testing.T) {
	timings := prom.NewTimings(prom.WithBuckets([]float64{0.001, 0.01, 1}))
	p, err := threadpool.New(0, 1, threadpool.WithName("b"))
	if err != nil {
		t.Fatal(err)
	}
	c := prom.NewCollector(p, timings)
	timings.Observe(threadpool.TaskEnd{Outcome: threadpool.Completed, Wait: 500 * time.Microsecond, Run: 2 * time.Second})
	timings.Observe(threadpool.TaskEnd{Outcome: threadpool.Failed, Wait: 5 * time.Millisecond, Run: 5 * time.Millisecond})
	timings.Observe(threadpool.TaskEnd{Outcome: threadpool.Canceled, Wait: time.Second})
	want := `
# HELP threadpool_task_wait_seconds Time from a task's acceptance to its start, for tasks that ran.
# TYPE threadpool_task_wait_seconds histogram
threadpool_task_wait_seconds_bucket{pool="b",le="0.001"} 1
threadpool_task_wait_seconds_bucket{pool="b",le="0.01"} 2
threadpool_task_wait_seconds_bucket{pool="b",le="1"} 2
threadpool_task_wait_seconds_bucket{pool="b",le="+Inf"} 2
threadpool_task_wait_seconds_sum{pool="b"} 0.0055
threadpool_task_wait_seconds_count{pool="b"} 2
# HELP threadpool_task_run_seconds Time from a task's start until it and its callback returned, for tasks that ran.
# TYPE threadpool_task_run_seconds histogram
threadpool_task_run_seconds_bucket{pool="b",le="0.001"} 0
threadpool_task_run_seconds_bucket{pool="b",le="0.01"} 1
threadpool_task_run_seconds_bucket{pool="b",le="1"} 1
threadpool_task_run_seconds_bucket{pool="b",le="+Inf"} 2
threadpool_task_run_seconds_sum{pool="b"} 2.005
threadpool_task_run_seconds_count{pool="b"} 2
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), "threadpool_task_wait_seconds", "threadpool_task_run_seconds"); err != nil {
		t.Fatal(err)
	}
}

// Native histograms, as an option, are exposed with a schema.
func TestNativeHistograms(t *testing.T) {
	timings := prom.NewTimings(prom.WithNativeHistograms(1.1))
	p, err := threadpool.New(0, 1, threadpool.WithName("n"))
	if err != nil {
		t.Fatal(err)
	}
	timings.Observe(threadpool.TaskEnd{Outcome: threadpool.Completed, Wait: time.Millisecond, Run: time.Second})
	for _, h := range histograms(t, prom.NewCollector(p, timings)) {
		if h.Schema == nil || h.GetSampleCount() != 1 || len(h.GetBucket()) != len(prom.DefaultBuckets) {
			t.Fatalf("not a native histogram with classic buckets: %v", h)
		}
	}
}

// Collectors of several pools share one registry, told apart by the
// pool label; a Collector without Timings has no histograms.
func TestSeveralPools(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	a, b := busyPool(t, "a"), busyPool(t, "b")
	reg.MustRegister(prom.NewCollector(a, nil), prom.NewCollector(b, prom.NewTimings()))
	if n, err := testutil.GatherAndCount(reg, "threadpool_tasks_submitted_total"); err != nil || n != 2 {
		t.Fatalf("%d submitted series, %v; want 2", n, err)
	}
	if n, err := testutil.GatherAndCount(reg, "threadpool_task_run_seconds"); err != nil || n != 1 {
		t.Fatalf("%d run histograms, %v; want 1", n, err)
	}
}

// /metrics served by promhttp on a loopback port, scraped over HTTP: the
// names and values are the pool's, while it runs.
func TestScrapeOverHTTP(t *testing.T) {
	timings := prom.NewTimings()
	initOpts, initFailed := failingInit(3)
	opts := append([]threadpool.Option{threadpool.WithName("web"), threadpool.WithObserver(timings.Observe)}, initOpts...)
	p, err := threadpool.New(2, 4, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(); err != nil { // the inits of its two workers fail
		t.Fatal(err)
	}
	defer func() { _ = p.Stop() }()
	awaitInitFailures(t, initFailed, 2)
	if err := p.StartAWorker(); err != nil { // and this one's
		t.Fatal(err)
	}
	awaitInitFailures(t, initFailed, 1)
	// Then inits succeed: the submissions below start workers again.
	gate := make(chan struct{})
	var release sync.Once
	defer release.Do(func() { close(gate) })
	started := make(chan struct{}, 4)
	for range 6 { // 4 run and hold their worker, 2 wait
		if err := p.CallInThread(func() { started <- struct{}{}; <-gate }); err != nil {
			t.Fatal(err)
		}
	}
	for range 4 {
		<-started
	}
	var wg sync.WaitGroup
	for range 5 {
		wg.Add(1)
		f := threadpool.Submit(context.Background(), p, func(context.Context) (int, error) { return 1, nil })
		go func() { defer wg.Done(); _, _ = f.Wait(context.Background()) }()
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(prom.NewCollector(p, timings))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer func() { _ = srv.Close() }()
	url := "http://" + ln.Addr().String() + "/metrics"

	s := p.Stats()
	if s.Queued != 7 || s.Working != 4 || s.Submitted != 11 || s.InitFailed != 3 {
		t.Fatalf("the scenario went otherwise: %+v", s)
	}
	names := append(append([]string{}, counterNames...), gaugeNames...)
	if err := testutil.ScrapeAndCompare(url, strings.NewReader(expected("web", s)), names...); err != nil {
		t.Fatal(err)
	}

	release.Do(func() { close(gate) })
	wg.Wait()
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	s = p.Stats()
	if err := testutil.ScrapeAndCompare(url, strings.NewReader(expected("web", s)), names...); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body strings.Builder
	if _, err := fmt.Fprint(&body, readAll(t, resp)); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`threadpool_task_wait_seconds_count{pool="web"} 11`,
		`threadpool_task_run_seconds_count{pool="web"} 11`,
		`threadpool_task_run_seconds_bucket{pool="web",le="0.0001"}`,
		`threadpool_task_run_seconds_bucket{pool="web",le="60"} 11`,
		`threadpool_worker_init_failures_total{pool="web"} 3`,
	} {
		if !strings.Contains(body.String(), want) {
			t.Errorf("the scrape lacks %q:\n%s", want, body.String())
		}
	}
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// fixed is a Source that is not a Pool (as a cluster.Worker is not).
type fixed struct{ s threadpool.Stats }

func (fixed) Name() string              { return "machine-1" }
func (f fixed) Stats() threadpool.Stats { return f.s }

// Anything with a name and a pool's Stats can be collected.
func TestCollectorOfAnySource(t *testing.T) {
	s := threadpool.Stats{Min: 1, Max: 8, Started: true, Workers: 5, Working: 3, Waiters: 2, Queued: 4,
		PeakWorkers: 6, Submitted: 20, Completed: 10, Failed: 2, Canceled: 1, Rejected: 3, InitFailed: 7}
	c := prom.NewCollector(fixed{s}, nil)
	names := append(append([]string{}, counterNames...), gaugeNames...)
	if err := testutil.CollectAndCompare(c, strings.NewReader(expected("machine-1", s)), names...); err != nil {
		t.Fatal(err)
	}
}
