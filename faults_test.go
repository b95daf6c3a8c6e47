package threadpool_test

// Reliability suite, part 3: fault tasks. Panics of every kind, Goexit,
// callbacks that panic or call back into the pool, a task submitting to its
// own pool at max 1, and a recursive fan-out of 32,767 tasks. Each fault is
// reported exactly once and costs no capacity (SPEC C3, C5, C6, E4).

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/twisted-go/threadpool"
)

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
	gate := relNewGate()
	started := make(chan struct{}, n)
	for i := 0; i < n; i++ {
		if err := p.CallInThread(func() { started <- struct{}{}; gate.wait() }); err != nil {
			t.Fatal(err)
		}
	}
	relRecv(t, started, n, "capacity probe")
	s := p.Stats()
	if s.Workers != n || s.Working != n || s.Queued != 0 || len(p.Threads()) != n {
		t.Errorf("capacity probe: Workers %d Working %d Queued %d Threads %d; want %d %d 0 %d",
			s.Workers, s.Working, s.Queued, len(p.Threads()), n, n, n)
	}
	gate.open()
}

// Every fault, through every kind of submission, is reported once (to the
// callback, to the Future, or in the log) and counted once as failed; the
// pool keeps its 3 workers.
func TestRelFaultKindsCostNoCapacity(t *testing.T) {
	const size = 3
	p, logs := relStart(t, size, size)
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
			relWaitClosed(t, done, f.name)
			// Callback: delivered once.
			reports := make(chan error, 2)
			if err := p.CallInThreadWithCallback(func(_ any, err error) { reports <- err },
				func() (any, error) { f.do(); return "unreachable", nil }); err != nil {
				t.Fatal(err)
			}
			var got error
			relWithin(t, f.name+" callback", func() { got = <-reports })
			if err := f.check(got); err != nil {
				t.Errorf("%s via callback: %v", f.name, err)
			}
			// Future: resolved once with the fault.
			fut := threadpool.Submit(context.Background(), p, func(context.Context) (string, error) { f.do(); return "unreachable", nil })
			relWaitClosed(t, fut.Done(), f.name+" future")
			if v, err := fut.Wait(context.Background()); v != "" || f.check(err) != nil {
				t.Errorf("%s via Future: (%q, %v): %v", f.name, v, err, f.check(err))
			}
			// The CallInThread fault is logged once (the exact total is
			// checked after Stop); wait for its record.
			relEventually(t, f.name+" logged", func() bool { return logs.errors.Load() >= before+1 })
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
	relWithin(t, "Stop", func() { _ = p.Stop() })
	s := p.Stats()
	n := uint64(4 * len(faults) * 3)
	if s.Failed != n || s.Completed != size || s.Submitted != n+size || s.PeakWorkers != size {
		t.Errorf("after Stop: Failed %d Completed %d Submitted %d PeakWorkers %d; want %d %d %d %d",
			s.Failed, s.Completed, s.Submitted, s.PeakWorkers, n, size, n+size, size)
	}
	if got := logs.errors.Load(); got != int64(4*len(faults)) {
		t.Errorf("%d error records in all, want %d (fire-and-forget faults only)", got, 4*len(faults))
	}
}

