package threadpooltest_test

// Single-stepped ports of Twisted's Team tests
// (twisted/_threads/test/test_team.py) onto the real scheduling core,
// through the deterministic double: every count is checked between steps,
// with no goroutine and no timing.

import (
	"bytes"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/twisted-go/threadpool"
	"github.com/twisted-go/threadpool/threadpooltest"
)

// counts is the part of a pool's state the Team tests look at.
type counts struct {
	Workers, Working, Waiters, Queued, Pending, Live int
}

func countsOf(p *threadpool.Pool, w *threadpooltest.Workers) counts {
	s := p.Stats()
	return counts{s.Workers, s.Working, s.Waiters, s.Queued, w.Pending(), w.Live()}
}

func wantCounts(t *testing.T, when string, p *threadpool.Pool, w *threadpooltest.Workers, want counts) {
	t.Helper()
	if got := countsOf(p, w); got != want {
		t.Fatalf("%s: got %+v, want %+v", when, got, want)
	}
	s := p.Stats()
	if s.Submitted != s.Completed+s.Failed+s.Canceled+uint64(s.Queued)+uint64(s.Working) {
		t.Fatalf("%s: H2 broken: %+v", when, s)
	}
}

// started returns a started memory pool.
func started(t *testing.T, min, max int, opts ...threadpool.Option) (*threadpool.Pool, *threadpooltest.Workers) {
	t.Helper()
	p, w := threadpooltest.New(min, max, opts...)
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	return p, w
}

// Twisted: test_doDoesWorkInWorker. The task runs only when the test runs
// it, on the worker the pool handed it to; the worker is busy until then
// and idle after.
func TestTeamDoDoesWorkInWorker(t *testing.T) {
	p, w := started(t, 0, 3)
	ran := 0
	if err := p.CallInThread(func() { ran++ }); err != nil {
		t.Fatal(err)
	}
	wantCounts(t, "after CallInThread", p, w, counts{Workers: 1, Working: 1, Pending: 1, Live: 1})
	if ran != 0 {
		t.Fatal("the task ran before RunOne")
	}
	if !w.RunOne() || ran != 1 {
		t.Fatalf("RunOne ran the task %d times, want 1", ran)
	}
	wantCounts(t, "after RunOne", p, w, counts{Workers: 1, Waiters: 1, Live: 1})
	if w.RunOne() {
		t.Fatal("RunOne found a second task")
	}
	if s := p.Stats(); s.Submitted != 1 || s.Completed != 1 || w.Created() != 1 {
		t.Fatalf("stats %+v, Created %d; want 1 submitted, 1 completed, 1 worker created", s, w.Created())
	}
}

// Twisted: test_initialStatistics.
func TestTeamInitialStatistics(t *testing.T) {
	p, w := threadpooltest.New(0, 3)
	want := threadpool.Stats{Min: 0, Max: 3}
	if got := p.Stats(); got != want {
		t.Fatalf("Stats() = %+v, want %+v", got, want)
	}
	wantCounts(t, "new pool", p, w, counts{})
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	want.Started = true
	if got := p.Stats(); got != want {
		t.Fatalf("after Start: Stats() = %+v, want %+v", got, want)
	}
	if w.Created() != 0 {
		t.Fatalf("Created = %d after Start with min 0", w.Created())
	}
}

// Twisted: test_growCreatesIdleWorkers.
func TestTeamGrowCreatesIdleWorkers(t *testing.T) {
	p, w := started(t, 0, 10)
	for range 5 {
		if err := p.StartAWorker(); err != nil {
			t.Fatal(err)
		}
	}
	wantCounts(t, "after 5 StartAWorker", p, w, counts{Workers: 5, Waiters: 5, Live: 5})
	// Growing through the minimum does the same.
	if err := p.AdjustPoolSize(7, 10); err != nil {
		t.Fatal(err)
	}
	wantCounts(t, "after AdjustPoolSize(7, 10)", p, w, counts{Workers: 7, Waiters: 7, Live: 7})
	if w.Created() != 7 || p.Stats().PeakWorkers != 7 {
		t.Fatalf("Created %d, PeakWorkers %d, want 7 and 7", w.Created(), p.Stats().PeakWorkers)
	}
}

