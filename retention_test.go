package threadpool_test

// TestRetention: the pool keeps no reference to finished work (SPEC C7),
// nor to work it dropped, and a stopped pool that nothing refers to is
// collected (E1). Measured with weak pointers while the pool is alive,
// started, and its workers idle.

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"testing/synctest"
	"time"
	"weak"

	"github.com/twisted-go/threadpool"
)

// relBlob is an object a task captures; big enough to get its own
// allocation (never batched by the tiny allocator).
type relBlob struct {
	id int
	_  [56]byte
}

// relTracker makes blobs and remembers weak pointers to them.
type relTracker struct {
	mu    sync.Mutex
	weaks []weak.Pointer[relBlob]
	what  []string
}

func (tr *relTracker) blob(what string) *relBlob {
	tr.mu.Lock()
	b := &relBlob{id: len(tr.weaks)}
	tr.weaks = append(tr.weaks, weak.Make(b))
	tr.what = append(tr.what, what)
	tr.mu.Unlock()
	return b
}

// alive runs the GC and returns what is still reachable.
func (tr *relTracker) alive() []string {
	runtime.GC()
	runtime.GC()
	tr.mu.Lock()
	defer tr.mu.Unlock()
	var out []string
	for i, w := range tr.weaks {
		if w.Value() != nil {
			out = append(out, tr.what[i])
		}
	}
	return out
}

// Closures are built by these helpers so that the test's own frame never
// holds the captured blobs.
func relCallCapturing(tr *relTracker, what string, wg *sync.WaitGroup) func() {
	b := tr.blob(what)
	return func() {
		if b.id < 0 {
			panic("unreachable")
		}
		wg.Done()
	}
}

func relFuncCapturing(tr *relTracker, what string) func() (any, error) {
	b := tr.blob(what + " (f)")
	return func() (any, error) {
		return tr.blob(what + " (result)"), func() error { _ = b.id; return nil }()
	}
}

func relOnResultCapturing(tr *relTracker, what string, wg *sync.WaitGroup) func(any, error) {
	b := tr.blob(what + " (onResult)")
	return func(res any, err error) {
		_ = b.id
		wg.Done()
	}
}

func relFutureFunc(tr *relTracker, what string) func(context.Context) (int, error) {
	b := tr.blob(what)
	return func(context.Context) (int, error) { return b.id, nil }
}

// relIdle waits until p has no busy worker and an empty backlog.
func relIdle(t *testing.T, p *threadpool.Pool) {
	t.Helper()
	eventually(t, "pool idle", func() bool { s := p.Stats(); return s.Working == 0 && s.Queued == 0 })
}

