package threadpool_test

// The task observer (WithObserver): one call per accepted task, with the
// right outcome and durations, for every kind of task and every way it
// ends; never with the lock held; a panic or Goexit in the observer costs
// nothing.

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/twisted-go/threadpool"
	"github.com/twisted-go/threadpool/threadpooltest"
)

// ends records what an observer is told.
type ends struct {
	mu  sync.Mutex
	got []threadpool.TaskEnd
}

func (e *ends) observe(te threadpool.TaskEnd) {
	e.mu.Lock()
	e.got = append(e.got, te)
	e.mu.Unlock()
}

func (e *ends) all() []threadpool.TaskEnd {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.got)
}

// outcomes counts the recorded outcomes: completed, failed, canceled.
func (e *ends) outcomes() [3]int {
	var n [3]int
	for _, te := range e.all() {
		n[te.Outcome]++
	}
	return n
}

// check compares the recorded outcomes with want and with the pool's
// counters, which must agree with them exactly.
func (e *ends) check(t *testing.T, p *threadpool.Pool, want [3]int) {
	t.Helper()
	got := e.outcomes()
	if got != want {
		t.Errorf("observed (completed, failed, canceled) = %v, want %v", got, want)
	}
	s := p.Stats()
	if counted := [3]int{int(s.Completed), int(s.Failed), int(s.Canceled)}; counted != got {
		t.Errorf("Stats (completed, failed, canceled) = %v, observed %v", counted, got)
	}
	if int(s.Submitted) != len(e.all()) {
		t.Errorf("Submitted %d, observed %d tasks", s.Submitted, len(e.all()))
	}
	for _, te := range e.all() {
		if te.Wait < 0 || te.Run < 0 || te.Outcome == threadpool.Canceled && te.Run != 0 {
			t.Errorf("bad durations: %+v", te)
		}
	}
}

var errObserved = errors.New("observed error")

