package threadpool_test

// TestResize: AdjustPoolSize, StartAWorker and StopAWorker (SPEC D1-D4).

import (
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/twisted-go/threadpool"
	"go.uber.org/goleak"
)

func TestResize(t *testing.T) {
	// D1: AdjustPoolSize on a pool that is not started (new, or stopped) only
	// records min and max: no worker, no goroutine, nothing runs.
	t.Run("AdjustPoolSize on a pool not started only records the sizes", func(t *testing.T) {
		p := newPool(t, 0, 5)
		var ran atomic.Int64
		for range 3 {
			mustCall(t, p, func() { ran.Add(1) })
		}
		if err := p.AdjustPoolSize(2, 7); err != nil {
			t.Fatal(err)
		}
		if p.Min() != 2 || p.Max() != 7 {
			t.Fatalf("Min, Max = %d, %d; want 2, 7", p.Min(), p.Max())
		}
		wantCounts(t, p, 0, 0, 0, 3)
		goleak.VerifyNone(t) // no goroutine at all, the earlier tests' gone too
		if ran.Load() != 0 {
			t.Fatal("a task ran on a pool that was never started")
		}
		mustStart(t, p) // 3 tasks, min 2: 3 workers
		if s := checkStats(t, p); s.Workers != 3 || s.Min != 2 || s.Max != 7 {
			t.Fatalf("after Start: %+v", s)
		}
		mustStop(t, p)
		if ran.Load() != 3 {
			t.Fatalf("%d tasks ran, want 3", ran.Load())
		}

		// Stopped: only records.
		if err := p.AdjustPoolSize(4, 4); err != nil {
			t.Fatal(err)
		}
		wantCounts(t, p, 0, 0, 0, 0)
		if p.Min() != 4 || p.Max() != 4 || p.Started() {
			t.Fatalf("Min, Max, Started = %d, %d, %v", p.Min(), p.Max(), p.Started())
		}
		mustStart(t, p)
		wantCounts(t, p, 4, 0, 4, 0)
	})

	// D1: test_adjustingWhenPoolStopped: adjusting a stopped pool starts nothing;
	// Start then applies the new min.
	t.Run("adjusting a stopped pool starts nothing until Start", func(t *testing.T) {
		p := newPool(t, 0, 5)
		if err := p.AdjustPoolSize(1, 5); err != nil {
			t.Fatal(err)
		}
		wantCounts(t, p, 0, 0, 0, 0)
		mustStart(t, p)
		wantCounts(t, p, 1, 0, 1, 0)
	})

	// A2: a refused AdjustPoolSize changes nothing, on a new and on a started
	// pool.
	t.Run("a refused AdjustPoolSize changes nothing", func(t *testing.T) {
		for _, start := range []bool{false, true} {
			p := newPool(t, 2, 6)
			if start {
				mustStart(t, p)
			}
			workers := p.Workers()
			for _, c := range []struct {
				min, max int
				why      string
			}{{-1, 6, "minimum is negative"}, {7, 6, "minimum is greater than maximum"}, {3, 1, "minimum is greater than maximum"}, {-2, -1, "minimum is negative"}} {
				err := p.AdjustPoolSize(c.min, c.max)
				if !errors.Is(err, threadpool.ErrInvalidSize) || !strings.Contains(err.Error(), c.why) {
					t.Errorf("started=%v AdjustPoolSize(%d, %d) = %v; want ErrInvalidSize, %q", start, c.min, c.max, err, c.why)
				}
				if p.Min() != 2 || p.Max() != 6 {
					t.Errorf("started=%v after refused AdjustPoolSize(%d, %d): Min, Max = %d, %d; want 2, 6", start, c.min, c.max, p.Min(), p.Max())
				}
				if s := checkStats(t, p); s.Min != 2 || s.Max != 6 || s.Workers != workers {
					t.Errorf("started=%v after refused AdjustPoolSize: Stats %+v", start, s)
				}
			}
			if err := p.AdjustPoolSize(0, 0); err != nil {
				t.Errorf("AdjustPoolSize(0, 0) = %v", err)
			}
			if p.Min() != 0 || p.Max() != 0 {
				t.Errorf("AdjustPoolSize(0, 0): Min, Max = %d, %d", p.Min(), p.Max())
			}
			mustStop(t, p)
		}
	})

	// D2: on a started pool, surplus idle workers quit at once, surplus busy
	// workers quit when they finish and take nothing from the backlog, and the
	// pool grows to min at once.
	t.Run("AdjustPoolSize on a started pool quits surplus workers and grows to min", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p := newPool(t, 4, 4)
			mustStart(t, p)
			wantCounts(t, p, 4, 0, 4, 0)
			a, b := newGate(t), newGate(t)
			mustCall(t, p, a.wait)
			mustCall(t, p, b.wait)
			wantCounts(t, p, 4, 2, 2, 0)

			if err := p.AdjustPoolSize(0, 1); err != nil {
				t.Fatal(err)
			}
			wantCounts(t, p, 2, 2, 0, 0) // both idle workers quit at once
			if len(p.Threads()) != 2 {
				t.Fatalf("Threads = %+v", p.Threads())
			}
			var backlogRan atomic.Int64
			for range 2 {
				mustCall(t, p, func() { backlogRan.Add(1) })
			}
			wantCounts(t, p, 2, 2, 0, 2)

			a.open() // above max: this worker quits, takes nothing
			synctest.Wait()
			wantCounts(t, p, 1, 1, 0, 2)
			if backlogRan.Load() != 0 {
				t.Fatal("a worker above max took work from the backlog")
			}
			b.open() // at max: this one drains the backlog and stays
			synctest.Wait()
			wantCounts(t, p, 1, 0, 1, 0)
			if backlogRan.Load() != 2 {
				t.Fatalf("%d backlogged tasks ran, want 2", backlogRan.Load())
			}

			if err := p.AdjustPoolSize(3, 5); err != nil { // grows to min at once
				t.Fatal(err)
			}
			wantCounts(t, p, 3, 0, 3, 0)
			if err := p.AdjustPoolSize(0, 5); err != nil { // min is a floor: nobody quits
				t.Fatal(err)
			}
			wantCounts(t, p, 3, 0, 3, 0)
			if err := p.AdjustPoolSize(0, 0); err != nil { // a paused pool
				t.Fatal(err)
			}
			wantCounts(t, p, 0, 0, 0, 0)
			mustCall(t, p, func() { backlogRan.Add(1) })
			synctest.Wait()
			wantCounts(t, p, 0, 0, 0, 1)
			if err := p.AdjustPoolSize(0, 1); err != nil {
				t.Fatal(err)
			}
			synctest.Wait()
			if backlogRan.Load() != 3 {
				t.Fatal("the task held by a paused pool did not run after max was raised")
			}
			wantCounts(t, p, 1, 0, 1, 0)
		})
	})

	// D3: raising max hands waiting backlog to new workers at once (Twisted
	// #8043), also while a stop drains.
	t.Run("raising max hands the backlog to new workers at once", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p := newPool(t, 0, 1)
			mustStart(t, p)
			g := newGate(t)
			started := make(chan struct{}, 10)
			blockers(t, p, 4, g, started)
			<-started
			wantCounts(t, p, 1, 1, 0, 3)
			if err := p.AdjustPoolSize(0, 3); err != nil {
				t.Fatal(err)
			}
			wantCounts(t, p, 3, 3, 0, 1)
			<-started
			<-started
			synctest.Wait()
			if len(started) != 0 {
				t.Fatal("more tasks started than max allows")
			}

			// While a stop drains.
			stopped := make(chan error, 1)
			go func() { stopped <- p.Stop() }()
			synctest.Wait()
			wantCounts(t, p, 3, 3, 0, 1)
			if err := p.AdjustPoolSize(0, 4); err != nil {
				t.Fatal(err)
			}
			wantCounts(t, p, 4, 4, 0, 0)
			<-started
			g.open()
			if err := <-stopped; err != nil {
				t.Fatal(err)
			}
			if s := checkStats(t, p); s.Completed != 4 || s.Workers != 0 || s.PeakWorkers != 4 {
				t.Fatalf("after Stop: %+v", s)
			}
		})
	})

	// D4: StartAWorker adds one idle worker below max and does nothing at max;
	// StopAWorker removes an idle worker at once, does nothing without workers,
	// and never removes more workers than exist however often it is called.
	t.Run("StartAWorker and StopAWorker add and remove one worker", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p := newPool(t, 2, 3, threadpool.WithName("d4"))
			mustStart(t, p)
			wantCounts(t, p, 2, 0, 2, 0)
			if err := p.StartAWorker(); err != nil {
				t.Fatal(err)
			}
			wantCounts(t, p, 3, 0, 3, 0)
			if err := p.StartAWorker(); err != nil { // at max
				t.Fatal(err)
			}
			wantCounts(t, p, 3, 0, 3, 0)
			for want := 2; want >= 0; want-- {
				if err := p.StopAWorker(); err != nil {
					t.Fatal(err)
				}
				wantCounts(t, p, want, 0, want, 0)
			}
			if p.Min() != 2 { // StopAWorker does not change min
				t.Fatalf("Min = %d after StopAWorker, want 2", p.Min())
			}
			if err := p.StopAWorker(); err != nil { // no worker: nothing
				t.Fatal(err)
			}
			wantCounts(t, p, 0, 0, 0, 0)
			if s := checkStats(t, p); s.PendingShrink != 0 {
				t.Fatalf("StopAWorker without workers left a request: %+v", s)
			}

			// All busy: requests are capped at the busy count.
			g := newGate(t)
			blockers(t, p, 2, g, nil)
			wantCounts(t, p, 2, 2, 0, 0)
			for range 5 {
				if err := p.StopAWorker(); err != nil {
					t.Fatal(err)
				}
				wantCounts(t, p, 2, 2, 0, 0)
			}
			if s := checkStats(t, p); s.PendingShrink != 2 {
				t.Fatalf("PendingShrink = %d after 5 requests with 2 busy workers, want 2", s.PendingShrink)
			}
			g.open()
			synctest.Wait()
			wantCounts(t, p, 0, 0, 0, 0)
			if s := checkStats(t, p); s.PendingShrink != 0 {
				t.Fatalf("PendingShrink = %d after the busy workers quit", s.PendingShrink)
			}
			// No debt is left over: new workers stay (Twisted's do not).
			var ran atomic.Int64
			for range 2 {
				mustCall(t, p, func() { ran.Add(1) })
				synctest.Wait()
				wantCounts(t, p, 1, 0, 1, 0)
			}
			if ran.Load() != 2 {
				t.Fatalf("%d tasks ran, want 2", ran.Load())
			}

			mustStop(t, p)
			if err := p.StartAWorker(); !errors.Is(err, threadpool.ErrStopped) {
				t.Fatalf("StartAWorker on a stopped pool = %v, want ErrStopped", err)
			}
			if err := p.StopAWorker(); !errors.Is(err, threadpool.ErrStopped) {
				t.Fatalf("StopAWorker on a stopped pool = %v, want ErrStopped", err)
			}
			wantCounts(t, p, 0, 0, 0, 0)
		})
	})

	// D4: a worker that quits because it is above max also pays a pending
	// shrink request, so the two together never take the pool below what was
	// asked.
	t.Run("a worker above max also pays a shrink request", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p := newPool(t, 0, 3)
			mustStart(t, p)
			gates := []*gate{newGate(t), newGate(t), newGate(t)}
			for _, g := range gates {
				mustCall(t, p, g.wait)
			}
			wantCounts(t, p, 3, 3, 0, 0)
			if err := p.StopAWorker(); err != nil {
				t.Fatal(err)
			}
			if err := p.AdjustPoolSize(0, 2); err != nil {
				t.Fatal(err)
			}
			if s := checkStats(t, p); s.PendingShrink != 1 {
				t.Fatalf("PendingShrink = %d, want 1", s.PendingShrink)
			}
			gates[0].open() // above max: quits and pays the request
			synctest.Wait()
			wantCounts(t, p, 2, 2, 0, 0)
			if s := checkStats(t, p); s.PendingShrink != 0 {
				t.Fatalf("PendingShrink = %d after a worker above max quit, want 0", s.PendingShrink)
			}
			gates[1].open()
			gates[2].open()
			synctest.Wait()
			wantCounts(t, p, 2, 0, 2, 0)
		})
	})

	// D4 with AdjustPoolSize: pending shrink requests cannot take the pool
	// below a new min.
	t.Run("shrink requests cannot take the pool below a new min", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p := newPool(t, 0, 4)
			mustStart(t, p)
			g := newGate(t)
			blockers(t, p, 4, g, nil)
			for range 4 {
				if err := p.StopAWorker(); err != nil {
					t.Fatal(err)
				}
			}
			if s := checkStats(t, p); s.PendingShrink != 4 {
				t.Fatalf("PendingShrink = %d, want 4", s.PendingShrink)
			}
			if err := p.AdjustPoolSize(3, 4); err != nil {
				t.Fatal(err)
			}
			if s := checkStats(t, p); s.PendingShrink != 1 {
				t.Fatalf("PendingShrink = %d after AdjustPoolSize(3, 4) with 4 workers, want 1", s.PendingShrink)
			}
			g.open()
			synctest.Wait()
			wantCounts(t, p, 3, 0, 3, 0)
		})
	})

}
