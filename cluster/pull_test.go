package cluster_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/twisted-go/threadpool"
	"github.com/twisted-go/threadpool/cluster"
)

// stats reads the cluster's Stats, failing the test on error.
func stats(t *testing.T, ctx context.Context, c *cluster.Client) cluster.Stats {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	st, err := c.Stats(sctx)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// statsUntil reads the cluster's Stats until ok holds (the consumer's
// counts follow deliveries and acks a moment later), failing at ctx's end.
func statsUntil(t *testing.T, ctx context.Context, c *cluster.Client, what string, ok func(cluster.Stats) bool) {
	t.Helper()
	var st cluster.Stats
	eventually(t, ctx, what, func() bool { st = stats(t, ctx, c); return ok(st) })
}

// K6, K8: exact pull. With two machines of one slot each, a busy machine
// holds nothing more: the second task goes to the idle machine at once and
// a third one stays in the stream (Queued), not behind a busy machine.
func TestExactPull(t *testing.T) {
	ctx, s, nc := serve(t)
	g, r, hold := holdRegistry()
	c := newClient(t, nc)
	w1 := startWorker(t, connect(t, s), r, 0, 1)
	w2 := startWorker(t, connect(t, s), r, 0, 1)

	f1 := cluster.Submit(ctx, c, hold, 1)
	g.recv(t, ctx)
	f2 := cluster.Submit(ctx, c, hold, 2)
	g.recv(t, ctx) // started while task 1 still runs: on the other machine
	if w1.Stats().Working != 1 || w2.Stats().Working != 1 {
		t.Fatalf("working %d and %d, want 1 and 1", w1.Stats().Working, w2.Stats().Working)
	}
	f3 := cluster.Submit(ctx, c, hold, 3)
	statsUntil(t, ctx, c, "2 machines working, 1 queued, 2 in flight", func(st cluster.Stats) bool {
		return st.Machines == 2 && st.Working == 2 && st.Workers == 2 && st.Queued == 1 && st.InFlight == 2
	})
	if w1.Stats().Working != 1 || w2.Stats().Working != 1 {
		t.Fatal("a machine took the third task")
	}
	close(g.release)
	for i, f := range []interface {
		Wait(context.Context) (int, error)
	}{f1, f2, f3} {
		if v, err := f.Wait(ctx); err != nil || v != i+1 {
			t.Fatal(v, err)
		}
	}
}

// K7: AdjustPoolSize moves the pull window at once: a raised max pulls at
// once, a lowered max pulls nothing until fewer than max tasks are held.
func TestAdjustPoolSizeMovesWindow(t *testing.T) {
	ctx, _, nc := serve(t)
	g, r, hold := holdRegistry()
	c := newClient(t, nc)
	w := startWorker(t, nc, r, 0, 1)

	var fs []interface {
		Wait(context.Context) (int, error)
	}
	for i := range 4 {
		fs = append(fs, cluster.Submit(ctx, c, hold, i))
	}
	g.recv(t, ctx)
	statsUntil(t, ctx, c, "max 1: 3 queued, 1 working", func(st cluster.Stats) bool { return st.Queued == 3 && st.Working == 1 })
	if err := w.AdjustPoolSize(0, 3); err != nil {
		t.Fatal(err)
	}
	g.recv(t, ctx)
	g.recv(t, ctx)
	statsUntil(t, ctx, c, "max 3: 1 queued, 3 working", func(st cluster.Stats) bool {
		return st.Queued == 1 && st.Working == 3 && st.InFlight == 3
	})
	if err := w.AdjustPoolSize(0, 1); err != nil {
		t.Fatal(err)
	}
	// Three still run, above the new max: the fourth task stays queued.
	if st := stats(t, ctx, c); st.Queued != 1 || st.InFlight != 3 || w.Stats().Working != 3 {
		t.Fatalf("max lowered to 1: %+v", st)
	}
	close(g.release)
	for _, f := range fs {
		if _, err := f.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, ctx, "4 completed", func() bool { return w.Stats().Completed == 4 && w.Stats().Max == 1 })
}

// K4: a handler running longer than AckWait is not redelivered: the worker
// heartbeats it.
func TestLongHandlerNotRedelivered(t *testing.T) {
	ctx, s, nc := serve(t)
	r := cluster.NewRegistry()
	var ran atomic.Int32
	long := cluster.Register(r, "long", func(ctx context.Context, d time.Duration) (int, error) {
		ran.Add(1)
		t := time.NewTimer(d) // the duration under test, not synchronisation
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
		}
		return 1, nil
	})
	opts := []cluster.Option{cluster.WithAckWait(time.Second), cluster.WithMaxDeliver(3)}
	c := newClient(t, nc, opts...)
	startWorker(t, nc, r, 0, 2, opts...)
	startWorker(t, connect(t, s), r, 0, 2, opts...) // a free machine a redelivery would reach
	if _, err := cluster.Submit(ctx, c, long, 2500*time.Millisecond).Wait(ctx); err != nil {
		t.Fatal(err)
	}
	st := stats(t, ctx, c)
	if ran.Load() != 1 || st.Redelivered != 0 || st.DuplicateResults != 0 {
		t.Fatalf("ran %d, stats %+v", ran.Load(), st)
	}
}

