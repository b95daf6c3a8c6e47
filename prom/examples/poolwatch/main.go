// Command poolwatch runs a pool doing real work, serves its metrics on a
// loopback port and, every second, prints a one-line view read back from
// those metrics over HTTP while it resizes the pool: queue depth, busy and
// idle workers, and the wait and run times' p50 and p99 over the last
// second.
//
//	go run ./prom/examples/poolwatch               # from the root (go.work); 14 s
//	go run ./prom/examples/poolwatch -duration 1m  # longer; curl the printed URL meanwhile
//
// (From prom/, or without the workspace: go run ./examples/poolwatch.)
//
// Each task hashes 64 KiB with SHA-256 and then sleeps 10 ms, as a task
// waiting on a database would; tasks arrive at about 400 a second, so the
// pool needs about 4 workers. Its max steps through 2, 4, 8 and 16 every
// 3 seconds: with 2 the backlog and the waits grow, with 8 and 16 they
// drain. At the end the backlog is dropped (StopNow) and counted as
// canceled, so that the command ends on time.
package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/twisted-go/threadpool"
	"github.com/twisted-go/threadpool/prom"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "poolwatch:", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("poolwatch", flag.ContinueOnError)
	duration := fs.Duration("duration", 14*time.Second, "how long to run")
	addr := fs.String("addr", "127.0.0.1:0", "where to serve /metrics")
	rate := fs.Int("rate", 400, "tasks submitted per second")
	if err := fs.Parse(args); err != nil {
		return err
	}

	timings := prom.NewTimings()
	pool, err := threadpool.New(1, 2, threadpool.WithName("demo"), threadpool.WithObserver(timings.Observe))
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(prom.NewCollector(pool, timings))
	if err := pool.Start(); err != nil {
		return err
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	url := "http://" + ln.Addr().String() + "/metrics"
	fmt.Fprintf(out, "metrics at %s for %v\n", url, *duration)

	// The producer: rate tasks a second, in a small batch at every tick.
	ctx, stop := context.WithTimeout(context.Background(), *duration)
	defer stop()
	var producer sync.WaitGroup
	producer.Add(1)
	go func() {
		defer producer.Done()
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		buf := make([]byte, 64<<10)
		work := func() {
			sha256.Sum256(buf)
			time.Sleep(10 * time.Millisecond)
		}
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				for range max(1, *rate/100) {
					_ = pool.CallInThread(work)
				}
			}
		}
	}()

	sizes := []int{2, 4, 8, 16}
	start := time.Now()
	var prev snapshot
	every := time.NewTicker(time.Second)
	defer every.Stop()
	for i := 1; ; i++ {
		select {
		case <-ctx.Done():
		case <-every.C:
		}
		if ctx.Err() != nil {
			break
		}
		cur, err := scrape(url)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%3.0fs max %2.0f queue %5.0f busy %2.0f idle %2.0f | wait p50 %8s p99 %8s | run p50 %8s p99 %8s | done %6.0f\n",
			time.Since(start).Seconds(), cur.max, cur.queue, cur.busy, cur.idle,
			quantile(0.5, prev.wait, cur.wait), quantile(0.99, prev.wait, cur.wait),
			quantile(0.5, prev.run, cur.run), quantile(0.99, prev.run, cur.run), cur.completed)
		prev = cur
		if i%3 == 0 {
			n := sizes[(i/3)%len(sizes)]
			fmt.Fprintf(out, "     AdjustPoolSize(1, %d)\n", n)
			if err := pool.AdjustPoolSize(1, n); err != nil {
				return err
			}
		}
	}
	producer.Wait()
	dropped := pool.StopNow()
	fmt.Fprintf(out, "StopNow dropped %d waiting tasks\n", dropped)
	if err := pool.Stop(); err != nil {
		return err
	}
	s := pool.Stats()
	fmt.Fprintf(out, "stopped: %d submitted, %d completed, %d failed, %d canceled, peak %d workers\n",
		s.Submitted, s.Completed, s.Failed, s.Canceled, s.PeakWorkers)
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// snapshot is what one scrape tells.
type snapshot struct {
	max, queue, busy, idle, completed float64
	wait, run                         buckets
}

// buckets are a histogram's cumulative bucket counts by upper bound.
type buckets map[float64]float64

// scrape reads the metrics served at url.
func scrape(url string) (snapshot, error) {
	var s snapshot
	resp, err := http.Get(url)
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return s, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	dec := expfmt.NewDecoder(resp.Body, expfmt.ResponseFormat(resp.Header))
	for {
		var mf dto.MetricFamily
		if err := dec.Decode(&mf); err == io.EOF {
			return s, nil
		} else if err != nil {
			return s, err
		}
		for _, m := range mf.GetMetric() {
			switch mf.GetName() {
			case "threadpool_workers_max":
				s.max = m.GetGauge().GetValue()
			case "threadpool_queue_tasks":
				s.queue = m.GetGauge().GetValue()
			case "threadpool_workers":
				for _, l := range m.GetLabel() {
					if l.GetName() == "state" && l.GetValue() == "busy" {
						s.busy = m.GetGauge().GetValue()
					} else if l.GetName() == "state" {
						s.idle = m.GetGauge().GetValue()
					}
				}
			case "threadpool_tasks_completed_total":
				s.completed = m.GetCounter().GetValue()
			case "threadpool_task_wait_seconds":
				s.wait = bucketsOf(m.GetHistogram())
			case "threadpool_task_run_seconds":
				s.run = bucketsOf(m.GetHistogram())
			}
		}
	}
}

func bucketsOf(h *dto.Histogram) buckets {
	b := buckets{math.Inf(1): float64(h.GetSampleCount())}
	for _, bk := range h.GetBucket() {
		b[bk.GetUpperBound()] = float64(bk.GetCumulativeCount())
	}
	return b
}

// quantile estimates the q-quantile of the observations made between two
// scrapes, interpolating within a bucket as PromQL's histogram_quantile
// does.
func quantile(q float64, prev, cur buckets) string {
	bounds := make([]float64, 0, len(cur))
	for ub := range cur {
		bounds = append(bounds, ub)
	}
	sort.Float64s(bounds)
	if len(bounds) == 0 {
		return "-"
	}
	total := cur[math.Inf(1)] - prev[math.Inf(1)]
	if total <= 0 {
		return "-"
	}
	rank := q * total
	lower, below := 0.0, 0.0
	for _, ub := range bounds {
		n := cur[ub] - prev[ub]
		if n >= rank {
			if math.IsInf(ub, 1) {
				return fmt.Sprintf(">%v", seconds(lower))
			}
			frac := 0.0
			if n > below {
				frac = (rank - below) / (n - below)
			}
			return seconds(lower + (ub-lower)*frac).String()
		}
		lower, below = ub, n
	}
	return "-"
}

func seconds(s float64) time.Duration {
	d := time.Duration(s * float64(time.Second))
	if d >= time.Second {
		return d.Round(time.Millisecond)
	}
	return d.Round(10 * time.Microsecond)
}
