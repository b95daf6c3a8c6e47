package threadpool_test

// Ports of what Twisted's twisted/test/test_threadpool.py checks
// (ThreadPoolTests, RaceConditionTests, MemoryBackedTests), in Go terms.

import (
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
	"weak"

	"github.com/twisted-go/threadpool"
	"github.com/twisted-go/threadpool/threadpooltest"
)

// test_attributes: ThreadPool() has min 5 and max 20.
func TestTwistedAttributes(t *testing.T) {
	p := newPool(t, threadpool.DefaultMin, threadpool.DefaultMax)
	if p.Min() != 5 || p.Max() != 20 {
		t.Fatalf("Min, Max = %d, %d", p.Min(), p.Max())
	}
}

// test_start: Start without waiting work creates min workers, and no more.
func TestTwistedStartWithoutWork(t *testing.T) {
	p := newPool(t, 5, 20)
	mustStart(t, p)
	wantCounts(t, p, 5, 0, 5, 0)
	if len(p.Threads()) != 5 {
		t.Fatalf("Threads = %v", p.Threads())
	}
	q := newPool(t, 0, 5) // lazy: no work, no worker
	mustStart(t, q)
	wantCounts(t, q, 0, 0, 0, 0)
}

// MemoryBackedTests.test_workBeforeStarting and
// test_tooMuchWorkBeforeStarting: Start makes one worker per waiting task,
// up to max.
func TestTwistedWorkBeforeStarting(t *testing.T) {
	for _, c := range []struct{ n, workers int }{{5, 5}, {50, 10}} {
		p, w := threadpooltest.New(0, 10)
		for range c.n {
			mustCall(t, p, func() {})
		}
		w.RunAll()
		if w.Created() != 0 {
			t.Fatalf("%d workers before Start", w.Created())
		}
		mustStart(t, p)
		if w.Created() != c.workers || p.Workers() != c.workers {
			t.Fatalf("%d tasks: Start created %d workers (Workers %d), want %d", c.n, w.Created(), p.Workers(), c.workers)
		}
		if ran := w.RunAll(); ran != c.n {
			t.Fatalf("ran %d, want %d", ran, c.n)
		}
		if err := p.Stop(); err != nil {
			t.Fatal(err)
		}
		w.RunAll()
		if w.Live() != 0 || w.Created() != c.workers {
			t.Fatalf("after Stop: live %d, created %d", w.Live(), w.Created())
		}
		if s := checkStats(t, p); s.Completed != uint64(c.n) {
			t.Fatalf("%+v", s)
		}
	}
}

// test_existingWork: work queued before Start runs after Start.
func TestTwistedExistingWork(t *testing.T) {
	p := newPool(t, 0, 1)
	done := make(chan struct{})
	mustCall(t, p, func() { close(done) })
	mustStart(t, p)
	waitClosed(t, done, "the existing work")
}

// test_workerStateTransition: a worker moves idle -> busy -> idle.
func TestTwistedWorkerStateTransition(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPool(t, 0, 1)
		mustStart(t, p)
		wantCounts(t, p, 0, 0, 0, 0)
		working, finish := make(chan struct{}), newGate(t)
		mustCall(t, p, func() {
			close(working)
			finish.wait()
		})
		<-working
		wantCounts(t, p, 1, 1, 0, 0)
		if ts := p.Threads(); len(ts) != 1 || !ts[0].Busy {
			t.Fatalf("Threads while working %+v", ts)
		}
		finish.open()
		synctest.Wait() // the worker went idle
		wantCounts(t, p, 1, 0, 1, 0)
		if ts := p.Threads(); len(ts) != 1 || ts[0].Busy {
			t.Fatalf("Threads when idle %+v", ts)
		}
	})
}

// test_callInThread (_threadpoolTest with Synchronization): many calls, all
// run; a synchronised section is never entered twice at once.
func TestTwistedCallInThreadCounter(t *testing.T) {
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
}

// test_callInThreadException: an exception in a callInThread task is
// logged (once) and the pool goes on.
func TestTwistedCallInThreadException(t *testing.T) {
	rec, logger := newRecorder()
	p := newPool(t, 0, 1, threadpool.WithLogger(logger))
	mustStart(t, p)
	mustCall(t, p, func() { panic(errTask) })
	done := make(chan struct{})
	mustCall(t, p, func() { close(done) })
	waitClosed(t, done, "the task after the failing one")
	mustStop(t, p)
	r := rec.records()
	if len(r) != 1 || r[0].Level != slog.LevelError || !strings.Contains(r[0].attrText(), errTask.Error()) {
		t.Fatalf("records %+v, want one Error record with the panic", r)
	}
}

