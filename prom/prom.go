// Package prom exports a threadpool.Pool's numbers to Prometheus.
//
// Two pieces, wired up in three lines:
//
//	timings := prom.NewTimings()
//	pool, err := threadpool.New(5, 20, threadpool.WithName("db"), threadpool.WithObserver(timings.Observe))
//	prometheus.MustRegister(prom.NewCollector(pool, timings))
//
// [Timings] is a task observer (threadpool.WithObserver) that feeds two
// histograms, how long tasks waited for a worker and how long they ran.
// [Collector] is a prometheus.Collector that reads pool.Stats() once per
// scrape, as client_golang recommends for numbers kept elsewhere, and emits
// them as constant metrics, together with the two histograms. Every metric
// has the label pool=<name>, the pool's name when the Collector was made:
//
//	name                                    type       meaning
//	threadpool_tasks_submitted_total        counter    tasks accepted (Stats.Submitted)
//	threadpool_tasks_completed_total        counter    tasks that ran and succeeded
//	threadpool_tasks_failed_total           counter    tasks that returned an error, panicked or called Goexit
//	threadpool_tasks_canceled_total         counter    accepted tasks that never ran
//	threadpool_tasks_rejected_total         counter    submissions refused (stopped pool, full backlog under Reject)
//	threadpool_worker_init_failures_total   counter    workers whose init hook (WithWorkerInit) failed (Stats.InitFailed)
//	threadpool_queue_tasks                  gauge      tasks accepted and not yet handed to a worker
//	threadpool_workers{state="busy|idle"}   gauge      live workers running a task, and idle ones
//	threadpool_workers_min                  gauge      the pool's minimum size
//	threadpool_workers_max                  gauge      the pool's maximum size
//	threadpool_workers_peak                 gauge      the most workers alive at once, ever
//	threadpool_task_wait_seconds            histogram  accepted -> started, for tasks that ran
//	threadpool_task_run_seconds             histogram  started -> returned (with its callback), for tasks that ran
//
// All numbers of one scrape come from one Stats snapshot, so the counters
// and gauges satisfy the pool's invariant submitted = completed + failed +
// canceled + queue + busy (tasks the RunInCaller policy is running are
// counted once they have run). The histograms are fed as tasks end, so a
// scrape may see a task in the counters before it is in the histograms.
//
// The histograms' buckets run from 100 µs to 60 s ([DefaultBuckets]);
// [WithBuckets] changes them and [WithNativeHistograms] adds Prometheus
// native histograms beside them. The cost of the observer per task is in
// the root module's README (Observability).
package prom

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/twisted-go/threadpool"
)

// DefaultBuckets are the upper bounds, in seconds, of the classic buckets
// of both histograms: 100 µs to 60 s.
var DefaultBuckets = []float64{
	0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
	0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
}

// Option configures [NewTimings].
type Option func(*prometheus.HistogramOpts)

// WithBuckets sets the classic buckets' upper bounds, in seconds, of both
// histograms (see prometheus.HistogramOpts.Buckets).
func WithBuckets(bounds []float64) Option {
	return func(o *prometheus.HistogramOpts) { o.Buckets = bounds }
}

// WithNativeHistograms makes both histograms native histograms too, with
// the given bucket growth factor (1.1 if factor <= 1), at most 160 buckets
// and a reset after an hour if they would need more. The classic buckets
// are still exposed, for scrapers that do not take native histograms.
func WithNativeHistograms(factor float64) Option {
	if factor <= 1 {
		factor = 1.1
	}
	return func(o *prometheus.HistogramOpts) {
		o.NativeHistogramBucketFactor = factor
		o.NativeHistogramMaxBucketNumber = 160
		o.NativeHistogramMinResetDuration = time.Hour
	}
}

// Timings is a task observer that feeds the histograms of one pool's task
// wait and run times. Give its Observe method to threadpool.WithObserver,
// and the Timings to [NewCollector] for that pool. Use one Timings per
// pool. It is safe for concurrent use.
type Timings struct {
	wait, run prometheus.Histogram
}

// NewTimings returns the Timings of one pool, with [DefaultBuckets] unless
// an option says otherwise.
func NewTimings(opts ...Option) *Timings {
	mk := func(name, help string) prometheus.Histogram {
		o := prometheus.HistogramOpts{Name: name, Help: help, Buckets: DefaultBuckets}
		for _, opt := range opts {
			opt(&o)
		}
		return prometheus.NewHistogram(o)
	}
	return &Timings{
		wait: mk("threadpool_task_wait_seconds", waitHelp),
		run:  mk("threadpool_task_run_seconds", runHelp),
	}
}

const (
	waitHelp = "Time from a task's acceptance to its start, for tasks that ran."
	runHelp  = "Time from a task's start until it and its callback returned, for tasks that ran."
)

