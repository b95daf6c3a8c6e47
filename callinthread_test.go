package threadpool_test

// TestCallInThread: CallInThread and CallInThreadWithCallback. Nil
// functions are refused (C1), work after a stop is refused (C2), results and
// errors reach onResult (C3), onResult runs on the worker right after f
// (C4), panics nobody receives are logged once (C5), and Goexit is counted
// and its worker replaced (C6). What the pool retains is in
// retention_test.go.

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"weak"

	"github.com/twisted-go/threadpool"
)

// outcome is what one onResult call received.
type outcome struct {
	result any
	err    error
}

// callWith submits f with a callback that sends its outcome on the returned
// channel, failing the test if the submission fails.
func callWith(t testing.TB, p *threadpool.Pool, f func() (any, error)) <-chan outcome {
	t.Helper()
	ch := make(chan outcome, 2)
	err := p.CallInThreadWithCallback(func(r any, err error) { ch <- outcome{r, err} }, f)
	if err != nil {
		t.Fatalf("CallInThreadWithCallback: %v", err)
	}
	return ch
}

var errTask = errors.New("task failed on purpose")

//go:noinline
func panickingTask() (any, error) { panic("boom: the task panicked") }

//go:noinline
func panicInFireAndForget() { panic("fire-and-forget boom") }

//go:noinline
func panickingCallback(any, error) { panic("callback boom") }

// payload is big and has a pointer, so it is never tiny-allocated and a
// weak pointer to it tells exactly whether it is reachable.
type payload struct {
	buf [64]byte
	_   *payload // a pointer field: payload is never allocated as pointer-free
}

func collected[T any](w weak.Pointer[T]) bool {
	runtime.GC()
	runtime.GC()
	return w.Value() == nil
}

