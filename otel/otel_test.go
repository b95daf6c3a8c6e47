package otel_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/goleak"

	"github.com/twisted-go/threadpool"
	tpotel "github.com/twisted-go/threadpool/otel"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// setup returns a meter whose measurements reader collects.
func setup(t *testing.T) (*sdkmetric.ManualReader, *sdkmetric.MeterProvider) {
	t.Helper()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	return reader, mp
}

// collect returns every data point, by instrument name and then by its
// attributes rendered as "k=v,k=v".
func collect(t *testing.T, reader *sdkmetric.ManualReader) (map[string]map[string]int64, map[string]map[string]metricdata.HistogramDataPoint[float64]) {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	ints := map[string]map[string]int64{}
	hists := map[string]map[string]metricdata.HistogramDataPoint[float64]{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, dp := range d.DataPoints {
					put(ints, m.Name, dp.Attributes, dp.Value)
				}
			case metricdata.Gauge[int64]:
				for _, dp := range d.DataPoints {
					put(ints, m.Name, dp.Attributes, dp.Value)
				}
			case metricdata.Histogram[float64]:
				for _, dp := range d.DataPoints {
					put(hists, m.Name, dp.Attributes, dp)
				}
			default:
				t.Fatalf("%s: unexpected data %T", m.Name, m.Data)
			}
		}
	}
	return ints, hists
}

func put[V any](into map[string]map[string]V, name string, attrs attribute.Set, v V) {
	if into[name] == nil {
		into[name] = map[string]V{}
	}
	into[name][string(attrs.Encoded(attribute.DefaultEncoder()))] = v
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
		default: // more failures than the hook makes: the counts tell
		}
	}
	return nil
}
func (h initFailures) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h initFailures) WithGroup(string) slog.Handler      { return h }