// Twisted: test_growCreateLimit. A worker limit that refuses to create more
// workers stops the growth: here the limit is max.
func TestTeamGrowStopsAtLimit(t *testing.T) {
	p, w := started(t, 0, 3)
	for range 5 {
		if err := p.StartAWorker(); err != nil {
			t.Fatalf("StartAWorker at the limit = %v, want nil (nothing happens)", err)
		}
	}
	wantCounts(t, "after 5 StartAWorker with max 3", p, w, counts{Workers: 3, Waiters: 3, Live: 3})
	if w.Created() != 3 {
		t.Fatalf("Created = %d, want 3", w.Created())
	}
	// Work past the limit waits rather than growing the pool.
	for range 5 {
		if err := p.CallInThread(func() {}); err != nil {
			t.Fatal(err)
		}
	}
	wantCounts(t, "after 5 tasks", p, w, counts{Workers: 3, Working: 3, Queued: 2, Pending: 3, Live: 3})
	if w.Created() != 3 {
		t.Fatalf("Created = %d, want 3", w.Created())
	}
	// A pool that is not started creates nothing either.
	q, qw := threadpooltest.New(0, 3)
	if err := q.StartAWorker(); err != nil {
		t.Fatal(err)
	}
	wantCounts(t, "StartAWorker before Start", q, qw, counts{})
}

// Twisted: test_shrinkQuitsWorkers. Idle workers quit at once.
func TestTeamShrinkQuitsIdleWorkers(t *testing.T) {
	p, w := started(t, 5, 10)
	wantCounts(t, "after Start", p, w, counts{Workers: 5, Waiters: 5, Live: 5})
	for range 3 {
		if err := p.StopAWorker(); err != nil {
			t.Fatal(err)
		}
	}
	wantCounts(t, "after 3 StopAWorker", p, w, counts{Workers: 2, Waiters: 2, Live: 2})
	if err := p.AdjustPoolSize(0, 1); err != nil {
		t.Fatal(err)
	}
	wantCounts(t, "after AdjustPoolSize(0, 1)", p, w, counts{Workers: 1, Waiters: 1, Live: 1})
	if w.Created() != 5 {
		t.Fatalf("Created = %d, want 5", w.Created())
	}
}

// Twisted: test_shrinkWhenBusy. Shrinking 7 of 10 busy workers leaves
// exactly 3 once the tasks finish, whether asked one worker at a time or by
// lowering max.
func TestTeamShrinkWhenBusy(t *testing.T) {
	for _, how := range []string{"StopAWorker", "AdjustPoolSize"} {
		t.Run(how, func(t *testing.T) {
			p, w := started(t, 0, 10)
			for range 10 {
				if err := p.CallInThread(func() {}); err != nil {
					t.Fatal(err)
				}
			}
			wantCounts(t, "10 tasks", p, w, counts{Workers: 10, Working: 10, Pending: 10, Live: 10})
			if how == "StopAWorker" {
				for range 7 {
					if err := p.StopAWorker(); err != nil {
						t.Fatal(err)
					}
				}
				if got := p.Stats().PendingShrink; got != 7 {
					t.Fatalf("PendingShrink = %d, want 7", got)
				}
			} else if err := p.AdjustPoolSize(0, 3); err != nil {
				t.Fatal(err)
			}
			// Busy workers are not interrupted.
			wantCounts(t, "shrink asked", p, w, counts{Workers: 10, Working: 10, Pending: 10, Live: 10})
			for i := range 10 {
				if !w.RunOne() {
					t.Fatalf("RunOne %d found nothing", i)
				}
				want := max(3, 10-(i+1))
				wantCounts(t, "task finished", p, w, counts{
					Workers: want, Working: 9 - i, Waiters: want - (9 - i), Pending: 9 - i, Live: want})
			}
			if s := p.Stats(); s.PendingShrink != 0 || s.Completed != 10 {
				t.Fatalf("after the tasks: %+v", s)
			}
			// More shrink requests than busy workers never over-shrink
			// later work (SPEC D4).
			for range 20 {
				if err := p.StopAWorker(); err != nil {
					t.Fatal(err)
				}
			}
			wantCounts(t, "20 more StopAWorker", p, w, counts{})
			if err := p.CallInThread(func() {}); err != nil {
				t.Fatal(err)
			}
			w.RunAll()
			wantCounts(t, "one more task", p, w, counts{Workers: 1, Waiters: 1, Live: 1})
		})
	}
}

