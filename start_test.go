package threadpool_test

// TestStart: the worker limit before and after Start (A3), work submitted
// before Start (B1), the sizes Start grows to (B2), and Start twice or
// after a Stop (B3).

import (
	"runtime"
	"strings"
	"testing"

	"github.com/twisted-go/threadpool"
	"github.com/twisted-go/threadpool/threadpooltest"
)

func itoa(v int) string {
	if v < 0 {
		return "-" + itoa(-v)
	}
	if v < 10 {
		return string(rune('0' + v))
	}
	return itoa(v/10) + itoa(v%10)
}

// workerNum returns the <n> of a worker name PoolThread-<name>-<n>.
func workerNum(t testing.TB, name string) int {
	t.Helper()
	i := strings.LastIndexByte(name, '-')
	n := 0
	for _, c := range name[i+1:] {
		if c < '0' || c > '9' {
			t.Fatalf("worker name %q does not end in a number", name)
		}
		n = n*10 + int(c-'0')
	}
	return n
}

func names(ts []threadpool.ThreadInfo) []string {
	out := make([]string, len(ts))
	for i, ti := range ts {
		out[i] = ti.Name
	}
	return out
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestStart(t *testing.T) {
	// A3: the worker limit is 0 while the pool is not started (work waits,
	// StartAWorker does nothing) and max once it is; min is a floor, not a
	// limit.
	t.Run("no worker before Start and up to max after", func(t *testing.T) {
		p := newPool(t, 2, 4)
		ran := make(chan struct{}, 10)
		for range 3 {
			mustCall(t, p, func() { ran <- struct{}{} })
		}
		if err := p.StartAWorker(); err != nil {
			t.Fatalf("StartAWorker on a new pool = %v, want nil", err)
		}
		wantCounts(t, p, 0, 0, 0, 3)
		if err := p.StopAWorker(); err != nil {
			t.Fatalf("StopAWorker on a new pool = %v, want nil", err)
		}
		wantCounts(t, p, 0, 0, 0, 3)

		mustStart(t, p)
		for range 3 {
			recv(t, ran, "task submitted before Start")
		}
		mustStop(t, p) // drain, so the counts below are exact

		// Started: up to max workers run at once, more than min.
		p = newPool(t, 2, 4)
		mustStart(t, p)
		wantCounts(t, p, 2, 0, 2, 0)
		g := newGate(t)
		defer g.open()
		started := make(chan struct{}, 10)
		blockers(t, p, 10, g, started)
		wantCounts(t, p, 4, 4, 0, 6)
		for range 4 {
			recv(t, started, "a running task")
		}
		if s := checkStats(t, p); s.PeakWorkers != 4 {
			t.Fatalf("PeakWorkers = %d, want 4", s.PeakWorkers)
		}
		g.open()
		mustStop(t, p)
		s := checkStats(t, p)
		if s.Completed != 10 || s.Workers != 0 || s.PeakWorkers != 4 {
			t.Fatalf("after Stop: %+v; want 10 completed, 0 workers, peak 4", s)
		}
	})

	// B1: work submitted before Start waits in the backlog and nothing runs;
	// Start runs it.
	t.Run("work submitted before Start waits and Start runs it", func(t *testing.T) {
		p := newPool(t, 0, 3)
		ran := make(chan int, 5)
		for i := range 5 {
			mustCall(t, p, func() { ran <- i })
			wantCounts(t, p, 0, 0, 0, i+1)
		}
		s := checkStats(t, p)
		if s.Submitted != 5 || s.Started || p.Started() {
			t.Fatalf("before Start: %+v", s)
		}
		if len(ran) != 0 {
			t.Fatalf("%d tasks ran before Start", len(ran))
		}
		mustStart(t, p)
		if !p.Started() {
			t.Fatal("Started() = false after Start")
		}
		mustStop(t, p)
		if len(ran) != 5 {
			t.Fatalf("%d tasks ran, want 5", len(ran))
		}
		if s := checkStats(t, p); s.Completed != 5 || s.Queued != 0 {
			t.Fatalf("after Stop: %+v", s)
		}
	})

	// B1: test_existingWork: work queued before Start runs after Start.
	t.Run("work queued before Start runs after Start", func(t *testing.T) {
		p := newPool(t, 0, 1)
		done := make(chan struct{})
		mustCall(t, p, func() { close(done) })
		mustStart(t, p)
		waitClosed(t, done, "the existing work")
	})

	// B2: Start grows to min, then one worker per waiting task, never past
	// max. The counts are exact when Start returns.
	t.Run("Start grows to min then one worker per waiting task up to max", func(t *testing.T) {
		cases := []struct {
			min, max, waiting      int
			workers, busy, backlog int
		}{
			{0, 10, 5, 5, 5, 0},
			{0, 10, 50, 10, 10, 40},
			{3, 10, 0, 3, 0, 0},
			{3, 10, 5, 5, 5, 0},
			{3, 10, 2, 3, 2, 0},
			{3, 10, 50, 10, 10, 40},
		}
		for _, c := range cases {
			p := newPool(t, c.min, c.max)
			g := newGate(t)
			blockers(t, p, c.waiting, g, nil)
			wantCounts(t, p, 0, 0, 0, c.waiting)
			mustStart(t, p)
			wantCounts(t, p, c.workers, c.busy, c.workers-c.busy, c.backlog)
			if n := len(p.Threads()); n != c.workers {
				t.Errorf("(%d,%d) with %d waiting: %d threads, want %d", c.min, c.max, c.waiting, n, c.workers)
			}
			g.open()
			mustStop(t, p)
			if s := checkStats(t, p); s.Completed != uint64(c.waiting) || s.PeakWorkers != c.workers {
				t.Errorf("(%d,%d) with %d waiting: after Stop %+v", c.min, c.max, c.waiting, s)
			}
		}
	})

	// B2: test_start: Start without waiting work creates min workers, and no more.
	t.Run("Start without work makes min workers", func(t *testing.T) {
		p := newPool(t, 5, 20)
		mustStart(t, p)
		wantCounts(t, p, 5, 0, 5, 0)
		if len(p.Threads()) != 5 {
			t.Fatalf("Threads = %v", p.Threads())
		}
		q := newPool(t, 0, 5) // lazy: no work, no worker
		mustStart(t, q)
		wantCounts(t, q, 0, 0, 0, 0)
	})

	// B2: MemoryBackedTests.test_workBeforeStarting and
	// test_tooMuchWorkBeforeStarting: Start makes one worker per waiting task,
	// up to max.
	t.Run("Start makes one worker per waiting task up to max", func(t *testing.T) {
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
	})

	// B3: Start twice is harmless; Start after Stop restarts with fresh
	// workers, whose numbers go on, and the counters go on too.
	t.Run("Start twice is harmless and Start after Stop restarts", func(t *testing.T) {
		p := newPool(t, 2, 4, threadpool.WithName("b3"))
		mustStart(t, p)
		first := names(p.Threads())
		mustStart(t, p)
		wantCounts(t, p, 2, 0, 2, 0)
		if got := names(p.Threads()); !equal(got, first) || !equal(first, []string{"PoolThread-b3-1", "PoolThread-b3-2"}) {
			t.Fatalf("threads after Start twice = %v (first %v)", got, first)
		}
		for range 3 {
			mustCall(t, p, func() {})
		}
		mustStop(t, p)
		if p.Started() {
			t.Fatal("Started() after Stop")
		}
		before := checkStats(t, p)
		if before.Submitted != 3 || before.Completed != 3 || before.Workers != 0 {
			t.Fatalf("after Stop: %+v", before)
		}
		if len(p.Threads()) != 0 {
			t.Fatalf("threads after Stop: %v", p.Threads())
		}

		mustStart(t, p)
		if !p.Started() {
			t.Fatal("Started() = false after restart")
		}
		wantCounts(t, p, 2, 0, 2, 0)
		second := names(p.Threads())
		for _, n := range second {
			for _, o := range first {
				if n == o {
					t.Fatalf("restarted worker %s reuses a name of the first run %v", n, first)
				}
			}
		}
		// Three tasks ran on the first workers (plus maybe a third worker):
		// the fresh workers are numbered after every earlier one.
		if len(second) != 2 || workerNum(t, second[0]) < 3 || workerNum(t, second[1]) != workerNum(t, second[0])+1 {
			t.Fatalf("threads after restart = %v, want two consecutive numbers above 2", second)
		}
		done := make(chan struct{})
		mustCall(t, p, func() { close(done) })
		waitClosed(t, done, "task after restart")
		mustStop(t, p)
		after := checkStats(t, p)
		if after.Submitted != 4 || after.Completed != 4 || after.PeakWorkers != before.PeakWorkers {
			t.Fatalf("counters after restart and Stop: %+v, want 4 submitted and completed", after)
		}
	})

	// While Start grows a large minimum, Stats is not held up for the whole
	// growth: Start lets go of the lock between batches of workers, and a
	// Stats call waiting for it (a waiter starved for a millisecond is handed
	// the mutex) sees the growth half done.
	t.Run("Start of a large minimum lets go of the lock between batches", func(t *testing.T) {
		if runtime.GOMAXPROCS(0) < 2 {
			t.Skip("needs a second processor for the Stats caller to wait on the lock")
		}
		const n = 1 << 14
		p := newPool(t, n, n)
		ready := make(chan struct{})
		sawPartial := make(chan bool, 1)
		go func() {
			close(ready)
			for {
				switch s := p.Stats(); {
				case s.Workers > 0 && s.Workers < n:
					sawPartial <- true
					return
				case s.Workers == n:
					sawPartial <- false
					return
				}
			}
		}()
		<-ready
		mustStart(t, p)
		if !recv(t, sawPartial, "a Stats during Start") {
			t.Fatal("Stats never saw the growth half done: Start held the lock throughout")
		}
		if w := p.Workers(); w != n {
			t.Fatalf("Workers after Start = %d", w)
		}
	})

}