// K8: Stats fields; Machines drops at once when a worker stops.
func TestStatsMachines(t *testing.T) {
	ctx, s, nc := serve(t)
	g, r, hold := holdRegistry()
	c := newClient(t, nc)
	w1 := startWorker(t, connect(t, s), r, 2, 3)
	startWorker(t, connect(t, s), r, 1, 1)
	if st := stats(t, ctx, c); st.Machines != 2 || st.Workers != 3 || st.Waiters != 3 || st.Working != 0 || st.Queued != 0 {
		t.Fatalf("%+v", st)
	}
	f := cluster.Submit(ctx, c, hold, 1)
	g.recv(t, ctx)
	statsUntil(t, ctx, c, "1 working of 3", func(st cluster.Stats) bool { return st.Working == 1 && st.InFlight == 1 && st.Workers == 3 })
	close(g.release)
	f.Wait(ctx)
	if err := w1.Stop(); err != nil {
		t.Fatal(err)
	}
	if st := stats(t, ctx, c); st.Machines != 1 || st.Workers != 1 {
		t.Fatalf("after a stop: %+v", st)
	}
}

// K7: tasks that arrive beyond a lowered window, from pull requests already
// outstanding, are handed back at once (not after AckWait): the worker never
// holds more than its new max, and another machine runs the others at once.
func TestLoweredWindowHandsBackExtraDeliveries(t *testing.T) {
	ctx, s, nc := serve(t)
	g, r, hold := holdRegistry()
	c := newClient(t, nc) // AckWait 30s
	var once sync.Once
	releaseAll := func() { once.Do(func() { close(g.release) }) }
	defer releaseAll()                           // a failed check must not leave handlers blocked
	w1 := startWorker(t, connect(t, s), r, 0, 3) // idle: a pull request for 3 is outstanding
	if err := w1.AdjustPoolSize(0, 1); err != nil {
		t.Fatal(err)
	}
	var fs []interface {
		Wait(context.Context) (int, error)
	}
	for i := range 3 {
		fs = append(fs, cluster.Submit(ctx, c, hold, i))
	}
	g.recv(t, ctx)
	w2 := startWorker(t, connect(t, s), r, 0, 2)
	soon, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	g.recv(t, soon)
	g.recv(t, soon)
	if st1, st2 := w1.Stats(), w2.Stats(); st1.Working != 1 || st1.Queued != 0 || st2.Working != 2 {
		t.Fatalf("worker 1 %+v, worker 2 %+v", st1, st2)
	}
	releaseAll()
	for _, f := range fs {
		if _, err := f.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// K6: an idle worker keeps one long-poll pull request for its whole window,
// not one per slot and not a busy poll: the consumer sees one waiting request
// per idle worker, and no task is held.
func TestIdleWorkerOnePullRequest(t *testing.T) {
	ctx, s, nc := serve(t)
	startWorker(t, nc, cluster.NewRegistry(), 0, 5)
	startWorker(t, connect(t, s), cluster.NewRegistry(), 0, 3)
	js, _ := jetstream.New(nc)
	cons, err := js.Consumer(ctx, "THREADPOOL_TASKS", "workers")
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, ctx, "two waiting pull requests", func() bool {
		info, err := cons.Info(ctx)
		return err == nil && info.NumWaiting == 2 && info.NumAckPending == 0
	})
}

// K6: the stream is one global FIFO: tasks stored before any worker runs
// start in the order they were submitted.
func TestGlobalFIFO(t *testing.T) {
	ctx, _, nc := serve(t)
	r := cluster.NewRegistry()
	order := make(chan int, 50)
	rec := cluster.Register(r, "rec", func(ctx context.Context, n int) (int, error) { order <- n; return n, nil })
	c := newClient(t, nc)
	var last interface {
		Wait(context.Context) (int, error)
	}
	for i := range 50 {
		last = cluster.Submit(ctx, c, rec, i)
	}
	startWorker(t, nc, r, 0, 1)
	if _, err := last.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		if n := <-order; n != i {
			t.Fatalf("start %d was task %d", i, n)
		}
	}
}

