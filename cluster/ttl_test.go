package cluster_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/twisted-go/threadpool/cluster"
)

// K13: the tasks of a client that is gone still run; their stored results
// wait for the result TTL, then leave the results stream.
func TestResultTTLForGoneClient(t *testing.T) {
	ctx, _, nc := serve(t)
	r := cluster.NewRegistry()
	ran := make(chan int, 3)
	echo := cluster.Register(r, "echo", func(ctx context.Context, n int) (int, error) { ran <- n; return n, nil })
	opts := []cluster.Option{cluster.WithResultTTL(time.Second)}
	c, err := cluster.NewClient(ctx, nc, opts...)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		cluster.Submit(ctx, c, echo, i)
	}
	c.Close() // the client is gone
	startWorker(t, nc, r, 0, 3, opts...)
	for range 3 {
		select {
		case <-ran:
		case <-ctx.Done():
			t.Fatal("tasks of a gone client did not run")
		}
	}
	eventually(t, ctx, "three stored results", func() bool { return streamMsgs(t, nc, "THREADPOOL_RESULTS") == 3 })
	eventually(t, ctx, "the results to expire", func() bool { return streamMsgs(t, nc, "THREADPOOL_RESULTS") == 0 })
}

// K1: a second result for a resolved task, and one for a task this client
// never sent, are dropped and counted in DuplicateResults, never delivered.
func TestDuplicateResultsCounted(t *testing.T) {
	ctx, _, nc := serve(t)
	r := cluster.NewRegistry()
	echo := cluster.Register(r, "echo", func(ctx context.Context, n int) (int, error) { return n, nil })
	c := newClient(t, nc)
	startWorker(t, nc, r, 0, 1)
	f := cluster.Submit(ctx, c, echo, 1)
	if v, err := f.Wait(ctx); err != nil || v != 1 {
		t.Fatal(v, err)
	}
	for _, task := range []string{"someone-else", "another"} {
		m := nats.NewMsg("threadpool.result." + c.ID())
		m.Header.Set("Tp-Task", task)
		m.Header.Set("Tp-Status", "ok")
		m.Data = []byte("2")
		if _, err := nc.RequestMsg(m, 5*time.Second); err != nil { // stored: a PubAck answers
			t.Fatal(err)
		}
	}
	eventually(t, ctx, "two duplicates counted", func() bool { return stats(t, ctx, c).DuplicateResults == 2 })
	if v, _ := f.Wait(ctx); v != 1 {
		t.Fatal("the Future changed:", v)
	}
}
