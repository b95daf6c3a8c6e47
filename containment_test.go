package threadpool_test

// Fault containment: every place user code runs (a task, a callback, the
// logger's handler, a Submit context's methods) and every way it can end
// (return, error, panic of a value or of nil, runtime.Goexit, a panic during
// a Goexit, a Goexit during a panic), on real workers and on the
// deterministic double. The pool must report each failure once, to the
// right receiver, lose no task, lose no capacity, and stop.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twisted-go/threadpool"
	"github.com/twisted-go/threadpool/threadpooltest"
)

// rig is a started pool of max 1 and how to make its workers run what they
// have: nothing for real workers, RunAll steps on fresh goroutines for the
// double (a Goexit ends the goroutine that runs the step).
type rig struct {
	p     *threadpool.Pool
	drive func()
}

func realRig(t *testing.T, opts ...threadpool.Option) rig {
	p := newPool(t, 0, 1, opts...)
	mustStart(t, p)
	return rig{p: p, drive: func() {}}
}

func doubleRig(t *testing.T, opts ...threadpool.Option) rig {
	p, w := threadpooltest.New(0, 1, opts...)
	mustStart(t, p)
	drive := func() {
		for range 100 {
			if w.Pending() == 0 {
				return
			}
			done := make(chan struct{})
			go func() { defer close(done); w.RunAll() }()
			waitClosed(t, done, "a step of the double")
		}
		t.Fatal("the double's workers never ran out of tasks")
	}
	t.Cleanup(func() {
		_ = p.Stop()
		drive()
		if w.Live() != 0 {
			t.Errorf("%d memory workers live after Stop", w.Live())
		}
	})
	return rig{p: p, drive: drive}
}

// settle stops the pool, runs what is left, and returns the final Stats: a
// task counts as completed only once its worker is free again, after its
// Future has resolved.
func (r rig) settle(t *testing.T) threadpool.Stats {
	t.Helper()
	stopped := make(chan error, 1)
	go func() { stopped <- r.p.Stop() }()
	r.drive()
	if err := recv(t, stopped, "Stop"); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	return checkStats(t, r.p)
}

var rigs = []struct {
	name string
	make func(*testing.T, ...threadpool.Option) rig
}{{"real workers", realRig}, {"threadpooltest", doubleRig}}

// probe checks that the pool still has its capacity: a task submitted now
// runs and resolves.
func (r rig) probe(t *testing.T) {
	t.Helper()
	fut := threadpool.Submit(context.Background(), r.p, func(context.Context) (int, error) { return 7, nil })
	r.drive()
	ctx, cancel := context.WithTimeout(context.Background(), failAfter)
	defer cancel()
	if v, err := fut.Wait(ctx); v != 7 || err != nil {
		t.Fatalf("the next task: (%v, %v), want (7, nil): the fault cost capacity or lost the task", v, err)
	}
}

// ending is a way for user code to end.
type ending struct {
	name string
	do   func() error // returns the error to return, or never returns
	// want checks the error that the task's receiver got; nil: success.
	want func(error) error
}

var errBody = errors.New("body error")

func isPanic(value func(any) bool) func(error) error {
	return func(err error) error {
		var pe *threadpool.PanicError
		if !errors.As(err, &pe) || !value(pe.Value) {
			return fmt.Errorf("got %v, want a *PanicError", err)
		}
		if !strings.Contains(string(pe.Stack), "containment_test") {
			return fmt.Errorf("the stack does not show the panicking function:\n%s", pe.Stack)
		}
		return nil
	}
}

func isGoexit(err error) error {
	if !errors.Is(err, threadpool.ErrGoexit) {
		return fmt.Errorf("got %v, want ErrGoexit", err)
	}
	return nil
}

func isPanicNil(v any) bool { _, ok := v.(*runtime.PanicNilError); return ok }

