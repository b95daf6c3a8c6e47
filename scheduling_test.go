package threadpool_test

// TestScheduling: where a task goes (an idle worker, a new one, the
// backlog: A4), synchronous counts and the max bound (A5), FIFO (A6), and
// tasks that submit to their own pool.

import (
	"context"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/twisted-go/threadpool"
	"github.com/twisted-go/threadpool/threadpooltest"
)

func TestScheduling(t *testing.T) {
	// A4: a task goes to an idle worker if there is one (workers are reused),
	// else to a new worker under max, else to the backlog.
	t.Run("a task goes to an idle worker then a new one then the backlog", func(t *testing.T) {
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
	})

	// A4: test_workerStateTransition: a worker moves idle -> busy -> idle.
	t.Run("a worker goes idle then busy then idle", func(t *testing.T) {
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
	})

	// A4: RaceConditionTests.test_synchronization: three tasks wait on an event
	// and a fourth sets it; with spare capacity the setter must run at once
	// and unblock them. Repeated, with max exactly 4 as well, so that a pool
	// that wrongly counts a finishing worker as free queues the setter forever.
	t.Run("a task that unblocks others runs at once when there is capacity", func(t *testing.T) {
		for _, max := range []int{10, 4} {
			p := newPool(t, 0, max)
			mustStart(t, p)
			ev := newEvent()
			t.Cleanup(ev.set) // never leave waiters behind on failure
			mustCall(t, p, ev.set)
			if !ev.waitFor(hangTimeout) {
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
				if !ev.waitFor(hangTimeout) {
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
	})

	// A5: when CallInThread, Start, AdjustPoolSize, StartAWorker and
	// StopAWorker return, the counts already include their effect.
	t.Run("the counts include a call's effect when it returns", func(t *testing.T) {
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
	})

	// A5: never more than max tasks run at once, measured inside the tasks,
	// under concurrent submitters; and max is reached.
	t.Run("never more than max run at once and max is reached", func(t *testing.T) {
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
	})

	// A5: tasks already running when max is lowered may finish, but no new task
	// starts until fewer than max run.
	t.Run("after max is lowered nothing starts until fewer than max run", func(t *testing.T) {
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
	})

	// A5: RaceConditionTests.test_singleThread: with max lowered to 1, ten tasks
	// that block make one worker, not ten.
	t.Run("with max lowered to 1 ten blocking tasks make one worker", func(t *testing.T) {
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
	})

	// A6: the backlog is strict FIFO: with one worker the tasks run in
	// submission order, also when the worker frees up while new tasks keep
	// arriving.
	t.Run("the backlog is FIFO with one worker", func(t *testing.T) {
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
	})

	// A6: when capacity appears (max raised) while new tasks arrive, the tasks
	// handed to workers are always the oldest: every task blocks until the end,
	// so the set of started tasks must always be a prefix of the submissions.
	t.Run("the oldest tasks start when capacity appears", func(t *testing.T) {
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
	})

	// A6 on the deterministic workers: the run order is exactly the hand-over
	// order, across Start, raised max and StartAWorker, with new tasks
	// arriving in between.
	t.Run("the run order is the hand-over order on the double", func(t *testing.T) {
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
	})

	// A5: With max 1 and the default unbounded backlog, a task that submits to its
	// own pool does not deadlock: the children wait in the backlog (the one
	// worker is the parent's) and run, in order, after the parent returns.
	t.Run("a task may submit to its own pool at max 1", func(t *testing.T) {
		p, _ := startCountedPool(t, 0, 1)
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
		within(t, "parent task", func() { s = <-parentDone })
		if s.Queued != 3 || s.Working != 1 || s.Workers != 1 {
			t.Errorf("inside the parent after 3 submissions: Queued %d Working %d Workers %d; want 3 1 1", s.Queued, s.Working, s.Workers)
		}
		waitClosed(t, cbDone, "child callback")
		var v string
		within(t, "child future", func() { v, _ = fut.Wait(context.Background()) })
		if v != "ok" {
			t.Errorf("child future: %q", v)
		}
		within(t, "Stop", func() { _ = p.Stop() })
		want := "parent start,parent end,child call,child with callback,child callback,child future"
		if got := strings.Join(order, ","); got != want {
			t.Errorf("order:\n got %s\nwant %s", got, want)
		}
	})

	// A5: Recursive fan-out: every task submits two more, down to depth 14, on a
	// pool of max 4; the children are submitted from the task (Future kind),
	// from the callback (callback kind) or from the body (CallInThread kind).
	// All 32,767 tasks run exactly once, never more than 4 at once.
	t.Run("a recursive fan-out of 32767 tasks runs each once within max", func(t *testing.T) {
		const depth, max = 14, 4
		const total = 1<<(depth+1) - 1 // 32,767
		p, _ := startCountedPool(t, 0, max)
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
		waitClosed(t, done, "fan-out")
		within(t, "Stop", func() { _ = p.Stop() })
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
	})

}