// Shrink requests are capped at the busy workers: asking 20 times of 2
// busy workers quits those 2 when they finish and no more.
func TestTeamShrinkRequestsCapped(t *testing.T) {
	p, w := started(t, 0, 5)
	for range 2 {
		if err := p.CallInThread(func() {}); err != nil {
			t.Fatal(err)
		}
	}
	for range 20 {
		if err := p.StopAWorker(); err != nil {
			t.Fatal(err)
		}
	}
	if got := p.Stats().PendingShrink; got != 2 {
		t.Fatalf("PendingShrink = %d after 20 requests with 2 busy, want 2", got)
	}
	w.RunAll()
	wantCounts(t, "after the tasks", p, w, counts{})
	for range 3 {
		if err := p.CallInThread(func() {}); err != nil {
			t.Fatal(err)
		}
	}
	w.RunAll()
	wantCounts(t, "3 new tasks", p, w, counts{Workers: 3, Waiters: 3, Live: 3})
}

// Twisted: test_shrinkToZero.
func TestTeamShrinkToZero(t *testing.T) {
	p, w := started(t, 10, 10)
	wantCounts(t, "after Start", p, w, counts{Workers: 10, Waiters: 10, Live: 10})
	if err := p.AdjustPoolSize(0, 0); err != nil {
		t.Fatal(err)
	}
	wantCounts(t, "after AdjustPoolSize(0, 0)", p, w, counts{})
	if len(p.Threads()) != 0 {
		t.Fatalf("Threads() = %v, want none", p.Threads())
	}
	// A paused pool holds work until max is raised (SPEC A2, D3).
	ran := 0
	if err := p.CallInThread(func() { ran++ }); err != nil {
		t.Fatal(err)
	}
	wantCounts(t, "task on a (0, 0) pool", p, w, counts{Queued: 1})
	if w.RunAll() != 0 || ran != 0 {
		t.Fatal("a task ran on a pool with max 0")
	}
	if err := p.AdjustPoolSize(0, 1); err != nil {
		t.Fatal(err)
	}
	wantCounts(t, "max raised to 1", p, w, counts{Workers: 1, Working: 1, Pending: 1, Live: 1})
	w.RunAll()
	if ran != 1 {
		t.Fatalf("ran = %d, want 1", ran)
	}
}

// Twisted: test_moreWorkWhenNoWorkersAvailable. Work beyond max waits in the
// backlog and is drained in submission order by the workers that free up.
func TestTeamBacklogDrainsInOrder(t *testing.T) {
	p, w := started(t, 0, 3)
	var order []int
	for i := range 8 {
		if err := p.CallInThread(func() { order = append(order, i) }); err != nil {
			t.Fatal(err)
		}
	}
	wantCounts(t, "8 tasks on max 3", p, w, counts{Workers: 3, Working: 3, Queued: 5, Pending: 3, Live: 3})
	for i := range 5 {
		w.RunOne()
		wantCounts(t, "one task ran", p, w, counts{Workers: 3, Working: 3, Queued: 4 - i, Pending: 3, Live: 3})
	}
	if n := w.RunAll(); n != 3 {
		t.Fatalf("RunAll ran %d, want 3", n)
	}
	if want := []int{0, 1, 2, 3, 4, 5, 6, 7}; !slices.Equal(order, want) {
		t.Fatalf("ran in order %v, want %v", order, want)
	}
	wantCounts(t, "all done", p, w, counts{Workers: 3, Waiters: 3, Live: 3})
	if w.Created() != 3 {
		t.Fatalf("Created = %d, want 3 (workers are reused)", w.Created())
	}
}

