package threadpool_test

// TestFuture: Future and NewFuture (resolve once, Wait and its context).
// TestSubmit: Submit and its context (refused after a stop, the context
// passed to the task, a context that ends while the task waits). The
// synctest helpers shared by the fake-clock tests are in helpers_test.go.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/twisted-go/threadpool"
	"github.com/twisted-go/threadpool/threadpooltest"
	"go.uber.org/goleak"
)

// TestFutureStopNowCanceled: Futures of tasks StopNow drops resolve with
// ErrCanceled; the running one gets its result.
func TestFutureStopNowCanceled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := startPool(t, 1, 1)
		gate := make(chan struct{})
		running := threadpool.Submit(context.Background(), p, func(context.Context) (int, error) {
			<-gate
			return 1, nil
		})
		var ran atomic.Int32
		var queued []*threadpool.Future[int]
		for range 3 {
			queued = append(queued, threadpool.Submit(context.Background(), p, func(context.Context) (int, error) {
				ran.Add(1)
				return 2, nil
			}))
		}
		if n := p.StopNow(); n != 3 {
			t.Errorf("StopNow dropped %d, want 3", n)
		}
		for i, f := range queued {
			<-f.Done() // resolved while the running task still blocks
			if v, err := f.Wait(context.Background()); v != 0 || !errors.Is(err, threadpool.ErrCanceled) {
				t.Errorf("dropped Future %d: (%d, %v), want ErrCanceled", i, v, err)
			}
		}
		close(gate)
		if v, err := running.Wait(context.Background()); v != 1 || err != nil {
			t.Errorf("running task: (%d, %v)", v, err)
		}
		stopAndCheck(t, p)
		if ran.Load() != 0 {
			t.Errorf("%d dropped tasks ran", ran.Load())
		}
		wantCounters(t, p, counters{Submitted: 4, Completed: 1, Canceled: 3})
	})
}

//go:noinline
func panicWith(v any) { panic(v) }

type ctxKey struct{}

// reentrantCtx is a user Context whose Done calls back into the pool: the
// pool must not call it with its mutex held.
type reentrantCtx struct {
	context.Context
	p *threadpool.Pool
}

func (c reentrantCtx) Done() <-chan struct{} {
	_ = c.p.QueueSize()
	return c.Context.Done()
}