// A callback that panics is logged once and fails its task; a callback may
// call back into the pool: submit, resize, start/stop a worker and Stop
// (which from inside begins the stop and returns at once).
func TestRelFaultCallbacksPanicAndReenter(t *testing.T) {
	p, logs := relStart(t, 2, 2)

	// A panicking callback, ten times: logged ten times, capacity kept.
	for i := 0; i < 10; i++ {
		done := make(chan struct{})
		_ = p.CallInThreadWithCallback(func(any, error) { defer close(done); panic(fmt.Sprint("callback ", i)) },
			func() (any, error) { return i, nil })
		relWaitClosed(t, done, "panicking callback")
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
	relWaitClosed(t, childRan, "task submitted from a callback")
	relWaitClosed(t, reentered, "callback re-entering the pool")
	if got := <-resized; got != [2]int{1, 3} {
		t.Errorf("inside the callback after AdjustPoolSize(1, 3): min/max %v", got)
	}

	// Stop from a callback: returns nil before the callback returns; the
	// queued work still runs, and the drain ends after the callback.
	gate := relNewGate()
	stopReturned := make(chan error, 1)
	var after atomic.Int64
	_ = p.CallInThreadWithCallback(func(any, error) {
		stopReturned <- p.Stop()
		gate.wait()
	}, func() (any, error) { return nil, nil })
	var stopErr error
	relWithin(t, "Stop inside a callback", func() { stopErr = <-stopReturned })
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
	relWithin(t, "Stop after Stop from a callback", func() { _ = p.Stop() })
	_ = after.Load()
	s := p.Stats()
	if s.Workers != 0 || s.Failed != 10 {
		t.Errorf("after Stop: Workers %d Failed %d; want 0 10", s.Workers, s.Failed)
	}
	if got := logs.errors.Load(); got != 10 {
		t.Errorf("%d error records, want 10 (one per callback panic)", got)
	}
}

// With max 1 and the default unbounded backlog, a task that submits to its
// own pool does not deadlock: the children wait in the backlog (the one
// worker is the parent's) and run, in order, after the parent returns.
func TestRelFaultSelfSubmitAtMaxOne(t *testing.T) {
	p, _ := relStart(t, 0, 1)
	var mu sync.Mutex
	var order []string
	record := func(s string) { mu.Lock(); order = append(order, s); mu.Unlock() }
	var fut *threadpool.Future[string]
	cbDone := make(chan struct{})
	parentDone := make(chan threadpool.Stats, 1)
	if err := p.CallInThread(func() {
		record("parent start")
		if err := p.CallInThread(func() { record("child call") }); err != nil {
			t.Errorf("CallInThread from own task: %v", err)
		}
		if err := p.CallInThreadWithCallback(func(any, error) { record("child callback"); close(cbDone) },
			func() (any, error) { record("child with callback"); return nil, nil }); err != nil {
			t.Errorf("CallInThreadWithCallback from own task: %v", err)
		}
		fut = threadpool.Submit(context.Background(), p, func(context.Context) (string, error) {
			record("child future")
			return "ok", nil
		})
		parentDone <- p.Stats()
		record("parent end")
	}); err != nil {
		t.Fatal(err)
	}
	var s threadpool.Stats
	relWithin(t, "parent task", func() { s = <-parentDone })
	if s.Queued != 3 || s.Working != 1 || s.Workers != 1 {
		t.Errorf("inside the parent after 3 submissions: Queued %d Working %d Workers %d; want 3 1 1", s.Queued, s.Working, s.Workers)
	}
	relWaitClosed(t, cbDone, "child callback")
	var v string
	relWithin(t, "child future", func() { v, _ = fut.Wait(context.Background()) })
	if v != "ok" {
		t.Errorf("child future: %q", v)
	}
	relWithin(t, "Stop", func() { _ = p.Stop() })
	want := "parent start,parent end,child call,child with callback,child callback,child future"
	if got := strings.Join(order, ","); got != want {
		t.Errorf("order:\n got %s\nwant %s", got, want)
	}
}

// Recursive fan-out: every task submits two more, down to depth 14, on a
// pool of max 4; the children are submitted from the task (Future kind),
// from the callback (callback kind) or from the body (CallInThread kind).
// All 32,767 tasks run exactly once, never more than 4 at once.
func TestRelFaultRecursiveFanOut(t *testing.T) {
	const depth, max = 14, 4
	const total = 1<<(depth+1) - 1 // 32,767
	p, _ := relStart(t, 0, max)
	ran := make([]atomic.Int32, total+1) // heap numbering: children of i are 2i, 2i+1
	var running, peak, count atomic.Int64
	done := make(chan struct{})
	var node func(i int)
	enter := func(i int) {
		n := running.Add(1)
		for {
			old := peak.Load()
			if n <= old || peak.CompareAndSwap(old, n) {
				break
			}
		}
		ran[i].Add(1)
	}
	leave := func() {
		running.Add(-1)
		if count.Add(1) == total {
			close(done)
		}
	}
	children := func(i int) {
		if 2*i <= total {
			node(2 * i)
			node(2*i + 1)
		}
	}
	node = func(i int) {
		var err error
		switch i % 3 {
		case 0:
			err = p.CallInThread(func() { enter(i); children(i); leave() })
		case 1:
			err = p.CallInThreadWithCallback(func(any, error) { children(i) },
				func() (any, error) { enter(i); leave(); return nil, nil })
		default:
			threadpool.Submit(context.Background(), p, func(context.Context) (int, error) {
				enter(i)
				children(i)
				leave()
				return i, nil
			})
		}
		if err != nil {
			t.Errorf("node %d: %v", i, err)
		}
	}
	node(1)
	relWaitClosed(t, done, "fan-out")
	relWithin(t, "Stop", func() { _ = p.Stop() })
	for i := 1; i <= total; i++ {
		if n := ran[i].Load(); n != 1 {
			t.Fatalf("task %d ran %d times", i, n)
		}
	}
	if got := peak.Load(); got > max {
		t.Errorf("%d tasks ran at once, max %d", got, max)
	}
	s := p.Stats()
	if s.Submitted != total || s.Completed != total || s.Failed != 0 || s.Canceled != 0 || s.PeakWorkers > max {
		t.Errorf("after fan-out: %+v", s)
	}
	t.Logf("FANOUT depth=%d max=%d tasks=%d ran_once=%d peak_running=%d", depth, max, total, total, peak.Load())
}

// Tasks that block until released, with faults among them and resizing
// while they block: after release, everything queued runs, the faults are
// counted, and the pool is back at its size.
func TestRelFaultBlockedTasksAndFaults(t *testing.T) {
	p, _ := relStart(t, 2, 4)
	gate := relNewGate()
	started := make(chan struct{}, 4)
	for i := 0; i < 4; i++ {
		_ = p.CallInThread(func() { started <- struct{}{}; gate.wait() })
	}
	relRecv(t, started, 4, "blockers")
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
	relWithin(t, "Stop", func() { _ = p.Stop() })
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
}

// A task run by the RunInCaller policy that calls runtime.Goexit ends the
// submitting goroutine (as Goexit does), and is still counted: submitted,
// failed and caller-ran, so Submitted == Completed+Failed+Canceled+Queued+
// Working still holds ("nothing is silently lost").
func TestRelFaultGoexitInCallerRuns(t *testing.T) {
	p, _ := relStart(t, 0, 1, threadpool.WithQueueLimit(1, threadpool.RunInCaller))
	gate := relNewGate()
	started := make(chan struct{}, 1)
	_ = p.CallInThread(func() { started <- struct{}{}; gate.wait() })
	relRecv(t, started, 1, "blocker")
	_ = p.CallInThread(func() {}) // fills the backlog of 1
	for _, kind := range []string{"call", "callback", "future"} {
		done := make(chan struct{})
		go func() {
			defer close(done)
			switch kind {
			case "call":
				_ = p.CallInThread(func() { runtime.Goexit() })
			case "callback":
				_ = p.CallInThreadWithCallback(func(any, error) {}, func() (any, error) { runtime.Goexit(); return nil, nil })
			default:
				threadpool.Submit(context.Background(), p, func(context.Context) (int, error) { runtime.Goexit(); return 0, nil })
			}
			t.Errorf("%s: the submission returned after the task called Goexit in the caller", kind)
		}()
		relWaitClosed(t, done, "caller-run Goexit")
	}
	s := p.Stats()
	if err := relCheckSnapshot(nil, s); err != nil {
		t.Error(err)
	}
	if s.CallerRan != 3 || s.Failed != 3 || s.Submitted != 5 {
		t.Errorf("after 3 caller-run Goexits: CallerRan %d Failed %d Submitted %d; want 3 3 5", s.CallerRan, s.Failed, s.Submitted)
	}
	gate.open()
}
