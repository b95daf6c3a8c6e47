package threadpool_test

// TestWorkerInit: WithWorkerInit, the per-worker init and cleanup hooks,
// with and without WithOSThreads, on any system (SPEC J2, J3). The threads
// themselves are checked on Linux (osthread_linux_test.go).

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twisted-go/threadpool"
)

// hookLog records the calls of an init hook and of its cleanups, by
// worker name.
type hookLog struct {
	mu       sync.Mutex
	inits    map[string]int
	cleanups map[string]int
	ended    chan string // a cleanup's worker name, as it runs
}

func newHookLog() *hookLog {
	return &hookLog{inits: map[string]int{}, cleanups: map[string]int{}, ended: make(chan string, 1000)}
}

func (h *hookLog) init(info threadpool.ThreadInfo) (func(), error) {
	h.mu.Lock()
	h.inits[info.Name]++
	h.mu.Unlock()
	return func() {
		h.mu.Lock()
		h.cleanups[info.Name]++
		h.mu.Unlock()
		h.ended <- info.Name
	}, nil
}

// check fails unless every worker that ran init ran cleanup, both once.
func (h *hookLog) check(t *testing.T) {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	for name, n := range h.inits {
		if n != 1 || h.cleanups[name] != 1 {
			t.Errorf("%s: init ran %d times, cleanup %d times; want 1 and 1", name, n, h.cleanups[name])
		}
	}
	for name := range h.cleanups {
		if h.inits[name] == 0 {
			t.Errorf("%s: cleanup without init", name)
		}
	}
}

func (h *hookLog) count() (inits, cleanups int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, n := range h.inits {
		inits += n
	}
	for _, n := range h.cleanups {
		cleanups += n
	}
	return inits, cleanups
}

// flakyInit fails its calls in turn: an error, a panic, a Goexit, then
// succeeds twice; and so on.
func flakyInit(calls *atomic.Int64) func(threadpool.ThreadInfo) (func(), error) {
	return func(threadpool.ThreadInfo) (func(), error) {
		switch calls.Add(1) % 5 {
		case 1:
			return nil, errors.New("no device")
		case 2:
			panic("driver exploded")
		case 3:
			runtime.Goexit()
		}
		return nil, nil
	}
}

// signalHandler is a slog.Handler that sends each record's message on ch.
type signalHandler chan<- string

func (h signalHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h signalHandler) Handle(_ context.Context, r slog.Record) error {
	h <- r.Message
	return nil
}

func (h signalHandler) WithAttrs([]slog.Attr) slog.Handler { return h }

func (h signalHandler) WithGroup(string) slog.Handler { return h }