func TestFuture(t *testing.T) {
	// A Future resolves exactly once, and
	// every concurrent waiter sees the same value and the same error.
	t.Run("a Future resolves once for every waiter", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p := startPool(t, 2, 2)
			gate := make(chan struct{})
			errTask := errors.New("task error 4")
			ok := threadpool.Submit(context.Background(), p, func(context.Context) (int, error) {
				<-gate
				return 42, nil
			})
			bad := threadpool.Submit(context.Background(), p, func(context.Context) (int, error) {
				<-gate
				return 7, errTask
			})
			if isClosed(ok.Done()) || isClosed(bad.Done()) {
				t.Fatal("Future resolved before its task ran")
			}

			const waiters = 50
			okRes := make(chan waited[int], waiters)
			badRes := make(chan waited[int], waiters)
			var wg sync.WaitGroup
			var unbounded context.Context // nil: waits without bound
			for range waiters {
				goWait(&wg, ok, context.Background(), okRes)
				goWait(&wg, bad, unbounded, badRes)
			}
			synctest.Wait() // every waiter waits on an unresolved Future
			if isClosed(ok.Done()) || len(okRes) != 0 || len(badRes) != 0 {
				t.Fatal("a waiter returned before the tasks ran")
			}
			close(gate)
			wg.Wait()
			close(okRes)
			close(badRes)
			for r := range okRes {
				if r.v != 42 || r.err != nil {
					t.Errorf("waiter of ok got (%d, %v), want (42, nil)", r.v, r.err)
				}
			}
			for r := range badRes {
				if r.v != 7 || r.err != errTask {
					t.Errorf("waiter of bad got (%d, %v), want (7, %v)", r.v, r.err, errTask)
				}
			}
			// Later waits, and a later StopNow, do not change the outcome.
			p.StopNow()
			stopAndCheck(t, p)
			if v, err := ok.Wait(context.Background()); v != 42 || err != nil {
				t.Errorf("ok after stop: (%d, %v)", v, err)
			}
			if v, err := bad.Wait(context.Background()); v != 7 || err != errTask {
				t.Errorf("bad after stop: (%d, %v)", v, err)
			}
			wantCounters(t, p, counters{Submitted: 2, Completed: 1, Failed: 1})
		})
	})

	// A Wait whose ctx ends returns ctx.Err() at once
	// (fake clock: exactly at the deadline), the task goes on, a later Wait gets
	// the result, and no goroutine is left behind.
	t.Run("a Wait whose context ends returns and the task goes on", func(t *testing.T) {
		defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
		synctest.Test(t, func(t *testing.T) {
			p := startPool(t, 1, 1)
			gate := make(chan struct{})
			fut := threadpool.Submit(context.Background(), p, func(context.Context) (string, error) {
				<-gate
				return "late", nil
			})

			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			start := time.Now()
			v, err := fut.Wait(ctx)
			if err != context.DeadlineExceeded || v != "" {
				t.Errorf("Wait with a deadline: (%q, %v), want (\"\", %v)", v, err, context.DeadlineExceeded)
			}
			if d := time.Since(start); d != 3*time.Second {
				t.Errorf("Wait returned after %v, want 3s", d)
			}

			canceled, cancel2 := context.WithCancel(context.Background())
			cancel2()
			if v, err := fut.Wait(canceled); err != context.Canceled || v != "" {
				t.Errorf("Wait with a canceled ctx: (%q, %v)", v, err)
			}
			if isClosed(fut.Done()) {
				t.Fatal("the waiter's ctx resolved the Future")
			}

			// Many waiters that give up leave nothing behind: only the test
			// goroutine and the worker remain in the bubble.
			for range 10 {
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				go func() {
					defer cancel()
					fut.Wait(ctx)
				}()
			}
			time.Sleep(2 * time.Second) // fake clock: every waiter's deadline passes
			synctest.Wait()
			if workers, others, stacks := bubbleGoroutines(t); workers != 1 || others != 0 {
				t.Errorf("after the waiters gave up: %d workers, %d other goroutines:\n%s", workers, others, stacks)
			}

			close(gate)
			if v, err := fut.Wait(context.Background()); v != "late" || err != nil {
				t.Errorf("Wait after the task ran: (%q, %v)", v, err)
			}
			stopAndCheck(t, p)
			wantCounters(t, p, counters{Submitted: 1, Completed: 1})
		})
	})

	// Wait on a Future resolved before its context ended returns the outcome,
	// every time (select alone would pick at random).
	t.Run("Wait prefers a resolved Future over an ended context", func(t *testing.T) {
		fut, resolve := threadpool.NewFuture[int]()
		resolve(5, nil)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		for range 1000 {
			if v, err := fut.Wait(ctx); v != 5 || err != nil {
				t.Fatalf("Wait = (%v, %v), want (5, nil)", v, err)
			}
		}
	})

	// NewFuture's resolver may be called
	// concurrently; the first call decides, every waiter sees that outcome, and
	// later calls change nothing.
	t.Run("the first resolve of a NewFuture wins", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			fut, resolve := threadpool.NewFuture[int]()
			if isClosed(fut.Done()) {
				t.Fatal("NewFuture returned a resolved Future")
			}
			const n = 64
			errs := make([]error, n)
			for i := range errs {
				errs[i] = fmt.Errorf("resolver %d", i)
			}
			results := make(chan waited[int], n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				goWait(&wg, fut, context.Background(), results)
				wg.Go(func() {
					<-start
					resolve(i, errs[i])
				})
			}
			synctest.Wait() // the waiters wait, the resolvers are at the start line
			close(start)
			wg.Wait()
			close(results)
			first := <-results
			if first.v < 0 || first.v >= n || first.err != errs[first.v] {
				t.Fatalf("outcome (%d, %v) is not one resolver call", first.v, first.err)
			}
			for r := range results {
				if r != first {
					t.Errorf("waiters disagree: (%d, %v) vs (%d, %v)", r.v, r.err, first.v, first.err)
				}
			}
			resolve(-1, nil)
			if v, err := fut.Wait(context.Background()); v != first.v || err != first.err {
				t.Errorf("a later resolve changed the outcome to (%d, %v)", v, err)
			}
		})
	})

	// Wait on an unresolved Future returns ctx.Err().
	t.Run("Wait on an unresolved NewFuture returns the context's error", func(t *testing.T) {
		fut, resolve := threadpool.NewFuture[string]()
		if v, err := fut.Wait(canceledCtx()); v != "" || err != context.Canceled {
			t.Errorf("Wait: (%q, %v)", v, err)
		}
		resolve("x", nil)
		resolve("y", errors.New("ignored"))
		if v, err := fut.Wait(context.Background()); v != "x" || err != nil {
			t.Errorf("Wait after resolve: (%q, %v)", v, err)
		}
	})

	// C3: A panicking task's Future gets a *PanicError with the
	// value and a stack that shows the panicking function; an error value is
	// seen through by errors.Is.
	t.Run("a panicking task's Future gets a PanicError", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p := startPool(t, 1, 1)
			errBoom := errors.New("boom error 4")
			for _, value := range []any{"boom4", errBoom} {
				fut := threadpool.Submit(context.Background(), p, func(context.Context) (int, error) {
					panicWith(value)
					return 1, nil
				})
				v, err := fut.Wait(context.Background())
				var pe *threadpool.PanicError
				if !errors.As(err, &pe) {
					t.Fatalf("panic %v: err %T %v, want *PanicError", value, err, err)
				}
				if v != 0 || pe.Value != value {
					t.Errorf("panic %v: v %d, Value %v", value, v, pe.Value)
				}
				if !bytes.Contains(pe.Stack, []byte("panicWith")) {
					t.Errorf("Stack does not show the panicking function:\n%s", pe.Stack)
				}
				if want := fmt.Sprint(value); !bytes.Contains([]byte(pe.Error()), []byte(want)) {
					t.Errorf("Error() %q does not contain %q", pe.Error(), want)
				}
				if e, isErr := value.(error); isErr && !errors.Is(err, e) {
					t.Errorf("errors.Is does not see through the panic value %v", e)
				}
			}
			// The worker survived: the pool still runs work on its single worker.
			if v, err := threadpool.Submit(context.Background(), p, func(context.Context) (int, error) { return 3, nil }).Wait(context.Background()); v != 3 || err != nil {
				t.Errorf("after panics: (%d, %v)", v, err)
			}
			stopAndCheck(t, p)
			wantCounters(t, p, counters{Submitted: 3, Completed: 1, Failed: 2})
		})
	})

	// C6: A task that calls runtime.Goexit resolves its Future
	// with the Goexit error, counts as failed, and its worker is replaced.
	t.Run("a task that calls Goexit resolves its Future with ErrGoexit", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p := startPool(t, 1, 1, threadpool.WithName("goexit4"))
			fut := threadpool.Submit(context.Background(), p, func(context.Context) (int, error) {
				runtime.Goexit()
				return 1, nil
			})
			v, err := fut.Wait(context.Background())
			if v != 0 || err == nil || err.Error() != "threadpool: task called runtime.Goexit" {
				t.Fatalf("Goexit: (%d, %v)", v, err)
			}
			var pe *threadpool.PanicError
			if errors.As(err, &pe) {
				t.Errorf("Goexit reported as a panic: %v", err)
			}
			next := threadpool.Submit(context.Background(), p, func(context.Context) (int, error) { return 2, nil })
			if v, err := next.Wait(context.Background()); v != 2 || err != nil {
				t.Fatalf("task after Goexit: (%d, %v)", v, err)
			}
			if th := p.Threads(); len(th) != 1 || th[0].Name != "PoolThread-goexit4-2" {
				t.Errorf("Threads after Goexit: %+v, want the replacement PoolThread-goexit4-2 only", th)
			}
			stopAndCheck(t, p)
			wantCounters(t, p, counters{Submitted: 2, Completed: 1, Failed: 1})
		})
	})

}