// stoppedPool returns a stopped pool named name that has seen every
// outcome: 10 completed, 3 failed, 3 canceled, 1 rejected; and 2 workers
// whose init hook failed.
func stoppedPool(t *testing.T, name string, opts ...threadpool.Option) *threadpool.Pool {
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
	var futs []*threadpool.Future[int]
	for i := range 10 {
		futs = append(futs, threadpool.Submit(context.Background(), p, func(context.Context) (int, error) {
			if i%5 == 0 {
				return 0, errors.New("failed")
			}
			return i, nil
		}))
	}
	for _, f := range futs {
		_, _ = f.Wait(context.Background())
	}
	var wg sync.WaitGroup
	wg.Add(1)
	_ = p.CallInThread(func() { defer wg.Done(); panic("boom") })
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

// At quiescence every instrument equals Stats; the histograms hold every
// task that ran; Close unregisters the callback.
func TestRegisterEqualsStats(t *testing.T) {
	reader, mp := setup(t)
	meter := mp.Meter("test")
	timings, err := tpotel.NewTimings(meter)
	if err != nil {
		t.Fatal(err)
	}
	p := stoppedPool(t, "db", threadpool.WithObserver(timings.Observe))
	// Register after the tasks: their timings have no pool attribute.
	reg, err := tpotel.Register(meter, p, timings)
	if err != nil {
		t.Fatal(err)
	}
	s := p.Stats()
	if s.Completed != 10 || s.Failed != 3 || s.Canceled != 3 || s.Rejected != 1 || s.Submitted != 16 || s.InitFailed != 2 {
		t.Fatalf("the scenario went otherwise: %+v", s)
	}
	ints, hists := collect(t, reader)
	want := map[string]map[string]int64{
		"threadpool.task.submitted":     {"pool=db": int64(s.Submitted)},
		"threadpool.task.completed":     {"pool=db": int64(s.Completed)},
		"threadpool.task.failed":        {"pool=db": int64(s.Failed)},
		"threadpool.task.canceled":      {"pool=db": int64(s.Canceled)},
		"threadpool.task.rejected":      {"pool=db": int64(s.Rejected)},
		"threadpool.worker.init.failed": {"pool=db": 2},
		"threadpool.queue.size":         {"pool=db": 0},
		"threadpool.worker.count":       {"pool=db,state=busy": 0, "pool=db,state=idle": 0},
		"threadpool.worker.limit":       {"limit=min,pool=db": 1, "limit=max,pool=db": 2},
		"threadpool.worker.peak":        {"pool=db": 2},
	}
	checkInts(t, ints, want)
	for _, name := range []string{"threadpool.task.wait.duration", "threadpool.task.run.duration"} {
		dp, ok := hists[name][""]
		if !ok || dp.Count != s.Completed+s.Failed || len(dp.Bounds) != len(tpotel.DefaultBuckets) {
			t.Errorf("%s: %+v, want %d tasks without attributes", name, hists[name], s.Completed+s.Failed)
		}
	}
	// From Register on, timings carry the pool attribute.
	timings.Observe(threadpool.TaskEnd{Outcome: threadpool.Completed, Wait: 3 * time.Millisecond, Run: 2 * time.Second})
	timings.Observe(threadpool.TaskEnd{Outcome: threadpool.Canceled, Wait: time.Second})
	_, hists = collect(t, reader)
	if dp := hists["threadpool.task.run.duration"]["pool=db"]; dp.Count != 1 || dp.Sum != 2 {
		t.Errorf("run duration with pool=db: %+v, want the one 2 s task", dp)
	}
	if dp := hists["threadpool.task.wait.duration"]["pool=db"]; dp.Count != 1 || dp.Sum != 0.003 {
		t.Errorf("wait duration with pool=db: %+v, want the one 3 ms wait", dp)
	}

	if err := reg.Close(); err != nil {
		t.Fatal(err)
	}
	if err := reg.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	ints, _ = collect(t, reader)
	for name, points := range ints {
		if len(points) != 0 {
			t.Errorf("after Close, %s still reported: %v", name, points)
		}
	}
}

func checkInts(t *testing.T, got, want map[string]map[string]int64) {
	t.Helper()
	for name, points := range want {
		for attrs, v := range points {
			if g, ok := got[name][attrs]; !ok || g != v {
				t.Errorf("%s{%s} = %d (present %v), want %d", name, attrs, g, ok, v)
			}
		}
		if len(got[name]) != len(points) {
			t.Errorf("%s has points %v, want %v", name, got[name], points)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d instruments reported, want %d", len(got), len(want))
	}
}

// While the pool runs: busy and idle workers, the queue, and the
// invariant submitted = completed + failed + canceled + queue + busy in
// one collection. Two pools share the instruments.
func TestRegisterWhileRunning(t *testing.T) {
	reader, mp := setup(t)
	meter := mp.Meter("test")
	timings, err := tpotel.NewTimings(meter)
	if err != nil {
		t.Fatal(err)
	}
	p, err := threadpool.New(3, 4, threadpool.WithName("web"), threadpool.WithObserver(timings.Observe))
	if err != nil {
		t.Fatal(err)
	}
	reg, err := tpotel.Register(meter, p, timings)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = reg.Close() }()
	other := stoppedPool(t, "other")
	reg2, err := tpotel.Register(meter, other, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = reg2.Close() }()

	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	gate, started := make(chan struct{}), make(chan struct{}, 2)
	for range 2 {
		_ = p.CallInThread(func() { started <- struct{}{}; <-gate })
	}
	<-started
	<-started
	if err := p.AdjustPoolSize(0, 2); err != nil { // the idle worker quits; 5 more wait
		t.Fatal(err)
	}
	for range 5 {
		_ = p.CallInThread(func() {})
	}
	ints, _ := collect(t, reader)
	get := func(name, attrs string) int64 { return ints[name][attrs] }
	if q, b, i := get("threadpool.queue.size", "pool=web"), get("threadpool.worker.count", "pool=web,state=busy"), get("threadpool.worker.count", "pool=web,state=idle"); q != 5 || b != 2 || i != 0 {
		t.Errorf("queue %d busy %d idle %d, want 5 2 0", q, b, i)
	}
	if lo, hi := get("threadpool.worker.limit", "limit=min,pool=web"), get("threadpool.worker.limit", "limit=max,pool=web"); lo != 0 || hi != 2 {
		t.Errorf("limits %d..%d, want 0..2", lo, hi)
	}
	if sub := get("threadpool.task.submitted", "pool=web"); sub != 7 {
		t.Errorf("submitted %d, want 7", sub)
	}
	if sub := get("threadpool.task.submitted", "pool=other"); sub != 16 {
		t.Errorf("the other pool: submitted %d, want 16", sub)
	}
	if web, other := get("threadpool.worker.init.failed", "pool=web"), get("threadpool.worker.init.failed", "pool=other"); web != 0 || other != 2 {
		t.Errorf("init failures: web %d, other %d; want 0, 2", web, other)
	}
	if _, ok := ints["threadpool.worker.init.failed"]["pool=web"]; !ok {
		t.Error("no init failures reported for web: want a 0")
	}
	close(gate)
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	ints, hists := collect(t, reader)
	if c := ints["threadpool.task.completed"]["pool=web"]; c != 7 {
		t.Errorf("completed %d after Stop, want 7", c)
	}
	if dp := hists["threadpool.task.run.duration"]["pool=web"]; dp.Count != 7 {
		t.Errorf("run durations %d, want 7", dp.Count)
	}
}

func TestRegisterNilPool(t *testing.T) {
	_, mp := setup(t)
	if _, err := tpotel.Register(mp.Meter("test"), nil, nil); err == nil {
		t.Fatal("Register(nil pool) succeeded")
	}
}
