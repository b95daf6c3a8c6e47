package cluster_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twisted-go/threadpool"
	"github.com/twisted-go/threadpool/cluster"
)

// K9: a ctx canceled before delivery removes the task from the stream and
// fails the Future with ErrCanceled; the handler never runs, even once a
// worker starts.
func TestCancelBeforeDelivery(t *testing.T) {
	ctx, _, nc := serve(t)
	r := cluster.NewRegistry()
	var ran atomic.Int32
	count := cluster.Register(r, "count", func(ctx context.Context, n int) (int, error) { ran.Add(1); return n, nil })
	c := newClient(t, nc)

	sctx, cancel := context.WithCancel(ctx)
	f := cluster.Submit(sctx, c, count, 1)
	if n := streamMsgs(t, nc, "THREADPOOL_TASKS"); n != 1 {
		t.Fatalf("%d tasks stored", n)
	}
	cancel()
	_, err := f.Wait(ctx)
	if !errors.Is(err, threadpool.ErrCanceled) || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if n := streamMsgs(t, nc, "THREADPOOL_TASKS"); n != 0 {
		t.Fatalf("%d tasks left in the stream", n)
	}
	startWorker(t, nc, r, 0, 1)
	if v, err := cluster.Submit(ctx, c, count, 7).Wait(ctx); err != nil || v != 7 {
		t.Fatal(v, err)
	}
	if ran.Load() != 1 {
		t.Fatalf("handler ran %d times, want 1 (the canceled task must not run)", ran.Load())
	}
	// A ctx done at Submit: nothing published.
	if _, err := cluster.Submit(sctx, c, count, 1).Wait(ctx); !errors.Is(err, threadpool.ErrCanceled) {
		t.Fatalf("done ctx: %v", err)
	}
}

// K9: after delivery, canceling the ctx cancels the handler's context, and
// the Future resolves with what the handler returns.
func TestCancelAfterDelivery(t *testing.T) {
	ctx, _, nc := serve(t)
	r := cluster.NewRegistry()
	g := newGate()
	wait := cluster.Register(r, "wait", func(ctx context.Context, n int) (string, error) {
		g.started <- n
		<-ctx.Done()
		return "stopped: " + ctx.Err().Error(), nil
	})
	c := newClient(t, nc)
	startWorker(t, nc, r, 0, 1)
	sctx, cancel := context.WithCancel(ctx)
	f := cluster.Submit(sctx, c, wait, 1)
	g.recv(t, ctx)
	cancel()
	if v, err := f.Wait(ctx); err != nil || v != "stopped: context canceled" {
		t.Fatalf("%q, %v", v, err)
	}
}

// K9: a deadline that passed before the task starts: not run, removed from
// the stream, Future failing with ErrCanceled and DeadlineExceeded. Both
// paths: no worker at all (the client removes it), and a task delivered
// (prefetched) to a worker whose slot is busy until after the deadline (the
// worker's clock decides).
func TestDeadlineBeforeStart(t *testing.T) {
	ctx, _, nc := serve(t)
	r := cluster.NewRegistry()
	g := newGate()
	var ran atomic.Int32
	hold := cluster.Register(r, "hold", func(ctx context.Context, n int) (int, error) {
		ran.Add(1)
		g.started <- n
		<-g.release
		return n, nil
	})
	c := newClient(t, nc)

	dctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	_, err := cluster.Submit(dctx, c, hold, 1).Wait(ctx)
	if !errors.Is(err, threadpool.ErrCanceled) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("no worker: %v", err)
	}

	startWorker(t, nc, r, 0, 1, cluster.WithPrefetch(1))
	first := cluster.Submit(ctx, c, hold, 2)
	g.recv(t, ctx)
	dctx2, cancel2 := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel2()
	late := cluster.Submit(dctx2, c, hold, 3)
	<-dctx2.Done() // the deadline passes while the only slot is busy
	close(g.release)
	_, err = late.Wait(ctx)
	if !errors.Is(err, threadpool.ErrCanceled) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("prefetched: %v", err)
	}
	if v, err := first.Wait(ctx); err != nil || v != 2 {
		t.Fatal(v, err)
	}
	if ran.Load() != 1 {
		t.Fatalf("ran %d handlers, want 1", ran.Load())
	}
	eventually(t, ctx, "an empty tasks stream", func() bool { return streamMsgs(t, nc, "THREADPOOL_TASKS") == 0 })
}

