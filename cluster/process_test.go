package cluster_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twisted-go/threadpool/cluster"
	"github.com/twisted-go/threadpool/cluster/natsembed"
)

// K4: a worker process killed with SIGKILL mid-task: its task is delivered
// again, to a live worker, about one AckWait after the last heartbeat, and
// its Future resolves once.
func TestWorkerProcessKilled(t *testing.T) {
	ctx := testCtx(t)
	s := startServer(t, natsembed.Options{Port: -1})
	nc := connect(t, s)
	const ackWait = 2 * time.Second
	opts := []cluster.Option{cluster.WithPrefix("kill"), cluster.WithAckWait(ackWait), cluster.WithMaxDeliver(3)}
	c := newClient(t, nc, opts...)
	started, err := nc.SubscribeSync("test.started")
	if err != nil {
		t.Fatal(err)
	}
	child := startChild(t, ctx, nc, s.ClientURL(), "kill", ackWait, 3)

	hold := cluster.Register(cluster.NewRegistry(), "hold", func(ctx context.Context, n int) (int, error) { return 0, nil })
	f := cluster.Submit(ctx, c, hold, 21)
	if _, err := started.NextMsgWithContext(ctx); err != nil {
		t.Fatal("the child did not start the task:", err)
	}
	statsUntil(t, ctx, c, "the child working, its task in flight", func(st cluster.Stats) bool {
		return st.Machines == 1 && st.Working == 1 && st.InFlight == 1
	})
	child.kill()
	killed := time.Now()
	// K8: the dead worker drops out of Machines at once; its task stays in
	// InFlight until AckWait.
	if st := stats(t, ctx, c); st.Machines != 0 || st.InFlight != 1 || st.Queued != 0 {
		t.Fatalf("just after the kill: %+v", st)
	}

	r := cluster.NewRegistry()
	var runs int
	cluster.Register(r, "hold", func(ctx context.Context, n int) (int, error) { runs++; return 2 * n, nil })
	startWorker(t, connect(t, s), r, 0, 1, opts...)
	if v, err := f.Wait(ctx); err != nil || v != 42 {
		t.Fatal(v, err)
	}
	if d := time.Since(killed); d > ackWait+3*time.Second || d < ackWait/2 {
		t.Fatalf("redelivered after %v, AckWait is %v", d, ackWait)
	}
	eventually(t, ctx, "an empty tasks stream", func() bool { return streamMsgs(t, nc, "KILL_TASKS") == 0 })
	st := stats(t, ctx, c)
	if runs != 1 || st.Redelivered != 0 || st.DuplicateResults != 0 || st.InFlight != 0 {
		t.Fatalf("runs %d, stats %+v", runs, st)
	}
}

// K5: a task whose every delivery kills its worker process fails its Future
// with ErrDeliveriesExhausted after MaxDeliver deliveries, and leaves the
// stream. Each child process runs one delivery and dies; the next one's pull
// makes the server send its advisory.
func TestPoisonTaskExhaustsDeliveries(t *testing.T) {
	ctx := testCtx(t)
	s := startServer(t, natsembed.Options{Port: -1})
	nc := connect(t, s)
	const ackWait, maxDeliver = time.Second, 2
	opts := []cluster.Option{cluster.WithPrefix("poison"), cluster.WithAckWait(ackWait), cluster.WithMaxDeliver(maxDeliver)}
	c := newClient(t, nc, opts...)
	poison := cluster.Register(cluster.NewRegistry(), "poison", func(ctx context.Context, n int) (int, error) { return 0, nil })
	f := cluster.Submit(ctx, c, poison, 1)
	deaths := 0
	for {
		ch := startChild(t, ctx, nc, s.ClientURL(), "poison", ackWait, maxDeliver)
		exited := ch.exited
		select {
		case <-exited:
			deaths++
			if deaths > maxDeliver {
				t.Fatalf("%d deliveries, MaxDeliver is %d", deaths, maxDeliver)
			}
			continue
		case <-f.Done():
		case <-ctx.Done():
			t.Fatal("the Future never resolved")
		}
		ch.kill()
		break
	}
	if _, err := f.Wait(ctx); !errors.Is(err, cluster.ErrDeliveriesExhausted) {
		t.Fatalf("err = %v", err)
	}
	if deaths != maxDeliver {
		t.Fatalf("%d deliveries killed a worker, want %d", deaths, maxDeliver)
	}
	eventually(t, ctx, "an empty tasks stream", func() bool { return streamMsgs(t, nc, "POISON_TASKS") == 0 })
	if st := stats(t, ctx, c); st.DuplicateResults != 0 {
		t.Fatalf("%+v", st)
	}
}

// K5: the poison task of a client that is gone still leaves the stream: the
// workers act on the advisory.
func TestPoisonTaskOfGoneClientLeavesStream(t *testing.T) {
	ctx := testCtx(t)
	s := startServer(t, natsembed.Options{Port: -1})
	nc := connect(t, s)
	const ackWait, maxDeliver = time.Second, 2
	opts := []cluster.Option{cluster.WithPrefix("poison2"), cluster.WithAckWait(ackWait), cluster.WithMaxDeliver(maxDeliver)}
	c := newClient(t, nc, opts...)
	poison := cluster.Register(cluster.NewRegistry(), "poison", func(ctx context.Context, n int) (int, error) { return 0, nil })
	cluster.Submit(ctx, c, poison, 1)
	c.Close()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	deaths := 0
	for streamMsgs(t, nc, "POISON2_TASKS") != 0 {
		ch := startChild(t, ctx, nc, s.ClientURL(), "poison2", ackWait, maxDeliver)
		exited := ch.exited
	wait:
		for {
			select {
			case <-exited:
				deaths++
				break wait
			case <-tick.C:
				if streamMsgs(t, nc, "POISON2_TASKS") == 0 {
					ch.kill()
					break wait
				}
			case <-ctx.Done():
				t.Fatal("the poison task never left the stream")
			}
		}
		if deaths > maxDeliver {
			t.Fatalf("%d deliveries, MaxDeliver is %d", deaths, maxDeliver)
		}
	}
	if deaths != maxDeliver {
		t.Fatalf("%d deliveries killed a worker, want %d", deaths, maxDeliver)
	}
}