var endings = []ending{
	{"returns", func() error { return nil }, nil},
	{"returns an error", func() error { return errBody }, func(err error) error {
		if !errors.Is(err, errBody) {
			return fmt.Errorf("got %v, want the body's error", err)
		}
		return nil
	}},
	{"panics", func() error { panic("boom") }, isPanic(func(v any) bool { return v == "boom" })},
	{"panics with nil", func() error { panic(nil) }, isPanic(isPanicNil)},
	{"panics with nil under panicnil=1", func() error { panic(nil) }, isPanic(isPanicNil)},
	{"calls Goexit", func() error { runtime.Goexit(); return nil }, isGoexit},
	{"panics in a deferred call during Goexit", func() error {
		defer func() { panic("during goexit") }()
		runtime.Goexit()
		return nil
	}, isGoexit},
	{"calls Goexit in a deferred call during a panic", func() error {
		defer runtime.Goexit()
		panic("before goexit")
	}, isGoexit},
}

// setPanicNil makes panic(nil) recover as nil for the rest of the test,
// when the ending asks for it.
func setPanicNil(t *testing.T, e ending) {
	if strings.HasSuffix(e.name, "panicnil=1") {
		t.Setenv("GODEBUG", "panicnil=1")
	}
}

// The task itself ends every way, for each of the three kinds of task.
func TestUserCodeFaultsInTheTask(t *testing.T) {
	for _, rg := range rigs {
		for _, e := range endings {
			t.Run(rg.name+"/CallInThread/task "+e.name, func(t *testing.T) {
				setPanicNil(t, e)
				rec, logger := newRecorder()
				r := rg.make(t, threadpool.WithLogger(logger))
				mustCall(t, r.p, func() { _ = e.do() })
				r.probe(t)
				s := r.settle(t)
				failed := e.want != nil && e.name != "returns an error"
				if wantFailed := map[bool]uint64{true: 1, false: 0}[failed]; s.Failed != wantFailed || s.Completed != 2-wantFailed {
					t.Errorf("Completed %d Failed %d, want the task counted failed=%v", s.Completed, s.Failed, failed)
				}
				if n := len(rec.records()); failed && n != 1 || !failed && n != 0 {
					t.Errorf("%d log records, want %d: %+v", n, map[bool]int{true: 1}[failed], rec.records())
				}
				if failed {
					r0 := rec.records()[0]
					if err := e.want(r0.err()); err != nil {
						t.Errorf("logged: %v", err)
					}
				}
			})
			t.Run(rg.name+"/CallInThreadWithCallback/task "+e.name, func(t *testing.T) {
				setPanicNil(t, e)
				r := rg.make(t)
				got := make(chan error, 2)
				err := r.p.CallInThreadWithCallback(func(_ any, err error) { got <- err }, func() (any, error) {
					return 1, e.do()
				})
				if err != nil {
					t.Fatal(err)
				}
				r.probe(t)
				checkReceived(t, e, recv(t, got, "the callback"))
				checkFailedCount(t, r, e)
			})
			t.Run(rg.name+"/Submit/task "+e.name, func(t *testing.T) {
				setPanicNil(t, e)
				r := rg.make(t)
				fut := threadpool.Submit(context.Background(), r.p, func(context.Context) (int, error) {
					return 1, e.do()
				})
				r.probe(t)
				_, err := fut.Wait(context.Background())
				checkReceived(t, e, err)
				checkFailedCount(t, r, e)
			})
		}
	}
}

func checkReceived(t *testing.T, e ending, err error) {
	t.Helper()
	if e.want == nil {
		if err != nil {
			t.Errorf("the receiver got %v, want nil", err)
		}
		return
	}
	if werr := e.want(err); werr != nil {
		t.Errorf("the receiver: %v", werr)
	}
}

func checkFailedCount(t *testing.T, r rig, e ending) {
	t.Helper()
	s := r.settle(t)
	want := uint64(0)
	if e.want != nil {
		want = 1
	}
	if s.Failed != want || s.Completed+s.Failed != 2 {
		t.Errorf("Completed %d Failed %d, want %d failed of 2", s.Completed, s.Failed, want)
	}
}

