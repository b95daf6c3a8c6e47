package threadpool_test

// SPEC 2.A (A4-A6: dispatch, synchronous bookkeeping, the max bound, FIFO)
// and 2.C (C1, C2: nil functions, submissions after a stop).

import (
	"errors"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/twisted-go/threadpool"
	"github.com/twisted-go/threadpool/threadpooltest"
)

// A4: a task goes to an idle worker if there is one (workers are reused),
// else to a new worker under max, else to the backlog.
func TestA4DispatchReusesIdleWorkers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPool(t, 0, 3, threadpool.WithName("a4"))
		mustStart(t, p)
		wantCounts(t, p, 0, 0, 0, 0)

		var seen []string
		var mu sync.Mutex
		record := func() {
			l := myLabels()
			mu.Lock()
			seen = append(seen, l["thread"])
			mu.Unlock()
		}
		for i := range 5 {
			mustCall(t, p, record)
			synctest.Wait() // the task ran and its worker is idle again
			wantCounts(t, p, 1, 0, 1, 0)
			if s := checkStats(t, p); s.Completed != uint64(i+1) || s.PeakWorkers != 1 {
				t.Fatalf("after task %d: %+v", i, s)
			}
		}
		if !slices.Equal(seen, []string{"PoolThread-a4-1", "PoolThread-a4-1", "PoolThread-a4-1", "PoolThread-a4-1", "PoolThread-a4-1"}) {
			t.Fatalf("workers seen by 5 sequential tasks: %v; want the one worker reused", seen)
		}

		g := newGate(t)
		blockers(t, p, 1, g, nil) // takes the idle worker
		wantCounts(t, p, 1, 1, 0, 0)
		blockers(t, p, 1, g, nil) // a new worker
		wantCounts(t, p, 2, 2, 0, 0)
		blockers(t, p, 1, g, nil)
		wantCounts(t, p, 3, 3, 0, 0)
		blockers(t, p, 2, g, nil) // at max: backlog
		wantCounts(t, p, 3, 3, 0, 2)
		g.open()
		synctest.Wait()
		wantCounts(t, p, 3, 0, 3, 0)
		if s := checkStats(t, p); s.Completed != 10 || s.PeakWorkers != 3 {
			t.Fatalf("at the end: %+v", s)
		}
	})
}

// A5: when CallInThread, Start, AdjustPoolSize, StartAWorker and
// StopAWorker return, the counts already include their effect.
func TestA5SynchronousBookkeeping(t *testing.T) {
	p := newPool(t, 1, 3)
	g := newGate(t)
	defer g.open()
	blockers(t, p, 1, g, nil) // before Start: backlog
	wantCounts(t, p, 0, 0, 0, 1)
	mustStart(t, p) // one worker for the waiting task: min is met
	wantCounts(t, p, 1, 1, 0, 0)
	if err := p.StartAWorker(); err != nil {
		t.Fatal(err)
	}
	wantCounts(t, p, 2, 1, 1, 0)
	blockers(t, p, 1, g, nil) // the idle worker
	wantCounts(t, p, 2, 2, 0, 0)
	blockers(t, p, 1, g, nil) // a new worker
	wantCounts(t, p, 3, 3, 0, 0)
	blockers(t, p, 2, g, nil) // at max
	wantCounts(t, p, 3, 3, 0, 2)
	if err := p.StartAWorker(); err != nil { // at max: nothing
		t.Fatal(err)
	}
	wantCounts(t, p, 3, 3, 0, 2)

	if err := p.AdjustPoolSize(1, 6); err != nil { // D3: the backlog runs now
		t.Fatal(err)
	}
	wantCounts(t, p, 5, 5, 0, 0)
	if err := p.StartAWorker(); err != nil {
		t.Fatal(err)
	}
	wantCounts(t, p, 6, 5, 1, 0)
	if err := p.StopAWorker(); err != nil { // the idle one quits at once
		t.Fatal(err)
	}
	wantCounts(t, p, 5, 5, 0, 0)
	if len(p.Threads()) != 5 {
		t.Fatalf("Threads = %v, want 5", p.Threads())
	}
	if err := p.StopAWorker(); err != nil { // all busy: a shrink request
		t.Fatal(err)
	}
	wantCounts(t, p, 5, 5, 0, 0)
	if s := checkStats(t, p); s.PendingShrink != 1 {
		t.Fatalf("PendingShrink = %d, want 1", s.PendingShrink)
	}
	if err := p.AdjustPoolSize(6, 8); err != nil { // grows to min at once
		t.Fatal(err)
	}
	wantCounts(t, p, 6, 5, 1, 0)
	if s := checkStats(t, p); s.PendingShrink != 0 || s.Min != 6 || s.Max != 8 {
		t.Fatalf("after AdjustPoolSize(6, 8): %+v; the shrink request may not take the pool below min", s)
	}
	if err := p.AdjustPoolSize(0, 2); err != nil { // the idle worker quits at once
		t.Fatal(err)
	}
	wantCounts(t, p, 5, 5, 0, 0)
	g.open()
	mustStop(t, p)
	if s := checkStats(t, p); s.Completed != 5 || s.Workers != 0 {
		t.Fatalf("after Stop: %+v", s)
	}
}

