// Package otel exports a threadpool.Pool's numbers as OpenTelemetry
// metrics.
//
// Two pieces, wired up in three lines (meter is a metric.Meter, from the
// application's MeterProvider):
//
//	timings, err := otel.NewTimings(meter)
//	pool, err := threadpool.New(5, 20, threadpool.WithName("db"), threadpool.WithObserver(timings.Observe))
//	reg, err := otel.Register(meter, pool, timings) // reg.Close() unregisters
//
// [Timings] is a task observer (threadpool.WithObserver) that records two
// histograms, in seconds. [Register] registers one callback that reads
// pool.Stats() once per collection and reports it through asynchronous
// instruments. Every measurement has the attribute pool=<name>, the pool's
// name when Register was called:
//
//	name                           instrument                    unit      meaning
//	threadpool.task.submitted      Int64ObservableCounter        {task}    tasks accepted (Stats.Submitted)
//	threadpool.task.completed      Int64ObservableCounter        {task}    tasks that ran and succeeded
//	threadpool.task.failed         Int64ObservableCounter        {task}    tasks that returned an error, panicked or called Goexit
//	threadpool.task.canceled       Int64ObservableCounter        {task}    accepted tasks that never ran
//	threadpool.task.rejected       Int64ObservableCounter        {task}    submissions refused
//	threadpool.worker.init.failed  Int64ObservableCounter        {worker}  workers whose init hook (WithWorkerInit) failed (Stats.InitFailed)
//	threadpool.queue.size          Int64ObservableUpDownCounter  {task}    tasks accepted and not yet handed to a worker
//	threadpool.worker.count        Int64ObservableUpDownCounter  {worker}  live workers, state=busy|idle
//	threadpool.worker.limit        Int64ObservableUpDownCounter  {worker}  the pool's sizes, limit=min|max
//	threadpool.worker.peak         Int64ObservableGauge          {worker}  the most workers alive at once, ever
//	threadpool.task.wait.duration  Float64Histogram              s         accepted -> started, for tasks that ran
//	threadpool.task.run.duration   Float64Histogram              s         started -> returned (with its callback), for tasks that ran
//
// The observable instruments of one collection come from one Stats
// snapshot, so they satisfy the pool's invariant submitted = completed +
// failed + canceled + queue + busy (tasks the RunInCaller policy is
// running are counted once they have run). The histograms are recorded as
// tasks end.
package otel

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/twisted-go/threadpool"
)

// DefaultBuckets are the explicit bucket boundaries, in seconds, advised
// for both histograms: 100 µs to 60 s. A View in the MeterProvider can
// override them.
var DefaultBuckets = []float64{
	0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
	0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
}

// Timings is a task observer that records one pool's task wait and run
// times. Give its Observe method to threadpool.WithObserver and the
// Timings to [Register] for that pool; tasks that end before Register are
// recorded without the pool attribute. Use one Timings per pool. It is
// safe for concurrent use.
type Timings struct {
	wait, run metric.Float64Histogram
	attrs     atomic.Pointer[metric.MeasurementOption] // pool=<name>, set by Register
}

// NewTimings makes the two histograms with meter.
func NewTimings(meter metric.Meter) (*Timings, error) {
	wait, err := meter.Float64Histogram("threadpool.task.wait.duration",
		metric.WithUnit("s"),
		metric.WithDescription("Time from a task's acceptance to its start, for tasks that ran."),
		metric.WithExplicitBucketBoundaries(DefaultBuckets...))
	if err != nil {
		return nil, err
	}
	run, err := meter.Float64Histogram("threadpool.task.run.duration",
		metric.WithUnit("s"),
		metric.WithDescription("Time from a task's start until it and its callback returned, for tasks that ran."),
		metric.WithExplicitBucketBoundaries(DefaultBuckets...))
	if err != nil {
		return nil, err
	}
	return &Timings{wait: wait, run: run}, nil
}

// Observe records e's wait and run times, if the task ran (completed or
// failed). A canceled task never ran: it is in threadpool.task.canceled
// only.
func (t *Timings) Observe(e threadpool.TaskEnd) {
	if e.Outcome == threadpool.Canceled {
		return
	}
	ctx := context.Background()
	if a := t.attrs.Load(); a != nil {
		t.wait.Record(ctx, e.Wait.Seconds(), *a)
		t.run.Record(ctx, e.Run.Seconds(), *a)
		return
	}
	t.wait.Record(ctx, e.Wait.Seconds())
	t.run.Record(ctx, e.Run.Seconds())
}