// The callback (onResult) ends every way after a successful task: a panic
// is logged once, and the task counts as failed whenever onResult did not
// return.
func TestUserCodeFaultsInTheCallback(t *testing.T) {
	for _, rg := range rigs {
		for _, e := range endings {
			if e.name == "returns an error" {
				continue // onResult returns nothing
			}
			t.Run(rg.name+"/onResult "+e.name, func(t *testing.T) {
				setPanicNil(t, e)
				rec, logger := newRecorder()
				r := rg.make(t, threadpool.WithLogger(logger))
				if err := r.p.CallInThreadWithCallback(func(any, error) { _ = e.do() }, func() (any, error) { return 1, nil }); err != nil {
					t.Fatal(err)
				}
				r.probe(t)
				checkFailedCount(t, r, e)
				panicked := e.want != nil && !strings.Contains(e.name, "Goexit")
				if n := len(rec.records()); panicked && n != 1 || !panicked && n != 0 {
					t.Errorf("%d log records, want one per panic: %+v", n, rec.records())
				}
			})
		}
	}
}

// faultyHandler is a slog handler that ends the way it is told on every
// Error record, as a test handler calling t.FailNow would.
type faultyHandler struct {
	mu    sync.Mutex
	calls int
	end   func()
}

func (h *faultyHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *faultyHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	h.calls++
	h.mu.Unlock()
	if r.Level == slog.LevelError {
		h.end()
	}
	return nil
}
func (h *faultyHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *faultyHandler) WithGroup(string) slog.Handler      { return h }

// The logger's handler panics or calls Goexit while the pool logs a
// fire-and-forget task's failure or a callback's panic: the task is still
// counted failed, nothing hangs, capacity stays.
func TestUserCodeFaultsInTheLogger(t *testing.T) {
	ends := []struct {
		name string
		end  func()
	}{{"panics", func() { panic("logger boom") }}, {"calls Goexit", runtime.Goexit}}
	faults := []struct {
		name   string
		submit func(*threadpool.Pool) error
	}{
		{"a fire-and-forget task panics", func(p *threadpool.Pool) error {
			return p.CallInThread(func() { panic("task boom") })
		}},
		{"a fire-and-forget task calls Goexit", func(p *threadpool.Pool) error {
			return p.CallInThread(runtime.Goexit)
		}},
		{"a callback panics", func(p *threadpool.Pool) error {
			return p.CallInThreadWithCallback(func(any, error) { panic("callback boom") }, func() (any, error) { return 1, nil })
		}},
	}
	for _, rg := range rigs {
		for _, en := range ends {
			for _, f := range faults {
				t.Run(rg.name+"/logger "+en.name+" when "+f.name, func(t *testing.T) {
					h := &faultyHandler{end: en.end}
					r := rg.make(t, threadpool.WithLogger(slog.New(h)))
					if err := f.submit(r.p); err != nil {
						t.Fatal(err)
					}
					r.probe(t)
					if s := r.settle(t); s.Failed != 1 || s.Completed != 1 {
						t.Errorf("Completed %d Failed %d, want 1 and 1", s.Completed, s.Failed)
					}
					h.mu.Lock()
					defer h.mu.Unlock()
					if h.calls != 1 {
						t.Errorf("the handler was called %d times, want once", h.calls)
					}
				})
			}
		}
	}
}

// stopCtx is a context whose AfterFunc registrations return a stop function
// that ends the way it is told, as a custom context type may.
type stopCtx struct {
	context.Context
	end func()
}

// Value hides the cancelCtx inside, so that context.AfterFunc takes the
// AfterFunc method below instead of registering with that cancelCtx.
func (c stopCtx) Value(any) any { return nil }

