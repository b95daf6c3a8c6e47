package threadpool_test

// TestStopNow: the immediate stop (SPEC E5).

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/twisted-go/threadpool"
	"github.com/twisted-go/threadpool/threadpooltest"
)

// backlogOfEachKind submits two tasks of each kind (fire-and-forget, callback,
// Future) to p. ran counts the tasks that run; callbacks reports each
// callback's error; the Futures are returned.
func backlogOfEachKind(t *testing.T, p *threadpool.Pool, ran *atomic.Int32, callbacks chan error) []*threadpool.Future[int] {
	t.Helper()
	var futs []*threadpool.Future[int]
	for range 2 {
		if err := p.CallInThread(func() { ran.Add(1) }); err != nil {
			t.Fatal(err)
		}
		err := p.CallInThreadWithCallback(
			func(_ any, err error) { callbacks <- err },
			func() (any, error) { ran.Add(1); return 1, nil })
		if err != nil {
			t.Fatal(err)
		}
		futs = append(futs, threadpool.Submit(context.Background(), p, func(context.Context) (int, error) {
			ran.Add(1)
			return 1, nil
		}))
	}
	return futs
}

// wantCanceled checks that both callbacks and every Future reported an
// error wrapping ErrCanceled.
func wantCanceled(t *testing.T, callbacks chan error, futs []*threadpool.Future[int]) {
	t.Helper()
	for range 2 {
		if err := <-callbacks; !errors.Is(err, threadpool.ErrCanceled) {
			t.Errorf("callback got %v, want ErrCanceled", err)
		}
	}
	for _, f := range futs {
		if v, err := f.Wait(context.Background()); v != 0 || !errors.Is(err, threadpool.ErrCanceled) {
			t.Errorf("Future got (%d, %v), want ErrCanceled", v, err)
		}
	}
}

func TestStopNow(t *testing.T) {
	// E5: StopNow drops the whole backlog and reports every
	// task (callbacks and Futures get ErrCanceled, fire-and-forget ones are
	// counted), returns how many it dropped, does not wait for running tasks and
	// lets them finish; the pool refuses work from then on, and a later Stop
	// waits for the running tasks.
	t.Run("StopNow drops and reports the backlog without waiting for running tasks", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p := startPool(t, 2, 2)
			gate := make(chan struct{})
			var running []*threadpool.Future[int]
			for i := range 2 {
				running = append(running, threadpool.Submit(context.Background(), p, func(context.Context) (int, error) {
					<-gate
					return 10 + i, nil
				}))
			}
			var ran atomic.Int32
			callbacks := make(chan error, 2)
			futs := backlogOfEachKind(t, p, &ran, callbacks)
			wantCounters(t, p, counters{Submitted: 8, Workers: 2, Working: 2, Queued: 6})

			if n := p.StopNow(); n != 6 {
				t.Errorf("StopNow returned %d, want 6", n)
			}
			// StopNow returned while both tasks still block: it did not wait.
			wantCounters(t, p, counters{Submitted: 8, Canceled: 6, Workers: 2, Working: 2})
			wantCanceled(t, callbacks, futs)
			if p.Started() {
				t.Error("Started after StopNow")
			}

			// Submissions are refused from now on; the callback is not called.
			if err := p.CallInThread(func() { ran.Add(1) }); !errors.Is(err, threadpool.ErrStopped) {
				t.Errorf("CallInThread after StopNow: %v", err)
			}
			err := p.CallInThreadWithCallback(func(any, error) { t.Error("callback of a refused task called") },
				func() (any, error) { ran.Add(1); return nil, nil })
			if !errors.Is(err, threadpool.ErrStopped) {
				t.Errorf("CallInThreadWithCallback after StopNow: %v", err)
			}
			if _, err := threadpool.Submit(context.Background(), p, func(context.Context) (int, error) {
				ran.Add(1)
				return 0, nil
			}).Wait(context.Background()); !errors.Is(err, threadpool.ErrStopped) {
				t.Errorf("Submit after StopNow: %v", err)
			}
			if n := p.StopNow(); n != 0 {
				t.Errorf("second StopNow returned %d, want 0", n)
			}

			close(gate)
			for i, f := range running {
				if v, err := f.Wait(context.Background()); v != 10+i || err != nil {
					t.Errorf("running task %d: (%d, %v)", i, v, err)
				}
			}
			stopAndCheck(t, p)
			if ran.Load() != 0 {
				t.Errorf("%d dropped or refused tasks ran", ran.Load())
			}
			wantCounters(t, p, counters{Submitted: 8, Completed: 2, Canceled: 6, Rejected: 3})
			if n := p.StopNow(); n != 0 {
				t.Errorf("StopNow on a stopped pool returned %d, want 0", n)
			}
		})
	})

	// E5: With the deterministic double, StopNow drops the
	// backlog but not the task already handed to a worker, which the test then
	// runs; the worker then quits.
	t.Run("on the double StopNow keeps the task already handed to a worker", func(t *testing.T) {
		p, w := threadpooltest.New(1, 1)
		if err := p.Start(); err != nil {
			t.Fatal(err)
		}
		var ran atomic.Int32
		for range 4 {
			if err := p.CallInThread(func() { ran.Add(1) }); err != nil {
				t.Fatal(err)
			}
		}
		if w.Pending() != 1 || p.QueueSize() != 3 {
			t.Fatalf("Pending %d QueueSize %d, want 1 and 3", w.Pending(), p.QueueSize())
		}
		if n := p.StopNow(); n != 3 {
			t.Errorf("StopNow returned %d, want 3", n)
		}
		if n := w.RunAll(); n != 1 || ran.Load() != 1 {
			t.Errorf("RunAll ran %d (tasks ran %d), want 1", n, ran.Load())
		}
		if w.Live() != 0 {
			t.Errorf("Live %d after the drain", w.Live())
		}
		wantCounters(t, p, counters{Submitted: 4, Completed: 1, Canceled: 3})
	})

}