// A5: never more than max tasks run at once, measured inside the tasks,
// under concurrent submitters; and max is reached.
func TestA5NeverMoreThanMax(t *testing.T) {
	const max, submitters, perSubmitter = 3, 4, 500
	p := newPool(t, 0, max)
	mustStart(t, p)
	var running, peak atomic.Int64
	var violations atomic.Int64
	task := func() {
		n := running.Add(1)
		for {
			old := peak.Load()
			if n <= old || peak.CompareAndSwap(old, n) {
				break
			}
		}
		if s := p.Stats(); s.Working > s.Max || s.Workers > s.Max {
			violations.Add(1)
		}
		runtime.Gosched()
		running.Add(-1)
	}

	// First make the pool full: max tasks at a gate, the proof that max is
	// reached.
	g := newGate(t)
	started := make(chan struct{}, max)
	for range max {
		mustCall(t, p, func() {
			task()
			started <- struct{}{}
			g.wait()
		})
	}
	var wg sync.WaitGroup
	for range submitters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range perSubmitter {
				if err := p.CallInThread(task); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	for range max {
		recv(t, started, "a gated task")
	}
	g.open()
	wg.Wait()
	mustStop(t, p)
	if got := peak.Load(); got > max {
		t.Fatalf("%d tasks ran at once, max is %d", got, max)
	}
	if violations.Load() != 0 {
		t.Fatalf("%d tasks saw Working or Workers above max", violations.Load())
	}
	s := checkStats(t, p)
	if s.Completed != max+submitters*perSubmitter || s.PeakWorkers != max {
		t.Fatalf("after Stop: %+v", s)
	}
}

// A5: tasks already running when max is lowered may finish, but no new task
// starts until fewer than max run.
func TestA5LoweredMaxStartsNothingUntilBelowMax(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPool(t, 0, 4)
		mustStart(t, p)
		gates := make([]*gate, 4)
		for i := range gates {
			gates[i] = newGate(t)
			mustCall(t, p, gates[i].wait)
		}
		var backlogStarted atomic.Int64
		for range 3 {
			mustCall(t, p, func() { backlogStarted.Add(1) })
		}
		wantCounts(t, p, 4, 4, 0, 3)
		if err := p.AdjustPoolSize(0, 2); err != nil {
			t.Fatal(err)
		}
		wantCounts(t, p, 4, 4, 0, 3)
		gates[0].open() // 3 run, max 2: the worker quits, nothing starts
		synctest.Wait()
		wantCounts(t, p, 3, 3, 0, 3)
		gates[1].open() // 2 run: still not below max
		synctest.Wait()
		wantCounts(t, p, 2, 2, 0, 3)
		if n := backlogStarted.Load(); n != 0 {
			t.Fatalf("%d backlogged tasks started while Working >= max", n)
		}
		gates[2].open() // 1 runs: its worker takes the backlog
		synctest.Wait()
		if n := backlogStarted.Load(); n != 3 {
			t.Fatalf("%d backlogged tasks ran, want 3", n)
		}
		wantCounts(t, p, 2, 1, 1, 0)
		gates[3].open()
		synctest.Wait()
		wantCounts(t, p, 2, 0, 2, 0)
	})
}