func TestObserver(t *testing.T) {
	// Each kind of task, each outcome, on real workers and the double.
	t.Run("each kind of task and outcome is observed", func(t *testing.T) {
		for _, rg := range rigs {
			t.Run(rg.name, func(t *testing.T) {
				var e ends
				rec, logger := newRecorder()
				r := rg.make(t, threadpool.WithObserver(e.observe), threadpool.WithLogger(logger))
				mustCall(t, r.p, func() {})
				mustCall(t, r.p, func() { panic("boom") })
				mustCall(t, r.p, func() { runtime.Goexit() })
				cb := func(any, error) {}
				for _, err := range []error{nil, errObserved} {
					if err := r.p.CallInThreadWithCallback(cb, func() (any, error) { return 1, err }); err != nil {
						t.Fatal(err)
					}
				}
				if err := r.p.CallInThreadWithCallback(func(any, error) { panic("in onResult") }, func() (any, error) { return 1, nil }); err != nil {
					t.Fatal(err)
				}
				var futs []*threadpool.Future[int]
				for _, err := range []error{nil, errObserved} {
					futs = append(futs, threadpool.Submit(context.Background(), r.p, func(context.Context) (int, error) { return 1, err }))
				}
				done, cancel := context.WithCancel(context.Background())
				cancel()
				futs = append(futs, threadpool.Submit(done, r.p, func(context.Context) (int, error) { return 1, nil }))
				r.drive()
				for _, f := range futs {
					_, _ = f.Wait(context.Background())
				}
				r.settle(t)
				e.check(t, r.p, [3]int{3, 5, 1})
				if n := len(rec.records()); n != 3 {
					t.Errorf("%d log records, want 3 (panic, Goexit, onResult's panic)", n)
				}
			})
		}
	})

	// A task run by the RunInCaller policy is observed on the submitter.
	t.Run("a task run in the caller is observed on the submitter", func(t *testing.T) {
		var e ends
		p, w := threadpooltest.New(0, 1, threadpool.WithObserver(e.observe),
			threadpool.WithQueueLimit(1, threadpool.RunInCaller))
		mustStart(t, p)
		mustCall(t, p, func() {}) // handed to the worker
		mustCall(t, p, func() {}) // backlogged
		mustCall(t, p, func() {}) // run in the caller, before this returns
		if got := e.outcomes(); got != [3]int{1, 0, 0} {
			t.Fatalf("after the caller ran one: observed %v, want 1 completed", got)
		}
		done, cancel := context.WithCancel(context.Background())
		cancel()
		fut := threadpool.Submit(done, p, func(context.Context) (int, error) { return 1, nil })
		if _, err := fut.Wait(context.Background()); !errors.Is(err, threadpool.ErrCanceled) {
			t.Fatalf("a caller-run task with an ended context: %v", err)
		}
		w.RunAll()
		if s := p.Stats(); s.CallerRan != 2 {
			t.Fatalf("CallerRan %d, want 2", s.CallerRan)
		}
		_ = p.Stop()
		w.RunAll()
		e.check(t, p, [3]int{3, 0, 1})
	})

	// Tasks dropped from the backlog are observed as canceled: by StopNow, by
	// their context, and by a Stop of a pool that never started.
	t.Run("tasks dropped from the backlog are observed as canceled", func(t *testing.T) {
		backlog := func(t *testing.T, p *threadpool.Pool, ctx context.Context) {
			t.Helper()
			mustCall(t, p, func() {})
			if err := p.CallInThreadWithCallback(func(any, error) {}, func() (any, error) { return 1, nil }); err != nil {
				t.Fatal(err)
			}
			threadpool.Submit(ctx, p, func(context.Context) (int, error) { return 1, nil })
		}
		t.Run("StopNow", func(t *testing.T) {
			var e ends
			p := newPool(t, 0, 1, threadpool.WithObserver(e.observe))
			mustStart(t, p)
			g := newGate(t)
			blockers(t, p, 1, g, nil)
			backlog(t, p, context.Background())
			if n := p.StopNow(); n != 3 {
				t.Fatalf("StopNow dropped %d, want 3", n)
			}
			if got := e.outcomes(); got != [3]int{0, 0, 3} {
				t.Fatalf("when StopNow returns: observed %v, want 3 canceled", got)
			}
			g.open()
			mustStop(t, p)
			e.check(t, p, [3]int{1, 0, 3})
		})
		t.Run("context", func(t *testing.T) {
			var e ends
			p, w := threadpooltest.New(0, 1, threadpool.WithObserver(e.observe))
			mustStart(t, p)
			mustCall(t, p, func() {})
			ctx, cancel := context.WithCancel(context.Background())
			fut := threadpool.Submit(ctx, p, func(context.Context) (int, error) { return 1, nil })
			cancel()
			w.RunAll() // the sweep drops it before the first task runs
			if _, err := fut.Wait(context.Background()); !errors.Is(err, threadpool.ErrCanceled) {
				t.Fatalf("Future: %v", err)
			}
			_ = p.Stop()
			w.RunAll()
			e.check(t, p, [3]int{1, 0, 1})
		})
		t.Run("Stop of a never-started pool", func(t *testing.T) {
			var e ends
			p := newPool(t, 0, 1, threadpool.WithObserver(e.observe))
			backlog(t, p, context.Background())
			mustStop(t, p)
			e.check(t, p, [3]int{0, 0, 3})
		})
		t.Run("Block submitter whose context ends", func(t *testing.T) {
			var e ends
			p := newPool(t, 0, 1, threadpool.WithObserver(e.observe), threadpool.WithQueueLimit(1, threadpool.Block))
			mustStart(t, p)
			g := newGate(t)
			blockers(t, p, 2, g, nil) // one runs, one waits: the backlog is full
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
			defer cancel()
			fut := threadpool.Submit(ctx, p, func(context.Context) (int, error) { return 1, nil })
			if _, err := fut.Wait(context.Background()); !errors.Is(err, threadpool.ErrCanceled) {
				t.Fatalf("Future: %v", err)
			}
			if got := e.all(); len(got) != 1 || got[0] != (threadpool.TaskEnd{Outcome: threadpool.Canceled}) {
				t.Fatalf("observed %+v, want one canceled with no wait", got)
			}
			g.open()
			mustStop(t, p)
			e.check(t, p, [3]int{2, 0, 1})
		})
	})

	// A Submit task whose context ends after it reached a worker but before it
	// started: canceled, with its wait up to the start and no run.
	t.Run("a task whose context ends before it starts is observed as canceled", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var e ends
			p, w := threadpooltest.New(0, 1, threadpool.WithObserver(e.observe))
			mustStart(t, p)
			ctx, cancel := context.WithCancel(context.Background())
			threadpool.Submit(ctx, p, func(context.Context) (int, error) { return 1, nil })
			time.Sleep(5 * time.Second)
			cancel()
			w.RunAll()
			want := []threadpool.TaskEnd{{Outcome: threadpool.Canceled, Wait: 5 * time.Second}}
			if got := e.all(); !slices.Equal(got, want) {
				t.Fatalf("observed %+v, want %+v", got, want)
			}
			_ = p.Stop()
			w.RunAll()
		})
	})

	// The durations, on the fake clock of a synctest bubble: exact.
	t.Run("the durations are exact on the fake clock", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var e ends
			p := newPool(t, 0, 1, threadpool.WithObserver(e.observe))
			mustStart(t, p)
			mustCall(t, p, func() { time.Sleep(3 * time.Second) })
			if err := p.CallInThreadWithCallback(func(any, error) { time.Sleep(time.Second) }, func() (any, error) {
				time.Sleep(2 * time.Second)
				return nil, errObserved
			}); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
			defer cancel()
			threadpool.Submit(ctx, p, func(context.Context) (int, error) { return 1, nil }) // its ctx ends in the backlog
			time.Sleep(10 * time.Second)
			mustStop(t, p)
			want := []threadpool.TaskEnd{
				{Outcome: threadpool.Completed, Wait: 0, Run: 3 * time.Second},
				{Outcome: threadpool.Canceled, Wait: 4 * time.Second},
				{Outcome: threadpool.Failed, Wait: 3 * time.Second, Run: 3 * time.Second},
			}
			if got := e.all(); !slices.Equal(got, want) {
				t.Fatalf("observed\n%+v\nwant\n%+v", got, want)
			}
		})
	})

	// A submitter that blocked for room under Block is accepted when it gets
	// its room: its wait starts then.
	t.Run("a blocked submitter's wait starts at admission", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var e ends
			p := newPool(t, 0, 1, threadpool.WithObserver(e.observe), threadpool.WithQueueLimit(1, threadpool.Block))
			mustStart(t, p)
			mustCall(t, p, func() { time.Sleep(3 * time.Second) }) // runs at 0
			mustCall(t, p, func() { time.Sleep(time.Second) })     // waits from 0
			go func() { _ = p.CallInThread(func() {}) }()          // blocks from 0, admitted at 3
			time.Sleep(10 * time.Second)
			mustStop(t, p)
			want := []threadpool.TaskEnd{
				{Outcome: threadpool.Completed, Wait: 0, Run: 3 * time.Second},
				{Outcome: threadpool.Completed, Wait: 3 * time.Second, Run: time.Second},
				{Outcome: threadpool.Completed, Wait: time.Second, Run: 0},
			}
			if got := e.all(); !slices.Equal(got, want) {
				t.Fatalf("observed\n%+v\nwant\n%+v", got, want)
			}
		})
	})

	// The observer runs without the pool's lock: it may call the pool, even
	// Stats and Stop, and is called after the task is counted.
	t.Run("the observer runs without the pool's lock", func(t *testing.T) {
		var mu sync.Mutex
		var seen []threadpool.Stats
		var p *threadpool.Pool
		p = newPool(t, 0, 2, threadpool.WithObserver(func(threadpool.TaskEnd) {
			s := p.Stats()
			mu.Lock()
			seen = append(seen, s)
			mu.Unlock()
		}))
		mustStart(t, p)
		for range 10 {
			mustCall(t, p, func() {})
		}
		mustStop(t, p)
		mu.Lock()
		defer mu.Unlock()
		if len(seen) != 10 {
			t.Fatalf("%d observer calls when Stop returned, want 10", len(seen))
		}
		done := uint64(0)
		for _, s := range seen {
			done = max(done, s.Completed)
			if s.Completed == 0 {
				t.Fatalf("the observer ran before its task was counted: %+v", s)
			}
		}
		if done != 10 {
			t.Fatalf("the last observer saw %d completed, want 10", done)
		}
	})

	// A panic in the observer is logged once and costs nothing; a Goexit in it
	// costs nothing: every task is still counted once and observed once, and
	// the pool keeps its capacity. For tasks that ran, on both rigs, and for
	// canceled ones.
	t.Run("a panic or Goexit in the observer costs nothing", func(t *testing.T) {
		faults := []struct {
			name   string
			do     func()
			logged bool
		}{
			{"panics", func() { panic("observer boom") }, true},
			{"panics with nil", func() { panic(nil) }, true},
			{"calls Goexit", func() { runtime.Goexit() }, false},
		}
		for _, rg := range rigs {
			for _, f := range faults {
				t.Run(rg.name+"/"+f.name, func(t *testing.T) {
					var e ends
					rec, logger := newRecorder()
					r := rg.make(t, threadpool.WithLogger(logger), threadpool.WithObserver(func(te threadpool.TaskEnd) {
						e.observe(te)
						f.do()
					}))
					mustCall(t, r.p, func() {})
					res := make(chan error, 1)
					if err := r.p.CallInThreadWithCallback(func(_ any, err error) { res <- err }, func() (any, error) { return 1, nil }); err != nil {
						t.Fatal(err)
					}
					r.drive()
					if err := recv(t, res, "the callback"); err != nil {
						t.Fatalf("callback got %v", err)
					}
					r.probe(t)
					r.probe(t)
					r.settle(t)
					e.check(t, r.p, [3]int{4, 0, 0})
					logs := rec.records()
					if !f.logged {
						if len(logs) != 0 {
							t.Fatalf("a Goexit in the observer was logged: %+v", logs)
						}
						return
					}
					if len(logs) != 4 {
						t.Fatalf("%d log records, want one per observer panic (4): %+v", len(logs), logs)
					}
					for _, l := range logs {
						var pe *threadpool.PanicError
						if l.Msg != "threadpool: observer panicked" || !errors.As(l.err(), &pe) || !strings.Contains(string(pe.Stack), "observer_test") {
							t.Fatalf("log record %q %v, want the observer's panic with its stack", l.Msg, l.err())
						}
					}
				})
			}
		}
		for _, f := range faults {
			t.Run("canceled/"+f.name, func(t *testing.T) {
				var e ends
				_, logger := newRecorder()
				p := newPool(t, 0, 1, threadpool.WithLogger(logger), threadpool.WithObserver(func(te threadpool.TaskEnd) {
					e.observe(te)
					f.do()
				}))
				for range 3 {
					mustCall(t, p, func() {})
				}
				// Stop of a never-started pool cancels the three on a goroutine
				// that the observer may end.
				done := make(chan struct{})
				go func() { defer close(done); _ = p.Stop() }()
				waitClosed(t, done, "Stop")
				e.check(t, p, [3]int{0, 0, 3})
			})
			t.Run("caller-runs/"+f.name, func(t *testing.T) {
				var e ends
				_, logger := newRecorder()
				p, _ := threadpooltest.New(0, 0, threadpool.WithLogger(logger), threadpool.WithQueueLimit(1, threadpool.RunInCaller),
					threadpool.WithObserver(func(te threadpool.TaskEnd) {
						e.observe(te)
						f.do()
					}))
				mustCall(t, p, func() {}) // waits
				for range 2 {
					done := make(chan struct{})
					go func() { defer close(done); _ = p.CallInThread(func() {}) }()
					waitClosed(t, done, "a caller-run submission")
				}
				if s := p.Stats(); s.CallerRan != 2 {
					t.Fatalf("CallerRan %d, want 2", s.CallerRan)
				}
				done := make(chan struct{})
				go func() { defer close(done); _ = p.Stop() }() // cancels the waiting one
				waitClosed(t, done, "Stop")
				e.check(t, p, [3]int{2, 0, 1})
			})
		}
	})

	// An observer that ends its goroutine on a worker that has its next task
	// in hand (a backlog behind it): each task is still counted and observed
	// once, the next task runs, and the worker is replaced each time.
	t.Run("a Goexit in the observer with the next task in hand loses nothing", func(t *testing.T) {
		var e ends
		p := newPool(t, 0, 1, threadpool.WithObserver(func(te threadpool.TaskEnd) {
			e.observe(te)
			runtime.Goexit()
		}))
		mustStart(t, p)
		g := newGate(t)
		started := make(chan struct{}, 1)
		blockers(t, p, 1, g, started)
		<-started
		var ran sync.WaitGroup
		ran.Add(5)
		for range 5 {
			mustCall(t, p, ran.Done)
		}
		g.open()
		ran.Wait()
		mustStop(t, p)
		e.check(t, p, [3]int{6, 0, 0})
		if s := p.Stats(); s.PeakWorkers != 1 {
			t.Errorf("PeakWorkers %d, want 1: a replacement is the same worker", s.PeakWorkers)
		}
	})

	t.Run("Outcome has a String", func(t *testing.T) {
		for o, want := range map[threadpool.Outcome]string{
			threadpool.Completed: "completed", threadpool.Failed: "failed", threadpool.Canceled: "canceled", 7: "Outcome(7)",
		} {
			if got := o.String(); got != want {
				t.Errorf("%d.String() = %q, want %q", o, got, want)
			}
		}
	})

}