// K11: Close fails the pending Futures with ErrClosed; Submit and
// CallInThread after Close fail the same way.
func TestClientClose(t *testing.T) {
	ctx, _, nc := serve(t)
	r := cluster.NewRegistry()
	echo := cluster.Register(r, "echo", func(ctx context.Context, n int) (int, error) { return n, nil })
	c, err := cluster.NewClient(ctx, nc)
	if err != nil {
		t.Fatal(err)
	}
	f1, f2 := cluster.Submit(ctx, c, echo, 1), cluster.Submit(ctx, c, echo, 2)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	for _, f := range []*threadpool.Future[int]{f1, f2, cluster.Submit(ctx, c, echo, 3)} {
		if _, err := f.Wait(ctx); !errors.Is(err, cluster.ErrClosed) {
			t.Fatalf("err = %v", err)
		}
	}
	if err := c.CallInThread(ctx, "echo", 4); !errors.Is(err, cluster.ErrClosed) {
		t.Fatalf("CallInThread after Close: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	// The tasks stored before Close still run (their results are dropped).
	w := startWorker(t, nc, r, 0, 1)
	eventually(t, ctx, "the two tasks to run", func() bool { return w.Stats().Completed == 2 })
	if !strings.Contains(cluster.ErrClosed.Error(), "cluster:") {
		t.Fatal("error prefix")
	}
}

// CallInThread returns once the task is stored; the task runs, and no
// result is sent back.
func TestCallInThread(t *testing.T) {
	ctx, _, nc := serve(t)
	r := cluster.NewRegistry()
	got := make(chan int, 1)
	cluster.Register(r, "note", func(ctx context.Context, n int) (struct{}, error) { got <- n; return struct{}{}, nil })
	c := newClient(t, nc)
	if err := c.CallInThread(ctx, "note", 5); err != nil {
		t.Fatal(err)
	}
	if n := streamMsgs(t, nc, "THREADPOOL_TASKS"); n != 1 {
		t.Fatalf("stored %d", n)
	}
	startWorker(t, nc, r, 0, 1)
	select {
	case n := <-got:
		if n != 5 {
			t.Fatal(n)
		}
	case <-ctx.Done():
		t.Fatal("not run")
	}
	eventually(t, ctx, "empty streams", func() bool {
		return streamMsgs(t, nc, "THREADPOOL_TASKS") == 0 && streamMsgs(t, nc, "THREADPOOL_RESULTS") == 0
	})
	st, _ := c.Stats(ctx)
	if st.DuplicateResults != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// K12: with WithEphemeralResults results come as plain messages; such a
// client shares the workers with a stored-results client.
func TestEphemeralResults(t *testing.T) {
	ctx, _, nc := serve(t)
	r := cluster.NewRegistry()
	sq := cluster.Register(r, "sq", func(ctx context.Context, n int) (int, error) { return n * n, nil })
	eph := newClient(t, nc, cluster.WithEphemeralResults())
	stored := newClient(t, nc)
	startWorker(t, nc, r, 0, 4)
	for i := range 50 {
		fe, fs := cluster.Submit(ctx, eph, sq, i), cluster.Submit(ctx, stored, sq, i)
		if v, err := fe.Wait(ctx); err != nil || v != i*i {
			t.Fatal(v, err)
		}
		if v, err := fs.Wait(ctx); err != nil || v != i*i {
			t.Fatal(v, err)
		}
	}
	eventually(t, ctx, "empty results", func() bool { return streamMsgs(t, nc, "THREADPOOL_RESULTS") == 0 })
}