// retainedByFirstTask submits, on a one-worker pool, a task capturing a
// payload and returns weak pointers to the payload.
func retainedByFirstTask(t *testing.T, p *threadpool.Pool) weak.Pointer[payload] {
	unique := new(payload)
	mustCall(t, p, func() { unique.buf[0] = 1 })
	return weak.Make(unique)
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

func TestRetention(t *testing.T) {
	// C7: the pool keeps no reference to a finished task, its arguments, its
	// result or its callback, and f is unreachable already while its callback
	// runs (Twisted's test_threadCreationArguments*).
	t.Run("a finished task its result and its callback are not retained", func(t *testing.T) {
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
	})

	// C7: test_threadCreationArguments: once the next task has run, the pool no
	// longer refers to the first task or its arguments.
	t.Run("the first task is not retained once the next has run", func(t *testing.T) {
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
	})

	// C7: test_threadCreationArgumentsCallInThreadWithCallback: f and its arguments
	// are unreachable while onResult runs; the result and onResult once the
	// next task has run.
	t.Run("f is not retained while onResult runs", func(t *testing.T) {
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
	})

	// C7: Finished tasks, callbacks, their results and Future functions are
	// unreachable once done, whether they ran at once or waited in the backlog,
	// while the pool lives on with idle workers.
	t.Run("finished work is not retained", func(t *testing.T) {
		tr := &relTracker{}
		p, _ := startCountedPool(t, 2, 4)
		var wg sync.WaitGroup
		submitAll := func(round string) {
			for i := 0; i < 30; i++ {
				wg.Add(2)
				if err := p.CallInThread(relCallCapturing(tr, round+" CallInThread", &wg)); err != nil {
					t.Fatal(err)
				}
				if err := p.CallInThreadWithCallback(relOnResultCapturing(tr, round+" callback", &wg), relFuncCapturing(tr, round+" callback")); err != nil {
					t.Fatal(err)
				}
				fut := threadpool.Submit(context.Background(), p, relFutureFunc(tr, round+" Future f"))
				if _, err := fut.Wait(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
		}
		// Straight to workers.
		submitAll("direct")
		within(t, "direct tasks", wg.Wait)
		// Through the backlog: 4 blockers hold every worker.
		gate := newGate(t)
		started := make(chan struct{}, 4)
		for i := 0; i < 4; i++ {
			_ = p.CallInThread(func() { started <- struct{}{}; gate.wait() })
		}
		recvN(t, started, 4, "blockers")
		var futs []*threadpool.Future[int]
		for i := 0; i < 100; i++ {
			wg.Add(2)
			_ = p.CallInThread(relCallCapturing(tr, "backlog CallInThread", &wg))
			_ = p.CallInThreadWithCallback(relOnResultCapturing(tr, "backlog callback", &wg), relFuncCapturing(tr, "backlog callback"))
			futs = append(futs, threadpool.Submit(context.Background(), p, relFutureFunc(tr, "backlog Future f")))
		}
		gate.open()
		within(t, "backlogged tasks", wg.Wait)
		for _, f := range futs {
			waitClosed(t, f.Done(), "backlogged Future")
		}
		futs = nil
		relIdle(t, p)
		if !p.Started() || p.Workers() == 0 {
			t.Fatalf("the pool must be alive with idle workers: %+v", p.Stats())
		}
		if alive := tr.alive(); len(alive) != 0 {
			t.Errorf("%d objects of finished work still reachable with the pool alive, e.g. %q", len(alive), alive[0])
		}
		runtime.KeepAlive(p)
	})

	// C7: While a task's callback runs, the task's function (and what it captured)
	// is already unreachable from the pool (SPEC C7, Twisted's
	// test_threadCreationArgumentsCallInThreadWithCallback).
	t.Run("the function is gone while its callback runs", func(t *testing.T) {
		tr := &relTracker{}
		p, _ := startCountedPool(t, 1, 1)
		var wg sync.WaitGroup
		wg.Add(1)
		var aliveInCallback []string
		f := relFuncCapturing(tr, "task")
		onResult := func(any, error) {
			aliveInCallback = tr.alive()
			wg.Done()
		}
		if err := p.CallInThreadWithCallback(onResult, f); err != nil {
			t.Fatal(err)
		}
		f = nil
		within(t, "callback", wg.Wait)
		for _, a := range aliveInCallback {
			if a == "task (f)" {
				t.Errorf("the task's function is still reachable while its callback runs")
			}
		}
	})

	// C7: Tasks the pool never ran (StopNow, a Submit ctx that ended while queued, a
	// Block submitter whose ctx ended) are not retained either.
	t.Run("work the pool never ran is not retained", func(t *testing.T) {
		tr := &relTracker{}
		p, _ := startCountedPool(t, 1, 1, threadpool.WithQueueLimit(64, threadpool.Block))
		gate := newGate(t)
		started := make(chan struct{}, 1)
		_ = p.CallInThread(func() { started <- struct{}{}; gate.wait() })
		recvN(t, started, 1, "blocker")
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for i := 0; i < 32; i++ {
			threadpool.Submit(ctx, p, relFutureFunc(tr, "ctx-dropped Future f"))
		}
		cancel()
		for i := 0; i < 64; i++ {
			wg.Add(1)
			_ = p.CallInThread(relCallCapturing(tr, "StopNow-dropped CallInThread", &wg))
		}
		// The backlog is full (64): a Block submitter waits; its ctx ends.
		ctx2, cancel2 := context.WithCancel(context.Background())
		blocked := make(chan struct{})
		go func() {
			defer close(blocked)
			fut := threadpool.Submit(ctx2, p, relFutureFunc(tr, "Block-canceled Future f"))
			if _, err := fut.Wait(context.Background()); !errors.Is(err, threadpool.ErrCanceled) {
				t.Errorf("Block submitter whose ctx ended: %v", err)
			}
		}()
		cancel2()
		waitClosed(t, blocked, "Block submitter")
		if n := p.StopNow(); n != 64 {
			t.Errorf("StopNow dropped %d, want 64", n)
		}
		gate.open()
		within(t, "Stop", func() { _ = p.Stop() })
		if err := p.Start(); err != nil {
			t.Fatal(err)
		}
		relIdle(t, p)
		if alive := tr.alive(); len(alive) != 0 {
			t.Errorf("%d objects of dropped work still reachable, e.g. %q", len(alive), alive[0])
		}
		runtime.KeepAlive(p)
	})

	// C7: a Future refused at Submit keeps no reference to the task's function.
	t.Run("a refused Future keeps nothing", func(t *testing.T) {
		p, _ := threadpool.New(0, 1)
		_ = p.Start()
		_ = p.Stop()
		type payload struct{ b [1 << 10]byte }
		submit := func() (weak.Pointer[payload], *threadpool.Future[int]) {
			obj := &payload{}
			return weak.Make(obj), threadpool.Submit(context.Background(), p, func(context.Context) (int, error) { return int(obj.b[0]), nil })
		}
		ref, fut := submit()
		runtime.GC()
		if ref.Value() != nil {
			t.Fatal("a Future refused with ErrStopped still holds its function")
		}
		if _, err := fut.Wait(context.Background()); !errors.Is(err, threadpool.ErrStopped) {
			t.Fatalf("err = %v, want ErrStopped", err)
		}
	})

	// E1: A stopped pool that nothing refers to is garbage (SPEC E1), even after
	// resizing, faults, idle timers and restarts.
	t.Run("a stopped pool nothing refers to is collected", func(t *testing.T) {
		wp := func() weak.Pointer[threadpool.Pool] {
			p, _ := newCountedPool(t, 1, 3, threadpool.WithName("rel-gc"))
			for round := 0; round < 3; round++ {
				if err := p.Start(); err != nil {
					t.Fatal(err)
				}
				var wg sync.WaitGroup
				for i := 0; i < 10; i++ {
					wg.Add(1)
					_ = p.CallInThreadWithCallback(func(any, error) { wg.Done() }, func() (any, error) { panic("x") })
				}
				wg.Wait()
				_ = p.AdjustPoolSize(0, 2)
				_ = p.StopAWorker()
				if err := p.Stop(); err != nil {
					t.Fatal(err)
				}
			}
			return weak.Make(p)
		}()
		noPoolGoroutines(t, "rel-gc")
		runtime.GC()
		runtime.GC()
		if wp.Value() != nil {
			t.Error("a stopped pool nothing refers to is still reachable")
		}
	})

}