func (c stopCtx) AfterFunc(f func()) func() bool {
	stop := context.AfterFunc(c.Context, f)
	return func() bool {
		c.end()
		return stop()
	}
}

// errCtx is a context whose Err method panics once asked after the task
// was submitted.
type errCtx struct {
	context.Context
	armed chan struct{}
}

func (c errCtx) Err() error {
	select {
	case <-c.armed:
		panic("Err boom")
	default:
		return nil
	}
}

// A backlogged Submit task's context: its AfterFunc stop function panics or
// calls Goexit when the worker that finished the task before it takes it
// (so on the worker's goroutine, after the previous task was counted).
// Neither that task nor the one after it is lost.
func TestUserCodeFaultsInAContextsAfterFuncStop(t *testing.T) {
	ends := []struct {
		name string
		end  func()
	}{{"panics", func() { panic("stop boom") }}, {"calls Goexit", runtime.Goexit}}
	for _, rg := range rigs {
		for _, en := range ends {
			t.Run(rg.name+"/stop "+en.name, func(t *testing.T) {
				rec, logger := newRecorder()
				r := rg.make(t, threadpool.WithLogger(logger))
				g := newGate(t)
				first := threadpool.Submit(context.Background(), r.p, func(context.Context) (int, error) {
					if rg.name == "real workers" {
						g.wait()
					}
					return 1, nil
				})
				base, cancel := context.WithCancel(context.Background())
				defer cancel()
				once := sync.Once{}
				ctx := stopCtx{Context: base, end: func() {
					do := false
					once.Do(func() { do = true })
					if do {
						en.end()
					}
				}}
				second := threadpool.Submit(ctx, r.p, func(context.Context) (int, error) { return 2, nil })
				third := threadpool.Submit(context.Background(), r.p, func(context.Context) (int, error) { return 3, nil })
				if q := r.p.QueueSize(); q != 2 {
					t.Fatalf("QueueSize %d, want 2 backlogged behind the first", q)
				}
				g.open()
				r.drive()
				wctx, wcancel := context.WithTimeout(context.Background(), failAfter)
				defer wcancel()
				for i, f := range []*threadpool.Future[int]{first, second, third} {
					if v, err := f.Wait(wctx); v != i+1 || err != nil {
						t.Fatalf("task %d: (%v, %v)", i+1, v, err)
					}
				}
				r.probe(t)
				if n := len(rec.records()); en.name == "panics" && rg.name == "real workers" && n != 1 {
					t.Errorf("%d log records, want the stop's panic logged once: %+v", n, rec.records())
				}
			})
		}
	}
}

// A Submit context whose Err panics: the task fails with a *PanicError
// (Err is called inside the task's recovery), and nothing else breaks.
func TestUserCodeFaultsInAContextsErr(t *testing.T) {
	for _, rg := range rigs {
		t.Run(rg.name, func(t *testing.T) {
			r := rg.make(t)
			armed := make(chan struct{})
			ctx := errCtx{Context: context.Background(), armed: armed}
			close(armed)
			fut := threadpool.Submit(ctx, r.p, func(context.Context) (int, error) { return 1, nil })
			r.drive()
			_, err := fut.Wait(context.Background())
			var pe *threadpool.PanicError
			if !errors.As(err, &pe) || pe.Value != "Err boom" {
				t.Fatalf("got %v, want the Err panic as a *PanicError", err)
			}
			r.probe(t)
		})
	}
}

// Stop called from a task that the RunInCaller policy runs on the
// submitting goroutine returns at once, as from any task.
func TestStopFromATaskRunInTheCallerReturnsAtOnce(t *testing.T) {
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
}

