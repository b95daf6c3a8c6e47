package threadpool_test

// TestStop: the graceful drain (E1), repeated and concurrent stops (E3),
// Stop from inside the pool (E4), and a backlog that can never run (E6).

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/twisted-go/threadpool"
	"go.uber.org/goleak"
)

func TestStop(t *testing.T) {
	// E1: Stop refuses new work, lets running tasks finish, runs the whole
	// backlog, waits for the workers, then returns; afterwards Workers is 0.
	t.Run("Stop refuses new work and drains the backlog before it returns", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p := newPool(t, 0, 2)
			mustStart(t, p)
			g := newGate(t)
			blockers(t, p, 2, g, nil)
			var mu sync.Mutex
			var ran []int
			for i := range 10 {
				mustCall(t, p, func() {
					mu.Lock()
					ran = append(ran, i)
					mu.Unlock()
				})
			}
			wantCounts(t, p, 2, 2, 0, 10)
			stopped := make(chan error, 1)
			go func() { stopped <- p.Stop() }()
			synctest.Wait()
			if len(stopped) != 0 {
				t.Fatal("Stop returned while tasks were still running")
			}
			wantCounts(t, p, 2, 2, 0, 10)
			if err := p.CallInThread(func() {}); !errors.Is(err, threadpool.ErrStopped) {
				t.Fatalf("CallInThread during the drain = %v", err)
			}
			g.open()
			if err := <-stopped; err != nil {
				t.Fatalf("Stop = %v", err)
			}
			if len(ran) != 10 {
				t.Fatalf("%d of the 10 backlogged tasks ran before Stop returned", len(ran))
			}
			wantCounts(t, p, 0, 0, 0, 0)
			if len(p.Threads()) != 0 || p.Started() {
				t.Fatalf("after Stop: Threads %v, Started %v", p.Threads(), p.Started())
			}
			if s := checkStats(t, p); s.Completed != 12 || s.Rejected != 1 || s.Canceled != 0 {
				t.Fatalf("after Stop: %+v", s)
			}
		})
	})

	// E1: idle workers quit, and no goroutine of the pool remains after Stop.
	t.Run("no goroutine of the pool remains after Stop", func(t *testing.T) {
		goleak.VerifyNone(t)
		p := newPool(t, 3, 6)
		mustStart(t, p)
		g := newGate(t)
		blockers(t, p, 5, g, nil)
		wantCounts(t, p, 5, 5, 0, 0)
		g.open()
		mustStop(t, p)
		wantCounts(t, p, 0, 0, 0, 0)
		goleak.VerifyNone(t)
	})

	// E3: Stop twice, from several goroutines at once, and Shutdown after Stop
	// all return nil, and only after the drain.
	t.Run("repeated and concurrent Stops return nil after the drain", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p := newPool(t, 1, 2)
			mustStart(t, p)
			g := newGate(t)
			var finished atomic.Bool
			mustCall(t, p, func() {
				g.wait()
				finished.Store(true)
			})
			mustCall(t, p, func() {}) // some backlog-free work too
			const stoppers = 6
			results := make(chan error, stoppers)
			for i := range stoppers {
				go func() {
					var err error
					if i == 0 {
						err = p.Shutdown(context.Background())
					} else {
						err = p.Stop()
					}
					if !finished.Load() {
						err = errors.New("returned before the running task finished")
					}
					results <- err
				}()
			}
			synctest.Wait()
			if len(results) != 0 {
				t.Fatalf("%d stops returned while a task still ran", len(results))
			}
			g.open()
			for range stoppers {
				if err := <-results; err != nil {
					t.Fatalf("concurrent stop: %v", err)
				}
			}
			if err := p.Stop(); err != nil {
				t.Fatalf("Stop again = %v", err)
			}
			if err := p.Shutdown(context.Background()); err != nil {
				t.Fatalf("Shutdown after Stop = %v", err)
			}
			wantCounts(t, p, 0, 0, 0, 0)
			if s := checkStats(t, p); s.Completed != 2 {
				t.Fatalf("after the stops: %+v", s)
			}
		})
	})

	// E4: Stop (and Shutdown) called from inside a task returns nil at once,
	// without deadlock; the stop has begun, and the pool drains its backlog
	// after the task returns.
	t.Run("Stop from inside a task returns at once", func(t *testing.T) {
		for _, max := range []int{1, 3} {
			p := newPool(t, 0, max)
			mustStart(t, p)
			inner := make(chan error, 2)
			release := newGate(t)
			mustCall(t, p, func() {
				release.wait() // let the backlog build up first
				inner <- p.Stop()
				inner <- p.Shutdown(context.Background())
			})
			var ran atomic.Int64
			for range 5 {
				mustCall(t, p, func() { ran.Add(1) })
			}
			release.open()
			if err := recv(t, inner, "Stop inside a task"); err != nil {
				t.Fatalf("max %d: Stop inside a task = %v, want nil", max, err)
			}
			if err := recv(t, inner, "Shutdown inside a task"); err != nil {
				t.Fatalf("max %d: Shutdown inside a task = %v, want nil", max, err)
			}
			if err := p.CallInThread(func() {}); !errors.Is(err, threadpool.ErrStopped) {
				t.Fatalf("max %d: CallInThread after an inner Stop = %v, want ErrStopped", max, err)
			}
			mustStop(t, p) // waits for the drain
			if ran.Load() != 5 {
				t.Fatalf("max %d: %d of 5 backlogged tasks ran after the inner Stop", max, ran.Load())
			}
			wantCounts(t, p, 0, 0, 0, 0)
			if s := checkStats(t, p); s.Completed != 6 || s.Canceled != 0 {
				t.Fatalf("max %d: %+v", max, s)
			}
		}
	})

	// E4: Stop from inside a callback returns nil at once; the pool drains.
	t.Run("Stop from inside a callback returns at once", func(t *testing.T) {
		p := newPool(t, 0, 1)
		mustStart(t, p)
		inner := make(chan error, 1)
		release := newGate(t)
		err := p.CallInThreadWithCallback(func(any, error) {
			inner <- p.Stop()
		}, func() (any, error) {
			release.wait()
			return nil, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		outcomes := make([]<-chan outcome, 3)
		for i := range outcomes {
			outcomes[i] = callWith(t, p, func() (any, error) { return i, nil })
		}
		release.open()
		if err := recv(t, inner, "Stop inside a callback"); err != nil {
			t.Fatalf("Stop inside a callback = %v, want nil", err)
		}
		mustStop(t, p)
		for i, ch := range outcomes {
			if o := recv(t, ch, "a backlogged callback"); o.result != i || o.err != nil {
				t.Fatalf("backlogged task %d: onResult(%v, %v)", i, o.result, o.err)
			}
		}
		wantCounts(t, p, 0, 0, 0, 0)
		if s := checkStats(t, p); s.Completed != 4 {
			t.Fatalf("%+v", s)
		}
	})

	// E4: Stop called from a task that the RunInCaller policy runs on the
	// submitting goroutine returns at once, as from any task.
	t.Run("Stop from a task run in the caller returns at once", func(t *testing.T) {
		p := newPool(t, 0, 1, threadpool.WithQueueLimit(1, threadpool.RunInCaller))
		mustStart(t, p)
		g := newGate(t)
		blockers(t, p, 2, g, nil) // one runs, one fills the backlog
		stopped := make(chan error, 1)
		submitted := make(chan error, 1)
		go func() {
			submitted <- p.CallInThread(func() { stopped <- p.Stop() })
		}()
		if err := recv(t, stopped, "Stop called from a task run in the caller"); err != nil {
			t.Fatalf("Stop: %v", err)
		}
		if err := recv(t, submitted, "the submission"); err != nil {
			t.Fatalf("CallInThread: %v", err)
		}
		g.open()
		mustStop(t, p)
	})

	// E4: Stop called from a callback that reports a cancellation, on the
	// goroutine of a worker that has already quit, returns at once. (It used to
	// wait for that same goroutine to exit.)
	t.Run("Stop from a cancellation callback on a quitting worker returns at once", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p, err := threadpool.New(0, 1)
			if err != nil {
				t.Fatal(err)
			}
			_ = p.Start()
			gate := make(chan struct{})
			_ = p.CallInThread(func() { <-gate })
			got := make(chan error, 2)
			_ = p.CallInThreadWithCallback(func(_ any, err error) {
				got <- err
				got <- p.Stop()
			}, func() (any, error) { return nil, nil })
			_ = p.AdjustPoolSize(0, 0) // the backlog can never run now
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			if err := p.Shutdown(ctx); !errors.Is(err, context.Canceled) {
				t.Fatalf("Shutdown with a done ctx = %v, want context.Canceled", err)
			}
			close(gate) // the worker quits and cancels the backlog on its goroutine
			if err := <-got; !errors.Is(err, threadpool.ErrCanceled) {
				t.Fatalf("callback got %v, want ErrCanceled", err)
			}
			if err := <-got; err != nil {
				t.Fatalf("Stop in the callback = %v", err)
			}
			if err := p.Stop(); err != nil {
				t.Fatal(err)
			}
			if s := p.Stats(); s.Canceled != 1 || s.Completed != 1 || s.Workers != 0 {
				t.Fatalf("stats %+v", s)
			}
		})
	})

	// E6: the one test of a backlog that can never run (it replaces five:
	// two in the old stop tests, two in the StopNow tests and the drain
	// case). Every way a backlog becomes unrunnable, each with tasks of all
	// three kinds: the stop cancels and reports every task (callbacks and
	// Futures get ErrCanceled, fire-and-forget ones are counted), nothing
	// runs, the stop returns, and the pool refuses work afterwards.
	t.Run("a backlog that can never run is canceled and reported", func(t *testing.T) {
		for _, c := range []struct {
			name string
			// setup (nil: the pool is never started) starts the pool
			// and makes its backlog unrunnable; it returns how many tasks
			// it left running (they complete) and what releases them.
			setup func(t *testing.T, p *threadpool.Pool) (running int, release func())
			// stop stops the pool, on a goroutine of its own.
			stop func(t *testing.T, p *threadpool.Pool)
			min  int
			max  int
		}{
			{name: "never started, Stop", min: 2, max: 4, stop: func(t *testing.T, p *threadpool.Pool) { stopAndCheck(t, p) }},
			{name: "never started, StopNow", min: 2, max: 4, stop: func(t *testing.T, p *threadpool.Pool) {
				if n := p.StopNow(); n != 6 {
					t.Errorf("StopNow returned %d, want 6", n)
				}
			}},
			{name: "max 0", min: 0, max: 0, setup: func(t *testing.T, p *threadpool.Pool) (int, func()) {
				mustStart(t, p)
				return 0, func() {}
			}, stop: func(t *testing.T, p *threadpool.Pool) { stopAndCheck(t, p) }},
			{name: "max lowered to 0 under running tasks", min: 0, max: 2, setup: func(t *testing.T, p *threadpool.Pool) (int, func()) {
				mustStart(t, p)
				g := newGate(t)
				blockers(t, p, 2, g, nil)
				if err := p.AdjustPoolSize(0, 0); err != nil {
					t.Fatal(err)
				}
				return 2, g.open
			}, stop: func(t *testing.T, p *threadpool.Pool) { stopAndCheck(t, p) }},
			{name: "max lowered to 0 while a stop drains", min: 1, max: 1, setup: func(t *testing.T, p *threadpool.Pool) (int, func()) {
				mustStart(t, p)
				g := newGate(t)
				blockers(t, p, 1, g, nil)
				return 1, g.open
			}, stop: func(t *testing.T, p *threadpool.Pool) {
				// (on the stopping goroutine: no Fatal here)
				if err := p.Shutdown(canceledCtx()); err != context.Canceled {
					t.Errorf("Shutdown: %v, want context.Canceled", err)
				}
				if err := p.AdjustPoolSize(0, 0); err != nil {
					t.Error(err)
				}
				stopAndCheck(t, p)
			}},
		} {
			t.Run(c.name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					p := newPool(t, c.min, c.max)
					running, release := 0, func() {}
					if c.setup != nil {
						running, release = c.setup(t, p)
					}
					var ran atomic.Int32
					callbacks := make(chan error, 2)
					futs := backlogOfEachKind(t, p, &ran, callbacks)
					wantCounters(t, p, counters{Submitted: uint64(6 + running), Workers: running, Working: running, Queued: 6})
					stopped := make(chan struct{})
					go func() {
						defer close(stopped)
						c.stop(t, p)
					}()
					synctest.Wait()
					if running > 0 {
						// The stop waits for the running tasks; the
						// backlog is still there, and nothing of it ran.
						if isClosed(stopped) {
							t.Fatal("the stop returned while tasks still ran")
						}
						release()
					}
					<-stopped
					wantCanceled(t, callbacks, futs)
					if ran.Load() != 0 {
						t.Errorf("%d tasks of a backlog that could never run ran", ran.Load())
					}
					wantCounters(t, p, counters{Submitted: uint64(6 + running), Completed: uint64(running), Canceled: 6})
					if err := p.CallInThread(func() { ran.Add(1) }); !errors.Is(err, threadpool.ErrStopped) {
						t.Errorf("CallInThread after the stop: %v", err)
					}
					if c.setup == nil { // a never-started pool can still be started
						mustStart(t, p)
						done := make(chan struct{})
						mustCall(t, p, func() { close(done) })
						<-done
					}
				})
			})
		}
	})
}
