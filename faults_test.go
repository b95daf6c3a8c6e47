package threadpool_test

// TestUserCodeFaults: user code that ends any way (error, panic of any
// value, panic(nil) with and without GODEBUG=panicnil=1, runtime.Goexit, a
// panic during a Goexit and the reverse) wherever the pool runs it (task,
// callback, logger handler, a Submit context's Err, Done and AfterFunc
// stop) is reported once to the right receiver, loses no task and no
// capacity, and Stop and Shutdown still return (SPEC C3, C5, C6, E4); on
// real workers and on the threadpooltest double.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

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
	ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
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
		if !strings.Contains(string(pe.Stack), "faults_test") {
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

func (h *faultyHandler) WithGroup(string) slog.Handler { return h }

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

// doneCtx is a context whose Done panics.
type doneCtx struct{ context.Context }

func (doneCtx) Done() <-chan struct{} { panic("Done boom") }

// relFault is one way for a task to fail, and how to recognise its report.
type relFault struct {
	name  string
	do    func()
	check func(err error) error // checks the error delivered to a callback/Future
}

var errRelSentinel = errors.New("rel sentinel")

func relFaults() []relFault {
	wantPanic := func(pred func(v any) bool) func(error) error {
		return func(err error) error {
			var pe *threadpool.PanicError
			if !errors.As(err, &pe) {
				return fmt.Errorf("got %v (%T), want a *PanicError", err, err)
			}
			if !pred(pe.Value) {
				return fmt.Errorf("PanicError.Value %#v (%T) is not the panic value", pe.Value, pe.Value)
			}
			if !strings.Contains(string(pe.Stack), "relFaults") {
				return fmt.Errorf("PanicError.Stack does not show the panicking function:\n%s", pe.Stack)
			}
			return nil
		}
	}
	return []relFault{
		{"panic string", func() { panic("boom") }, wantPanic(func(v any) bool { return v == "boom" })},
		{"panic error", func() { panic(fmt.Errorf("wrapped: %w", errRelSentinel)) }, func(err error) error {
			if e := wantPanic(func(v any) bool { _, ok := v.(error); return ok })(err); e != nil {
				return e
			}
			if !errors.Is(err, errRelSentinel) {
				return fmt.Errorf("errors.Is(%v, sentinel) is false: PanicError must unwrap an error value", err)
			}
			return nil
		}},
		{"panic custom type", func() { panic(relCustomPanic{7}) }, wantPanic(func(v any) bool { return v == relCustomPanic{7} })},
		{"panic(nil)", func() { panic(nil) }, wantPanic(func(v any) bool {
			var pn *runtime.PanicNilError
			e, ok := v.(error)
			return ok && errors.As(e, &pn)
		})},
		{"runtime.Goexit", func() { runtime.Goexit() }, func(err error) error {
			if err == nil || !strings.Contains(err.Error(), "Goexit") {
				return fmt.Errorf("got %v, want the Goexit error", err)
			}
			return nil
		}},
	}
}

// relCapacity proves that n tasks can run at once on p (n gated tasks all
// start) and that the pool has exactly n workers, all listed.
func relCapacity(t *testing.T, p *threadpool.Pool, n int) {
	t.Helper()
	gate := newGate(t)
	started := make(chan struct{}, n)
	for i := 0; i < n; i++ {
		if err := p.CallInThread(func() { started <- struct{}{}; gate.wait() }); err != nil {
			t.Fatal(err)
		}
	}
	recvN(t, started, n, "capacity probe")
	s := p.Stats()
	if s.Workers != n || s.Working != n || s.Queued != 0 || len(p.Threads()) != n {
		t.Errorf("capacity probe: Workers %d Working %d Queued %d Threads %d; want %d %d 0 %d",
			s.Workers, s.Working, s.Queued, len(p.Threads()), n, n, n)
	}
	gate.open()
}

func TestUserCodeFaults(t *testing.T) {
	// The task itself ends every way, for each of the three kinds of task.
	t.Run("in the task", func(t *testing.T) {
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
	})

	// The callback (onResult) ends every way after a successful task: a panic
	// is logged once, and the task counts as failed whenever onResult did not
	// return.
	t.Run("in the callback", func(t *testing.T) {
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
	})

	// The logger's handler panics or calls Goexit while the pool logs a
	// fire-and-forget task's failure or a callback's panic: the task is still
	// counted failed, nothing hangs, capacity stays.
	t.Run("in the logger", func(t *testing.T) {
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
	})

	// A backlogged Submit task's context: its AfterFunc stop function panics or
	// calls Goexit when the worker that finished the task before it takes it
	// (so on the worker's goroutine, after the previous task was counted).
	// Neither that task nor the one after it is lost.
	t.Run("in a context's AfterFunc stop", func(t *testing.T) {
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
					wctx, wcancel := context.WithTimeout(context.Background(), hangTimeout)
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
	})

	// A Submit context whose Err panics: the task fails with a *PanicError
	// (Err is called inside the task's recovery), and nothing else breaks.
	t.Run("in a context's Err", func(t *testing.T) {
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
	})

	// A Submit context whose Err calls Goexit as the task starts: the task
	// fails with ErrGoexit, and the worker is replaced.
	t.Run("in a context's Err by Goexit", func(t *testing.T) {
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
	})

	// A Submit context whose Done panics when the task is backlogged: the panic
	// is recovered, the task is not watched, and it runs when its turn comes
	// (its Err, called as it starts, says the context has not ended).
	t.Run("in a context's Done", func(t *testing.T) {
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
	})

	// Shutdown returns by its deadline whatever the tasks do, and a panic(nil)
	// under panicnil=1 leaves no goroutine untracked: the drain after it ends.
	t.Run("Shutdown after panic nil under panicnil=1", func(t *testing.T) {
		t.Setenv("GODEBUG", "panicnil=1")
		p := newPool(t, 0, 1, threadpool.WithLogger(slog.New(slog.DiscardHandler)))
		mustStart(t, p)
		mustCall(t, p, func() { panic(nil) })
		ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
		defer cancel()
		if err := p.Shutdown(ctx); err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
		if s := p.Stats(); s.Failed != 1 || s.Workers != 0 {
			t.Fatalf("after Shutdown: %+v", s)
		}
	})

	// The environment of a panicnil test must not leak into the others.
	t.Run("the panicnil default is restored after each test", func(t *testing.T) {
		if strings.Contains(os.Getenv("GODEBUG"), "panicnil=1") {
			t.Fatal("GODEBUG=panicnil=1 leaked out of a test")
		}
	})

	// C5: Every fault, through every kind of submission, is reported once (to the
	// callback, to the Future, or in the log) and counted once as failed; the
	// pool keeps its 3 workers.
	t.Run("every fault of every kind of task costs no capacity", func(t *testing.T) {
		const size = 3
		p, logs := startCountedPool(t, size, size)
		if p.Workers() != size || len(p.Threads()) != size {
			t.Fatalf("before: Workers %d Threads %d", p.Workers(), len(p.Threads()))
		}
		faults := relFaults()
		for round := 0; round < 4; round++ { // more faults than workers
			for _, f := range faults {
				f := f
				// CallInThread: logged once.
				before := logs.errors.Load()
				done := make(chan struct{})
				if err := p.CallInThread(func() { defer close(done); f.do() }); err != nil {
					t.Fatal(err)
				}
				waitClosed(t, done, f.name)
				// Callback: delivered once.
				reports := make(chan error, 2)
				if err := p.CallInThreadWithCallback(func(_ any, err error) { reports <- err },
					func() (any, error) { f.do(); return "unreachable", nil }); err != nil {
					t.Fatal(err)
				}
				var got error
				within(t, f.name+" callback", func() { got = <-reports })
				if err := f.check(got); err != nil {
					t.Errorf("%s via callback: %v", f.name, err)
				}
				// Future: resolved once with the fault.
				fut := threadpool.Submit(context.Background(), p, func(context.Context) (string, error) { f.do(); return "unreachable", nil })
				waitClosed(t, fut.Done(), f.name+" future")
				if v, err := fut.Wait(context.Background()); v != "" || f.check(err) != nil {
					t.Errorf("%s via Future: (%q, %v): %v", f.name, v, err, f.check(err))
				}
				// The CallInThread fault is logged once (the exact total is
				// checked after Stop); wait for its record.
				eventually(t, f.name+" logged", func() bool { return logs.errors.Load() >= before+1 })
				if len(reports) != 0 {
					t.Errorf("%s: callback called twice", f.name)
				}
			}
		}
		// Every faulty worker survived or was replaced at once: 3 idle workers,
		// all listed, without any new submission to prompt new ones.
		relIdle(t, p)
		if s := p.Stats(); s.Workers != size || s.Waiters != size || len(p.Threads()) != size {
			t.Errorf("after %d faults: Workers %d Waiters %d Threads %d; want %d each", 4*len(faults)*3, s.Workers, s.Waiters, len(p.Threads()), size)
		}
		relCapacity(t, p, size)
		within(t, "Stop", func() { _ = p.Stop() })
		s := p.Stats()
		n := uint64(4 * len(faults) * 3)
		if s.Failed != n || s.Completed != size || s.Submitted != n+size || s.PeakWorkers != size {
			t.Errorf("after Stop: Failed %d Completed %d Submitted %d PeakWorkers %d; want %d %d %d %d",
				s.Failed, s.Completed, s.Submitted, s.PeakWorkers, n, size, n+size, size)
		}
		if got := logs.errors.Load(); got != int64(4*len(faults)) {
			t.Errorf("%d error records in all, want %d (fire-and-forget faults only)", got, 4*len(faults))
		}
	})

	// C5: A callback that panics is logged once and fails its task; a callback may
	// call back into the pool: submit, resize, start/stop a worker and Stop
	// (which from inside begins the stop and returns at once).
	t.Run("callbacks that panic or call back into the pool", func(t *testing.T) {
		p, logs := startCountedPool(t, 2, 2)

		// A panicking callback, ten times: logged ten times, capacity kept.
		for i := 0; i < 10; i++ {
			done := make(chan struct{})
			_ = p.CallInThreadWithCallback(func(any, error) { defer close(done); panic(fmt.Sprint("callback ", i)) },
				func() (any, error) { return i, nil })
			waitClosed(t, done, "panicking callback")
		}
		relCapacity(t, p, 2)

		// Callbacks that call back into the pool.
		childRan := make(chan struct{})
		resized := make(chan [2]int, 1)
		reentered := make(chan struct{})
		_ = p.CallInThreadWithCallback(func(any, error) {
			if err := p.CallInThread(func() { close(childRan) }); err != nil {
				t.Errorf("submit from callback: %v", err)
			}
			if err := p.AdjustPoolSize(1, 3); err != nil {
				t.Errorf("AdjustPoolSize from callback: %v", err)
			}
			resized <- [2]int{p.Min(), p.Max()}
			if err := p.StartAWorker(); err != nil {
				t.Errorf("StartAWorker from callback: %v", err)
			}
			if err := p.StopAWorker(); err != nil {
				t.Errorf("StopAWorker from callback: %v", err)
			}
			close(reentered)
		}, func() (any, error) { return nil, nil })
		waitClosed(t, childRan, "task submitted from a callback")
		waitClosed(t, reentered, "callback re-entering the pool")
		if got := <-resized; got != [2]int{1, 3} {
			t.Errorf("inside the callback after AdjustPoolSize(1, 3): min/max %v", got)
		}

		// Stop from a callback: returns nil before the callback returns; the
		// queued work still runs, and the drain ends after the callback.
		gate := newGate(t)
		stopReturned := make(chan error, 1)
		var after atomic.Int64
		_ = p.CallInThreadWithCallback(func(any, error) {
			stopReturned <- p.Stop()
			gate.wait()
		}, func() (any, error) { return nil, nil })
		var stopErr error
		within(t, "Stop inside a callback", func() { stopErr = <-stopReturned })
		if err := stopErr; err != nil {
			t.Fatalf("Stop inside a callback: %v", err)
		}
		if err := p.CallInThread(func() {}); !errors.Is(err, threadpool.ErrStopped) {
			t.Errorf("submission after a Stop from a callback: %v, want ErrStopped", err)
		}
		if p.Started() {
			t.Error("Started() after Stop from a callback")
		}
		gate.open()
		within(t, "Stop after Stop from a callback", func() { _ = p.Stop() })
		_ = after.Load()
		s := p.Stats()
		if s.Workers != 0 || s.Failed != 10 {
			t.Errorf("after Stop: Workers %d Failed %d; want 0 10", s.Workers, s.Failed)
		}
		if got := logs.errors.Load(); got != 10 {
			t.Errorf("%d error records, want 10 (one per callback panic)", got)
		}
	})

	// C5: Tasks that block until released, with faults among them and resizing
	// while they block: after release, everything queued runs, the faults are
	// counted, and the pool is back at its size.
	t.Run("blocked tasks and faults while resizing", func(t *testing.T) {
		p, _ := startCountedPool(t, 2, 4)
		gate := newGate(t)
		started := make(chan struct{}, 4)
		for i := 0; i < 4; i++ {
			_ = p.CallInThread(func() { started <- struct{}{}; gate.wait() })
		}
		recvN(t, started, 4, "blockers")
		var ran atomic.Int64
		faults := relFaults()
		for i := 0; i < 20; i++ {
			f := faults[i%len(faults)]
			_ = p.CallInThread(func() { ran.Add(1); f.do() })
		}
		_ = p.StopAWorker()
		_ = p.StopAWorker()
		_ = p.AdjustPoolSize(2, 3)
		if s := p.Stats(); s.Working != 4 || s.Queued != 20 || s.PendingShrink != 2 {
			t.Errorf("while blocked: Working %d Queued %d PendingShrink %d; want 4 20 2", s.Working, s.Queued, s.PendingShrink)
		}
		gate.open()
		within(t, "Stop", func() { _ = p.Stop() })
		if ran.Load() != 20 {
			t.Errorf("ran %d of 20 queued faulty tasks", ran.Load())
		}
		s := p.Stats()
		if s.Failed != 20 || s.Completed != 4 || s.Workers != 0 {
			t.Errorf("after Stop: Failed %d Completed %d Workers %d", s.Failed, s.Completed, s.Workers)
		}
		if err := p.Start(); err != nil {
			t.Fatal(err)
		}
		relCapacity(t, p, 3) // restarted at min 2, can grow to max 3 and no more
	})

}