func TestSubmit(t *testing.T) {
	// C2: Submit once a stop has begun returns a Future
	// already resolved with ErrStopped; the task never runs (SPEC C2).
	t.Run("Submit after a stop began returns a Future resolved with ErrStopped", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p := startPool(t, 1, 1)
			gate := make(chan struct{})
			running := threadpool.Submit(context.Background(), p, func(context.Context) (int, error) {
				<-gate
				return 1, nil
			})
			if err := p.Shutdown(canceledCtx()); err != context.Canceled {
				t.Fatalf("Shutdown with a canceled ctx while a task runs: %v", err)
			}
			var ran atomic.Bool
			task := func(context.Context) (int, error) { ran.Store(true); return 2, nil }

			during := threadpool.Submit(context.Background(), p, task) // stopping
			close(gate)
			stopAndCheck(t, p)
			after := threadpool.Submit(context.Background(), p, task) // stopped
			for name, f := range map[string]*threadpool.Future[int]{"while stopping": during, "after stop": after} {
				if !isClosed(f.Done()) {
					t.Errorf("%s: Future not resolved when Submit returned", name)
				}
				if _, err := f.Wait(context.Background()); !errors.Is(err, threadpool.ErrStopped) {
					t.Errorf("%s: err %v, want ErrStopped", name, err)
				}
			}
			if v, err := running.Wait(context.Background()); v != 1 || err != nil {
				t.Errorf("running task: (%d, %v)", v, err)
			}
			if ran.Load() {
				t.Error("a task refused with ErrStopped ran")
			}
			wantCounters(t, p, counters{Submitted: 1, Completed: 1, Rejected: 2})
		})
	})

	// C1: Submit with a nil pool, context or function resolves its Future at once
	// with an error naming what was nil, and runs nothing.
	t.Run("a nil pool context or function fails at once", func(t *testing.T) {
		p := newPool(t, 0, 1)
		f := func(context.Context) (int, error) { t.Error("a nil argument's task ran"); return 0, nil }
		var nilCtx context.Context // a nil context is the point of this case
		cases := map[string]*threadpool.Future[int]{
			"nil pool":     threadpool.Submit(context.Background(), nil, f),
			"nil context":  threadpool.Submit(nilCtx, p, f),
			"nil function": threadpool.Submit[int](context.Background(), p, nil),
		}
		for name, fut := range cases {
			select {
			case <-fut.Done():
			default:
				t.Fatalf("%s: the Future is not resolved when Submit returns", name)
			}
			if _, err := fut.Wait(context.Background()); err == nil || !strings.Contains(err.Error(), strings.TrimPrefix(name, "nil ")) {
				t.Errorf("%s: %v, want an error naming it", name, err)
			}
		}
		if s := p.Stats(); s.Submitted != 0 || s.Queued != 0 {
			t.Fatalf("a refused Submit was counted: %+v", s)
		}
	})

	// The task receives the ctx it was submitted with.
	t.Run("the task receives its context", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p := startPool(t, 1, 1)
			ctx := context.WithValue(context.Background(), ctxKey{}, "v4")
			fut := threadpool.Submit(ctx, p, func(got context.Context) (any, error) {
				return got.Value(ctxKey{}), nil
			})
			same := threadpool.Submit(ctx, p, func(got context.Context) (bool, error) {
				return got == ctx, nil
			})
			if v, err := fut.Wait(context.Background()); v != "v4" || err != nil {
				t.Errorf("task saw ctx value (%v, %v), want v4", v, err)
			}
			if v, err := same.Wait(context.Background()); !v || err != nil {
				t.Errorf("task got another ctx: (%v, %v)", v, err)
			}
			stopAndCheck(t, p)
			wantCounters(t, p, counters{Submitted: 2, Completed: 2})
		})
	})

	// A backlogged task whose ctx is canceled is
	// reported at once, while every worker is still busy: its Future resolves
	// with an error wrapping ErrCanceled and context.Canceled, Queued drops and
	// Canceled rises; the task never runs.
	t.Run("a backlogged task whose context is canceled is reported at once", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p := startPool(t, 1, 1)
			gate := make(chan struct{})
			if err := p.CallInThread(func() { <-gate }); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			var ran atomic.Bool
			fut := threadpool.Submit(ctx, p, func(context.Context) (int, error) { ran.Store(true); return 1, nil })
			wantCounters(t, p, counters{Submitted: 2, Workers: 1, Working: 1, Queued: 1})
			cancel()
			<-fut.Done() // the worker is still blocked on gate
			_, err := fut.Wait(context.Background())
			if !errors.Is(err, threadpool.ErrCanceled) || !errors.Is(err, context.Canceled) {
				t.Errorf("err %v, want ErrCanceled and context.Canceled", err)
			}
			wantCounters(t, p, counters{Submitted: 2, Canceled: 1, Workers: 1, Working: 1})
			if p.QueueSize() != 0 {
				t.Errorf("QueueSize %d after the cancel", p.QueueSize())
			}
			close(gate)
			stopAndCheck(t, p)
			if ran.Load() {
				t.Error("the canceled task ran")
			}
			wantCounters(t, p, counters{Submitted: 2, Completed: 1, Canceled: 1})
		})
	})

	// The same with a deadline (fake clock): the
	// Future resolves exactly at the deadline with an error wrapping ErrCanceled
	// and context.DeadlineExceeded.
	t.Run("a backlogged task is reported exactly at its context's deadline", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p := startPool(t, 1, 1)
			gate := make(chan struct{})
			if err := p.CallInThread(func() { <-gate }); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			start := time.Now()
			fut := threadpool.Submit(ctx, p, func(context.Context) (int, error) { return 1, nil })
			<-fut.Done()
			if d := time.Since(start); d != 5*time.Second {
				t.Errorf("resolved after %v, want 5s", d)
			}
			_, err := fut.Wait(context.Background())
			if !errors.Is(err, threadpool.ErrCanceled) || !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("err %v, want ErrCanceled and DeadlineExceeded", err)
			}
			wantCounters(t, p, counters{Submitted: 2, Canceled: 1, Workers: 1, Working: 1})
			close(gate)
			stopAndCheck(t, p)
			wantCounters(t, p, counters{Submitted: 2, Completed: 1, Canceled: 1})
		})
	})

	// A ctx already done at Submit counts as
	// submitted, then canceled, whether the task would go to an idle worker, a
	// new worker, or the backlog of a pool not yet started.
	t.Run("a context already done at Submit counts as submitted then canceled", func(t *testing.T) {
		var ran atomic.Bool
		task := func(context.Context) (int, error) { ran.Store(true); return 1, nil }
		check := func(t *testing.T, fut *threadpool.Future[int]) {
			t.Helper()
			_, err := fut.Wait(context.Background())
			if !errors.Is(err, threadpool.ErrCanceled) || !errors.Is(err, context.Canceled) {
				t.Errorf("err %v, want ErrCanceled and context.Canceled", err)
			}
		}

		t.Run("idle worker", func(t *testing.T) {
			p := startPool(t, 1, 1)
			check(t, threadpool.Submit(canceledCtx(), p, task))
			stopAndCheck(t, p)
			wantCounters(t, p, counters{Submitted: 1, Canceled: 1})
		})
		t.Run("new worker", func(t *testing.T) {
			p := startPool(t, 0, 1)
			check(t, threadpool.Submit(canceledCtx(), p, task))
			stopAndCheck(t, p)
			wantCounters(t, p, counters{Submitted: 1, Canceled: 1})
		})
		t.Run("not started", func(t *testing.T) {
			p, err := threadpool.New(1, 1)
			if err != nil {
				t.Fatal(err)
			}
			fut := threadpool.Submit(canceledCtx(), p, task)
			check(t, fut) // resolved although no worker exists
			wantCounters(t, p, counters{Submitted: 1, Canceled: 1})
			if n := p.StopNow(); n != 0 {
				t.Errorf("StopNow dropped %d, want 0: the canceled task left the backlog", n)
			}
			wantCounters(t, p, counters{Submitted: 1, Canceled: 1})
		})
		if ran.Load() {
			t.Error("a task whose ctx was done at Submit ran")
		}
	})

	// F1: A canceled backlogged task stops
	// holding a bounded-backlog slot as soon as it is reported.
	t.Run("a canceled backlogged task frees its slot of a bounded backlog", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p := startPool(t, 1, 1, threadpool.WithQueueLimit(1, threadpool.Reject))
			gate := make(chan struct{})
			if err := p.CallInThread(func() { <-gate }); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			a := threadpool.Submit(ctx, p, func(context.Context) (int, error) { return 1, nil })
			if err := p.CallInThread(func() {}); !errors.Is(err, threadpool.ErrQueueFull) {
				t.Fatalf("backlog of 1 holding a task: %v, want ErrQueueFull", err)
			}
			cancel()
			<-a.Done()
			wantCounters(t, p, counters{Submitted: 2, Canceled: 1, Rejected: 1, Workers: 1, Working: 1})
			var ranC atomic.Bool
			if err := p.CallInThread(func() { ranC.Store(true) }); err != nil {
				t.Fatalf("the canceled task still holds the slot: %v", err)
			}
			wantCounters(t, p, counters{Submitted: 3, Canceled: 1, Rejected: 1, Workers: 1, Working: 1, Queued: 1})
			close(gate)
			stopAndCheck(t, p)
			if !ranC.Load() {
				t.Error("the task that took the freed slot did not run")
			}
			wantCounters(t, p, counters{Submitted: 3, Completed: 2, Canceled: 1, Rejected: 1})
		})
	})

	// On the double, a backlogged Future whose context ends is canceled by the
	// next step, whatever the scheduler does: the outcome is the same every
	// time.
	t.Run("on the double an ended context is canceled at the next step", func(t *testing.T) {
		for i := range 200 {
			p, w := threadpooltest.New(0, 1)
			mustStart(t, p)
			first := threadpool.Submit(context.Background(), p, func(context.Context) (int, error) { return 1, nil })
			ctx, cancel := context.WithCancel(context.Background())
			second := threadpool.Submit(ctx, p, func(context.Context) (int, error) { return 2, nil })
			third := threadpool.Submit(context.Background(), p, func(context.Context) (int, error) { return 3, nil })
			cancel()
			if !w.RunOne() {
				t.Fatal("nothing to run")
			}
			s := p.Stats()
			if s.Canceled != 1 || s.Completed != 1 || s.Working != 1 || s.Queued != 0 {
				t.Fatalf("run %d: after one step %+v, want the canceled task dropped and the third running", i, s)
			}
			if _, err := second.Wait(context.Background()); !errors.Is(err, threadpool.ErrCanceled) {
				t.Fatalf("second: %v", err)
			}
			w.RunAll()
			for _, f := range []*threadpool.Future[int]{first, third} {
				if _, err := f.Wait(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			_ = p.Stop()
		}
	})

	t.Run("the pool never calls a user context under its lock", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p, _ := threadpool.New(0, 1)
			_ = p.Start()
			gate := make(chan struct{})
			_ = p.CallInThread(func() { <-gate })
			ctx, cancel := context.WithCancel(context.Background())
			waiting := threadpool.Submit(reentrantCtx{ctx, p}, p, func(context.Context) (int, error) { return 1, nil })
			canceled := threadpool.Submit(reentrantCtx{ctx, p}, p, func(context.Context) (int, error) { return 2, nil })
			if q := p.QueueSize(); q != 2 {
				t.Fatalf("QueueSize = %d, want 2", q)
			}
			cancel()
			synctest.Wait()
			if _, err := canceled.Wait(context.Background()); !errors.Is(err, threadpool.ErrCanceled) {
				t.Fatalf("err = %v, want ErrCanceled", err)
			}
			if _, err := waiting.Wait(context.Background()); !errors.Is(err, threadpool.ErrCanceled) {
				t.Fatalf("err = %v, want ErrCanceled", err)
			}
			close(gate)
			if err := p.Stop(); err != nil {
				t.Fatal(err)
			}
			if s := p.Stats(); s.Canceled != 2 || s.Completed != 1 {
				t.Fatalf("stats %+v", s)
			}
		})
	})

}