// test_callInThreadWithCallback: onResult gets the value.
func TestTwistedCallInThreadWithCallback(t *testing.T) {
	p := newPool(t, 0, 1)
	mustStart(t, p)
	o := recv(t, callWith(t, p, func() (any, error) { return "test", nil }), "onResult")
	if o.result != "test" || o.err != nil {
		t.Fatalf("onResult(%v, %v), want (test, nil)", o.result, o.err)
	}
}

// test_callInThreadWithCallbackExceptionInCallback: an exception in f goes
// to onResult as a failure (a panic as *PanicError, an error as is).
func TestTwistedCallInThreadWithCallbackFailure(t *testing.T) {
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
}

// test_callInThreadWithCallbackExceptionInOnResult: an exception in
// onResult is logged once and the pool goes on.
func TestTwistedExceptionInOnResult(t *testing.T) {
	rec, logger := newRecorder()
	p := newPool(t, 0, 1, threadpool.WithLogger(logger))
	mustStart(t, p)
	if err := p.CallInThreadWithCallback(func(any, error) { panic(errTask) }, func() (any, error) { return nil, nil }); err != nil {
		t.Fatal(err)
	}
	o := recv(t, callWith(t, p, func() (any, error) { return 2, nil }), "the next task")
	if o.result != 2 {
		t.Fatalf("onResult(%v, %v)", o.result, o.err)
	}
	mustStop(t, p)
	if r := rec.records(); len(r) != 1 || r[0].Level != slog.LevelError || !strings.Contains(r[0].attrText(), errTask.Error()) {
		t.Fatalf("records %+v, want one Error record", r)
	}
	if s := checkStats(t, p); s.Failed != 1 || s.Completed != 1 {
		t.Fatalf("%+v", s)
	}
}

