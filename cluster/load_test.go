package cluster_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/twisted-go/threadpool"
	"github.com/twisted-go/threadpool/cluster"
)

// K1: 10,000 tasks over 3 workers (each on its own connection): every Future
// resolves exactly once with the right value, every task runs, no result is
// a duplicate, and the streams end empty.
func TestTenThousandTasksThreeWorkers(t *testing.T) {
	const n = 10000
	const n0 = uint64(n)
	ctx, s, nc := serve(t)
	r := cluster.NewRegistry()
	var runs [n]atomic.Int32
	f := cluster.Register(r, "f", func(ctx context.Context, i int) (int, error) {
		runs[i].Add(1)
		return 2*i + 1, nil
	})
	c := newClient(t, nc)
	var ws []*cluster.Worker
	for range 3 {
		ws = append(ws, startWorker(t, connect(t, s), r, 2, 8))
	}
	futs := make([]*threadpool.Future[int], n)
	var wg sync.WaitGroup
	const submitters = 8
	for g := range submitters {
		wg.Go(func() {
			for i := g; i < n; i += submitters {
				futs[i] = cluster.Submit(ctx, c, f, i)
			}
		})
	}
	wg.Wait()
	for i, fut := range futs {
		v, err := fut.Wait(ctx)
		if err != nil || v != 2*i+1 {
			t.Fatalf("task %d: %d, %v", i, v, err)
		}
	}
	for i := range runs {
		if k := runs[i].Load(); k != 1 {
			t.Fatalf("task %d ran %d times", i, k)
		}
	}
	var completed uint64
	eventually(t, ctx, "the pools to count every task", func() bool {
		var n uint64
		for _, w := range ws {
			n += w.Stats().Completed
		}
		return n == n0
	})
	for _, w := range ws {
		st := w.Stats()
		if st.Completed == 0 {
			t.Errorf("worker %s ran nothing", w.Name())
		}
		completed += st.Completed
	}
	if completed != n {
		t.Fatalf("completed %d", completed)
	}
	eventually(t, ctx, "empty streams", func() bool {
		return streamMsgs(t, nc, "THREADPOOL_TASKS") == 0 && streamMsgs(t, nc, "THREADPOOL_RESULTS") == 0
	})
	statsUntil(t, ctx, c, "nothing in flight, no duplicates", func(st cluster.Stats) bool {
		return st.DuplicateResults == 0 && st.Redelivered == 0 && st.InFlight == 0
	})
}