// submitRetained submits a task whose function, result and callback each
// capture their own payload; it returns weak pointers to the three. The
// callback checks that the function's payload is unreachable while it
// runs (C7), and reports on checked.
func submitRetained(t testing.TB, p *threadpool.Pool, checked chan<- bool) (fArg, res, cbArg weak.Pointer[payload]) {
	a, r, c := new(payload), new(payload), new(payload)
	fArg, res, cbArg = weak.Make(a), weak.Make(r), weak.Make(c)
	fWeak := fArg
	err := p.CallInThreadWithCallback(func(result any, err error) {
		_ = c.buf[0]
		if result.(*payload) != r {
			t.Error("wrong result")
		}
		checked <- collected(fWeak)
	}, func() (any, error) {
		a.buf[0] = 1
		return r, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return
}

// submitFunc submits a CallInThread task capturing a payload.
func submitFunc(t testing.TB, p *threadpool.Pool) weak.Pointer[payload] {
	a := new(payload)
	w := weak.Make(a)
	mustCall(t, p, func() { a.buf[0] = 1 })
	return w
}

func TestCallInThread(t *testing.T) {
	// C1: nil functions are refused at the call site; nothing is queued or
	// counted, and the other function is never called.
	t.Run("nil functions are refused", func(t *testing.T) {
		for _, start := range []bool{false, true} {
			p := newPool(t, 0, 2)
			if start {
				mustStart(t, p)
			}
			err := p.CallInThread(nil)
			if err == nil || err.Error() != "threadpool: CallInThread: nil function" {
				t.Errorf("CallInThread(nil) = %v", err)
			}
			called := false
			err = p.CallInThreadWithCallback(func(any, error) { called = true }, nil)
			if err == nil || err.Error() != "threadpool: CallInThreadWithCallback: nil function" {
				t.Errorf("CallInThreadWithCallback(cb, nil) = %v", err)
			}
			err = p.CallInThreadWithCallback(nil, func() (any, error) { called = true; return nil, nil })
			if err == nil {
				t.Errorf("CallInThreadWithCallback(nil, f) = nil, want an error")
			}
			err = p.CallInThreadWithCallback(nil, nil)
			if err == nil {
				t.Errorf("CallInThreadWithCallback(nil, nil) = nil, want an error")
			}
			for _, e := range []error{threadpool.ErrStopped, threadpool.ErrInvalidSize, threadpool.ErrCanceled, threadpool.ErrQueueFull} {
				if errors.Is(err, e) {
					t.Errorf("nil function error %v wraps %v", err, e)
				}
			}
			mustStop(t, p)
			if called {
				t.Error("a function of a refused submission was called")
			}
			if s := checkStats(t, p); s.Submitted != 0 || s.Rejected != 0 || s.Completed != 0 || s.Canceled != 0 {
				t.Errorf("started=%v: nil submissions were counted: %+v", start, s)
			}
		}
	})

	// C2: once Stop has begun, and until a restart, submissions return
	// ErrStopped at once, the task never runs and the callback is not called.
	t.Run("submissions after Stop are refused with ErrStopped", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p := newPool(t, 0, 2)
			mustStart(t, p)
			g := newGate(t)
			blockers(t, p, 1, g, nil)
			stopped := make(chan error)
			go func() { stopped <- p.Stop() }()
			synctest.Wait() // Stop has begun and waits for the blocked task
			if p.Started() {
				t.Fatal("Started() = true while stopping")
			}
			var ran atomic.Int64
			if err := p.CallInThread(func() { ran.Add(1) }); !errors.Is(err, threadpool.ErrStopped) {
				t.Fatalf("CallInThread while stopping = %v, want ErrStopped", err)
			}
			err := p.CallInThreadWithCallback(func(any, error) { ran.Add(1) }, func() (any, error) { ran.Add(1); return nil, nil })
			if !errors.Is(err, threadpool.ErrStopped) {
				t.Fatalf("CallInThreadWithCallback while stopping = %v, want ErrStopped", err)
			}
			if s := checkStats(t, p); s.Rejected != 2 || s.Submitted != 1 || s.Queued != 0 {
				t.Fatalf("while stopping: %+v", s)
			}
			g.open()
			if err := <-stopped; err != nil {
				t.Fatal(err)
			}
			if err := p.CallInThread(func() { ran.Add(1) }); !errors.Is(err, threadpool.ErrStopped) {
				t.Fatalf("CallInThread after Stop = %v, want ErrStopped", err)
			}
			err = p.CallInThreadWithCallback(func(any, error) { ran.Add(1) }, func() (any, error) { ran.Add(1); return nil, nil })
			if !errors.Is(err, threadpool.ErrStopped) {
				t.Fatalf("CallInThreadWithCallback after Stop = %v, want ErrStopped", err)
			}
			synctest.Wait()
			if ran.Load() != 0 {
				t.Fatalf("%d refused functions ran", ran.Load())
			}
			if s := checkStats(t, p); s.Rejected != 4 || s.Submitted != 1 || s.Completed != 1 {
				t.Fatalf("after Stop: %+v", s)
			}

			// A restart accepts work again.
			mustStart(t, p)
			done := make(chan struct{})
			if err := p.CallInThread(func() { close(done) }); err != nil {
				t.Fatalf("CallInThread after restart = %v", err)
			}
			<-done
			mustStop(t, p)
			if s := checkStats(t, p); s.Rejected != 4 || s.Submitted != 2 || s.Completed != 2 {
				t.Fatalf("after restart: %+v", s)
			}
		})
	})

	// C2: submissions racing with Stop either are accepted and run, or are
	// refused with ErrStopped and never run; nothing accepted is lost.
	t.Run("a submission racing with Stop runs or is refused", func(t *testing.T) {
		for range 20 {
			p := newPool(t, 0, 4)
			mustStart(t, p)
			var ran, accepted, refused atomic.Int64
			var cbRan, cbAccepted atomic.Int64
			firstRuns := make(chan struct{}, 8)
			var wg sync.WaitGroup
			for s := range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						var err error
						if s%2 == 0 {
							err = p.CallInThread(func() {
								ran.Add(1)
								select {
								case firstRuns <- struct{}{}:
								default:
								}
							})
						} else {
							err = p.CallInThreadWithCallback(func(any, error) { cbRan.Add(1) }, func() (any, error) { return nil, nil })
							if err == nil {
								cbAccepted.Add(1)
							}
						}
						switch {
						case err == nil:
							accepted.Add(1)
						case errors.Is(err, threadpool.ErrStopped):
							refused.Add(1)
							return
						default:
							t.Error(err)
							return
						}
					}
				}()
			}
			recv(t, firstRuns, "a first task")
			mustStop(t, p)
			wg.Wait()
			s := checkStats(t, p)
			if s.Submitted != uint64(accepted.Load()) || s.Completed != uint64(accepted.Load()) || s.Rejected != uint64(refused.Load()) {
				t.Fatalf("accepted %d, refused %d; Stats %+v", accepted.Load(), refused.Load(), s)
			}
			if ran.Load()+cbRan.Load() != accepted.Load() || cbRan.Load() != cbAccepted.Load() {
				t.Fatalf("accepted %d tasks (%d with callbacks) but %d ran and %d callbacks were called",
					accepted.Load(), cbAccepted.Load(), ran.Load(), cbRan.Load())
			}
			if refused.Load() != 4 {
				t.Fatalf("refused = %d, want one per submitter", refused.Load())
			}
		}
	})

	// C2: test_callInThread (_threadpoolTest with Synchronization): many calls, all
	// run; a synchronised section is never entered twice at once.
	t.Run("many calls all run", func(t *testing.T) {
		const n = 1000
		p := newPool(t, threadpool.DefaultMin, threadpool.DefaultMax)
		mustStart(t, p)
		var mu sync.Mutex // Twisted's threadable.synchronize
		var inside, failures atomic.Int64
		runs := 0
		done := make(chan struct{})
		run := func() {
			mu.Lock()
			defer mu.Unlock()
			if inside.Add(1) != 1 {
				failures.Add(1)
			}
			runs++
			if runs == n {
				close(done)
			}
			inside.Add(-1)
		}
		for range n {
			mustCall(t, p, run)
		}
		waitClosed(t, done, "all the runs")
		if failures.Load() != 0 {
			t.Fatalf("%d overlapping runs", failures.Load())
		}
		mustStop(t, p)
		if s := checkStats(t, p); s.Completed != n {
			t.Fatalf("%+v", s)
		}
	})

	// C3: onResult(result, nil) on success and onResult(nil, err) when f
	// returns an error; both counted.
	t.Run("onResult gets the result or the error", func(t *testing.T) {
		p := newPool(t, 0, 2)
		mustStart(t, p)
		o := recv(t, callWith(t, p, func() (any, error) { return 42, nil }), "success")
		if o.result != 42 || o.err != nil {
			t.Fatalf("success: onResult(%v, %v), want (42, nil)", o.result, o.err)
		}
		o = recv(t, callWith(t, p, func() (any, error) { return nil, nil }), "nil result")
		if o.result != nil || o.err != nil {
			t.Fatalf("nil result: onResult(%v, %v)", o.result, o.err)
		}
		o = recv(t, callWith(t, p, func() (any, error) { return nil, errTask }), "error")
		if o.result != nil || o.err != errTask {
			t.Fatalf("error: onResult(%v, %v), want (nil, errTask)", o.result, o.err)
		}
		mustStop(t, p)
		if s := checkStats(t, p); s.Completed != 2 || s.Failed != 1 {
			t.Fatalf("Stats %+v, want 2 completed and 1 failed", s)
		}
	})

	// C3: "onResult(nil, err) when f returns an error" also when f returns a
	// result alongside its error.
	t.Run("an error drops the result returned beside it", func(t *testing.T) {
		p := newPool(t, 0, 1)
		mustStart(t, p)
		o := recv(t, callWith(t, p, func() (any, error) { return "partial", errTask }), "error")
		if o.err != errTask {
			t.Fatalf("onResult error = %v, want errTask", o.err)
		}
		if o.result != nil {
			t.Fatalf("onResult(%v, %v): SPEC C3 says onResult(nil, err) when f returns an error", o.result, o.err)
		}
	})

	// C3: a panic reaches onResult as a *PanicError with the value and the
	// stack of the panicking function; it is not logged.
	t.Run("a panic reaches onResult as a PanicError", func(t *testing.T) {
		rec, logger := newRecorder()
		p := newPool(t, 0, 1, threadpool.WithLogger(logger))
		mustStart(t, p)
		o := recv(t, callWith(t, p, panickingTask), "panic")
		var pe *threadpool.PanicError
		if o.result != nil || !errors.As(o.err, &pe) {
			t.Fatalf("onResult(%v, %v), want (nil, *PanicError)", o.result, o.err)
		}
		if pe.Value != "boom: the task panicked" {
			t.Fatalf("PanicError.Value = %#v", pe.Value)
		}
		if !strings.Contains(pe.Error(), "boom: the task panicked") {
			t.Fatalf("PanicError.Error() = %q does not contain the value", pe.Error())
		}
		if !strings.Contains(string(pe.Stack), "panickingTask") {
			t.Fatalf("PanicError.Stack does not show the panicking function:\n%s", pe.Stack)
		}
		if pe.Unwrap() != nil {
			t.Fatalf("Unwrap of a string panic = %v, want nil", pe.Unwrap())
		}

		// An error value is unwrapped.
		o = recv(t, callWith(t, p, func() (any, error) { panic(fmt.Errorf("wrapped: %w", errTask)) }), "error panic")
		if !errors.As(o.err, &pe) || !errors.Is(o.err, errTask) {
			t.Fatalf("panic(error): onResult err %v; want a *PanicError that unwraps to errTask", o.err)
		}

		// panic(nil) is a panic too.
		o = recv(t, callWith(t, p, func() (any, error) { panic(nil) }), "panic(nil)")
		if !errors.As(o.err, &pe) {
			t.Fatalf("panic(nil): onResult err %v (%T), want *PanicError", o.err, o.err)
		}
		var pne *runtime.PanicNilError
		if v, ok := pe.Value.(error); !ok || !errors.As(v, &pne) {
			t.Fatalf("panic(nil): PanicError.Value = %#v, want *runtime.PanicNilError", pe.Value)
		}
		if !strings.Contains(pe.Error(), "nil") {
			t.Fatalf("panic(nil): Error() = %q", pe.Error())
		}
		mustStop(t, p)
		if s := checkStats(t, p); s.Failed != 3 || s.Completed != 0 {
			t.Fatalf("Stats %+v, want 3 failed", s)
		}
		if r := rec.records(); len(r) != 0 {
			t.Fatalf("a panic received by onResult was logged: %+v", r)
		}
	})

	// C3: test_callInThreadWithCallbackExceptionInCallback: an exception in f goes
	// to onResult as a failure (a panic as *PanicError, an error as is).
	t.Run("a panic or an error in f goes to onResult", func(t *testing.T) {
		p := newPool(t, 0, 1)
		mustStart(t, p)
		o := recv(t, callWith(t, p, func() (any, error) { panic(errTask) }), "onResult")
		var pe *threadpool.PanicError
		if o.result != nil || !errors.As(o.err, &pe) || !errors.Is(o.err, errTask) {
			t.Fatalf("onResult(%v, %v), want (nil, *PanicError wrapping errTask)", o.result, o.err)
		}
		o = recv(t, callWith(t, p, func() (any, error) { return nil, errTask }), "onResult")
		if o.result != nil || o.err != errTask {
			t.Fatalf("onResult(%v, %v), want (nil, errTask)", o.result, o.err)
		}
	})

	// C4: onResult runs on the worker goroutine (the same pprof thread label
	// as f), right after f, before the worker takes its next task; the worker
	// is busy until onResult returns.
	t.Run("onResult runs on the worker right after f", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p := newPool(t, 0, 1, threadpool.WithName("c4"))
			mustStart(t, p)
			var mu sync.Mutex
			var events []string
			log := func(e string) {
				mu.Lock()
				events = append(events, e)
				mu.Unlock()
			}
			g := newGate(t)
			inCallback := make(chan struct{})
			for i := range 3 {
				err := p.CallInThreadWithCallback(func(r any, err error) {
					log(fmt.Sprintf("cb%d on %s", i, myLabels()["thread"]))
					if i == 0 {
						close(inCallback)
						g.wait()
					}
				}, func() (any, error) {
					log(fmt.Sprintf("f%d on %s", i, myLabels()["thread"]))
					return i, nil
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			<-inCallback
			// The first callback blocks: its worker is still busy, the task is
			// not yet counted complete, and the backlog waits.
			wantCounts(t, p, 1, 1, 0, 2)
			if ts := p.Threads(); len(ts) != 1 || !ts[0].Busy || ts[0].Name != "PoolThread-c4-1" {
				t.Fatalf("Threads while onResult runs = %+v", ts)
			}
			if s := checkStats(t, p); s.Completed != 0 {
				t.Fatalf("Completed = %d while the callback runs, want 0", s.Completed)
			}
			g.open()
			synctest.Wait()
			wantCounts(t, p, 1, 0, 1, 0)
			want := []string{
				"f0 on PoolThread-c4-1", "cb0 on PoolThread-c4-1",
				"f1 on PoolThread-c4-1", "cb1 on PoolThread-c4-1",
				"f2 on PoolThread-c4-1", "cb2 on PoolThread-c4-1",
			}
			if !slices.Equal(events, want) {
				t.Fatalf("events %q, want %q", events, want)
			}
		})
	})

	// C4: with several workers, each callback runs on the goroutine that ran
	// its f.
	t.Run("with several workers each onResult runs on the goroutine that ran its f", func(t *testing.T) {
		p := newPool(t, 0, 4)
		mustStart(t, p)
		var mismatches, calls atomic.Int64
		var wg sync.WaitGroup
		for range 40 {
			wg.Add(1)
			var fThread string
			err := p.CallInThreadWithCallback(func(any, error) {
				defer wg.Done()
				calls.Add(1)
				if th := myLabels()["thread"]; th == "" || th != fThread {
					mismatches.Add(1)
				}
			}, func() (any, error) {
				fThread = myLabels()["thread"]
				return nil, nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		wg.Wait()
		if calls.Load() != 40 || mismatches.Load() != 0 {
			t.Fatalf("%d callbacks, %d ran on another goroutine than their f", calls.Load(), mismatches.Load())
		}
	})

	// C5: a panic in a CallInThread task is logged once at Error level with the
	// value and stack, counted as failed, and the worker survives.
	t.Run("a panic with nobody to receive it is logged once", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			rec, logger := newRecorder()
			p := newPool(t, 1, 1, threadpool.WithLogger(logger), threadpool.WithName("c5"))
			mustStart(t, p)
			mustCall(t, p, panicInFireAndForget)
			synctest.Wait()
			wantCounts(t, p, 1, 0, 1, 0)
			if s := checkStats(t, p); s.Failed != 1 || s.Completed != 0 {
				t.Fatalf("Stats %+v, want 1 failed", s)
			}
			// Capacity is intact: the next task runs.
			done := make(chan struct{})
			mustCall(t, p, func() { close(done) })
			<-done
			mustStop(t, p)
			r := rec.records()
			if len(r) != 1 {
				t.Fatalf("%d log records, want exactly 1: %+v", len(r), r)
			}
			if r[0].Level != slog.LevelError {
				t.Fatalf("logged at %v, want Error", r[0].Level)
			}
			text := r[0].Msg + "\n" + r[0].attrText()
			if !strings.Contains(text, "fire-and-forget boom") || !strings.Contains(text, "panicInFireAndForget") {
				t.Fatalf("the record lacks the panic value or the stack:\n%s", text)
			}
			if s := checkStats(t, p); s.Failed != 1 || s.Completed != 1 {
				t.Fatalf("Stats %+v", s)
			}
		})
	})

	// C5: a panic inside onResult is logged once at Error level, the task
	// counts as failed, and the worker survives.
	t.Run("a panic in onResult is logged once", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			rec, logger := newRecorder()
			p := newPool(t, 1, 1, threadpool.WithLogger(logger))
			mustStart(t, p)
			if err := p.CallInThreadWithCallback(panickingCallback, func() (any, error) { return 1, nil }); err != nil {
				t.Fatal(err)
			}
			synctest.Wait()
			wantCounts(t, p, 1, 0, 1, 0)
			if s := checkStats(t, p); s.Failed != 1 || s.Completed != 0 {
				t.Fatalf("Stats %+v, want 1 failed", s)
			}
			// Also when f itself failed and onResult panics: logged once.
			if err := p.CallInThreadWithCallback(panickingCallback, func() (any, error) { return nil, errTask }); err != nil {
				t.Fatal(err)
			}
			synctest.Wait()
			o := recv(t, callWith(t, p, func() (any, error) { return "after", nil }), "a task after the faults")
			if o.result != "after" {
				t.Fatalf("onResult(%v, %v)", o.result, o.err)
			}
			mustStop(t, p)
			r := rec.records()
			if len(r) != 2 {
				t.Fatalf("%d log records, want 2 (one per panicking callback): %+v", len(r), r)
			}
			for _, rr := range r {
				text := rr.Msg + "\n" + rr.attrText()
				if rr.Level != slog.LevelError || !strings.Contains(text, "callback boom") || !strings.Contains(text, "panickingCallback") {
					t.Fatalf("record %v %q lacks Error level, value or stack:\n%s", rr.Level, rr.Msg, text)
				}
			}
			if s := checkStats(t, p); s.Failed != 2 || s.Completed != 1 {
				t.Fatalf("Stats %+v, want 2 failed, 1 completed", s)
			}
		})
	})

	// C5/C6: runtime.Goexit in a CallInThread task is counted failed and
	// logged, and its worker is replaced at once by a fresh one.
	t.Run("Goexit in a task is counted and its worker replaced", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			rec, logger := newRecorder()
			p := newPool(t, 1, 1, threadpool.WithLogger(logger), threadpool.WithName("c6"))
			mustStart(t, p)
			if got := names(p.Threads()); !slices.Equal(got, []string{"PoolThread-c6-1"}) {
				t.Fatalf("threads %v", got)
			}
			mustCall(t, p, func() { runtime.Goexit() })
			synctest.Wait()
			wantCounts(t, p, 1, 0, 1, 0)
			if got := names(p.Threads()); !slices.Equal(got, []string{"PoolThread-c6-2"}) {
				t.Fatalf("threads after Goexit %v, want the replacement PoolThread-c6-2 only", got)
			}
			if s := checkStats(t, p); s.Failed != 1 {
				t.Fatalf("Stats %+v, want 1 failed", s)
			}
			done := make(chan struct{})
			mustCall(t, p, func() { close(done) })
			<-done
			mustStop(t, p)
			r := rec.records()
			if len(r) != 1 || r[0].Level != slog.LevelError || !strings.Contains(r[0].attrText()+r[0].Msg, "Goexit") {
				t.Fatalf("records %+v, want one Error record naming Goexit", r)
			}
		})
	})

	// C6: runtime.Goexit in f gives onResult an error, counts as failed,
	// replaces the worker, and nothing hangs; Goexit in onResult too.
	t.Run("Goexit in f or in onResult gives an error and hangs nothing", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p := newPool(t, 0, 2, threadpool.WithName("c6cb"))
			mustStart(t, p)
			o := <-callWith(t, p, func() (any, error) { runtime.Goexit(); return 1, nil })
			if o.result != nil || o.err == nil || o.err.Error() != "threadpool: task called runtime.Goexit" {
				t.Fatalf("onResult(%v, %v), want (nil, Goexit error)", o.result, o.err)
			}
			var pe *threadpool.PanicError
			if errors.As(o.err, &pe) {
				t.Fatalf("a Goexit is reported as a panic: %v", o.err)
			}
			synctest.Wait()
			wantCounts(t, p, 1, 0, 1, 0)
			if got := names(p.Threads()); !slices.Equal(got, []string{"PoolThread-c6cb-2"}) {
				t.Fatalf("threads after Goexit %v, want the replacement only", got)
			}
			// Goexit in the callback itself.
			if err := p.CallInThreadWithCallback(func(any, error) { runtime.Goexit() }, func() (any, error) { return 1, nil }); err != nil {
				t.Fatal(err)
			}
			synctest.Wait()
			wantCounts(t, p, 1, 0, 1, 0)
			if got := names(p.Threads()); !slices.Equal(got, []string{"PoolThread-c6cb-3"}) {
				t.Fatalf("threads after Goexit in onResult %v, want a replacement only", got)
			}
			o = <-callWith(t, p, func() (any, error) { return "ok", nil })
			if o.result != "ok" {
				t.Fatalf("onResult(%v, %v) after Goexits", o.result, o.err)
			}
			mustStop(t, p)
			if s := checkStats(t, p); s.Failed != 2 || s.Completed != 1 || s.Workers != 0 {
				t.Fatalf("Stats %+v, want 2 failed, 1 completed", s)
			}
		})
	})

}