// test_callbackThread: onResult runs on the worker that ran f, not on the
// submitter.
func TestTwistedCallbackThread(t *testing.T) {
	p := newPool(t, 0, 1, threadpool.WithName("cbthread"))
	mustStart(t, p)
	type where struct{ f, cb string }
	ch := make(chan where, 1)
	var fThread string
	err := p.CallInThreadWithCallback(func(any, error) {
		ch <- where{fThread, myLabels()["thread"]}
	}, func() (any, error) {
		fThread = myLabels()["thread"]
		return nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	w := recv(t, ch, "onResult")
	if w.f != "PoolThread-cbthread-1" || w.cb != w.f {
		t.Fatalf("f ran on %q, onResult on %q; want both on PoolThread-cbthread-1", w.f, w.cb)
	}
	if mine := myLabels()["thread"]; mine != "" {
		t.Fatalf("the test goroutine has a thread label %q", mine)
	}
}

// retainedByFirstTask submits, on a one-worker pool, a task capturing a
// payload and returns weak pointers to the payload.
func retainedByFirstTask(t *testing.T, p *threadpool.Pool) weak.Pointer[payload] {
	unique := new(payload)
	mustCall(t, p, func() { unique.buf[0] = 1 })
	return weak.Make(unique)
}

// test_threadCreationArguments: once the next task has run, the pool no
// longer refers to the first task or its arguments.
func TestTwistedThreadCreationArguments(t *testing.T) {
	p := newPool(t, 0, 1)
	mustStart(t, p)
	if len(p.Threads()) != 0 {
		t.Fatal("workers before any work")
	}
	w := retainedByFirstTask(t, p)
	done := make(chan struct{})
	hold := newGate(t)
	mustCall(t, p, func() { close(done); hold.wait() })
	waitClosed(t, done, "the second task")
	// The single worker is now busy with the second task.
	if !collected(w) {
		t.Fatal("the first task's argument is still reachable")
	}
	hold.open()
}

// retainedByCallback submits f(unique) with an onResult that checks that f
// and unique are unreachable while it runs; it returns weak pointers to
// unique, the result and onResult's own capture.
func retainedByCallback(t *testing.T, p *threadpool.Pool, inCallback chan<- bool) (uniqueRef, resultRef, cbRef weak.Pointer[payload]) {
	unique, result, cbObj := new(payload), new(payload), new(payload)
	uniqueRef, resultRef, cbRef = weak.Make(unique), weak.Make(result), weak.Make(cbObj)
	u := uniqueRef
	err := p.CallInThreadWithCallback(func(r any, err error) {
		cbObj.buf[0] = 1
		if r.(*payload) != result {
			t.Error("wrong result")
		}
		inCallback <- collected(u)
	}, func() (any, error) {
		unique.buf[0] = 1
		return result, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return
}

// test_threadCreationArgumentsCallInThreadWithCallback: f and its arguments
// are unreachable while onResult runs; the result and onResult once the
// next task has run.
func TestTwistedThreadCreationArgumentsWithCallback(t *testing.T) {
	p := newPool(t, 0, 1)
	mustStart(t, p)
	inCallback := make(chan bool, 1)
	uniqueRef, resultRef, cbRef := retainedByCallback(t, p, inCallback)
	if !recv(t, inCallback, "onResult") {
		t.Fatal("f's argument is reachable while onResult runs")
	}
	done := make(chan struct{})
	hold := newGate(t)
	mustCall(t, p, func() { close(done); hold.wait() })
	waitClosed(t, done, "the next task")
	if !collected(uniqueRef) || !collected(resultRef) || !collected(cbRef) {
		t.Fatalf("still reachable: argument %v, result %v, onResult's capture %v",
			!collected(uniqueRef), !collected(resultRef), !collected(cbRef))
	}
	hold.open()
}

// test_persistence: a pool saved and restored keeps min and max (and here
// the name); started, it has min workers.
func TestTwistedPersistence(t *testing.T) {
	p := newPool(t, 7, 20)
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	q := new(threadpool.Pool)
	if err := json.Unmarshal(b, q); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = q.Stop() })
	if q.Min() != 7 || q.Max() != 20 {
		t.Fatalf("restored %d, %d", q.Min(), q.Max())
	}
	mustStart(t, q)
	if len(q.Threads()) != 7 {
		t.Fatalf("restored and started: %d threads, want 7", len(q.Threads()))
	}
}

// test_adjustingWhenPoolStopped: adjusting a stopped pool starts nothing;
// Start then applies the new min.
func TestTwistedAdjustingWhenPoolStopped(t *testing.T) {
	p := newPool(t, 0, 5)
	if err := p.AdjustPoolSize(1, 5); err != nil {
		t.Fatal(err)
	}
	wantCounts(t, p, 0, 0, 0, 0)
	mustStart(t, p)
	wantCounts(t, p, 1, 0, 1, 0)
}

// RaceConditionTests.test_singleThread: with max lowered to 1, ten tasks
// that block make one worker, not ten.
func TestTwistedSingleThread(t *testing.T) {
	p := newPool(t, 0, 10)
	mustStart(t, p)
	wantCounts(t, p, 0, 0, 0, 0)
	if err := p.AdjustPoolSize(0, 1); err != nil {
		t.Fatal(err)
	}
	g := newGate(t)
	defer g.open()
	blockers(t, p, 10, g, nil)
	wantCounts(t, p, 1, 1, 0, 9)
	g.open()
	mustStop(t, p)
	if s := checkStats(t, p); s.PeakWorkers != 1 || s.Completed != 10 {
		t.Fatalf("%+v", s)
	}
}

// event is Python's threading.Event: Set, Clear, Wait.
type event struct {
	mu sync.Mutex
	ch chan struct{}
}

func newEvent() *event { return &event{ch: make(chan struct{})} }

func (e *event) set() {
	e.mu.Lock()
	defer e.mu.Unlock()
	select {
	case <-e.ch:
	default:
		close(e.ch)
	}
}

func (e *event) clear() {
	e.mu.Lock()
	defer e.mu.Unlock()
	select {
	case <-e.ch:
		e.ch = make(chan struct{})
	default:
	}
}

func (e *event) done() <-chan struct{} {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.ch
}

func (e *event) wait() { <-e.done() }

// waitFor waits at most d and reports whether the event is set.
func (e *event) waitFor(d time.Duration) bool {
	select {
	case <-e.done():
		return true
	case <-time.After(d):
		return false
	}
}

// RaceConditionTests.test_synchronization: three tasks wait on an event
// and a fourth sets it; with spare capacity the setter must run at once
// and unblock them. Repeated, with max exactly 4 as well, so that a pool
// that wrongly counts a finishing worker as free queues the setter forever.
func TestTwistedSynchronization(t *testing.T) {
	for _, max := range []int{10, 4} {
		p := newPool(t, 0, max)
		mustStart(t, p)
		ev := newEvent()
		t.Cleanup(ev.set) // never leave waiters behind on failure
		mustCall(t, p, ev.set)
		if !ev.waitFor(failAfter) {
			t.Fatal("the first set did not run")
		}
		for i := range 200 {
			ev.clear()
			var woke sync.WaitGroup
			for range 3 {
				woke.Add(1)
				mustCall(t, p, func() { ev.wait(); woke.Done() })
			}
			mustCall(t, p, ev.set)
			if !ev.waitFor(failAfter) {
				t.Fatalf("max %d, round %d: 'set' did not run in a worker; timed out waiting on 'wait' (Stats %+v)", max, i, p.Stats())
			}
			woke.Wait()
			checkStats(t, p)
		}
		mustStop(t, p)
		if s := checkStats(t, p); s.Completed != 1+200*4 || s.PeakWorkers > max {
			t.Fatalf("max %d: %+v", max, s)
		}
	}
}