func mustNilErr(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestWorkerInit(t *testing.T) {
	// J2: Init runs once per worker before its first task and cleanup once when
	// the worker ends, whichever way it ends: StopAWorker, a lowered max, an
	// idle timeout, a Goexit in a task (the replacing goroutine runs init as
	// a new worker), StopNow and Stop.
	t.Run("init and cleanup run once per worker however it ends", func(t *testing.T) {
		for _, threads := range []bool{false, true} {
			t.Run(fmt.Sprintf("OSThreads=%v", threads), func(t *testing.T) {
				h := newHookLog()
				opts := []threadpool.Option{threadpool.WithName("hooks"), threadpool.WithWorkerInit(h.init),
					threadpool.WithIdleTimeout(time.Millisecond)}
				if threads {
					opts = append(opts, threadpool.WithOSThreads())
				}
				p := newPool(t, 2, 4, opts...)
				mustStart(t, p)
				g := newGate(t)
				started := make(chan struct{}, 4)
				blockers(t, p, 4, g, started)
				for range 4 {
					recv(t, started, "a blocker to start")
				}
				// Every worker ran init before its task.
				if inits, _ := h.count(); inits != 4 {
					t.Fatalf("%d inits with 4 busy workers, want 4", inits)
				}
				if err := p.StopAWorker(); err != nil { // paid when a blocker ends
					t.Fatal(err)
				}
				g.open()
				recv(t, h.ended, "the cleanup of the worker StopAWorker removed")
				// The idle timeout takes the pool back to min: one more exits.
				recv(t, h.ended, "the cleanup of a worker that timed out")

				// A task that ends its goroutine: the old goroutine cleans up, the
				// new one, a new worker by name, runs init.
				done := make(chan struct{})
				mustCall(t, p, func() { close(done); runtime.Goexit() })
				waitClosed(t, done, "the Goexit task")
				recv(t, h.ended, "the cleanup of the goroutine that Goexit ended")

				// Both workers run a task, so both have run init (a worker told
				// to quit before its first task runs neither hook); then
				// StopNow ends them.
				g2 := newGate(t)
				blockers(t, p, 2, g2, started)
				for range 2 {
					recv(t, started, "a blocker to start")
				}
				g2.open()
				p.StopNow()
				for range 2 {
					recv(t, h.ended, "a cleanup at StopNow")
				}
				mustStop(t, p)
				inits, cleanups := h.count()
				if inits != cleanups || inits < 5 {
					t.Errorf("%d inits, %d cleanups", inits, cleanups)
				}
				h.check(t)
				if s := checkStats(t, p); s.InitFailed != 0 || s.Workers != 0 {
					t.Errorf("Stats %+v", s)
				}
			})
		}
	})

	// J2: Stop and Shutdown return only after every cleanup has run: the cleanup
	// is part of the worker's exit.
	t.Run("Stop and Shutdown wait for every cleanup", func(t *testing.T) {
		var cleaned atomic.Int32
		p := newPool(t, 3, 3, threadpool.WithOSThreads(), threadpool.WithWorkerInit(
			func(threadpool.ThreadInfo) (func(), error) {
				return func() { cleaned.Add(1) }, nil
			}))
		mustStart(t, p)
		for range 10 {
			mustCall(t, p, func() {})
		}
		mustStop(t, p)
		if n := cleaned.Load(); n != 3 {
			t.Errorf("%d cleanups when Stop returned, want 3", n)
		}
	})

	// J3: Under load, workers whose init fails never run a task and never lose
	// one: every task runs exactly once, each failure is counted and logged
	// once, and Stop returns.
	t.Run("a failing init under load loses no task", func(t *testing.T) {
		var calls atomic.Int64
		rec, logger := newRecorder()
		p := newPool(t, 0, 4, threadpool.WithOSThreads(), threadpool.WithLogger(logger),
			threadpool.WithWorkerInit(flakyInit(&calls)))
		mustStart(t, p)
		const n = 300
		var ran [n]atomic.Int32
		futures := make([]*threadpool.Future[int], 0, n)
		ctx := context.Background()
		for i := range n {
			if i%2 == 0 {
				mustCall(t, p, func() { ran[i].Add(1) })
			} else {
				futures = append(futures, threadpool.Submit(ctx, p, func(context.Context) (int, error) {
					ran[i].Add(1)
					return i, nil
				}))
			}
			checkStats(t, p)
		}
		for _, f := range futures {
			wctx, cancel := context.WithTimeout(ctx, hangTimeout)
			if _, err := f.Wait(wctx); err != nil {
				t.Fatalf("a task's Future: %v", err)
			}
			cancel()
		}
		mustStop(t, p)
		for i := range n {
			if got := ran[i].Load(); got != 1 {
				t.Errorf("task %d ran %d times", i, got)
			}
		}
		s := checkStats(t, p)
		if s.Completed != n || s.Failed != 0 || s.Canceled != 0 {
			t.Errorf("Stats %+v, want %d completed", s, n)
		}
		if s.InitFailed == 0 || int64(s.InitFailed) > calls.Load() {
			t.Errorf("InitFailed %d after %d calls of the hook", s.InitFailed, calls.Load())
		}
		logged := 0
		for _, r := range rec.records() {
			if r.Msg == "threadpool: worker init failed" {
				logged++
			}
		}
		if uint64(logged) != s.InitFailed {
			t.Errorf("%d failures logged, %d counted", logged, s.InitFailed)
		}
	})

	// J3: An init hook that always fails: tasks never run, the pool does not spin
	// starting workers (at most max attempts per submission or Start), and
	// Stop, and Shutdown within its deadline, return, canceling the backlog
	// that no worker can run.
	t.Run("an init that always fails neither spins nor hangs Stop", func(t *testing.T) {
		for _, how := range []string{"error", "panic", "Goexit"} {
			for _, stop := range []string{"Stop", "Shutdown", "StopNow"} {
				t.Run(how+"/"+stop, func(t *testing.T) {
					var calls atomic.Int64
					_, logger := newRecorder()
					p := newPool(t, 2, 4, threadpool.WithLogger(logger), threadpool.WithWorkerInit(
						func(threadpool.ThreadInfo) (func(), error) {
							calls.Add(1)
							switch how {
							case "panic":
								panic("no")
							case "Goexit":
								runtime.Goexit()
							}
							return func() { t.Error("cleanup of a failed init ran") }, errors.New("no")
						}))
					mustStart(t, p)
					const n = 10
					var ran atomic.Int32
					ctx := context.Background()
					futures := make([]*threadpool.Future[int], 0, n)
					for range n {
						mustCall(t, p, func() { ran.Add(1) })
						futures = append(futures, threadpool.Submit(ctx, p, func(context.Context) (int, error) {
							ran.Add(1)
							return 0, nil
						}))
					}
					switch stop {
					case "Stop":
						mustStop(t, p)
					case "Shutdown":
						sctx, cancel := context.WithTimeout(ctx, hangTimeout)
						defer cancel()
						if err := p.Shutdown(sctx); err != nil {
							t.Fatalf("Shutdown: %v", err)
						}
					case "StopNow":
						p.StopNow()
						mustStop(t, p)
					}
					for _, f := range futures {
						if _, err := f.Wait(ctx); !errors.Is(err, threadpool.ErrCanceled) {
							t.Errorf("Future: %v, want ErrCanceled", err)
						}
					}
					s := checkStats(t, p)
					if ran.Load() != 0 || s.Canceled != 2*n || s.Workers != 0 {
						t.Errorf("%d ran; Stats %+v", ran.Load(), s)
					}
					// Start, then 2n submissions: at most max attempts each; the
					// stop gives up after 8 failures in a row (at most max more).
					if limit := uint64(4*(1+2*n) + 8 + 4); s.InitFailed == 0 || s.InitFailed > limit || s.InitFailed != uint64(calls.Load()) {
						t.Errorf("InitFailed %d, hook called %d times, want 1..%d", s.InitFailed, calls.Load(), limit)
					}
				})
			}
		}
	})

	// J3: After init failures have stalled the pool, a worker started by the next
	// submission whose init succeeds drains the backlog: the pool recovers by
	// itself once the hook does.
	t.Run("the pool recovers when init starts succeeding", func(t *testing.T) {
		var failing atomic.Bool
		failing.Store(true)
		logged := make(chan string, 100)
		p := newPool(t, 0, 2, threadpool.WithLogger(slog.New(signalHandler(logged))), threadpool.WithWorkerInit(
			func(threadpool.ThreadInfo) (func(), error) {
				if failing.Load() {
					return nil, errors.New("not yet")
				}
				return nil, nil
			}))
		var wg sync.WaitGroup
		wg.Add(5)
		for range 5 {
			mustCall(t, p, wg.Done)
		}
		mustStart(t, p) // two workers for the backlog: both fail, nothing else starts one
		for range 2 {
			if msg := recv(t, logged, "an init failure"); msg != "threadpool: worker init failed" {
				t.Fatalf("logged %q", msg)
			}
		}
		if s := checkStats(t, p); s.Workers != 0 || s.Queued != 5 || s.InitFailed != 2 {
			t.Fatalf("stalled pool: %+v", s)
		}
		failing.Store(false)
		mustCall(t, p, func() {}) // the next submission tries again
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		waitClosed(t, done, "the backlog to run once init succeeds")
		mustStop(t, p)
		if s := checkStats(t, p); s.Completed != 6 || s.InitFailed == 0 {
			t.Errorf("Stats %+v", s)
		}
	})

	// J4: A group's Go is a submission like any other: on a stalled pool it
	// starts workers for the backlog first, so a full bounded backlog that the
	// retry makes room in does not refuse it.
	t.Run("a group's Go retries a stalled pool before the backlog limit", func(t *testing.T) {
		var failing atomic.Bool
		failing.Store(true)
		logged := make(chan string, 100)
		p := newPool(t, 0, 2, threadpool.WithQueueLimit(5, threadpool.Reject),
			threadpool.WithLogger(slog.New(signalHandler(logged))), threadpool.WithWorkerInit(
				func(threadpool.ThreadInfo) (func(), error) {
					if failing.Load() {
						return nil, errors.New("not yet")
					}
					return nil, nil
				}))
		for range 5 {
			mustCall(t, p, func() {})
		}
		mustStart(t, p) // two workers for the backlog: both fail
		for range 2 {
			recv(t, logged, "an init failure")
		}
		if s := checkStats(t, p); s.Workers != 0 || s.Queued != 5 {
			t.Fatalf("stalled pool: %+v", s)
		}
		failing.Store(false)
		g, _ := threadpool.NewGroup(context.Background(), p)
		g.Go(func(context.Context) error { return nil })
		if err := g.Wait(); err != nil {
			t.Fatalf("Wait: %v, want nil (the retry makes room)", err)
		}
		mustStop(t, p)
		if s := checkStats(t, p); s.Completed != 6 || s.Rejected != 0 {
			t.Errorf("Stats %+v", s)
		}
	})

	// J2: A panic in a cleanup is logged once and costs nothing else.
	t.Run("a panicking cleanup is logged once", func(t *testing.T) {
		rec, logger := newRecorder()
		p := newPool(t, 1, 1, threadpool.WithLogger(logger), threadpool.WithWorkerInit(
			func(threadpool.ThreadInfo) (func(), error) {
				return func() { panic("cleanup failed") }, nil
			}))
		mustStart(t, p)
		mustCall(t, p, func() {})
		mustStop(t, p)
		n := 0
		for _, r := range rec.records() {
			if r.Msg == "threadpool: worker cleanup failed" {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d cleanup failures logged, want 1", n)
		}
	})

	// J2: The tasks that a group's Wait helps run on a helper set up as a worker:
	// its own init and cleanup, each once.
	t.Run("a group's Wait helper runs init and cleanup once each", func(t *testing.T) {
		h := newHookLog()
		p := newPool(t, 1, 1, threadpool.WithName("grp"), threadpool.WithOSThreads(), threadpool.WithWorkerInit(h.init))
		mustStart(t, p)
		ctx := context.Background()
		f := threadpool.Submit(ctx, p, func(ctx context.Context) (int, error) {
			g, gctx := threadpool.NewGroup(ctx, p)
			var n atomic.Int32
			for range 3 {
				g.Go(func(context.Context) error { n.Add(1); return nil })
			}
			_ = gctx
			err := g.Wait() // max 1: Wait runs them on its helper
			return int(n.Load()), err
		})
		wctx, cancel := context.WithTimeout(ctx, hangTimeout)
		defer cancel()
		if n, err := f.Wait(wctx); n != 3 || err != nil {
			t.Fatalf("group: %d, %v", n, err)
		}
		mustStop(t, p)
		if inits, _ := h.count(); inits != 2 {
			t.Errorf("%d inits, want 2 (the worker and its helper)", inits)
		}
		h.check(t)
	})

	// J2: A cleanup that ends its goroutine, as the worker quits or as a task's
	// Goexit ends it: the worker exits (or is taken over) as it would, and
	// Stop returns.
	t.Run("a cleanup that calls Goexit still lets the worker exit", func(t *testing.T) {
		var inits, cleanups atomic.Int32
		p := newPool(t, 2, 2, threadpool.WithOSThreads(), threadpool.WithWorkerInit(
			func(threadpool.ThreadInfo) (func(), error) {
				inits.Add(1)
				return func() { cleanups.Add(1); runtime.Goexit() }, nil
			}))
		mustStart(t, p)
		done := make(chan struct{})
		mustCall(t, p, func() { defer close(done); runtime.Goexit() })
		waitClosed(t, done, "the Goexit task")
		ran := make(chan struct{})
		mustCall(t, p, func() { close(ran) })
		waitClosed(t, ran, "a task after the takeover")
		mustStop(t, p)
		if s := checkStats(t, p); s.Completed != 1 || s.Failed != 1 || inits.Load() != cleanups.Load() || inits.Load() < 2 {
			t.Errorf("Stats %+v, %d inits, %d cleanups", s, inits.Load(), cleanups.Load())
		}
	})

	// J3: The stress of TestStress (exact counters against a ledger of every
	// task, faults, resizes, concurrent stops) with workers on OS threads,
	// with an init hook that fails one call in four (never eight in a row, so
	// no stop gives up on its backlog), and every init's cleanup checked.
	t.Run("the stress with OS threads and an init that fails one call in four", func(t *testing.T) {
		var calls, inits, cleanups atomic.Int64
		init := func(threadpool.ThreadInfo) (func(), error) {
			if calls.Add(1)%4 == 0 {
				return nil, errors.New("flaky")
			}
			inits.Add(1)
			return func() { cleanups.Add(1) }, nil
		}
		relRunStress(t, "osthreads", threadpool.WithOSThreads(), threadpool.WithWorkerInit(init))
		if inits.Load() != cleanups.Load() || inits.Load() == 0 {
			t.Errorf("%d inits, %d cleanups", inits.Load(), cleanups.Load())
		}
	})

	// J2: Stop called from an init hook or a cleanup cannot wait for the worker it
	// runs on: it begins the stop and returns, as from a task.
	t.Run("Stop from init or cleanup does not deadlock", func(t *testing.T) {
		for _, where := range []string{"init", "cleanup"} {
			t.Run(where, func(t *testing.T) {
				var p *threadpool.Pool
				returned := make(chan error, 2)
				inited := make(chan struct{}, 2)
				p = newPool(t, 1, 1, threadpool.WithWorkerInit(func(threadpool.ThreadInfo) (func(), error) {
					inited <- struct{}{}
					if where == "init" {
						returned <- p.Stop()
					}
					return func() {
						if where == "cleanup" {
							returned <- p.Stop()
						}
					}, nil
				}))
				mustStart(t, p)
				if where == "cleanup" {
					recv(t, inited, "init") // a worker told to quit before it started runs no hook
					mustNilErr(t, p.StopAWorker())
				}
				if err := recv(t, returned, "Stop in the hook"); err != nil {
					t.Fatal(err)
				}
				mustStop(t, p)
			})
		}
	})

	// J3: An init hook that hangs holds its worker, not Shutdown: Shutdown returns
	// at its deadline, and once the hook fails the stop cancels the backlog.
	t.Run("Shutdown keeps its deadline while an init hangs", func(t *testing.T) {
		release := newGate(t)
		_, logger := newRecorder()
		p := newPool(t, 1, 1, threadpool.WithLogger(logger), threadpool.WithWorkerInit(
			func(threadpool.ThreadInfo) (func(), error) {
				release.wait()
				return nil, errors.New("device gone")
			}))
		mustStart(t, p)
		ctx := context.Background()
		f := threadpool.Submit(ctx, p, func(context.Context) (int, error) { return 1, nil })
		sctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
		defer cancel()
		if err := p.Shutdown(sctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Shutdown: %v, want its deadline", err)
		}
		release.open()
		mustStop(t, p)
		if _, err := f.Wait(ctx); !errors.Is(err, threadpool.ErrCanceled) {
			t.Errorf("Future: %v, want ErrCanceled", err)
		}
		if s := checkStats(t, p); s.Canceled != 1 || s.InitFailed == 0 {
			t.Errorf("Stats %+v", s)
		}
	})

}
