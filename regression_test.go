package threadpool_test

// Regression tests for bugs found by review of the core. Each failed before
// its fix; inside synctest a deadlock fails the test at once instead of
// hanging it.

import (
	"context"
	"errors"
	"log/slog"
	"runtime"
	"strings"
	"testing"
	"testing/synctest"
	"weak"

	"github.com/twisted-go/threadpool"
)

// E4: Stop called from a callback that reports a cancellation, on the
// goroutine of a worker that has already quit, returns at once. (It used to
// wait for that same goroutine to exit.)
func TestRegressionStopFromCancelOnQuittingWorker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, err := threadpool.New(0, 1)
		if err != nil {
			t.Fatal(err)
		}
		_ = p.Start()
		gate := make(chan struct{})
		_ = p.CallInThread(func() { <-gate })
		got := make(chan error, 2)
		_ = p.CallInThreadWithCallback(func(_ any, err error) {
			got <- err
			got <- p.Stop()
		}, func() (any, error) { return nil, nil })
		_ = p.AdjustPoolSize(0, 0) // the backlog can never run now
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := p.Shutdown(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("Shutdown with a done ctx = %v, want context.Canceled", err)
		}
		close(gate) // the worker quits and cancels the backlog on its goroutine
		if err := <-got; !errors.Is(err, threadpool.ErrCanceled) {
			t.Fatalf("callback got %v, want ErrCanceled", err)
		}
		if err := <-got; err != nil {
			t.Fatalf("Stop in the callback = %v", err)
		}
		if err := p.Stop(); err != nil {
			t.Fatal(err)
		}
		if s := p.Stats(); s.Canceled != 1 || s.Completed != 1 || s.Workers != 0 {
			t.Fatalf("stats %+v", s)
		}
	})
}

// reentrantCtx is a user Context whose Done calls back into the pool: the
// pool must not call it with its mutex held.
type reentrantCtx struct {
	context.Context
	p *threadpool.Pool
}

func (c reentrantCtx) Done() <-chan struct{} {
	_ = c.p.QueueSize()
	return c.Context.Done()
}

func TestRegressionUserContextNotCalledUnderLock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, _ := threadpool.New(0, 1)
		_ = p.Start()
		gate := make(chan struct{})
		_ = p.CallInThread(func() { <-gate })
		ctx, cancel := context.WithCancel(context.Background())
		waiting := threadpool.Submit(reentrantCtx{ctx, p}, p, func(context.Context) (int, error) { return 1, nil })
		canceled := threadpool.Submit(reentrantCtx{ctx, p}, p, func(context.Context) (int, error) { return 2, nil })
		if q := p.QueueSize(); q != 2 {
			t.Fatalf("QueueSize = %d, want 2", q)
		}
		cancel()
		synctest.Wait()
		if _, err := canceled.Wait(context.Background()); !errors.Is(err, threadpool.ErrCanceled) {
			t.Fatalf("err = %v, want ErrCanceled", err)
		}
		if _, err := waiting.Wait(context.Background()); !errors.Is(err, threadpool.ErrCanceled) {
			t.Fatalf("err = %v, want ErrCanceled", err)
		}
		close(gate)
		if err := p.Stop(); err != nil {
			t.Fatal(err)
		}
		if s := p.Stats(); s.Canceled != 2 || s.Completed != 1 {
			t.Fatalf("stats %+v", s)
		}
	})
}

// C7: a Future refused at Submit keeps no reference to the task's function.
func TestRegressionRefusedFutureKeepsNothing(t *testing.T) {
	p, _ := threadpool.New(0, 1)
	_ = p.Start()
	_ = p.Stop()
	type payload struct{ b [1 << 10]byte }
	submit := func() (weak.Pointer[payload], *threadpool.Future[int]) {
		obj := &payload{}
		return weak.Make(obj), threadpool.Submit(context.Background(), p, func(context.Context) (int, error) { return int(obj.b[0]), nil })
	}
	ref, fut := submit()
	runtime.GC()
	if ref.Value() != nil {
		t.Fatal("a Future refused with ErrStopped still holds its function")
	}
	if _, err := fut.Wait(context.Background()); !errors.Is(err, threadpool.ErrStopped) {
		t.Fatalf("err = %v, want ErrStopped", err)
	}
}

// A bad option value is an error even when a later option of the same kind
// is good: New reports the first bad value.
func TestRegressionBadOptionNotOverridden(t *testing.T) {
	cases := map[string][]threadpool.Option{
		"WithQueueLimit":  {threadpool.WithQueueLimit(0, threadpool.Reject), threadpool.WithQueueLimit(4, threadpool.Reject)},
		"WithIdleTimeout": {threadpool.WithIdleTimeout(-1), threadpool.WithIdleTimeout(1)},
		"WithLogger":      {threadpool.WithLogger(nil), threadpool.WithLogger(slog.Default())},
	}
	for name, opts := range cases {
		if _, err := threadpool.New(1, 2, opts...); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: bad then good: err = %v, want an error naming %s", name, err, name)
		}
	}
}

// UnmarshalJSON into an unnamed pool that keeps no name keeps the number
// that stands in for the name, so worker names do not change.
func TestRegressionUnmarshalKeepsUnnamedLabel(t *testing.T) {
	p, _ := threadpool.New(1, 1)
	_ = p.Start()
	before := p.Threads()[0].Name
	_ = p.Stop()
	if err := p.UnmarshalJSON([]byte(`{"min":1,"max":1,"name":""}`)); err != nil {
		t.Fatal(err)
	}
	_ = p.Start()
	after := p.Threads()[0].Name
	_ = p.Stop()
	if strings.Split(before, "-")[1] != strings.Split(after, "-")[1] {
		t.Fatalf("worker names %q then %q: the pool's stand-in name changed", before, after)
	}
}