// K6, K1: a delivery moves from "asked for" to "held" in one step. Many tiny
// tasks through a window of 2 with MaxDeliver 2: no delivery ever exceeds
// the window, so none is handed back (a Nak counts as a delivery, and two
// would exhaust the task): the consumer redelivers nothing and every Future
// succeeds.
func TestPullNeverExceedsWindow(t *testing.T) {
	ctx, s, nc := serve(t)
	r := cluster.NewRegistry()
	echo := cluster.Register(r, "echo", func(ctx context.Context, n int) (int, error) { return n, nil })
	opts := []cluster.Option{cluster.WithMaxDeliver(2), cluster.WithMemoryStorage()}
	c := newClient(t, nc, append(opts, cluster.WithEphemeralResults())...)
	startWorker(t, connect(t, s), r, 0, 2, opts...)
	startWorker(t, connect(t, s), r, 0, 1, append(opts, cluster.WithPrefetch(1))...)
	const n = 3000
	futs := make([]*threadpool.Future[int], n)
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < n; i += 16 {
				futs[i] = cluster.Submit(ctx, c, echo, i)
			}
		}()
	}
	wg.Wait()
	for i, f := range futs {
		if v, err := f.Wait(ctx); err != nil || v != i {
			t.Fatalf("task %d: %v, %v", i, v, err)
		}
	}
	if st := stats(t, ctx, c); st.Redelivered != 0 {
		t.Fatalf("%d tasks redelivered (handed back beyond the window): %+v", st.Redelivered, st)
	}
}

