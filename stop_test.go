package threadpool_test

// SPEC 2.E with Stop: E1 (graceful drain), E3 (repeated and concurrent
// stops), E4 (Stop from inside the pool), E6 (nothing silently lost).

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"weak"

	"go.uber.org/goleak"

	"github.com/twisted-go/threadpool"
)

// E1: Stop refuses new work, lets running tasks finish, runs the whole
// backlog, waits for the workers, then returns; afterwards Workers is 0.
func TestE1StopDrains(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPool(t, 0, 2)
		mustStart(t, p)
		g := newGate(t)
		blockers(t, p, 2, g, nil)
		var mu sync.Mutex
		var ran []int
		for i := range 10 {
			mustCall(t, p, func() {
				mu.Lock()
				ran = append(ran, i)
				mu.Unlock()
			})
		}
		wantCounts(t, p, 2, 2, 0, 10)
		stopped := make(chan error, 1)
		go func() { stopped <- p.Stop() }()
		synctest.Wait()
		if len(stopped) != 0 {
			t.Fatal("Stop returned while tasks were still running")
		}
		wantCounts(t, p, 2, 2, 0, 10)
		if err := p.CallInThread(func() {}); !errors.Is(err, threadpool.ErrStopped) {
			t.Fatalf("CallInThread during the drain = %v", err)
		}
		g.open()
		if err := <-stopped; err != nil {
			t.Fatalf("Stop = %v", err)
		}
		if len(ran) != 10 {
			t.Fatalf("%d of the 10 backlogged tasks ran before Stop returned", len(ran))
		}
		wantCounts(t, p, 0, 0, 0, 0)
		if len(p.Threads()) != 0 || p.Started() {
			t.Fatalf("after Stop: Threads %v, Started %v", p.Threads(), p.Started())
		}
		if s := checkStats(t, p); s.Completed != 12 || s.Rejected != 1 || s.Canceled != 0 {
			t.Fatalf("after Stop: %+v", s)
		}
	})
}

// E1: idle workers quit, and no goroutine of the pool remains after Stop.
func TestE1NoGoroutineAfterStop(t *testing.T) {
	goleak.VerifyNone(t)
	p := newPool(t, 3, 6)
	mustStart(t, p)
	g := newGate(t)
	blockers(t, p, 5, g, nil)
	wantCounts(t, p, 5, 5, 0, 0)
	g.open()
	mustStop(t, p)
	wantCounts(t, p, 0, 0, 0, 0)
	goleak.VerifyNone(t)
}

// startedAndStopped returns a weak pointer to a pool that ran work and was
// stopped, which nothing else refers to.
func startedAndStopped(t *testing.T) weak.Pointer[threadpool.Pool] {
	p, err := threadpool.New(2, 4)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	for range 10 {
		if err := p.CallInThreadWithCallback(func(any, error) {}, func() (any, error) { return p.Workers(), nil }); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	return weak.Make(p)
}

// E1: a stopped pool that nothing refers to can be garbage-collected.
func TestE1StoppedPoolIsCollected(t *testing.T) {
	w := startedAndStopped(t)
	goleak.VerifyNone(t) // the exited workers are gone
	if !collected(w) {
		t.Fatal("a stopped pool nothing refers to was not collected")
	}
}

// E3: Stop twice, from several goroutines at once, and Shutdown after Stop
// all return nil, and only after the drain.
func TestE3RepeatedAndConcurrentStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPool(t, 1, 2)
		mustStart(t, p)
		g := newGate(t)
		var finished atomic.Bool
		mustCall(t, p, func() {
			g.wait()
			finished.Store(true)
		})
		mustCall(t, p, func() {}) // some backlog-free work too
		const stoppers = 6
		results := make(chan error, stoppers)
		for i := range stoppers {
			go func() {
				var err error
				if i == 0 {
					err = p.Shutdown(context.Background())
				} else {
					err = p.Stop()
				}
				if !finished.Load() {
					err = errors.New("returned before the running task finished")
				}
				results <- err
			}()
		}
		synctest.Wait()
		if len(results) != 0 {
			t.Fatalf("%d stops returned while a task still ran", len(results))
		}
		g.open()
		for range stoppers {
			if err := <-results; err != nil {
				t.Fatalf("concurrent stop: %v", err)
			}
		}
		if err := p.Stop(); err != nil {
			t.Fatalf("Stop again = %v", err)
		}
		if err := p.Shutdown(context.Background()); err != nil {
			t.Fatalf("Shutdown after Stop = %v", err)
		}
		wantCounts(t, p, 0, 0, 0, 0)
		if s := checkStats(t, p); s.Completed != 2 {
			t.Fatalf("after the stops: %+v", s)
		}
	})
}

// E4: Stop (and Shutdown) called from inside a task returns nil at once,
// without deadlock; the stop has begun, and the pool drains its backlog
// after the task returns.
func TestE4StopFromInsideTask(t *testing.T) {
	for _, max := range []int{1, 3} {
		p := newPool(t, 0, max)
		mustStart(t, p)
		inner := make(chan error, 2)
		release := newGate(t)
		mustCall(t, p, func() {
			release.wait() // let the backlog build up first
			inner <- p.Stop()
			inner <- p.Shutdown(context.Background())
		})
		var ran atomic.Int64
		for range 5 {
			mustCall(t, p, func() { ran.Add(1) })
		}
		release.open()
		if err := recv(t, inner, "Stop inside a task"); err != nil {
			t.Fatalf("max %d: Stop inside a task = %v, want nil", max, err)
		}
		if err := recv(t, inner, "Shutdown inside a task"); err != nil {
			t.Fatalf("max %d: Shutdown inside a task = %v, want nil", max, err)
		}
		if err := p.CallInThread(func() {}); !errors.Is(err, threadpool.ErrStopped) {
			t.Fatalf("max %d: CallInThread after an inner Stop = %v, want ErrStopped", max, err)
		}
		mustStop(t, p) // waits for the drain
		if ran.Load() != 5 {
			t.Fatalf("max %d: %d of 5 backlogged tasks ran after the inner Stop", max, ran.Load())
		}
		wantCounts(t, p, 0, 0, 0, 0)
		if s := checkStats(t, p); s.Completed != 6 || s.Canceled != 0 {
			t.Fatalf("max %d: %+v", max, s)
		}
	}
}