// A6: the backlog is strict FIFO: with one worker the tasks run in
// submission order, also when the worker frees up while new tasks keep
// arriving.
func TestA6FIFOWithOneWorker(t *testing.T) {
	p := newPool(t, 0, 1)
	mustStart(t, p)
	g := newGate(t)
	started := make(chan struct{}, 1)
	blockers(t, p, 1, g, started)
	recv(t, started, "the blocking task")
	var mu sync.Mutex
	var order []int
	task := func(i int) func() {
		return func() {
			mu.Lock()
			order = append(order, i)
			mu.Unlock()
		}
	}
	for i := range 50 {
		mustCall(t, p, task(i))
	}
	// Free the worker while more tasks arrive: none may overtake.
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 50; i < 300; i++ {
			if err := p.CallInThread(task(i)); err != nil {
				t.Error(err)
				return
			}
			checkStats(t, p)
		}
	}()
	g.open()
	waitClosed(t, done, "submitter")
	mustStop(t, p)
	want := make([]int, 300)
	for i := range want {
		want[i] = i
	}
	if !slices.Equal(order, want) {
		t.Fatalf("run order is not the submission order: %v", order)
	}
}

// A6: when capacity appears (max raised) while new tasks arrive, the tasks
// handed to workers are always the oldest: every task blocks until the end,
// so the set of started tasks must always be a prefix of the submissions.
func TestA6FIFOWhenCapacityAppears(t *testing.T) {
	p := newPool(t, 0, 1)
	mustStart(t, p)
	g := newGate(t)
	defer g.open()
	startedIdx := make(chan int, 100)
	next := 0
	submit := func() {
		i := next
		next++
		mustCall(t, p, func() {
			startedIdx <- i
			g.wait()
		})
	}
	seen := map[int]bool{}
	handed := 0
	// check receives the newly started tasks: they must be exactly the
	// next oldest ones.
	check := func(step string) {
		t.Helper()
		w := checkStats(t, p).Working
		for ; handed < w; handed++ {
			seen[recv(t, startedIdx, "a started task")] = true
		}
		for i := range handed {
			if !seen[i] {
				t.Fatalf("%s: %d tasks started but task %d (older) did not: %v", step, handed, i, seen)
			}
		}
	}
	for range 10 {
		submit()
	}
	check("submit 10")
	for max := 2; max <= 12; max++ {
		submit() // a new task while older ones wait
		check("submit")
		if err := p.AdjustPoolSize(0, max); err != nil {
			t.Fatal(err)
		}
		check("raise max")
		submit()
		check("submit after raise")
	}
	s := checkStats(t, p)
	if s.Working != 12 || s.Queued != next-12 {
		t.Fatalf("at the end: %+v", s)
	}
	g.open()
	mustStop(t, p)
}

// A6 on the deterministic workers: the run order is exactly the hand-over
// order, across Start, raised max and StartAWorker, with new tasks
// arriving in between.
func TestA6FIFODeterministic(t *testing.T) {
	p, w := threadpooltest.New(0, 1)
	var order []int
	next := 0
	submit := func() {
		i := next
		next++
		mustCall(t, p, func() { order = append(order, i) })
		checkStats(t, p)
	}
	for range 5 {
		submit()
	}
	mustStart(t, p)
	submit()
	if err := p.AdjustPoolSize(0, 3); err != nil {
		t.Fatal(err)
	}
	submit()
	if w.RunOne() != true {
		t.Fatal("nothing to run")
	}
	submit()
	if err := p.AdjustPoolSize(0, 5); err != nil {
		t.Fatal(err)
	}
	submit()
	if err := p.StartAWorker(); err != nil {
		t.Fatal(err)
	}
	submit()
	w.RunAll()
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	w.RunAll()
	want := make([]int, next)
	for i := range want {
		want[i] = i
	}
	if !slices.Equal(order, want) {
		t.Fatalf("run order %v, want %v", order, want)
	}
	if s := checkStats(t, p); s.Completed != uint64(next) || s.Workers != 0 {
		t.Fatalf("after Stop: %+v", s)
	}
}

// C1: nil functions are refused at the call site; nothing is queued or
// counted, and the other function is never called.
func TestC1NilFunctions(t *testing.T) {
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
}

// C2: once Stop has begun, and until a restart, submissions return
// ErrStopped at once, the task never runs and the callback is not called.
func TestC2SubmitAfterStop(t *testing.T) {
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
}

// C2: submissions racing with Stop either are accepted and run, or are
// refused with ErrStopped and never run; nothing accepted is lost.
func TestC2ConcurrentStopAndSubmit(t *testing.T) {
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
}
