package threadpool_test

// TestIdleTimeout: WithIdleTimeout (SPEC F2), on synctest's fake clock.

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/twisted-go/threadpool"
)

// burst runs n tasks at once on p (each blocks until all n have started,
// so each needs its own worker), waits until they are done and every
// worker is idle again.
func burst(t *testing.T, p *threadpool.Pool, n int) {
	t.Helper()
	gate := make(chan struct{})
	for range n {
		if err := p.CallInThread(func() { <-gate }); err != nil {
			t.Fatal(err)
		}
	}
	synctest.Wait()
	if s := p.Stats(); s.Working != n {
		t.Fatalf("burst of %d: %d working", n, s.Working)
	}
	close(gate)
	synctest.Wait()
}

// wantShape checks the number of workers and idle workers, and that the
// pool's bubble has no goroutine besides the workers.
func wantShape(t *testing.T, p *threadpool.Pool, workers, waiters int) {
	t.Helper()
	synctest.Wait()
	s := checkStats(t, p)
	if s.Workers != workers || s.Waiters != waiters {
		t.Errorf("Workers %d Waiters %d, want %d and %d", s.Workers, s.Waiters, workers, waiters)
	}
	if g, others, stacks := bubbleGoroutines(t); g != workers || others != 0 {
		t.Errorf("%d worker goroutines (want %d) and %d other goroutines:\n%s", g, workers, others, stacks)
	}
}

func TestIdleTimeout(t *testing.T) {
	// F2: After a burst, the workers above min exit
	// once idle for the timeout, not a moment before, and the pool is back to
	// min. While the workers are busy and while they are idle no goroutine but
	// the workers exists.
	t.Run("after a burst the pool goes back to min once idle for the timeout", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			const d = 10 * time.Second
			p := startPool(t, 1, 4, threadpool.WithIdleTimeout(d))
			wantShape(t, p, 1, 1)

			gate := make(chan struct{})
			for range 4 {
				if err := p.CallInThread(func() { <-gate }); err != nil {
					t.Fatal(err)
				}
			}
			time.Sleep(time.Hour) // busy workers never time out
			wantShape(t, p, 4, 0)
			close(gate)
			wantShape(t, p, 4, 4) // idle: timers, but no extra goroutine

			time.Sleep(d - time.Nanosecond)
			wantShape(t, p, 4, 4)
			time.Sleep(2 * time.Nanosecond)
			wantShape(t, p, 1, 1)
			time.Sleep(time.Hour) // the min worker stays
			wantShape(t, p, 1, 1)

			// A second burst converges again.
			burst(t, p, 3)
			wantShape(t, p, 3, 3)
			time.Sleep(d + time.Nanosecond)
			wantShape(t, p, 1, 1)

			if s := p.Stats(); s.PeakWorkers != 4 {
				t.Errorf("PeakWorkers %d, want 4", s.PeakWorkers)
			}
			stopAndCheck(t, p)
			wantCounters(t, p, counters{Submitted: 7, Completed: 7})
			wantShape(t, p, 0, 0)
		})
	})

	// F2: A worker that takes a task before
	// its timeout starts its idle time again when it is free; it exits a full
	// timeout after its last task, and it was the same worker throughout.
	t.Run("a reused worker starts its idle time again", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			const d = 10 * time.Second
			p := startPool(t, 0, 1, threadpool.WithIdleTimeout(d), threadpool.WithName("idle4"))
			wantShape(t, p, 0, 0)
			run := func() {
				t.Helper()
				done := make(chan struct{})
				if err := p.CallInThread(func() { close(done) }); err != nil {
					t.Fatal(err)
				}
				<-done
				wantShape(t, p, 1, 1)
				if th := p.Threads(); len(th) != 1 || th[0].Name != "PoolThread-idle4-1" {
					t.Errorf("Threads %+v, want the first worker only", th)
				}
			}
			run() // idle from 0s
			time.Sleep(6 * time.Second)
			run() // reused at 6s, idle from 6s
			time.Sleep(6 * time.Second)
			wantShape(t, p, 1, 1) // 12s: past the first timeout, not the second
			time.Sleep(4*time.Second - time.Nanosecond)
			wantShape(t, p, 1, 1)
			time.Sleep(2 * time.Nanosecond)
			wantShape(t, p, 0, 0)

			run2 := make(chan struct{})
			if err := p.CallInThread(func() { close(run2) }); err != nil {
				t.Fatal(err)
			}
			<-run2
			if th := p.Threads(); len(th) != 1 || th[0].Name != "PoolThread-idle4-2" {
				t.Errorf("Threads %+v, want a new worker PoolThread-idle4-2", th)
			}
			stopAndCheck(t, p)
			wantCounters(t, p, counters{Submitted: 3, Completed: 3})
		})
	})

	// F2: Without the option, or with 0, idle
	// workers stay however long they are idle (Twisted's behaviour).
	t.Run("without a timeout idle workers stay", func(t *testing.T) {
		for name, opts := range map[string][]threadpool.Option{
			"default": nil,
			"zero":    {threadpool.WithIdleTimeout(0)},
		} {
			t.Run(name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					p := startPool(t, 0, 3, opts...)
					burst(t, p, 3)
					wantShape(t, p, 3, 3)
					time.Sleep(1000 * time.Hour)
					wantShape(t, p, 3, 3)
					stopAndCheck(t, p)
					wantCounters(t, p, counters{Submitted: 3, Completed: 3})
				})
			})
		}
	})

	// F2: Stopping a pool whose idle workers
	// have armed timers ends them all; nothing fires afterwards.
	t.Run("Stop ends workers with armed timers", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p := startPool(t, 0, 3, threadpool.WithIdleTimeout(time.Second))
			burst(t, p, 3)
			wantShape(t, p, 3, 3)
			stopAndCheck(t, p)
			wantShape(t, p, 0, 0)
			time.Sleep(time.Minute)
			wantShape(t, p, 0, 0)
			wantCounters(t, p, counters{Submitted: 3, Completed: 3})
		})
	})

	// F2: Workers kept because they were at min
	// become subject to the timeout when AdjustPoolSize lowers min: once idle
	// that long above the new min, they exit.
	t.Run("workers above a lowered min time out", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			const d = 10 * time.Second
			p := startPool(t, 2, 2, threadpool.WithIdleTimeout(d))
			time.Sleep(2 * d)
			wantShape(t, p, 2, 2) // at min: they stay
			if err := p.AdjustPoolSize(0, 2); err != nil {
				t.Fatal(err)
			}
			time.Sleep(2 * d)
			wantShape(t, p, 0, 0)
			stopAndCheck(t, p)
		})
	})

}
