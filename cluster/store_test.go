package cluster_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/twisted-go/threadpool/cluster"
)

// K12: a worker that cannot store a result keeps its task, heartbeating, while
// it retries, and hands it back after the store bound: the next delivery comes
// after the bound, not after AckWait.
func TestResultStoreFailureHandsBackAfterBound(t *testing.T) {
	ctx, _, nc := serve(t)
	const ackWait, bound = 500 * time.Millisecond, 1500 * time.Millisecond
	opts := []cluster.Option{cluster.WithAckWait(ackWait), cluster.WithMaxDeliver(2)}
	r := cluster.NewRegistry()
	starts := make(chan time.Time, 4)
	echo := cluster.Register(r, "echo", func(ctx context.Context, n int) (int, error) { starts <- time.Now(); return n, nil })
	c := newClient(t, nc, opts...)
	startWorker(t, nc, r, 0, 1, append(opts, cluster.WithResultStoreBound(bound))...)
	js, _ := jetstream.New(nc)
	if err := js.DeleteStream(ctx, "THREADPOOL_RESULTS"); err != nil { // results cannot be stored now
		t.Fatal(err)
	}
	cluster.Submit(ctx, c, echo, 1)
	var t1, t2 time.Time
	for _, p := range []*time.Time{&t1, &t2} {
		select {
		case *p = <-starts:
		case <-ctx.Done():
			t.Fatal("not delivered")
		}
	}
	if d := t2.Sub(t1); d < bound-200*time.Millisecond {
		t.Fatalf("delivered again %v after the first run; the bound is %v and AckWait %v", d, bound, ackWait)
	}
}
