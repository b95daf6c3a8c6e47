package threadpool_test

// SPEC 2.C: results and errors (C3), the callback on the worker (C4),
// faults nobody receives (C5), Goexit (C6) and what the pool retains (C7),
// for CallInThread and CallInThreadWithCallback.

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

// C3: onResult(result, nil) on success and onResult(nil, err) when f
// returns an error; both counted.
func TestC3ResultsAndErrors(t *testing.T) {
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
}

// C3: "onResult(nil, err) when f returns an error" also when f returns a
// result alongside its error.
func TestC3ErrorDropsResult(t *testing.T) {
	p := newPool(t, 0, 1)
	mustStart(t, p)
	o := recv(t, callWith(t, p, func() (any, error) { return "partial", errTask }), "error")
	if o.err != errTask {
		t.Fatalf("onResult error = %v, want errTask", o.err)
	}
	if o.result != nil {
		t.Fatalf("onResult(%v, %v): SPEC C3 says onResult(nil, err) when f returns an error", o.result, o.err)
	}
}

//go:noinline
func panickingTask() (any, error) { panic("boom: the task panicked") }

// C3: a panic reaches onResult as a *PanicError with the value and the
// stack of the panicking function; it is not logged.
func TestC3PanicBecomesPanicError(t *testing.T) {
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
}

// C4: onResult runs on the worker goroutine (the same pprof thread label
// as f), right after f, before the worker takes its next task; the worker
// is busy until onResult returns.
func TestC4CallbackOnWorker(t *testing.T) {
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
}

// C4: with several workers, each callback runs on the goroutine that ran
// its f.
func TestC4CallbackOnSameWorkerConcurrently(t *testing.T) {
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
}

//go:noinline
func panicInFireAndForget() { panic("fire-and-forget boom") }

// C5: a panic in a CallInThread task is logged once at Error level with the
// value and stack, counted as failed, and the worker survives.
func TestC5PanicWithNobodyToReceiveIt(t *testing.T) {
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
}

//go:noinline
func panickingCallback(any, error) { panic("callback boom") }

// C5: a panic inside onResult is logged once at Error level, the task
// counts as failed, and the worker survives.
func TestC5PanicInCallback(t *testing.T) {
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
}

// C5/C6: runtime.Goexit in a CallInThread task is counted failed and
// logged, and its worker is replaced at once by a fresh one.
func TestC6GoexitInCallInThread(t *testing.T) {
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
}

// C6: runtime.Goexit in f gives onResult an error, counts as failed,
// replaces the worker, and nothing hangs; Goexit in onResult too.
func TestC6GoexitWithCallback(t *testing.T) {
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
}

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

// C7: the pool keeps no reference to a finished task, its arguments, its
// result or its callback, and f is unreachable already while its callback
// runs (Twisted's test_threadCreationArguments*).
func TestC7NothingRetained(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPool(t, 1, 2)
		mustStart(t, p)
		checked := make(chan bool, 1)
		fArg, res, cbArg := submitRetained(t, p, checked)
		if !<-checked {
			t.Fatal("f's captured object is reachable while its callback runs")
		}
		synctest.Wait() // the worker is idle again
		wantCounts(t, p, 1, 0, 1, 0)
		if !collected(fArg) || !collected(res) || !collected(cbArg) {
			t.Fatalf("retained after the task finished: f's object %v, result %v, callback's object %v",
				!collected(fArg), !collected(res), !collected(cbArg))
		}
		w := submitFunc(t, p)
		synctest.Wait()
		if !collected(w) {
			t.Fatal("a finished CallInThread task's captured object is still reachable")
		}
		// Through the backlog too.
		g := newGate(t)
		blockers(t, p, 2, g, nil)
		w = submitFunc(t, p)
		fArg, res, cbArg = submitRetained(t, p, checked)
		wantCounts(t, p, 2, 2, 0, 2)
		g.open()
		if !<-checked {
			t.Fatal("f's captured object is reachable while its callback runs (backlogged task)")
		}
		synctest.Wait()
		if !collected(w) || !collected(fArg) || !collected(res) || !collected(cbArg) {
			t.Fatal("a backlogged task is retained after it finished")
		}
		mustStop(t, p)
	})
}