// E4: Stop from inside a callback returns nil at once; the pool drains.
func TestE4StopFromInsideCallback(t *testing.T) {
	p := newPool(t, 0, 1)
	mustStart(t, p)
	inner := make(chan error, 1)
	release := newGate(t)
	err := p.CallInThreadWithCallback(func(any, error) {
		inner <- p.Stop()
	}, func() (any, error) {
		release.wait()
		return nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	outcomes := make([]<-chan outcome, 3)
	for i := range outcomes {
		outcomes[i] = callWith(t, p, func() (any, error) { return i, nil })
	}
	release.open()
	if err := recv(t, inner, "Stop inside a callback"); err != nil {
		t.Fatalf("Stop inside a callback = %v, want nil", err)
	}
	mustStop(t, p)
	for i, ch := range outcomes {
		if o := recv(t, ch, "a backlogged callback"); o.result != i || o.err != nil {
			t.Fatalf("backlogged task %d: onResult(%v, %v)", i, o.result, o.err)
		}
	}
	wantCounts(t, p, 0, 0, 0, 0)
	if s := checkStats(t, p); s.Completed != 4 {
		t.Fatalf("%+v", s)
	}
}

// E6: Stop on a pool that was never started cancels its backlog: callbacks
// get ErrCanceled, fire-and-forget tasks are counted, nothing runs.
func TestE6StopNeverStartedCancels(t *testing.T) {
	p := newPool(t, 0, 4)
	var ran atomic.Int64
	for range 3 {
		mustCall(t, p, func() { ran.Add(1) })
	}
	chs := []<-chan outcome{
		callWith(t, p, func() (any, error) { ran.Add(1); return 1, nil }),
		callWith(t, p, func() (any, error) { ran.Add(1); return 2, nil }),
	}
	wantCounts(t, p, 0, 0, 0, 5)
	mustStop(t, p)
	for _, ch := range chs {
		o := recv(t, ch, "the canceled callback")
		if o.result != nil || !errors.Is(o.err, threadpool.ErrCanceled) {
			t.Fatalf("onResult(%v, %v), want (nil, ErrCanceled)", o.result, o.err)
		}
	}
	if ran.Load() != 0 {
		t.Fatal("a task of a never-started pool ran")
	}
	wantCounts(t, p, 0, 0, 0, 0)
	if s := checkStats(t, p); s.Submitted != 5 || s.Canceled != 5 || s.Completed != 0 {
		t.Fatalf("%+v, want 5 submitted and canceled", s)
	}
	if err := p.CallInThread(func() {}); !errors.Is(err, threadpool.ErrStopped) {
		t.Fatalf("CallInThread after Stop = %v", err)
	}
	mustStart(t, p) // and it can be started
	done := make(chan struct{})
	mustCall(t, p, func() { close(done) })
	waitClosed(t, done, "task after restart")
}

// E6: a backlog that can never run because max is 0 is canceled by Stop,
// also when max was lowered to 0 under running tasks.
func TestE6StopWithMaxZeroCancels(t *testing.T) {
	p := newPool(t, 0, 0)
	mustStart(t, p)
	var ran atomic.Int64
	mustCall(t, p, func() { ran.Add(1) })
	ch := callWith(t, p, func() (any, error) { ran.Add(1); return nil, nil })
	wantCounts(t, p, 0, 0, 0, 2)
	mustStop(t, p)
	if o := recv(t, ch, "canceled callback"); !errors.Is(o.err, threadpool.ErrCanceled) {
		t.Fatalf("onResult(%v, %v), want ErrCanceled", o.result, o.err)
	}
	if s := checkStats(t, p); s.Canceled != 2 || s.Queued != 0 || ran.Load() != 0 {
		t.Fatalf("%+v (ran %d)", s, ran.Load())
	}

	synctest.Test(t, func(t *testing.T) {
		p := newPool(t, 0, 2)
		mustStart(t, p)
		g := newGate(t)
		blockers(t, p, 2, g, nil)
		var ran atomic.Int64
		mustCall(t, p, func() { ran.Add(1) })
		ch := callWith(t, p, func() (any, error) { ran.Add(1); return nil, nil })
		if err := p.AdjustPoolSize(0, 0); err != nil {
			t.Fatal(err)
		}
		wantCounts(t, p, 2, 2, 0, 2)
		stopped := make(chan error, 1)
		go func() { stopped <- p.Stop() }()
		synctest.Wait()
		wantCounts(t, p, 2, 2, 0, 2)
		g.open()
		if err := <-stopped; err != nil {
			t.Fatal(err)
		}
		if o := <-ch; !errors.Is(o.err, threadpool.ErrCanceled) {
			t.Fatalf("onResult(%v, %v), want ErrCanceled", o.result, o.err)
		}
		wantCounts(t, p, 0, 0, 0, 0)
		if s := checkStats(t, p); s.Canceled != 2 || s.Completed != 2 || ran.Load() != 0 {
			t.Fatalf("%+v (ran %d)", s, ran.Load())
		}
	})
}
