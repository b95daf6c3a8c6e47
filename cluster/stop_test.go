package cluster_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/twisted-go/threadpool"
	"github.com/twisted-go/threadpool/cluster"
)

// K11: Stop lets the running handler finish, stores its result and acks it.
func TestWorkerStopFinishes(t *testing.T) {
	ctx, s, nc := serve(t)
	g, r, hold := holdRegistry()
	c := newClient(t, nc)
	w := startWorker(t, connect(t, s), r, 0, 2)
	f := cluster.Submit(ctx, c, hold, 9)
	g.recv(t, ctx)
	stopped := make(chan error, 1)
	go func() { stopped <- w.Stop() }()
	select {
	case <-stopped:
		t.Fatal("Stop returned while a handler ran")
	case <-f.Done():
		t.Fatal("resolved before release")
	default:
	}
	close(g.release)
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatal(err)
		}
	case <-ctx.Done():
		t.Fatal("Stop hangs")
	}
	if v, err := f.Wait(ctx); err != nil || v != 9 {
		t.Fatal(v, err)
	}
	if n := streamMsgs(t, nc, "THREADPOOL_TASKS"); n != 0 { // acked, and the acks confirmed, before Stop returned
		t.Fatalf("%d tasks left", n)
	}
	if err := w.Start(); err == nil {
		t.Fatal("Start after Stop accepted")
	}
	if st := stats(t, ctx, c); st.Machines != 0 {
		t.Fatalf("stopped worker answers: %+v", st)
	}
}

// K11: Shutdown whose ctx ends hands the unfinished task back at once (far
// within AckWait): another worker runs it; the first handler's ctx is canceled.
func TestWorkerShutdownHandsBack(t *testing.T) {
	ctx, s, nc := serve(t)
	g, r, hold := holdRegistry()
	c := newClient(t, nc) // AckWait 30s: a redelivery after AckWait would time the test out
	w1 := startWorker(t, connect(t, s), r, 0, 1)
	f := cluster.Submit(ctx, c, hold, 5)
	g.recv(t, ctx)

	sctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if err := w1.Shutdown(sctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v", err)
	}
	if err := w1.Stop(); err != nil { // the canceled handler has returned
		t.Fatal(err)
	}
	r2 := cluster.NewRegistry()
	var ran atomic.Int32
	cluster.Register(r2, "hold", func(ctx context.Context, n int) (int, error) { ran.Add(1); return n * 10, nil })
	start := time.Now()
	startWorker(t, connect(t, s), r2, 0, 1)
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	if v, err := f.Wait(wctx); err != nil || v != 50 {
		t.Fatalf("%d, %v (after %v)", v, err, time.Since(start))
	}
	if ran.Load() != 1 {
		t.Fatal("ran", ran.Load())
	}
	if st := stats(t, ctx, c); st.DuplicateResults != 0 {
		t.Fatalf("%+v", st)
	}
}

// K16: Worker.Start checks the streams again: a consumer changed between
// NewWorker and Start is an error wrapping ErrConfigMismatch, left unchanged.
func TestWorkerStartConfigMismatch(t *testing.T) {
	ctx, _, nc := serve(t)
	w, err := cluster.NewWorker(nc, cluster.NewRegistry(), 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	js, _ := jetstream.New(nc)
	if err := js.DeleteConsumer(ctx, "THREADPOOL_TASKS", "workers"); err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateConsumer(ctx, "THREADPOOL_TASKS", jetstream.ConsumerConfig{
		Durable: "workers", AckPolicy: jetstream.AckExplicitPolicy, AckWait: time.Minute}); err != nil {
		t.Fatal(err)
	}
	if err := w.Start(); !errors.Is(err, cluster.ErrConfigMismatch) {
		t.Fatalf("Start = %v", err)
	}
	if err := w.Stop(); err != nil {
		t.Fatal(err)
	}
	info, err := js.Consumer(ctx, "THREADPOOL_TASKS", "workers")
	if err != nil || info.CachedInfo().Config.AckWait != time.Minute {
		t.Fatal("the consumer was changed", err)
	}
}

// K11: the acks of tasks that finished just before Stop (sent fire and
// forget) have been handled by the server when Stop returns: the stream is
// empty at once.
func TestWorkerStopConfirmsEarlierAcks(t *testing.T) {
	ctx, s, nc := serve(t)
	r := cluster.NewRegistry()
	echo := cluster.Register(r, "echo", func(ctx context.Context, n int) (int, error) { return n, nil })
	c := newClient(t, nc, cluster.WithEphemeralResults())
	w := startWorker(t, connect(t, s), r, 0, 8)
	futs := make([]*threadpool.Future[int], 200)
	for i := range futs {
		futs[i] = cluster.Submit(ctx, c, echo, i)
	}
	for i, f := range futs {
		if v, err := f.Wait(ctx); err != nil || v != i {
			t.Fatalf("task %d: %v, %v", i, v, err)
		}
	}
	if err := w.Stop(); err != nil {
		t.Fatal(err)
	}
	if n := streamMsgs(t, nc, "THREADPOOL_TASKS"); n != 0 {
		t.Fatalf("%d tasks left in the stream when Stop returned", n)
	}
}
