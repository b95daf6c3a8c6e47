package threadpool_test

// TestPeerBugs: bugs found in the trackers of peer pools (ants, pond, conc).
// Each subtest fails if this pool had that bug; the mutation that shows it
// is named in the subtest's comment and in RELIABILITY.md.

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twisted-go/threadpool"
)

func TestPeerBugs(t *testing.T) {
	// A5: ants ran more workers than its capacity when many goroutines submitted at
	// once (a check-then-act race between "running < cap" and spawning). Here
	// 16 goroutines submit 25 blocked tasks each to a pool of max 4 at once:
	// when every submission has returned, exactly 4 tasks run, 396 wait, the
	// pool has made 4 workers and no task has ever seen more than 4 running.
	// Mutation: canRunNowLocked tests workers <= max instead of < max.
	t.Run("ants never more than max under concurrent submits", func(t *testing.T) {
		const max, submitters, each = 4, 16, 25
		p, _ := startCountedPool(t, 0, max)
		gate := newGate(t)
		var running, peak, ran atomic.Int64
		task := func() {
			n := running.Add(1)
			for {
				old := peak.Load()
				if n <= old || peak.CompareAndSwap(old, n) {
					break
				}
			}
			gate.wait()
			running.Add(-1)
			ran.Add(1)
		}
		var start, wg sync.WaitGroup
		start.Add(1)
		for i := 0; i < submitters; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				start.Wait()
				for j := 0; j < each; j++ {
					if err := p.CallInThread(task); err != nil {
						t.Error(err)
					}
				}
			}()
		}
		start.Done()
		wg.Wait()
		s := p.Stats()
		if s.Working != max || s.Workers != max || s.Queued != submitters*each-max || s.PeakWorkers != max {
			t.Errorf("after %d concurrent submits: Workers %d Working %d Queued %d PeakWorkers %d; want %d %d %d %d",
				submitters*each, s.Workers, s.Working, s.Queued, s.PeakWorkers, max, max, submitters*each-max, max)
		}
		gate.open()
		within(t, "Stop", func() { _ = p.Stop() })
		if got := peak.Load(); got > max {
			t.Errorf("%d tasks ran at once; max is %d", got, max)
		}
		if ran.Load() != submitters*each {
			t.Errorf("ran %d tasks, want %d", ran.Load(), submitters*each)
		}
		if s := p.Stats(); s.PeakWorkers > max {
			t.Errorf("PeakWorkers %d > max %d", s.PeakWorkers, max)
		}
	})

	// E1: ants left worker goroutines running after Release. Here, once Stop has
	// returned, not one goroutine labelled with the pool's name is left (beyond
	// the epilogue of a worker that has signalled its exit), across restarts,
	// shrinking, idle timeouts, Goexit replacements and a Shutdown that timed
	// out.
	// Mutation: a worker told to quit is forgotten without being ended (the
	// goroutine executor's Quit reports it ended without closing its channel,
	// and it is not in the WaitGroup).
	t.Run("ants no goroutine past Stop", func(t *testing.T) {
		const name = "rel-ants-leak"
		p, _ := newCountedPool(t, 2, 6, threadpool.WithName(name), threadpool.WithIdleTimeout(time.Millisecond))
		for round := 0; round < 20; round++ {
			if err := p.Start(); err != nil {
				t.Fatalf("round %d: Start: %v", round, err)
			}
			gate := newGate(t)
			started := make(chan struct{}, 64)
			for i := 0; i < 12; i++ {
				_ = p.CallInThread(func() { started <- struct{}{}; gate.wait() })
			}
			_ = p.CallInThread(func() { runtime.Goexit() })
			_ = p.StopAWorker()
			_ = p.AdjustPoolSize(1, 5)
			recvN(t, started, 5, "blocked tasks started")
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			if err := p.Shutdown(ctx); !errors.Is(err, context.Canceled) {
				t.Fatalf("round %d: Shutdown with a done ctx while tasks block: %v, want context.Canceled", round, err)
			}
			gate.open()
			within(t, "Stop", func() { _ = p.Stop() })
			noPoolGoroutines(t, name)
			if s := p.Stats(); s.Workers != 0 || s.Working != 0 || s.Queued != 0 {
				t.Fatalf("round %d: after Stop: %+v", round, s)
			}
		}
	})

	// C6: pond hung forever when a task called runtime.Goexit (the worker vanished
	// with its accounting). Here, with max 1, tasks of every kind call Goexit;
	// each is reported once, the pool keeps its one worker, the next task runs
	// and Stop returns.
	// Mutation: Team.Run does not call finish when the task does not return
	// (drop the deferred dead-worker path).
	t.Run("pond Goexit does not hang", func(t *testing.T) {
		p, logs := startCountedPool(t, 1, 1)
		const rounds = 10
		var cbErrs []error
		var futs []*threadpool.Future[int]
		cbDone := make(chan struct{}, rounds)
		var mu sync.Mutex
		for i := 0; i < rounds; i++ {
			if err := p.CallInThread(func() { runtime.Goexit() }); err != nil {
				t.Fatal(err)
			}
			if err := p.CallInThreadWithCallback(func(_ any, err error) {
				mu.Lock()
				cbErrs = append(cbErrs, err)
				mu.Unlock()
				cbDone <- struct{}{}
			}, func() (any, error) { runtime.Goexit(); return nil, nil }); err != nil {
				t.Fatal(err)
			}
			futs = append(futs, threadpool.Submit(context.Background(), p, func(context.Context) (int, error) {
				runtime.Goexit()
				return 1, nil
			}))
		}
		after := make(chan struct{})
		if err := p.CallInThread(func() { close(after) }); err != nil {
			t.Fatal(err)
		}
		waitClosed(t, after, "a task after 30 Goexits")
		recvN(t, cbDone, rounds, "Goexit callbacks")
		for i, f := range futs {
			waitClosed(t, f.Done(), "Goexit future")
			if _, err := f.Wait(context.Background()); err == nil || !strings.Contains(err.Error(), "Goexit") {
				t.Errorf("future %d: err %v, want the Goexit error", i, err)
			}
		}
		for i, err := range cbErrs {
			if err == nil || !strings.Contains(err.Error(), "Goexit") {
				t.Errorf("callback %d: err %v, want the Goexit error", i, err)
			}
		}
		within(t, "Stop", func() { _ = p.Stop() })
		s := p.Stats()
		if s.Failed != 3*rounds || s.Completed != 1 || s.Workers != 0 {
			t.Errorf("after Stop: Failed %d Completed %d Workers %d; want %d 1 0", s.Failed, s.Completed, s.Workers, 3*rounds)
		}
		if got := logs.errors.Load(); got != rounds {
			t.Errorf("%d error records, want %d (one per fire-and-forget Goexit)", got, rounds)
		}
	})

	// E5: pond hung when its context was canceled (or StopNow was called) with
	// tasks still queued: the queued tasks were never released. Here StopNow
	// and context cancellation with a full backlog resolve every queued task at
	// once, while the running tasks still block, and Stop returns after them.
	// Mutation: cancelBacklogLocked does not queue the cancellations (the
	// callbacks/Futures of dropped tasks are never told).
	t.Run("pond StopNow or a canceled context with tasks queued", func(t *testing.T) {
		p, _ := startCountedPool(t, 2, 2)
		gate := newGate(t)
		started := make(chan struct{}, 2)
		for i := 0; i < 2; i++ {
			_ = p.CallInThread(func() { started <- struct{}{}; gate.wait() })
		}
		recvN(t, started, 2, "blockers")
		// Queued Submit tasks whose ctx ends: resolved now, not when a worker
		// reaches them.
		ctx, cancel := context.WithCancel(context.Background())
		var ctxFuts []*threadpool.Future[int]
		for i := 0; i < 10; i++ {
			ctxFuts = append(ctxFuts, threadpool.Submit(ctx, p, func(context.Context) (int, error) { return 1, nil }))
		}
		cancel()
		for _, f := range ctxFuts {
			waitClosed(t, f.Done(), "queued Submit whose ctx ended")
			if _, err := f.Wait(context.Background()); !errors.Is(err, threadpool.ErrCanceled) || !errors.Is(err, context.Canceled) {
				t.Fatalf("queued Submit after cancel: %v", err)
			}
		}
		// StopNow with 30 queued tasks of all kinds.
		var ran atomic.Int64
		cbErr := make(chan error, 10)
		var futs []*threadpool.Future[int]
		for i := 0; i < 10; i++ {
			_ = p.CallInThread(func() { ran.Add(1) })
			_ = p.CallInThreadWithCallback(func(_ any, err error) { cbErr <- err }, func() (any, error) { ran.Add(1); return nil, nil })
			futs = append(futs, threadpool.Submit(context.Background(), p, func(context.Context) (int, error) { ran.Add(1); return 1, nil }))
		}
		if n := p.StopNow(); n != 30 {
			t.Fatalf("StopNow dropped %d, want 30", n)
		}
		for i := 0; i < 10; i++ {
			select {
			case err := <-cbErr:
				if !errors.Is(err, threadpool.ErrCanceled) {
					t.Fatalf("callback of dropped task: %v", err)
				}
			default:
				t.Fatalf("only %d of 10 callbacks told when StopNow returned", i)
			}
		}
		for _, f := range futs {
			if !isClosed(f.Done()) {
				t.Fatal("a dropped task's Future is unresolved when StopNow returned")
			}
			if _, err := f.Wait(context.Background()); !errors.Is(err, threadpool.ErrCanceled) {
				t.Fatalf("Future of dropped task: %v", err)
			}
		}
		if s := p.Stats(); s.Working != 2 || s.Queued != 0 || s.Canceled != 40 {
			t.Fatalf("after StopNow with 2 running: %+v", s)
		}
		gate.open()
		within(t, "Stop after StopNow", func() { _ = p.Stop() })
		if ran.Load() != 0 {
			t.Errorf("%d dropped tasks ran", ran.Load())
		}
		if s := p.Stats(); s.Submitted != 42 || s.Completed != 2 || s.Canceled != 40 || s.Workers != 0 {
			t.Errorf("after Stop: %+v", s)
		}
	})

	// F1: pond lost wake-ups of submitters blocked on a full queue: some stayed
	// blocked though room had appeared. Here 16 goroutines push 40 tasks each
	// through a Block queue of 2 with 1 worker, from goroutines that race with
	// every pop; all 640 must be accepted and run. Then submitters blocked on
	// the full queue are all woken by Stop with ErrStopped.
	// Mutation: settleAndUnlock does not admit blocked submitters (drop its admitLocked call).
	t.Run("pond every blocked submitter wakes", func(t *testing.T) {
		const submitters, each = 16, 40
		p, _ := startCountedPool(t, 0, 1, threadpool.WithQueueLimit(2, threadpool.Block))
		var ran atomic.Int64
		var wg sync.WaitGroup
		// The one worker is held until the queue is full and every submitter
		// has reached its first submission, so that most of them are blocked
		// when room starts to appear.
		hold := newGate(t)
		holding := make(chan struct{})
		_ = p.CallInThread(func() { close(holding); hold.wait() })
		waitClosed(t, holding, "holder")
		ready := make(chan struct{}, submitters)
		for i := 0; i < submitters; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				ready <- struct{}{}
				for j := 0; j < each; j++ {
					var err error
					switch j % 3 {
					case 0:
						err = p.CallInThread(func() { ran.Add(1) })
					case 1:
						err = p.CallInThreadWithCallback(func(any, error) {}, func() (any, error) { ran.Add(1); return nil, nil })
					default:
						_, err = threadpool.Submit(context.Background(), p, func(context.Context) (int, error) { ran.Add(1); return 0, nil }).Wait(context.Background())
					}
					if err != nil {
						t.Errorf("submitter %d, task %d: %v", i, j, err)
						return
					}
				}
			}(i)
		}
		recvN(t, ready, submitters, "submitters")
		eventually(t, "queue full", func() bool { return p.QueueSize() == 2 })
		for i := 0; i < 100; i++ {
			runtime.Gosched()
		}
		hold.open()
		within(t, "blocked submitters", wg.Wait)
		within(t, "Stop", func() { _ = p.Stop() })
		if ran.Load() != submitters*each {
			t.Fatalf("ran %d, want %d", ran.Load(), submitters*each)
		}

		// Submitters blocked on a full queue are woken by a stop.
		if err := p.Start(); err != nil {
			t.Fatal(err)
		}
		gate := newGate(t)
		_ = p.CallInThread(gate.wait)
		_ = p.CallInThread(func() {})
		_ = p.CallInThread(func() {}) // running 1, queued 2: full
		errs := make(chan error, submitters)
		for i := 0; i < submitters; i++ {
			go func() { errs <- p.CallInThread(func() {}) }()
		}
		// Every submitter is either blocked or refused; Stop wakes them all.
		stopped := make(chan struct{})
		go func() { _ = p.Stop(); close(stopped) }()
		for i := 0; i < submitters; i++ {
			select {
			case err := <-errs:
				if !errors.Is(err, threadpool.ErrStopped) {
					t.Errorf("blocked submitter woken by Stop: %v, want ErrStopped", err)
				}
			case <-time.After(hangTimeout):
				t.Fatalf("only %d of %d blocked submitters woke after Stop", i, submitters)
			}
		}
		gate.open()
		waitClosed(t, stopped, "Stop")
	})

	// A5: conc deadlocked when a task submitted to its own pool at the limit: Go
	// blocked until a slot was free, and the slot was the caller's. Here the
	// default backlog is unbounded, so a task at the limit submits children of
	// all three kinds and returns; with max 2, 2 tasks each submit 3 children
	// that each submit 3 more, and all run.
	// Mutation: isFullLocked treats "no worker free" as full for the default
	// unbounded backlog (QueueLimit <= 0 ... becomes QueueLimit < 0).
	t.Run("conc no deadlock at the limit", func(t *testing.T) {
		p, _ := startCountedPool(t, 0, 2)
		var ran atomic.Int64
		var wg sync.WaitGroup
		var spawn func(depth int)
		spawn = func(depth int) {
			wg.Add(1)
			body := func() {
				defer wg.Done()
				ran.Add(1)
				if depth == 0 {
					return
				}
				for k := 0; k < 3; k++ {
					spawn(depth - 1)
				}
			}
			var err error
			switch depth % 3 {
			case 0:
				err = p.CallInThread(body)
			case 1:
				err = p.CallInThreadWithCallback(func(any, error) {}, func() (any, error) { body(); return nil, nil })
			default:
				threadpool.Submit(context.Background(), p, func(context.Context) (int, error) { body(); return 0, nil })
			}
			if err != nil {
				t.Error(err)
				wg.Done()
			}
		}
		spawn(2)
		spawn(2)
		within(t, "nested submissions at the limit", wg.Wait)
		within(t, "Stop", func() { _ = p.Stop() })
		if ran.Load() != 2*(1+3+9) {
			t.Errorf("ran %d, want %d", ran.Load(), 2*(1+3+9))
		}
		if s := p.Stats(); s.PeakWorkers > 2 {
			t.Errorf("PeakWorkers %d > 2", s.PeakWorkers)
		}
	})

}