// Twisted: test_exceptionInTask. A panic in a task with nobody to receive
// it is logged exactly once, counted failed, and costs no capacity.
func TestTeamPanicInTaskReportedOnce(t *testing.T) {
	var buf bytes.Buffer
	p, w := started(t, 0, 1, threadpool.WithName("team"),
		threadpool.WithLogger(slog.New(slog.NewTextHandler(&buf, nil))))
	if err := p.CallInThread(func() { panic("kaboom") }); err != nil {
		t.Fatal(err)
	}
	w.RunOne()
	out := buf.String()
	if n := strings.Count(out, "level=ERROR"); n != 1 || !strings.Contains(out, "kaboom") {
		t.Fatalf("log has %d Error records, want 1 with the panic value:\n%s", n, out)
	}
	if !strings.Contains(out, "TestTeamPanicInTaskReportedOnce") {
		t.Fatalf("the logged stack does not show the panicking function:\n%s", out)
	}
	if s := p.Stats(); s.Failed != 1 || s.Completed != 0 {
		t.Fatalf("stats %+v, want Failed 1", s)
	}
	wantCounts(t, "after the panic", p, w, counts{Workers: 1, Waiters: 1, Live: 1})
	// The worker survives and takes the next task.
	ran := false
	if err := p.CallInThread(func() { ran = true }); err != nil {
		t.Fatal(err)
	}
	w.RunAll()
	if !ran || w.Created() != 1 || strings.Count(buf.String(), "level=ERROR") != 1 {
		t.Fatalf("ran %v, Created %d, log:\n%s", ran, w.Created(), buf.String())
	}
}

// Twisted: test_quit (quitting twice, and work after quitting, are refused).
// Here a second Stop returns nil after the same drain (SPEC E3); work,
// StartAWorker and StopAWorker after a stop are refused with ErrStopped.
func TestTeamQuitTwiceAndWorkAfterQuit(t *testing.T) {
	p, w := started(t, 2, 4)
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := p.Stop(); err != nil {
		t.Fatalf("second Stop = %v, want nil", err)
	}
	if p.StopNow() != 0 {
		t.Fatal("StopNow on a stopped pool dropped something")
	}
	ran := false
	if err := p.CallInThread(func() { ran = true }); !errors.Is(err, threadpool.ErrStopped) {
		t.Fatalf("CallInThread after Stop = %v, want ErrStopped", err)
	}
	called := false
	err := p.CallInThreadWithCallback(func(any, error) { called = true }, func() (any, error) { return nil, nil })
	if !errors.Is(err, threadpool.ErrStopped) {
		t.Fatalf("CallInThreadWithCallback after Stop = %v, want ErrStopped", err)
	}
	if err := p.StartAWorker(); !errors.Is(err, threadpool.ErrStopped) {
		t.Fatalf("StartAWorker after Stop = %v, want ErrStopped", err)
	}
	if err := p.StopAWorker(); !errors.Is(err, threadpool.ErrStopped) {
		t.Fatalf("StopAWorker after Stop = %v, want ErrStopped", err)
	}
	if w.RunAll() != 0 || ran || called {
		t.Fatal("refused work ran, or its callback was called")
	}
	if s := p.Stats(); s.Rejected != 2 || s.Submitted != 0 || s.Started {
		t.Fatalf("stats %+v, want Rejected 2, Submitted 0", s)
	}
	wantCounts(t, "stopped", p, w, counts{})
}