// Source is what Register reads: a *threadpool.Pool, or anything else that
// has a name and a pool's Stats (a cluster.Worker has both).
type Source interface {
	Name() string
	Stats() threadpool.Stats
}

// Registration is the registered callback of one pool. Close unregisters it.
type Registration struct {
	reg  metric.Registration
	once sync.Once
	err  error
}

// Register makes the pool's observable instruments with meter and
// registers one callback that reads pool.Stats() once per collection and
// observes them all, with the attribute pool=pool.Name(). timings may be
// nil; if not, its measurements get the same attribute from now on.
// Several pools may be registered with one meter: they share the
// instruments and differ by the attribute.
func Register(meter metric.Meter, pool Source, timings *Timings) (*Registration, error) {
	if pool == nil || pool == (*threadpool.Pool)(nil) {
		return nil, errors.New("threadpool/otel: Register: nil pool")
	}
	var errs []error
	counter := func(name, unit, desc string) metric.Int64ObservableCounter {
		c, err := meter.Int64ObservableCounter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return c
	}
	updown := func(name, unit, desc string) metric.Int64ObservableUpDownCounter {
		c, err := meter.Int64ObservableUpDownCounter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return c
	}
	submitted := counter("threadpool.task.submitted", "{task}", "Tasks accepted by the pool.")
	completed := counter("threadpool.task.completed", "{task}", "Tasks that ran and succeeded, their callback too.")
	failed := counter("threadpool.task.failed", "{task}", "Tasks that returned an error, panicked or called runtime.Goexit, or whose callback panicked.")
	canceled := counter("threadpool.task.canceled", "{task}", "Accepted tasks that never ran: their context ended, or a stop dropped them.")
	rejected := counter("threadpool.task.rejected", "{task}", "Submissions refused: the pool was stopped, or its bounded backlog full under the Reject policy.")
	initFailed := counter("threadpool.worker.init.failed", "{worker}", "Workers whose init hook failed: it returned an error, panicked or called runtime.Goexit, and the worker never ran a task.")
	queue := updown("threadpool.queue.size", "{task}", "Tasks accepted and not yet handed to a worker.")
	workers := updown("threadpool.worker.count", "{worker}", "Live workers, by state: busy (running a task) or idle.")
	limit := updown("threadpool.worker.limit", "{worker}", "The pool's minimum and maximum number of workers.")
	peak, err := meter.Int64ObservableGauge("threadpool.worker.peak", metric.WithUnit("{worker}"),
		metric.WithDescription("The most workers alive at once since the pool was made."))
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}

	name := attribute.String("pool", pool.Name())
	all := metric.WithAttributeSet(attribute.NewSet(name))
	busy := metric.WithAttributeSet(attribute.NewSet(name, attribute.String("state", "busy")))
	idle := metric.WithAttributeSet(attribute.NewSet(name, attribute.String("state", "idle")))
	lo := metric.WithAttributeSet(attribute.NewSet(name, attribute.String("limit", "min")))
	hi := metric.WithAttributeSet(attribute.NewSet(name, attribute.String("limit", "max")))
	reg, err := meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		s := pool.Stats()
		o.ObserveInt64(submitted, int64(s.Submitted), all)
		o.ObserveInt64(completed, int64(s.Completed), all)
		o.ObserveInt64(failed, int64(s.Failed), all)
		o.ObserveInt64(canceled, int64(s.Canceled), all)
		o.ObserveInt64(rejected, int64(s.Rejected), all)
		o.ObserveInt64(initFailed, int64(s.InitFailed), all)
		o.ObserveInt64(queue, int64(s.Queued), all)
		o.ObserveInt64(workers, int64(s.Working), busy)
		o.ObserveInt64(workers, int64(s.Waiters), idle)
		o.ObserveInt64(limit, int64(s.Min), lo)
		o.ObserveInt64(limit, int64(s.Max), hi)
		o.ObserveInt64(peak, int64(s.PeakWorkers), all)
		return nil
	}, submitted, completed, failed, canceled, rejected, initFailed, queue, workers, limit, peak)
	if err != nil {
		return nil, err
	}
	if timings != nil {
		opt := metric.MeasurementOption(all)
		timings.attrs.Store(&opt)
	}
	return &Registration{reg: reg}, nil
}

// Close unregisters the callback: later collections no longer read the
// pool. It is safe to call more than once; later calls return the first
// call's error. The Timings, if any, keep recording.
func (r *Registration) Close() error {
	r.once.Do(func() { r.err = r.reg.Unregister() })
	return r.err
}
