package threadpooltest_test

// Twisted's memory-backed pool tests (MemoryPool in test_threadpool.py),
// and the semantics of the double itself: Pending, Created, Live, RunOne,
// RunAll, callbacks and Futures through memory workers.

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/twisted-go/threadpool"
	"github.com/twisted-go/threadpool/threadpooltest"
)

// Twisted: test_workBeforeStarting. Work submitted before Start waits;
// Start makes one worker per waiting task (SPEC B1, B2).
func TestMemoryPoolWorkBeforeStarting(t *testing.T) {
	p, w := threadpooltest.New(0, 10)
	ran := 0
	for range 5 {
		if err := p.CallInThread(func() { ran++ }); err != nil {
			t.Fatal(err)
		}
	}
	wantCounts(t, "before Start", p, w, counts{Queued: 5})
	if w.Created() != 0 || w.RunAll() != 0 || ran != 0 {
		t.Fatalf("before Start: Created %d, ran %d; want nothing", w.Created(), ran)
	}
	if s := p.Stats(); s.Submitted != 5 || s.Started {
		t.Fatalf("before Start: %+v", s)
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	wantCounts(t, "after Start", p, w, counts{Workers: 5, Working: 5, Pending: 5, Live: 5})
	if w.Created() != 5 {
		t.Fatalf("Created = %d, want exactly 5", w.Created())
	}
	if n := w.RunAll(); n != 5 || ran != 5 {
		t.Fatalf("RunAll = %d, ran %d; want 5, 5", n, ran)
	}
	wantCounts(t, "after RunAll", p, w, counts{Workers: 5, Waiters: 5, Live: 5})
}

// Twisted: test_tooMuchWorkBeforeStarting. Start never grows past max.
func TestMemoryPoolTooMuchWorkBeforeStarting(t *testing.T) {
	p, w := threadpooltest.New(0, 10)
	var order []int
	for i := range 50 {
		if err := p.CallInThread(func() { order = append(order, i) }); err != nil {
			t.Fatal(err)
		}
	}
	wantCounts(t, "before Start", p, w, counts{Queued: 50})
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	wantCounts(t, "after Start", p, w, counts{Workers: 10, Working: 10, Queued: 40, Pending: 10, Live: 10})
	if w.Created() != 10 {
		t.Fatalf("Created = %d, want exactly 10", w.Created())
	}
	if n := w.RunAll(); n != 50 {
		t.Fatalf("RunAll = %d, want 50", n)
	}
	for i, v := range order {
		if v != i {
			t.Fatalf("task %d ran at position %d: %v", v, i, order)
		}
	}
	if w.Created() != 10 || p.Stats().PeakWorkers != 10 {
		t.Fatalf("Created %d, PeakWorkers %d; want 10, 10", w.Created(), p.Stats().PeakWorkers)
	}
}

// B2: (3, 10) with nothing waiting → 3 idle workers; with 5 waiting, 5
// workers and none idle; with 1 waiting, 1 busy and 2 idle.
func TestMemoryPoolStartGrowsToMin(t *testing.T) {
	for _, c := range []struct {
		tasks int
		want  counts
	}{
		{0, counts{Workers: 3, Waiters: 3, Live: 3}},
		{1, counts{Workers: 3, Working: 1, Waiters: 2, Pending: 1, Live: 3}},
		{5, counts{Workers: 5, Working: 5, Pending: 5, Live: 5}},
		{12, counts{Workers: 10, Working: 10, Queued: 2, Pending: 10, Live: 10}},
	} {
		p, w := threadpooltest.New(3, 10)
		for range c.tasks {
			if err := p.CallInThread(func() {}); err != nil {
				t.Fatal(err)
			}
		}
		if err := p.Start(); err != nil {
			t.Fatal(err)
		}
		wantCounts(t, "Start", p, w, c.want)
		if err := p.Start(); err != nil { // twice is harmless (B3)
			t.Fatal(err)
		}
		wantCounts(t, "second Start", p, w, c.want)
	}
}

// Pending counts only tasks handed to workers (not the backlog); Created
// counts every worker ever made; Live the workers not yet quit. Between
// steps, Live equals Pool.Workers and Pending equals Pool.Working.
func TestMemoryPoolPendingCreatedLive(t *testing.T) {
	p, w := started(t, 1, 2)
	wantCounts(t, "started", p, w, counts{Workers: 1, Waiters: 1, Live: 1})
	if w.RunOne() || w.RunAll() != 0 || w.Pending() != 0 {
		t.Fatal("an idle pool had something to run")
	}
	for range 3 {
		if err := p.CallInThread(func() {}); err != nil {
			t.Fatal(err)
		}
	}
	wantCounts(t, "3 tasks, max 2", p, w, counts{Workers: 2, Working: 2, Queued: 1, Pending: 2, Live: 2})
	if w.Created() != 2 {
		t.Fatalf("Created = %d, want 2", w.Created())
	}
	// The worker that frees up takes the waiting task: Pending stays 2.
	w.RunOne()
	wantCounts(t, "one ran", p, w, counts{Workers: 2, Working: 2, Pending: 2, Live: 2})
	if err := p.AdjustPoolSize(1, 1); err != nil {
		t.Fatal(err)
	}
	w.RunOne() // its worker is above the new max: it quits
	wantCounts(t, "above max, quit", p, w, counts{Workers: 1, Working: 1, Pending: 1, Live: 1})
	w.RunOne()
	wantCounts(t, "all ran", p, w, counts{Workers: 1, Waiters: 1, Live: 1})
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	wantCounts(t, "stopped", p, w, counts{})
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	if w.Created() != 3 || w.Live() != 1 {
		t.Fatalf("after restart: Created %d, Live %d; want 3, 1 (fresh workers)", w.Created(), w.Live())
	}
}

// RunAll runs tasks that tasks submit, and counts them.
func TestMemoryPoolRunAllCountsSubmittedTasks(t *testing.T) {
	p, w := started(t, 0, 2)
	var order []string
	var spawn func(name string, depth int)
	spawn = func(name string, depth int) {
		err := p.CallInThread(func() {
			order = append(order, name)
			if depth < 2 {
				spawn(name+"a", depth+1)
				spawn(name+"b", depth+1)
			}
		})
		if err != nil {
			t.Error(err)
		}
	}
	spawn("r", 0)
	if n := w.RunAll(); n != 7 {
		t.Fatalf("RunAll = %d, want 7 (1 + 2 + 4)", n)
	}
	// Each child is handed over or queued in submission order.
	want := []string{"r", "ra", "rb", "raa", "rab", "rba", "rbb"}
	if !slices.Equal(order, want) {
		t.Fatalf("order %v, want %v", order, want)
	}
	if s := p.Stats(); s.Submitted != 7 || s.Completed != 7 || s.PeakWorkers != 2 {
		t.Fatalf("stats %+v", s)
	}
	if w.RunAll() != 0 {
		t.Fatal("second RunAll ran something")
	}
}

// Callbacks run right after their task, on the RunOne caller, with the
// worker still busy (C3, C4).
func TestMemoryPoolCallbacks(t *testing.T) {
	p, w := started(t, 0, 1)
	type got struct {
		res     any
		err     error
		working int
	}
	var results []got
	onResult := func(res any, err error) {
		results = append(results, got{res, err, p.Working()})
	}
	boom := errors.New("boom")
	mustNil(t, p.CallInThreadWithCallback(onResult, func() (any, error) { return 42, nil }))
	mustNil(t, p.CallInThreadWithCallback(onResult, func() (any, error) { return nil, boom }))
	mustNil(t, p.CallInThreadWithCallback(onResult, func() (any, error) { panic(boom) }))
	if len(results) != 0 {
		t.Fatal("a callback ran before its task")
	}
	wantCounts(t, "3 callbacks on max 1", p, w, counts{Workers: 1, Working: 1, Queued: 2, Pending: 1, Live: 1})
	w.RunOne()
	if len(results) != 1 || results[0].res != 42 || results[0].err != nil || results[0].working != 1 {
		t.Fatalf("after one RunOne: %+v", results)
	}
	w.RunAll()
	if len(results) != 3 {
		t.Fatalf("%d callbacks, want 3", len(results))
	}
	if r := results[1]; r.res != nil || r.err != boom {
		t.Fatalf("error result: %+v", r)
	}
	var pe *threadpool.PanicError
	if r := results[2]; r.res != nil || !errors.As(r.err, &pe) || !errors.Is(r.err, boom) ||
		!strings.Contains(string(pe.Stack), "TestMemoryPoolCallbacks") {
		t.Fatalf("panic result: %+v", r)
	}
	if s := p.Stats(); s.Completed != 1 || s.Failed != 2 {
		t.Fatalf("stats %+v", s)
	}
}

// Futures resolve when the test runs their task; the task gets the Submit
// context; a context that ends before the task starts skips it (C7).
func TestMemoryPoolFutures(t *testing.T) {
	p, w := started(t, 0, 1)
	type key struct{}
	ctx := context.WithValue(context.Background(), key{}, "v")
	f1 := threadpool.Submit(ctx, p, func(ctx context.Context) (string, error) {
		return ctx.Value(key{}).(string), nil
	})
	cctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ran2 := false
	f2 := threadpool.Submit(cctx, p, func(context.Context) (int, error) { ran2 = true; return 1, nil })
	select {
	case <-f1.Done():
		t.Fatal("f1 resolved before RunOne")
	default:
	}
	w.RunOne()
	if v, err := f1.Wait(context.Background()); v != "v" || err != nil {
		t.Fatalf("f1 = %q, %v", v, err)
	}
	// f2 is now handed to the worker; its context ends before it runs.
	wantCounts(t, "f2 handed over", p, w, counts{Workers: 1, Working: 1, Pending: 1, Live: 1})
	cancel()
	w.RunOne()
	if _, err := f2.Wait(context.Background()); !errors.Is(err, threadpool.ErrCanceled) || !errors.Is(err, context.Canceled) || ran2 {
		t.Fatalf("f2: err %v, ran %v; want ErrCanceled and context.Canceled, not run", err, ran2)
	}
	if s := p.Stats(); s.Completed != 1 || s.Canceled != 1 || s.Submitted != 2 {
		t.Fatalf("stats %+v", s)
	}
	// After a stop, Submit returns a Future already resolved with ErrStopped.
	mustNil(t, p.Stop())
	f3 := threadpool.Submit(context.Background(), p, func(context.Context) (int, error) { return 0, nil })
	if _, err := f3.Wait(context.Background()); !errors.Is(err, threadpool.ErrStopped) {
		t.Fatalf("Submit after Stop: %v", err)
	}
}

// StopNow cancels the backlog (E5): callbacks and Futures get ErrCanceled,
// fire-and-forget tasks are counted; handed-over tasks still run.
func TestMemoryPoolStopNow(t *testing.T) {
	p, w := started(t, 0, 1)
	ran := 0
	mustNil(t, p.CallInThread(func() { ran++ }))
	mustNil(t, p.CallInThread(func() { ran++ }))
	var cbErr error
	mustNil(t, p.CallInThreadWithCallback(func(_ any, err error) { cbErr = err },
		func() (any, error) { ran++; return nil, nil }))
	f := threadpool.Submit(context.Background(), p, func(context.Context) (int, error) { ran++; return 0, nil })
	if n := p.StopNow(); n != 3 {
		t.Fatalf("StopNow = %d, want 3", n)
	}
	if _, err := f.Wait(context.Background()); !errors.Is(err, threadpool.ErrCanceled) || !errors.Is(cbErr, threadpool.ErrCanceled) {
		t.Fatalf("future %v, callback %v; want ErrCanceled", err, cbErr)
	}
	wantCounts(t, "after StopNow", p, w, counts{Workers: 1, Working: 1, Pending: 1, Live: 1})
	w.RunAll()
	if ran != 1 {
		t.Fatalf("ran %d tasks, want 1 (the one handed over)", ran)
	}
	wantCounts(t, "drained", p, w, counts{})
	if s := p.Stats(); s.Submitted != 4 || s.Completed != 1 || s.Canceled != 3 {
		t.Fatalf("stats %+v", s)
	}
}

// Stopping a never-started pool cancels its backlog (E6): nothing hangs.
func TestMemoryPoolStopBeforeStart(t *testing.T) {
	p, w := threadpooltest.New(0, 4)
	var cbErr error
	mustNil(t, p.CallInThread(func() {}))
	mustNil(t, p.CallInThreadWithCallback(func(_ any, err error) { cbErr = err },
		func() (any, error) { return nil, nil }))
	mustNil(t, p.Stop())
	if !errors.Is(cbErr, threadpool.ErrCanceled) {
		t.Fatalf("callback got %v, want ErrCanceled", cbErr)
	}
	wantCounts(t, "stopped", p, w, counts{})
	if s := p.Stats(); s.Canceled != 2 || w.Created() != 0 {
		t.Fatalf("stats %+v, Created %d", s, w.Created())
	}
}

// A task that calls runtime.Goexit ends the goroutine that ran it, as it
// would end a worker; its Future fails and the worker is replaced at once
// (C6).
func TestMemoryPoolGoexit(t *testing.T) {
	p, w := started(t, 1, 1)
	f := threadpool.Submit(context.Background(), p, func(context.Context) (int, error) {
		runtime.Goexit()
		return 0, nil
	})
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.RunOne()
		t.Error("RunOne returned after a Goexit")
	}()
	<-done
	if _, err := f.Wait(context.Background()); err == nil || !strings.Contains(err.Error(), "Goexit") {
		t.Fatalf("future: %v, want the Goexit error", err)
	}
	wantCounts(t, "after Goexit", p, w, counts{Workers: 1, Waiters: 1, Live: 1})
	if s := p.Stats(); s.Failed != 1 || w.Created() != 2 {
		t.Fatalf("stats %+v, Created %d; want Failed 1, a replacement worker", s, w.Created())
	}
}