// Twisted: test_quitQuits. Stop quits idle workers at once and busy ones
// when they have finished (and the backlog is empty).
func TestTeamQuitQuitsIdleNowBusyLater(t *testing.T) {
	p, w := started(t, 5, 5)
	var order []int
	for i := range 3 {
		if err := p.CallInThread(func() { order = append(order, i) }); err != nil {
			t.Fatal(err)
		}
	}
	wantCounts(t, "3 busy of 5", p, w, counts{Workers: 5, Working: 3, Waiters: 2, Pending: 3, Live: 5})
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	wantCounts(t, "after Stop", p, w, counts{Workers: 3, Working: 3, Pending: 3, Live: 3})
	if p.Started() {
		t.Fatal("Started() during the stop")
	}
	for i := range 3 {
		w.RunOne()
		wantCounts(t, "a busy worker finished", p, w, counts{Workers: 2 - i, Working: 2 - i, Pending: 2 - i, Live: 2 - i})
	}
	if !slices.Equal(order, []int{0, 1, 2}) {
		t.Fatalf("order %v", order)
	}
	// Stopped: it restarts with fresh workers (SPEC B3).
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	wantCounts(t, "restarted", p, w, counts{Workers: 5, Waiters: 5, Live: 5})
	if w.Created() != 10 {
		t.Fatalf("Created = %d, want 10", w.Created())
	}
}

// Stop runs the whole backlog before the last worker quits (SPEC E1), and
// Start while that drain is under way is refused.
func TestTeamQuitDrainsBacklog(t *testing.T) {
	p, w := started(t, 0, 2)
	var order []int
	for i := range 5 {
		if err := p.CallInThread(func() { order = append(order, i) }); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	wantCounts(t, "after Stop", p, w, counts{Workers: 2, Working: 2, Queued: 3, Pending: 2, Live: 2})
	if err := p.Start(); !errors.Is(err, threadpool.ErrStopped) {
		t.Fatalf("Start during the drain = %v, want an error wrapping ErrStopped", err)
	}
	if n := w.RunAll(); n != 5 {
		t.Fatalf("RunAll ran %d, want 5", n)
	}
	if !slices.Equal(order, []int{0, 1, 2, 3, 4}) {
		t.Fatalf("order %v", order)
	}
	wantCounts(t, "drained", p, w, counts{})
	if s := p.Stats(); s.Completed != 5 || s.Canceled != 0 {
		t.Fatalf("stats %+v", s)
	}
}

// Twisted: test_quitConcurrentWithWorkHappening. A stop begun while the
// last task is running (here: from inside it) still completes when it
// finishes, and nothing is left behind.
func TestTeamQuitWhileLastTaskRuns(t *testing.T) {
	p, w := started(t, 1, 1)
	inside := threadpool.Stats{}
	if err := p.CallInThread(func() {
		if err := p.Stop(); err != nil {
			t.Errorf("Stop from inside a task = %v, want nil", err)
		}
		inside = p.Stats()
	}); err != nil {
		t.Fatal(err)
	}
	w.RunOne()
	if inside.Started || inside.Working != 1 || inside.Workers != 1 {
		t.Fatalf("stats inside the task after Stop: %+v", inside)
	}
	wantCounts(t, "after the last task", p, w, counts{})
	if s := p.Stats(); s.Completed != 1 || s.Started {
		t.Fatalf("stats %+v", s)
	}
	// Stopped, not stuck in the drain: Start works again.
	if err := p.Start(); err != nil {
		t.Fatalf("Start after the stop completed = %v", err)
	}
	wantCounts(t, "restarted", p, w, counts{Workers: 1, Waiters: 1, Live: 1})

	// The same, with the stop begun between the task being handed over and
	// it running.
	if err := p.CallInThread(func() {}); err != nil {
		t.Fatal(err)
	}
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	wantCounts(t, "stop with the task handed over", p, w, counts{Workers: 1, Working: 1, Pending: 1, Live: 1})
	w.RunOne()
	wantCounts(t, "stopped", p, w, counts{})
	if err := p.Start(); err != nil {
		t.Fatalf("Start = %v", err)
	}
}