// K6: pull requests are few. Under a backlog, a worker with WithPrefetch(100)
// asks for tasks in batches of at least half its prefetch, not one request
// per acked task; exact pull also coalesces the acks that arrive while it
// publishes a request. Counted on the consumer's MSG.NEXT API subject.
func TestPullRequestsBatch(t *testing.T) {
	for _, tc := range []struct {
		name     string
		opts     []cluster.Option
		maxPulls int // for n tasks
	}{
		{"prefetch100", []cluster.Option{cluster.WithPrefetch(100)}, 2000 / 25},
		{"exact", nil, 2000}, // never more than one per task
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, s, nc := serve(t)
			r := cluster.NewRegistry()
			echo := cluster.Register(r, "echo", func(ctx context.Context, n int) (int, error) { return n, nil })
			c := newClient(t, nc, cluster.WithEphemeralResults(), cluster.WithMemoryStorage())
			pulls, err := nc.SubscribeSync("$JS.API.CONSUMER.MSG.NEXT.>")
			if err != nil {
				t.Fatal(err)
			}
			pulls.SetPendingLimits(-1, -1)
			nc.Flush()
			const n = 2000
			futs := make([]*threadpool.Future[int], n)
			for i := range futs {
				futs[i] = cluster.Submit(ctx, c, echo, i)
			}
			w := startWorker(t, connect(t, s), r, 0, 16, append(tc.opts, cluster.WithMemoryStorage())...)
			for i, f := range futs {
				if v, err := f.Wait(ctx); err != nil || v != i {
					t.Fatalf("task %d: %v, %v", i, v, err)
				}
			}
			w.Stop()
			nc.Flush()
			got, _, _ := pulls.Pending()
			t.Logf("%d tasks, %d pull requests (mean batch %.1f)", n, got, float64(n)/float64(got))
			if got > tc.maxPulls {
				t.Fatalf("%d pull requests for %d tasks, want at most %d", got, n, tc.maxPulls)
			}
		})
	}
}

// K6, K12: an idle worker whose server restarts (its waiting pull request
// ends with a 409, Server Shutdown) pulls again once reconnected: a task
// stored after the restart runs at once.
func TestWorkerPullsAgainAfterServerRestart(t *testing.T) {
	ctx := testCtx(t)
	s1, restart := restartableServer(t)
	wnc := connect(t, s1, reconnecting()...)
	r := cluster.NewRegistry()
	inc := cluster.Register(r, "inc", func(ctx context.Context, n int) (int, error) { return n + 1, nil })
	c0 := newClient(t, wnc) // the streams
	w := startWorker(t, wnc, r, 0, 2)
	js, _ := jetstream.New(wnc)
	eventually(t, ctx, "the worker's pull request waiting", func() bool {
		cons, err := js.Consumer(ctx, "THREADPOOL_TASKS", "workers")
		if err != nil {
			return false
		}
		info, err := cons.Info(ctx)
		return err == nil && info.NumWaiting == 1
	})
	s1.Shutdown() // its pull requests end with a 409 (Server Shutdown)
	s2 := restart()
	c := newClient(t, connect(t, s2))
	start := time.Now()
	soon, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if v, err := cluster.Submit(soon, c, inc, 1).Wait(soon); err != nil || v != 2 {
		t.Fatalf("after the restart: %v, %v", v, err)
	}
	t.Logf("ran %v after the restart", time.Since(start))
	w.Stop() // while s2 runs: the cleanups stop s2 first
	c0.Close()
}

// K6: after a burst, an idle exact-pull worker's small pull requests (one
// per ack at the end of the burst) merge, as they expire, into one long poll
// for its whole window.
func TestIdleWorkerMergesPullRequests(t *testing.T) {
	ctx, s, nc := serve(t)
	r := cluster.NewRegistry()
	echo := cluster.Register(r, "echo", func(ctx context.Context, n int) (int, error) { return n, nil })
	c := newClient(t, nc, cluster.WithEphemeralResults(), cluster.WithMemoryStorage())
	startWorker(t, connect(t, s), r, 0, 16, cluster.WithMemoryStorage())
	futs := make([]*threadpool.Future[int], 500)
	for i := range futs {
		futs[i] = cluster.Submit(ctx, c, echo, i)
	}
	for _, f := range futs {
		if _, err := f.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	js, _ := jetstream.New(nc)
	cons, err := js.Consumer(ctx, "THREADPOOL_TASKS", "workers")
	if err != nil {
		t.Fatal(err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d pull requests waiting after the burst", info.NumWaiting)
	soon, cancel := context.WithTimeout(ctx, 12*time.Second) // the requests' 5 s expiry, and margin
	defer cancel()
	eventually(t, soon, "one waiting pull request", func() bool {
		info, err := cons.Info(ctx)
		return err == nil && info.NumWaiting == 1 && info.NumAckPending == 0
	})
}
