package threadpool_test

// Reliability suite, part 4: retention. The pool keeps no reference to
// finished work (SPEC C7), nor to work it dropped, and a stopped pool that
// nothing refers to is collected (E1). Measured with weak pointers (Go
// 1.24+) while the pool is alive, started, and its workers idle.

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
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
	relEventually(t, "pool idle", func() bool { s := p.Stats(); return s.Working == 0 && s.Queued == 0 })
}

// Finished tasks, callbacks, their results and Future functions are
// unreachable once done, whether they ran at once or waited in the backlog,
// while the pool lives on with idle workers.
func TestRelRetentionFinishedWork(t *testing.T) {
	tr := &relTracker{}
	p, _ := relStart(t, 2, 4)
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
	relWithin(t, "direct tasks", wg.Wait)
	// Through the backlog: 4 blockers hold every worker.
	gate := relNewGate()
	started := make(chan struct{}, 4)
	for i := 0; i < 4; i++ {
		_ = p.CallInThread(func() { started <- struct{}{}; gate.wait() })
	}
	relRecv(t, started, 4, "blockers")
	var futs []*threadpool.Future[int]
	for i := 0; i < 100; i++ {
		wg.Add(2)
		_ = p.CallInThread(relCallCapturing(tr, "backlog CallInThread", &wg))
		_ = p.CallInThreadWithCallback(relOnResultCapturing(tr, "backlog callback", &wg), relFuncCapturing(tr, "backlog callback"))
		futs = append(futs, threadpool.Submit(context.Background(), p, relFutureFunc(tr, "backlog Future f")))
	}
	gate.open()
	relWithin(t, "backlogged tasks", wg.Wait)
	for _, f := range futs {
		relWaitClosed(t, f.Done(), "backlogged Future")
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
}

// While a task's callback runs, the task's function (and what it captured)
// is already unreachable from the pool (SPEC C7, Twisted's
// test_threadCreationArgumentsCallInThreadWithCallback).
func TestRelRetentionFunctionGoneDuringCallback(t *testing.T) {
	tr := &relTracker{}
	p, _ := relStart(t, 1, 1)
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
	relWithin(t, "callback", wg.Wait)
	for _, a := range aliveInCallback {
		if a == "task (f)" {
			t.Errorf("the task's function is still reachable while its callback runs")
		}
	}
}

// Tasks the pool never ran (StopNow, a Submit ctx that ended while queued, a
// Block submitter whose ctx ended) are not retained either.
func TestRelRetentionDroppedWork(t *testing.T) {
	tr := &relTracker{}
	p, _ := relStart(t, 1, 1, threadpool.WithQueueLimit(64, threadpool.Block))
	gate := relNewGate()
	started := make(chan struct{}, 1)
	_ = p.CallInThread(func() { started <- struct{}{}; gate.wait() })
	relRecv(t, started, 1, "blocker")
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
	relWaitClosed(t, blocked, "Block submitter")
	if n := p.StopNow(); n != 64 {
		t.Errorf("StopNow dropped %d, want 64", n)
	}
	gate.open()
	relWithin(t, "Stop", func() { _ = p.Stop() })
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	relIdle(t, p)
	if alive := tr.alive(); len(alive) != 0 {
		t.Errorf("%d objects of dropped work still reachable, e.g. %q", len(alive), alive[0])
	}
	runtime.KeepAlive(p)
}

// A stopped pool that nothing refers to is garbage (SPEC E1), even after
// resizing, faults, idle timers and restarts.
func TestRelRetentionStoppedPoolCollected(t *testing.T) {
	wp := func() weak.Pointer[threadpool.Pool] {
		p, _ := relNew(t, 1, 3, threadpool.WithName("rel-gc"))
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
	relNoPoolGoroutines(t, "rel-gc")
	runtime.GC()
	runtime.GC()
	if wp.Value() != nil {
		t.Error("a stopped pool nothing refers to is still reachable")
	}
}
