package threadpool_test

// TestShutdown: Shutdown(ctx), the stop bounded by a context (SPEC E2), on
// a fake clock.

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/twisted-go/threadpool"
)

func TestShutdown(t *testing.T) {
	// E2: A Shutdown whose deadline is not reached returns nil
	// once the drain is over, with everything run.
	t.Run("a Shutdown in time returns nil after the drain", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p := startPool(t, 1, 1)
			for range 3 {
				if err := p.CallInThread(func() { time.Sleep(time.Second) }); err != nil {
					t.Fatal(err)
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			start := time.Now()
			if err := p.Shutdown(ctx); err != nil {
				t.Fatalf("Shutdown: %v", err)
			}
			if d := time.Since(start); d != 3*time.Second {
				t.Errorf("Shutdown returned after %v, want the 3s the tasks take", d)
			}
			s := checkStats(t, p)
			if s.Workers != 0 || s.Started {
				t.Errorf("after Shutdown: %+v", s)
			}
			wantCounters(t, p, counters{Submitted: 3, Completed: 3})
		})
	})

	// E2: A task blocked until the test
	// releases it does not make Shutdown hang: Shutdown returns
	// context.DeadlineExceeded exactly at its deadline, the pool refuses work,
	// the drain goes on (the backlog runs once the task is released), and a
	// later Stop waits for the rest and returns nil.
	t.Run("a blocked task does not make Shutdown hang past its deadline", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p := startPool(t, 1, 1)
			gate := make(chan struct{})
			var finished atomic.Bool
			if err := p.CallInThread(func() { <-gate; finished.Store(true) }); err != nil {
				t.Fatal(err)
			}
			var backlog []*threadpool.Future[int]
			for i := range 3 {
				backlog = append(backlog, threadpool.Submit(context.Background(), p, func(context.Context) (int, error) {
					return i, nil
				}))
			}

			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			start := time.Now()
			if err := p.Shutdown(ctx); err != context.DeadlineExceeded {
				t.Fatalf("Shutdown: %v, want context.DeadlineExceeded", err)
			}
			if d := time.Since(start); d != 10*time.Second {
				t.Errorf("Shutdown returned after %v, want exactly its 10s deadline", d)
			}
			wantCounters(t, p, counters{Submitted: 4, Workers: 1, Working: 1, Queued: 3})
			if p.Started() {
				t.Error("Started after Shutdown began")
			}
			if err := p.CallInThread(func() {}); !errors.Is(err, threadpool.ErrStopped) {
				t.Errorf("CallInThread during the drain: %v", err)
			}
			if err := p.Start(); !errors.Is(err, threadpool.ErrStopped) {
				t.Errorf("Start during the drain: %v, want an error wrapping ErrStopped", err)
			}
			// Another bounded wait also gives up, later by its own bound.
			ctx2, cancel2 := context.WithTimeout(context.Background(), time.Hour)
			defer cancel2()
			if err := p.Shutdown(ctx2); err != context.DeadlineExceeded {
				t.Errorf("second Shutdown: %v", err)
			}
			if finished.Load() {
				t.Fatal("the blocked task finished before its release")
			}

			// The drain continues in the background once the task is released.
			close(gate)
			for i, f := range backlog {
				if v, err := f.Wait(context.Background()); v != i || err != nil {
					t.Errorf("backlogged task %d after the timed-out Shutdown: (%d, %v)", i, v, err)
				}
			}
			stopAndCheck(t, p)
			if !finished.Load() {
				t.Error("Stop returned before the blocked task finished")
			}
			wantCounters(t, p, counters{Submitted: 4, Completed: 4, Rejected: 1})
			if err := p.Shutdown(ctx2); err != nil {
				t.Errorf("Shutdown after Stop: %v, want nil", err)
			}
			synctest.Wait()
			if workers, others, stacks := bubbleGoroutines(t); workers != 0 || others != 0 {
				t.Errorf("after Stop: %d workers and %d other goroutines:\n%s", workers, others, stacks)
			}
		})
	})

	// E2: Shutdown's bound covers the whole wait, the worker goroutines' return
	// included: a task that never returns does not hold it past its deadline.
	t.Run("the deadline covers the workers' return too", func(t *testing.T) {
		p := newPool(t, 0, 1)
		mustStart(t, p)
		g := newGate(t)
		started := make(chan struct{}, 1)
		blockers(t, p, 1, g, started)
		recv(t, started, "the blocking task")
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		if err := p.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Shutdown: %v, want the deadline", err)
		}
		g.open()
	})

	// E2: After a Shutdown that timed out, a Stop from
	// another goroutine blocks until the blocked task is released, then returns
	// nil with the whole backlog run.
	t.Run("a Stop after a timed-out Shutdown waits for the drain", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p := startPool(t, 2, 2)
			gate := make(chan struct{})
			for range 2 {
				if err := p.CallInThread(func() { <-gate }); err != nil {
					t.Fatal(err)
				}
			}
			var ran atomic.Int32
			for range 5 {
				if err := p.CallInThread(func() { ran.Add(1) }); err != nil {
					t.Fatal(err)
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			if err := p.Shutdown(ctx); err != context.DeadlineExceeded {
				t.Fatalf("Shutdown: %v", err)
			}
			stopped := make(chan error, 1)
			go func() { stopped <- p.Stop() }()
			synctest.Wait()
			select {
			case err := <-stopped:
				t.Fatalf("Stop returned %v while a task still blocks", err)
			default:
			}
			close(gate)
			if err := <-stopped; err != nil {
				t.Errorf("Stop: %v", err)
			}
			if ran.Load() != 5 {
				t.Errorf("%d of 5 backlogged tasks ran", ran.Load())
			}
			stopAndCheck(t, p)
			wantCounters(t, p, counters{Submitted: 7, Completed: 7})
		})
	})

}