// Shutdown returns by its deadline whatever the tasks do, and a panic(nil)
// under panicnil=1 leaves no goroutine untracked: the drain after it ends.
func TestShutdownAfterPanicNilUnderPanicnil(t *testing.T) {
	t.Setenv("GODEBUG", "panicnil=1")
	p := newPool(t, 0, 1, threadpool.WithLogger(slog.New(slog.DiscardHandler)))
	mustStart(t, p)
	mustCall(t, p, func() { panic(nil) })
	ctx, cancel := context.WithTimeout(context.Background(), failAfter)
	defer cancel()
	if err := p.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if s := p.Stats(); s.Failed != 1 || s.Workers != 0 {
		t.Fatalf("after Shutdown: %+v", s)
	}
}

// Shutdown's bound covers the whole wait, the worker goroutines' return
// included: a task that never returns does not hold it past its deadline.
func TestShutdownReturnsByItsDeadlineWhateverATaskDoes(t *testing.T) {
	p := newPool(t, 0, 1)
	mustStart(t, p)
	g := newGate(t)
	started := make(chan struct{}, 1)
	blockers(t, p, 1, g, started)
	recv(t, started, "the blocking task")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := p.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown: %v, want the deadline", err)
	}
	g.open()
}

// Wait on a Future resolved before its context ended returns the outcome,
// every time (select alone would pick at random).
func TestWaitPrefersAResolvedFutureOverAnEndedContext(t *testing.T) {
	fut, resolve := threadpool.NewFuture[int]()
	resolve(5, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for range 1000 {
		if v, err := fut.Wait(ctx); v != 5 || err != nil {
			t.Fatalf("Wait = (%v, %v), want (5, nil)", v, err)
		}
	}
}

// On the double, a backlogged Future whose context ends is canceled by the
// next step, whatever the scheduler does: the outcome is the same every
// time.
func TestDoubleCancelsAnEndedContextAtTheNextStep(t *testing.T) {
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
}

// The environment of a panicnil test must not leak into the others.
func TestPanicNilDefaultIsRestored(t *testing.T) {
	if strings.Contains(os.Getenv("GODEBUG"), "panicnil=1") {
		t.Fatal("GODEBUG=panicnil=1 leaked out of a test")
	}
}

// JSON null unmarshals as a no-op, as encoding/json does for every type.
func TestUnmarshalJSONNullLeavesThePoolAsItIs(t *testing.T) {
	p := newPool(t, 2, 9, threadpool.WithName("kept"))
	if err := p.UnmarshalJSON([]byte(" null ")); err != nil {
		t.Fatalf("UnmarshalJSON(null): %v", err)
	}
	if p.Min() != 2 || p.Max() != 9 || p.Name() != "kept" {
		t.Fatalf("after null: min %d max %d name %q", p.Min(), p.Max(), p.Name())
	}
}

// An absurd minimum (it would start that many goroutines at once) is
// refused at the call site; an absurd maximum is only a limit.
func TestAbsurdMinimumIsRefused(t *testing.T) {
	const huge = int(^uint(0) >> 1)
	if _, err := threadpool.New(huge, huge); !errors.Is(err, threadpool.ErrInvalidSize) || !strings.Contains(err.Error(), "minimum is above") {
		t.Fatalf("New(MaxInt, MaxInt): %v", err)
	}
	var p threadpool.Pool
	if err := p.UnmarshalJSON([]byte(`{"min": 9223372036854775807, "max": 9223372036854775807}`)); !errors.Is(err, threadpool.ErrInvalidSize) {
		t.Fatalf("UnmarshalJSON of an absurd min: %v", err)
	}
	q := newPool(t, 0, huge)
	if err := q.AdjustPoolSize(1<<20+1, huge); !errors.Is(err, threadpool.ErrInvalidSize) {
		t.Fatalf("AdjustPoolSize above the bound: %v", err)
	}
	if q.Min() != 0 {
		t.Fatalf("a refused AdjustPoolSize changed min to %d", q.Min())
	}
}

// While Start grows a large minimum, Stats is not held up for the whole
// growth: Start lets go of the lock between batches of workers, and a
// Stats call waiting for it (a waiter starved for a millisecond is handed
// the mutex) sees the growth half done.
func TestStartOfALargeMinimumDoesNotHoldTheLockThroughout(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("needs a second processor for the Stats caller to wait on the lock")
	}
	const n = 1 << 14
	p := newPool(t, n, n)
	ready := make(chan struct{})
	sawPartial := make(chan bool, 1)
	go func() {
		close(ready)
		for {
			switch s := p.Stats(); {
			case s.Workers > 0 && s.Workers < n:
				sawPartial <- true
				return
			case s.Workers == n:
				sawPartial <- false
				return
			}
		}
	}()
	<-ready
	mustStart(t, p)
	if !recv(t, sawPartial, "a Stats during Start") {
		t.Fatal("Stats never saw the growth half done: Start held the lock throughout")
	}
	if w := p.Workers(); w != n {
		t.Fatalf("Workers after Start = %d", w)
	}
}

