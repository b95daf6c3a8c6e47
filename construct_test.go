package threadpool_test

// SPEC 2.A (construction and capacity, A1-A3) and 2.B (Start).

import (
	"errors"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/twisted-go/threadpool"
)

// A1: New starts nothing, not even with work waiting; Start starts exactly
// one goroutine per worker and no other.
func TestA1NewStartsNoGoroutine(t *testing.T) {
	goleak.VerifyNone(t) // earlier tests' goroutines are gone
	p := newPool(t, 0, 4, threadpool.WithName("a1"))
	ran := make(chan struct{}, 3)
	for range 3 {
		mustCall(t, p, func() { ran <- struct{}{} })
	}
	wantCounts(t, p, 0, 0, 0, 3)
	if n := poolGoroutines(); n != 0 {
		t.Fatalf("after New and 3 submissions: %d pool goroutines, want 0", n)
	}
	goleak.VerifyNone(t)
	if len(ran) != 0 {
		t.Fatalf("%d tasks ran before Start", len(ran))
	}

	g := newGate(t)
	defer g.open()
	started := make(chan struct{}, 4)
	blockers(t, p, 1, g, started)
	mustStart(t, p) // 4 tasks waiting, max 4: 4 workers
	for range 3 {
		recv(t, ran, "a task submitted before Start")
	}
	recv(t, started, "blocking task")
	// The blocking task is running, so its worker has set its labels.
	if n := poolGoroutines(); n != 4 {
		t.Fatalf("pool goroutines after Start with 4 waiting tasks = %d, want 4 (one per worker)", n)
	}
	if n := p.Workers(); n != 4 {
		t.Fatalf("Workers = %d, want 4", n)
	}
}

// A1: New(DefaultMin, DefaultMax) is Twisted's ThreadPool(): 5 and 20.
func TestA1Defaults(t *testing.T) {
	if threadpool.DefaultMin != 5 || threadpool.DefaultMax != 20 {
		t.Fatalf("DefaultMin, DefaultMax = %d, %d, want 5, 20", threadpool.DefaultMin, threadpool.DefaultMax)
	}
	p := newPool(t, threadpool.DefaultMin, threadpool.DefaultMax)
	if p.Min() != 5 || p.Max() != 20 || p.Started() {
		t.Fatalf("Min, Max, Started = %d, %d, %v; want 5, 20, false", p.Min(), p.Max(), p.Started())
	}
	wantCounts(t, p, 0, 0, 0, 0)
	mustStart(t, p)
	wantCounts(t, p, 5, 0, 5, 0)
}

// A2: bad sizes are refused with errors that wrap ErrInvalidSize, say why
// and name the values; (0, 0) is legal.
func TestA2InvalidSizes(t *testing.T) {
	cases := []struct {
		min, max int
		why      string
	}{
		{-1, 3, "minimum is negative"},
		{-1, -5, "minimum is negative"},
		{4, 3, "minimum is greater than maximum"},
		{1, 0, "minimum is greater than maximum"},
	}
	for _, c := range cases {
		p, err := threadpool.New(c.min, c.max)
		if err == nil || p != nil {
			t.Errorf("New(%d, %d) = %v, %v; want nil and an error", c.min, c.max, p, err)
			continue
		}
		if !errors.Is(err, threadpool.ErrInvalidSize) {
			t.Errorf("New(%d, %d): %v does not wrap ErrInvalidSize", c.min, c.max, err)
		}
		msg := err.Error()
		if !strings.Contains(msg, c.why) {
			t.Errorf("New(%d, %d): %q does not contain %q", c.min, c.max, msg, c.why)
		}
		for _, v := range []int{c.min, c.max} {
			if !strings.Contains(msg, itoa(v)) {
				t.Errorf("New(%d, %d): %q does not name %d", c.min, c.max, msg, v)
			}
		}
	}
	p, err := threadpool.New(0, 0)
	if err != nil || p == nil {
		t.Fatalf("New(0, 0) = %v, %v; want a pool", p, err)
	}
	if p.Min() != 0 || p.Max() != 0 {
		t.Fatalf("New(0, 0): Min, Max = %d, %d", p.Min(), p.Max())
	}
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
}

func itoa(v int) string {
	if v < 0 {
		return "-" + itoa(-v)
	}
	if v < 10 {
		return string(rune('0' + v))
	}
	return itoa(v/10) + itoa(v%10)
}

// A2: a refused AdjustPoolSize changes nothing, on a new and on a started
// pool.
func TestA2RefusedAdjustChangesNothing(t *testing.T) {
	for _, start := range []bool{false, true} {
		p := newPool(t, 2, 6)
		if start {
			mustStart(t, p)
		}
		workers := p.Workers()
		for _, c := range []struct {
			min, max int
			why      string
		}{{-1, 6, "minimum is negative"}, {7, 6, "minimum is greater than maximum"}, {3, 1, "minimum is greater than maximum"}, {-2, -1, "minimum is negative"}} {
			err := p.AdjustPoolSize(c.min, c.max)
			if !errors.Is(err, threadpool.ErrInvalidSize) || !strings.Contains(err.Error(), c.why) {
				t.Errorf("started=%v AdjustPoolSize(%d, %d) = %v; want ErrInvalidSize, %q", start, c.min, c.max, err, c.why)
			}
			if p.Min() != 2 || p.Max() != 6 {
				t.Errorf("started=%v after refused AdjustPoolSize(%d, %d): Min, Max = %d, %d; want 2, 6", start, c.min, c.max, p.Min(), p.Max())
			}
			if s := checkStats(t, p); s.Min != 2 || s.Max != 6 || s.Workers != workers {
				t.Errorf("started=%v after refused AdjustPoolSize: Stats %+v", start, s)
			}
		}
		if err := p.AdjustPoolSize(0, 0); err != nil {
			t.Errorf("AdjustPoolSize(0, 0) = %v", err)
		}
		if p.Min() != 0 || p.Max() != 0 {
			t.Errorf("AdjustPoolSize(0, 0): Min, Max = %d, %d", p.Min(), p.Max())
		}
		mustStop(t, p)
	}
}

// A3: the worker limit is 0 while the pool is not started (work waits,
// StartAWorker does nothing) and max once it is; min is a floor, not a
// limit.
func TestA3WorkerLimit(t *testing.T) {
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
}

// B1: work submitted before Start waits in the backlog and nothing runs;
// Start runs it.
func TestB1WorkBeforeStartWaits(t *testing.T) {
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
}

// B2: Start grows to min, then one worker per waiting task, never past
// max. The counts are exact when Start returns.
func TestB2StartSizes(t *testing.T) {
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
}

// B3: Start twice is harmless; Start after Stop restarts with fresh
// workers, whose numbers go on, and the counters go on too.
func TestB3StartTwiceAndRestart(t *testing.T) {
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