// The overload policies work through the double (F1).
func TestMemoryPoolQueueLimit(t *testing.T) {
	p, w := started(t, 0, 1, threadpool.WithQueueLimit(1, threadpool.Reject))
	mustNil(t, p.CallInThread(func() {}))
	mustNil(t, p.CallInThread(func() {}))
	if err := p.CallInThread(func() {}); !errors.Is(err, threadpool.ErrQueueFull) {
		t.Fatalf("third task: %v, want ErrQueueFull", err)
	}
	wantCounts(t, "full", p, w, counts{Workers: 1, Working: 1, Queued: 1, Pending: 1, Live: 1})
	if n := w.RunAll(); n != 2 {
		t.Fatalf("RunAll = %d", n)
	}
	if s := p.Stats(); s.Rejected != 1 || s.Submitted != 2 {
		t.Fatalf("stats %+v", s)
	}

	q, qw := started(t, 0, 1, threadpool.WithQueueLimit(1, threadpool.RunInCaller))
	ranHere := false
	mustNil(t, q.CallInThread(func() {}))
	mustNil(t, q.CallInThread(func() {}))
	mustNil(t, q.CallInThread(func() { ranHere = true }))
	if !ranHere {
		t.Fatal("RunInCaller did not run the task in the caller")
	}
	wantCounts(t, "caller ran", q, qw, counts{Workers: 1, Working: 1, Queued: 1, Pending: 1, Live: 1})
	if s := q.Stats(); s.CallerRan != 1 || s.Submitted != 3 || s.Completed != 1 {
		t.Fatalf("stats %+v", s)
	}
	qw.RunAll()
}

func mustNil(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// On a test pool, Shutdown never waits either, even with a context that is
// already done: the stop is begun and the test runs what is left.
func TestMemoryPoolShutdownNeverWaits(t *testing.T) {
	p, w := started(t, 0, 1)
	mustNil(t, p.CallInThread(func() {}))
	mustNil(t, p.CallInThread(func() {}))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown on a test pool = %v, want nil", err)
	}
	wantCounts(t, "after Shutdown", p, w, counts{Workers: 1, Working: 1, Queued: 1, Pending: 1, Live: 1})
	if n := w.RunAll(); n != 2 {
		t.Fatalf("RunAll = %d, want 2 (the drain goes on)", n)
	}
	wantCounts(t, "drained", p, w, counts{})
	mustNil(t, p.Shutdown(context.Background()))
}