// goexitErrCtx is a context whose Err calls runtime.Goexit once armed.
type goexitErrCtx struct {
	context.Context
	armed chan struct{}
}

func (c goexitErrCtx) Err() error {
	select {
	case <-c.armed:
		runtime.Goexit()
	default:
	}
	return nil
}

// A Submit context whose Err calls Goexit as the task starts: the task
// fails with ErrGoexit, and the worker is replaced.
func TestUserCodeFaultsInAContextsErrGoexit(t *testing.T) {
	for _, rg := range rigs {
		t.Run(rg.name, func(t *testing.T) {
			r := rg.make(t)
			armed := make(chan struct{})
			close(armed)
			fut := threadpool.Submit(goexitErrCtx{Context: context.Background(), armed: armed}, r.p,
				func(context.Context) (int, error) { return 1, nil })
			r.drive()
			if _, err := fut.Wait(context.Background()); !errors.Is(err, threadpool.ErrGoexit) {
				t.Fatalf("got %v, want ErrGoexit", err)
			}
			r.probe(t)
			if s := r.settle(t); s.Failed != 1 || s.Completed != 1 {
				t.Fatalf("Completed %d Failed %d, want 1 and 1", s.Completed, s.Failed)
			}
		})
	}
}

// doneCtx is a context whose Done panics.
type doneCtx struct{ context.Context }

func (doneCtx) Done() <-chan struct{} { panic("Done boom") }

// A Submit context whose Done panics when the task is backlogged: the panic
// is recovered, the task is not watched, and it runs when its turn comes
// (its Err, called as it starts, says the context has not ended).
func TestUserCodeFaultsInAContextsDone(t *testing.T) {
	for _, rg := range rigs {
		t.Run(rg.name, func(t *testing.T) {
			r := rg.make(t)
			g := newGate(t)
			first := threadpool.Submit(context.Background(), r.p, func(context.Context) (int, error) {
				if rg.name == "real workers" {
					g.wait()
				}
				return 1, nil
			})
			second := threadpool.Submit(doneCtx{context.Background()}, r.p, func(context.Context) (int, error) { return 2, nil })
			if q := r.p.QueueSize(); q != 1 {
				t.Fatalf("QueueSize %d, want the second task backlogged", q)
			}
			g.open()
			r.drive()
			for i, f := range []*threadpool.Future[int]{first, second} {
				if v, err := f.Wait(context.Background()); v != i+1 || err != nil {
					t.Fatalf("task %d: (%v, %v)", i+1, v, err)
				}
			}
		})
	}
}

// Submit with a nil pool, context or function resolves its Future at once
// with an error naming what was nil, and runs nothing.
func TestSubmitWithNilArgumentsFailsAtOnce(t *testing.T) {
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
}

// An Option is opaque: the zero Option, the only one a caller can make
// without a With function, is refused at the call site.
func TestZeroOptionIsRefused(t *testing.T) {
	if _, err := threadpool.New(0, 1, threadpool.Option{}); err == nil || !strings.Contains(err.Error(), "zero Option") {
		t.Fatalf("New with a zero Option: %v", err)
	}
}