// Observe records e: its wait and run times, if the task ran (completed or
// failed). A canceled task never ran: it is counted by the Collector's
// canceled counter only. Observe never blocks on anything but the
// histograms' own atomic updates.
func (t *Timings) Observe(e threadpool.TaskEnd) {
	if e.Outcome == threadpool.Canceled {
		return
	}
	t.wait.Observe(e.Wait.Seconds())
	t.run.Observe(e.Run.Seconds())
}

// Source is what a Collector reads: a *threadpool.Pool, or anything else
// that has a name and a pool's Stats (a cluster.Worker has both).
type Source interface {
	Name() string
	Stats() threadpool.Stats
}

// Collector is a prometheus.Collector of one pool: it reads Stats once per
// scrape and emits the metrics listed in the package documentation. Make
// it with [NewCollector].
type Collector struct {
	pool    Source
	timings *Timings
	name    string

	submitted, completed, failed, canceled, rejected *prometheus.Desc
	initFailed                                       *prometheus.Desc
	queue, workers, min, max, peak                   *prometheus.Desc
	wait, run                                        *prometheus.Desc
}

// NewCollector returns the Collector of pool, labelled pool=pool.Name()
// (read now: a pool renamed later keeps its label). timings may be nil:
// the Collector then has no histograms. Collectors of pools with different
// names can be registered with one registry. pool.Stats is called once
// per scrape, on the scraping goroutine.
func NewCollector(pool Source, timings *Timings) *Collector {
	name := pool.Name()
	labels := prometheus.Labels{"pool": name}
	desc := func(n, help string, variable ...string) *prometheus.Desc {
		return prometheus.NewDesc(n, help, variable, labels)
	}
	return &Collector{
		pool: pool, timings: timings, name: name,
		submitted:  desc("threadpool_tasks_submitted_total", "Tasks accepted by the pool."),
		completed:  desc("threadpool_tasks_completed_total", "Tasks that ran and succeeded, their callback too."),
		failed:     desc("threadpool_tasks_failed_total", "Tasks that returned an error, panicked or called runtime.Goexit, or whose callback panicked."),
		canceled:   desc("threadpool_tasks_canceled_total", "Accepted tasks that never ran: their context ended, or a stop dropped them."),
		rejected:   desc("threadpool_tasks_rejected_total", "Submissions refused: the pool was stopped, or its bounded backlog full under the Reject policy."),
		initFailed: desc("threadpool_worker_init_failures_total", "Workers whose init hook failed: it returned an error, panicked or called runtime.Goexit, and the worker never ran a task."),
		queue:      desc("threadpool_queue_tasks", "Tasks accepted and not yet handed to a worker."),
		workers:    desc("threadpool_workers", "Live workers, by state: busy (running a task) or idle.", "state"),
		min:        desc("threadpool_workers_min", "The pool's minimum number of workers."),
		max:        desc("threadpool_workers_max", "The pool's maximum number of workers."),
		peak:       desc("threadpool_workers_peak", "The most workers alive at once since the pool was made."),
		wait:       desc("threadpool_task_wait_seconds", waitHelp),
		run:        desc("threadpool_task_run_seconds", runHelp),
	}
}

// Describe sends the descriptors of every metric the Collector emits.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		c.submitted, c.completed, c.failed, c.canceled, c.rejected,
		c.initFailed, c.queue, c.workers, c.min, c.max, c.peak,
	} {
		ch <- d
	}
	if c.timings != nil {
		ch <- c.wait
		ch <- c.run
	}
}

// Collect reads the pool's Stats once and sends its metrics, then the
// histograms.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	s := c.pool.Stats()
	counter := func(d *prometheus.Desc, v uint64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v))
	}
	gauge := func(d *prometheus.Desc, v int, state ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v), state...)
	}
	counter(c.submitted, s.Submitted)
	counter(c.completed, s.Completed)
	counter(c.failed, s.Failed)
	counter(c.canceled, s.Canceled)
	counter(c.rejected, s.Rejected)
	counter(c.initFailed, s.InitFailed)
	gauge(c.queue, s.Queued)
	gauge(c.workers, s.Working, "busy")
	gauge(c.workers, s.Waiters, "idle")
	gauge(c.min, s.Min)
	gauge(c.max, s.Max)
	gauge(c.peak, s.PeakWorkers)
	if c.timings != nil {
		ch <- labeled{c.timings.wait, c.wait, c.name}
		ch <- labeled{c.timings.run, c.run, c.name}
	}
}

// labeled is a histogram of Timings as the Collector emits it: with the
// Collector's descriptor and its pool label. (A Timings is made before the
// pool, so its histograms cannot carry the pool's name themselves.)
type labeled struct {
	h    prometheus.Histogram
	desc *prometheus.Desc
	pool string
}

func (l labeled) Desc() *prometheus.Desc { return l.desc }

func (l labeled) Write(m *dto.Metric) error {
	if err := l.h.Write(m); err != nil {
		return err
	}
	name, value := "pool", l.pool
	m.Label = append(m.Label, &dto.LabelPair{Name: &name, Value: &value})
	return nil
}
