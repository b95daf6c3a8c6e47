package threadpool_test

// Task groups: Group and ResultGroup on a shared pool (SPEC L1-L8): Wait,
// SetLimit, nested waits at any depth and max, faults, the overflow
// policies.

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/twisted-go/threadpool"
)

// waitGroup runs g.Wait on a goroutine of its own and returns its error,
// failing the test if it does not return within hangTimeout.
func waitGroup(t *testing.T, g *threadpool.Group) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- g.Wait() }()
	return recv(t, done, "Group.Wait")
}

func TestGroup(t *testing.T) {
	t.Run("Wait returns nil once every task has run, and cancels the context", func(t *testing.T) {
		p := newPool(t, 0, 4)
		mustStart(t, p)
		g, ctx := threadpool.NewGroup(context.Background(), p)
		var ran atomic.Int32
		for range 100 {
			g.Go(func(context.Context) error { ran.Add(1); return nil })
		}
		if err := waitGroup(t, g); err != nil {
			t.Fatalf("Wait: %v", err)
		}
		if ran.Load() != 100 {
			t.Errorf("ran %d tasks, want 100", ran.Load())
		}
		if ctx.Err() == nil {
			t.Error("the group's context is not canceled after Wait")
		}
		if s := checkStats(t, p); s.Submitted != 100 || s.Completed != 100 {
			t.Errorf("Stats: %+v", s)
		}
	})

	t.Run("the first error is Wait's and cancels the context at once", func(t *testing.T) {
		p := newPool(t, 0, 4)
		mustStart(t, p)
		g, ctx := threadpool.NewGroup(context.Background(), p)
		boom := errors.New("boom")
		g.Go(func(context.Context) error { return boom })
		g.Go(func(ctx context.Context) error {
			<-ctx.Done() // ends only because the first task's error canceled it
			return errors.New("second")
		})
		if err := waitGroup(t, g); err != boom {
			t.Fatalf("Wait: %v, want %v", err, boom)
		}
		if context.Cause(ctx) != boom {
			t.Errorf("Cause: %v, want %v", context.Cause(ctx), boom)
		}
	})

	t.Run("a task panicking is the group's *PanicError, not a crash", func(t *testing.T) {
		p := newPool(t, 1, 1)
		mustStart(t, p)
		g, _ := threadpool.NewGroup(context.Background(), p)
		g.Go(func(context.Context) error { panic("kaboom") })
		err := waitGroup(t, g)
		var pe *threadpool.PanicError
		if !errors.As(err, &pe) || pe.Value != "kaboom" {
			t.Fatalf("Wait: %v, want a *PanicError of kaboom", err)
		}
		s := checkStats(t, p)
		if s.Failed != 1 || s.Workers != 1 {
			t.Errorf("Stats: %+v", s)
		}
	})

	t.Run("a task calling Goexit is the group's ErrGoexit, and the worker is replaced", func(t *testing.T) {
		p := newPool(t, 1, 1)
		mustStart(t, p)
		g, _ := threadpool.NewGroup(context.Background(), p)
		g.Go(func(context.Context) error { runtime.Goexit(); return nil })
		if err := waitGroup(t, g); !errors.Is(err, threadpool.ErrGoexit) {
			t.Fatalf("Wait: %v, want ErrGoexit", err)
		}
		g2, _ := threadpool.NewGroup(context.Background(), p)
		g2.Go(func(context.Context) error { return nil })
		if err := waitGroup(t, g2); err != nil {
			t.Fatalf("a later group: %v", err)
		}
		if s := checkStats(t, p); s.Failed != 1 || s.Completed != 1 || s.Workers != 1 {
			t.Errorf("Stats: %+v", s)
		}
	})

	t.Run("a stopped pool's refusal is the group's error and Wait still returns", func(t *testing.T) {
		p := newPool(t, 0, 2)
		mustStart(t, p)
		mustStop(t, p)
		g, _ := threadpool.NewGroup(context.Background(), p)
		g.Go(func(context.Context) error { t.Error("a refused task ran"); return nil })
		if err := waitGroup(t, g); !errors.Is(err, threadpool.ErrStopped) {
			t.Fatalf("Wait: %v, want ErrStopped", err)
		}
		if s := checkStats(t, p); s.Rejected != 1 || s.Submitted != 0 {
			t.Errorf("Stats: %+v", s)
		}
	})

	t.Run("a full backlog under Reject is the group's error and nothing is dropped silently", func(t *testing.T) {
		p, g, gate, ran := fullGroup(t, threadpool.Reject)
		g.Go(func(context.Context) error { ran.Add(1); return nil }) // refused
		gate.open()
		if err := waitGroup(t, g); !errors.Is(err, threadpool.ErrQueueFull) {
			t.Fatalf("Wait: %v, want ErrQueueFull", err)
		}
		s := checkStats(t, p)
		if s.Rejected != 1 || s.Submitted != 2 || s.Completed+s.Canceled != 2 || uint64(ran.Load()) != s.Completed {
			t.Errorf("ran %d; Stats: %+v", ran.Load(), s)
		}
	})

	t.Run("Go after Wait has returned runs nothing and a later Wait reports ErrGroupDone", func(t *testing.T) {
		p := newPool(t, 0, 2)
		mustStart(t, p)
		g, _ := threadpool.NewGroup(context.Background(), p)
		g.Go(func(context.Context) error { return nil })
		if err := waitGroup(t, g); err != nil {
			t.Fatalf("Wait: %v", err)
		}
		g.Go(func(context.Context) error { t.Error("a task ran after Wait"); return nil })
		if err := waitGroup(t, g); !errors.Is(err, threadpool.ErrGroupDone) {
			t.Fatalf("second Wait: %v, want ErrGroupDone", err)
		}
		if s := checkStats(t, p); s.Submitted != 1 || s.Rejected != 0 {
			t.Errorf("Stats: %+v", s)
		}
	})

	t.Run("a nil function is the group's error", func(t *testing.T) {
		p := newPool(t, 0, 2)
		mustStart(t, p)
		g, _ := threadpool.NewGroup(context.Background(), p)
		g.Go(nil)
		if err := waitGroup(t, g); err == nil {
			t.Fatal("Wait: nil, want an error")
		}
	})
}

func TestGroupLimit(t *testing.T) {
	t.Run("at most n tasks run at once, the rest wait in the group in FIFO order and count as Queued", func(t *testing.T) {
		p := newPool(t, 0, 8)
		mustStart(t, p)
		g, _ := threadpool.NewGroup(context.Background(), p)
		g.SetLimit(2)
		gate := newGate(t)
		started := make(chan int, 10)
		var running, most atomic.Int32
		for i := range 10 {
			g.Go(func(context.Context) error {
				n := running.Add(1)
				for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
				}
				started <- i
				gate.wait()
				running.Add(-1)
				return nil
			})
		}
		// Go returned for all ten without any task ending: it never blocks.
		first := []int{recv(t, started, "task"), recv(t, started, "task")}
		slices.Sort(first)
		s := checkStats(t, p)
		if s.Working != 2 || s.Queued != 8 || s.Submitted != 10 {
			t.Errorf("with the limit reached: %+v, want Working 2, Queued 8", s)
		}
		gate.open()
		if err := waitGroup(t, g); err != nil {
			t.Fatalf("Wait: %v", err)
		}
		rest := make([]int, 0, 8)
		for range 8 {
			rest = append(rest, recv(t, started, "task"))
		}
		slices.Sort(rest)
		if !slices.Equal(rest, []int{2, 3, 4, 5, 6, 7, 8, 9}) {
			t.Errorf("then started %v, want 2..9", rest)
		}
		if !slices.Equal(first, []int{0, 1}) {
			t.Errorf("first started %v, want [0 1]", first)
		}
		if most.Load() > 2 {
			t.Errorf("%d tasks ran at once, limit 2", most.Load())
		}
		if s := checkStats(t, p); s.Completed != 10 || s.Queued != 0 {
			t.Errorf("Stats: %+v", s)
		}
	})

	t.Run("the waiting tasks start in the order of their Go calls", func(t *testing.T) {
		p := newPool(t, 0, 4)
		mustStart(t, p)
		g, _ := threadpool.NewGroup(context.Background(), p)
		g.SetLimit(1)
		var mu sync.Mutex
		var order []int
		for i := range 50 {
			g.Go(func(context.Context) error {
				mu.Lock()
				order = append(order, i)
				mu.Unlock()
				return nil
			})
		}
		if err := waitGroup(t, g); err != nil {
			t.Fatalf("Wait: %v", err)
		}
		for i, v := range order {
			if i != v {
				t.Fatalf("order %v, want 0..49", order)
			}
		}
	})

	t.Run("raising the limit sends waiting tasks to the pool at once", func(t *testing.T) {
		p := newPool(t, 0, 4)
		mustStart(t, p)
		g, _ := threadpool.NewGroup(context.Background(), p)
		g.SetLimit(0)
		gate := newGate(t)
		started := make(chan struct{}, 3)
		for range 3 {
			g.Go(func(context.Context) error { started <- struct{}{}; gate.wait(); return nil })
		}
		if s := checkStats(t, p); s.Queued != 3 || s.Working != 0 {
			t.Errorf("with limit 0: %+v", s)
		}
		g.SetLimit(3)
		for range 3 {
			recv(t, started, "a released task")
		}
		gate.open()
		if err := waitGroup(t, g); err != nil {
			t.Fatalf("Wait: %v", err)
		}
	})

	t.Run("after the first error the waiting tasks are skipped, reported canceled, never run", func(t *testing.T) {
		p := newPool(t, 0, 4)
		mustStart(t, p)
		g, _ := threadpool.NewGroup(context.Background(), p)
		g.SetLimit(1)
		boom := errors.New("boom")
		gate := newGate(t)
		g.Go(func(context.Context) error { gate.wait(); return boom })
		for range 5 {
			g.Go(func(context.Context) error { t.Error("a skipped task ran"); return nil })
		}
		gate.open()
		if err := waitGroup(t, g); err != boom {
			t.Fatalf("Wait: %v, want %v", err, boom)
		}
		if s := checkStats(t, p); s.Failed != 1 || s.Canceled != 5 || s.Queued != 0 {
			t.Errorf("Stats: %+v, want Failed 1, Canceled 5", s)
		}
	})

	t.Run("when the parent context ends the tasks not started are skipped and canceled", func(t *testing.T) {
		p := newPool(t, 0, 4)
		mustStart(t, p)
		parent, cancel := context.WithCancel(context.Background())
		g, _ := threadpool.NewGroup(parent, p)
		g.SetLimit(1)
		gate := newGate(t)
		started := make(chan struct{}, 1)
		g.Go(func(context.Context) error { started <- struct{}{}; gate.wait(); return nil })
		recv(t, started, "the first task")
		for range 5 {
			g.Go(func(context.Context) error { t.Error("a skipped task ran"); return nil })
		}
		cancel()
		gate.open()
		err := waitGroup(t, g)
		if !errors.Is(err, threadpool.ErrCanceled) || !errors.Is(err, context.Canceled) {
			t.Fatalf("Wait: %v, want ErrCanceled and context.Canceled", err)
		}
		if s := checkStats(t, p); s.Completed != 1 || s.Canceled != 5 {
			t.Errorf("Stats: %+v, want Completed 1, Canceled 5", s)
		}
	})

	t.Run("StopNow drops the group's waiting tasks with the backlog and Wait returns", func(t *testing.T) {
		p := newPool(t, 0, 1)
		mustStart(t, p)
		g, _ := threadpool.NewGroup(context.Background(), p)
		g.SetLimit(2)
		gate := newGate(t)
		started := make(chan struct{}, 1)
		g.Go(func(context.Context) error { started <- struct{}{}; gate.wait(); return nil })
		recv(t, started, "the first task")
		for range 4 {
			g.Go(func(context.Context) error { t.Error("a dropped task ran"); return nil })
		}
		if n := p.StopNow(); n != 4 {
			t.Errorf("StopNow dropped %d, want 4 (1 from the backlog, 3 from the group)", n)
		}
		gate.open()
		if err := waitGroup(t, g); !errors.Is(err, threadpool.ErrCanceled) {
			t.Fatalf("Wait: %v, want ErrCanceled", err)
		}
		if s := checkStats(t, p); s.Canceled != 4 || s.Completed != 1 {
			t.Errorf("Stats: %+v", s)
		}
	})
}

func TestResultGroup(t *testing.T) {
	t.Run("values come back in the order of the Go calls", func(t *testing.T) {
		p := newPool(t, 0, 4)
		mustStart(t, p)
		g, _ := threadpool.NewResultGroup[int](context.Background(), p)
		g.SetLimit(3)
		for i := range 100 {
			g.Go(func(context.Context) (int, error) { return i * i, nil })
		}
		done := make(chan []int, 1)
		go func() {
			vals, err := g.Wait()
			if err != nil {
				t.Errorf("Wait: %v", err)
			}
			done <- vals
		}()
		vals := recv(t, done, "ResultGroup.Wait")
		if len(vals) != 100 {
			t.Fatalf("%d values, want 100", len(vals))
		}
		for i, v := range vals {
			if v != i*i {
				t.Fatalf("vals[%d] = %d, want %d", i, v, i*i)
			}
		}
	})

	t.Run("a failed task leaves the zero value in its place and its error is Wait's", func(t *testing.T) {
		p := newPool(t, 1, 1)
		mustStart(t, p)
		g, _ := threadpool.NewResultGroup[string](context.Background(), p)
		boom := errors.New("boom")
		g.Go(func(context.Context) (string, error) { return "a", nil })
		g.Go(func(context.Context) (string, error) { return "ignored", boom })
		done := make(chan error, 1)
		var vals []string
		go func() {
			var err error
			vals, err = g.Wait()
			done <- err
		}()
		if err := recv(t, done, "ResultGroup.Wait"); err != boom {
			t.Fatalf("Wait: %v, want %v", err, boom)
		}
		if !slices.Equal(vals, []string{"a", ""}) {
			t.Errorf("values %q, want [a \"\"]", vals)
		}
	})
}

// walk is a tree walk by fan-out: each node below depth runs its two
// children as tasks of a group of its own on p and waits for them. Each
// node marks its slot in seen, so that a node run twice is caught. With
// captured, the children follow errgroup's habit: they use the context
// NewGroup returned, captured, not the one their task receives.
func walk(ctx context.Context, p *threadpool.Pool, seen []atomic.Int32, node, depth int, captured bool) error {
	if seen[node].Add(1) != 1 {
		return fmt.Errorf("node %d ran twice", node)
	}
	if depth == 0 {
		return nil
	}
	g, gctx := threadpool.NewGroup(ctx, p)
	for _, child := range []int{2*node + 1, 2*node + 2} {
		g.Go(func(ctx context.Context) error {
			if captured {
				ctx = gctx
			}
			return walk(ctx, p, seen, child, depth-1, captured)
		})
	}
	return g.Wait()
}

func TestGroupNestedWaits(t *testing.T) {
	t.Run("a walk whose tasks use the context NewGroup returned, not their own, finishes at max 1", func(t *testing.T) {
		p := newPool(t, 0, 1)
		mustStart(t, p)
		const depth = 7
		seen := make([]atomic.Int32, 1<<(depth+1)-1)
		g, ctx := threadpool.NewGroup(context.Background(), p)
		g.Go(func(context.Context) error { return walk(ctx, p, seen, 0, depth, true) })
		if err := waitGroup(t, g); err != nil {
			t.Fatalf("Wait: %v", err)
		}
		if s := checkStats(t, p); s.Completed != uint64(len(seen)) {
			t.Errorf("Stats: %+v, want %d completed", s, len(seen))
		}
	})

	t.Run("a group made by a Submit task and waited there finishes at max 1", func(t *testing.T) {
		p := newPool(t, 0, 1)
		mustStart(t, p)
		const depth = 7
		seen := make([]atomic.Int32, 1<<(depth+1)-1)
		fut := threadpool.Submit(context.Background(), p, func(ctx context.Context) (struct{}, error) {
			return struct{}{}, walk(ctx, p, seen, 0, depth, false)
		})
		ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
		defer cancel()
		if _, err := fut.Wait(ctx); err != nil {
			t.Fatalf("Wait: %v", err)
		}
	})

	const depth = 10
	const nodes = 1<<(depth+1) - 1
	for _, max := range []int{1, 2, 8} {
		t.Run(fmt.Sprintf("a tree walk %d levels deep at max %d finishes, every node run once", depth, max), func(t *testing.T) {
			p := newPool(t, 0, max)
			mustStart(t, p)
			seen := make([]atomic.Int32, nodes)
			stopSampling := sampleStats(t, p, 1) // H1 and H2 hold in every snapshot, helping included
			g, _ := threadpool.NewGroup(context.Background(), p)
			g.Go(func(ctx context.Context) error { return walk(ctx, p, seen, 0, depth, false) })
			err := waitGroup(t, g)
			stopSampling()
			if err != nil {
				t.Fatalf("Wait: %v", err)
			}
			for i := range seen {
				if n := seen[i].Load(); n != 1 {
					t.Fatalf("node %d ran %d times", i, n)
				}
			}
			s := checkStats(t, p)
			if s.Submitted != nodes || s.Completed != nodes || s.Queued != 0 || s.Working != 0 {
				t.Errorf("Stats: %+v, want %d submitted and completed", s, nodes)
			}
			if s.PeakWorkers > max {
				t.Errorf("PeakWorkers %d above max %d", s.PeakWorkers, max)
			}
		})
	}

	t.Run("every worker waiting on a group of its own at once does not deadlock", func(t *testing.T) {
		const max = 4
		p := newPool(t, 0, max)
		mustStart(t, p)
		arrived := make(chan struct{}, max)
		all := newGate(t)
		outer, _ := threadpool.NewGroup(context.Background(), p)
		var ran atomic.Int32
		for range max {
			outer.Go(func(ctx context.Context) error {
				g, _ := threadpool.NewGroup(ctx, p)
				arrived <- struct{}{}
				all.wait() // every worker is busy here before any submits
				for range 10 {
					g.Go(func(context.Context) error { ran.Add(1); return nil })
				}
				return g.Wait()
			})
		}
		for range max {
			recv(t, arrived, "a worker")
		}
		all.open()
		if err := waitGroup(t, outer); err != nil {
			t.Fatalf("Wait: %v", err)
		}
		if ran.Load() != max*10 {
			t.Errorf("ran %d, want %d", ran.Load(), max*10)
		}
	})

	t.Run("a helped task that calls Goexit or panics fails alone; the waiting task goes on", func(t *testing.T) {
		p := newPool(t, 1, 1) // one worker: the inner tasks can only be helped
		mustStart(t, p)
		fut := threadpool.Submit(context.Background(), p, func(ctx context.Context) (string, error) {
			g, _ := threadpool.NewGroup(ctx, p)
			g.Go(func(context.Context) error { runtime.Goexit(); return nil })
			errGoexit := g.Wait()
			g2, _ := threadpool.NewGroup(ctx, p)
			g2.Go(func(context.Context) error { panic("inner") })
			errPanic := g2.Wait()
			return fmt.Sprint(errors.Is(errGoexit, threadpool.ErrGoexit), " ", errPanic), nil
		})
		ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
		defer cancel()
		got, err := fut.Wait(ctx)
		if err != nil || got != "true threadpool: task panicked: inner" {
			t.Fatalf("outer task: %q, %v", got, err)
		}
		// The Future resolves as the task returns, before its worker counts
		// it: Stop waits for that.
		mustStop(t, p)
		if s := checkStats(t, p); s.Completed != 1 || s.Failed != 2 {
			t.Errorf("Stats: %+v, want Completed 1, Failed 2", s)
		}
	})

	t.Run("a parallel quicksort on a pool of max 2 sorts", func(t *testing.T) {
		p := newPool(t, 0, 2)
		mustStart(t, p)
		xs := make([]int, 20000)
		for i := range xs {
			xs[i] = (i * 7919) % 20011
		}
		want := slices.Clone(xs)
		slices.Sort(want)
		g, _ := threadpool.NewGroup(context.Background(), p)
		g.Go(func(ctx context.Context) error { return quicksort(ctx, p, xs) })
		if err := waitGroup(t, g); err != nil {
			t.Fatalf("Wait: %v", err)
		}
		if !slices.Equal(xs, want) {
			t.Error("not sorted")
		}
	})
}

// quicksort sorts xs, sorting the two sides of each partition as tasks of a
// group on p, down to small slices.
func quicksort(ctx context.Context, p *threadpool.Pool, xs []int) error {
	if len(xs) < 64 {
		slices.Sort(xs)
		return nil
	}
	pivot := xs[len(xs)/2]
	lo, hi := 0, len(xs)-1
	for lo <= hi {
		for xs[lo] < pivot {
			lo++
		}
		for xs[hi] > pivot {
			hi--
		}
		if lo <= hi {
			xs[lo], xs[hi] = xs[hi], xs[lo]
			lo++
			hi--
		}
	}
	g, _ := threadpool.NewGroup(ctx, p)
	g.Go(func(ctx context.Context) error { return quicksort(ctx, p, xs[:hi+1]) })
	g.Go(func(ctx context.Context) error { return quicksort(ctx, p, xs[lo:]) })
	return g.Wait()
}

func TestGroupFaults(t *testing.T) {
	for _, how := range []string{"calls Goexit", "panics"} {
		t.Run("an observer that "+how+" on every other task: each task observed once, counted once, a deep walk still finishes", func(t *testing.T) {
			var calls atomic.Int64
			var mu sync.Mutex
			outcomes := map[threadpool.Outcome]uint64{}
			_, log := newRecorder()
			p := newPool(t, 0, 1, threadpool.WithLogger(log), threadpool.WithObserver(func(e threadpool.TaskEnd) {
				mu.Lock()
				outcomes[e.Outcome]++
				mu.Unlock()
				if calls.Add(1)%2 == 0 {
					if how == "panics" {
						panic("observer")
					}
					runtime.Goexit()
				}
			}))
			mustStart(t, p)
			const depth = 6
			const nodes = 1<<(depth+1) - 1
			seen := make([]atomic.Int32, nodes)
			g, _ := threadpool.NewGroup(context.Background(), p)
			g.Go(func(ctx context.Context) error { return walk(ctx, p, seen, 0, depth, false) })
			if err := waitGroup(t, g); err != nil {
				t.Fatalf("Wait: %v", err)
			}
			s := stopAndCheck(t, p)
			if s.Completed != nodes || calls.Load() != nodes || outcomes[threadpool.Completed] != nodes {
				t.Errorf("Stats %+v, %d observer calls %v, want %d of each", s, calls.Load(), outcomes, nodes)
			}
		})
	}

	t.Run("helped tasks failing every way at every depth fail alone and are counted once", func(t *testing.T) {
		p := newPool(t, 0, 2)
		mustStart(t, p)
		var fail func(ctx context.Context, depth int) error
		fail = func(ctx context.Context, depth int) error {
			if depth == 0 {
				return nil
			}
			g, _ := threadpool.NewGroup(ctx, p)
			g.Go(func(ctx context.Context) error { return fail(ctx, depth-1) })
			g.Go(func(context.Context) error { runtime.Goexit(); return nil })
			g.Go(func(context.Context) error { panic(nil) })
			g.Go(func(context.Context) error { return errors.New("plain") })
			err := g.Wait()
			if err == nil {
				return errors.New("a failing group returned nil")
			}
			return nil // the failure stops here: the parent goes on
		}
		g, _ := threadpool.NewGroup(context.Background(), p)
		for range 4 {
			g.Go(func(ctx context.Context) error { return fail(ctx, 5) })
		}
		if err := waitGroup(t, g); err != nil {
			t.Fatalf("Wait: %v", err)
		}
		s := stopAndCheck(t, p)
		if s.Submitted != s.Completed+s.Failed+s.Canceled || s.Submitted == 0 {
			t.Errorf("Stats: %+v", s)
		}
	})
}

func TestGroupContextLent(t *testing.T) {
	t.Run("a goroutine a task started waits for a group made from the task's context, the task waiting on a channel", func(t *testing.T) {
		p := newPool(t, 0, 1)
		mustStart(t, p)
		outer, _ := threadpool.NewGroup(context.Background(), p)
		var ran atomic.Int32
		outer.Go(func(ctx context.Context) error {
			// The task's worker is the pool's only one: the goroutine's
			// Wait runs the group's tasks in the place of the task, which
			// waits for it. (Two such goroutines would deadlock the pool,
			// as any task waiting on a channel for work of its full pool.)
			done := make(chan error)
			go func() {
				g, _ := threadpool.NewGroup(ctx, p)
				for range 5 {
					g.Go(func(context.Context) error { ran.Add(1); return nil })
				}
				done <- g.Wait()
			}()
			return <-done
		})
		if err := waitGroup(t, outer); err != nil {
			t.Fatalf("Wait: %v", err)
		}
		if ran.Load() != 5 {
			t.Errorf("ran %d, want 5", ran.Load())
		}
		if s := stopAndCheck(t, p); s.Completed != 6 {
			t.Errorf("Stats: %+v", s)
		}
	})
}

func TestGroupOverflowPolicies(t *testing.T) {
	t.Run("under RunInCaller a task that finds the backlog full runs in Go, counted once", func(t *testing.T) {
		p, g, gate, _ := fullGroup(t, threadpool.RunInCaller)
		ranInCaller := false
		g.Go(func(context.Context) error { ranInCaller = true; return errors.New("in caller") })
		if !ranInCaller {
			t.Fatal("the third task did not run in Go")
		}
		gate.open()
		if err := waitGroup(t, g); err == nil || err.Error() != "in caller" {
			t.Fatalf("Wait: %v, want the caller-run task's error", err)
		}
		s := stopAndCheck(t, p)
		if s.CallerRan != 1 || s.Submitted != 3 || s.Failed != 1 {
			t.Errorf("Stats: %+v", s)
		}
	})

	t.Run("under Block Go waits for room when it must, and its task runs", func(t *testing.T) {
		p, g, gate, ran := fullGroup(t, threadpool.Block)
		returned := make(chan struct{})
		go func() {
			g.Go(func(context.Context) error { ran.Add(1); return nil }) // blocks for room
			close(returned)
		}()
		gate.open()
		waitClosed(t, returned, "the blocked Go")
		if err := waitGroup(t, g); err != nil {
			t.Fatalf("Wait: %v", err)
		}
		if ran.Load() != 3 {
			t.Errorf("ran %d, want 3", ran.Load())
		}
		if s := stopAndCheck(t, p); s.Completed != 3 {
			t.Errorf("Stats: %+v", s)
		}
	})
}

// meter counts the tasks running at once, a task that waits in Wait not
// counted while it waits, and keeps the most seen.
type meter struct{ now, most atomic.Int32 }

func (m *meter) enter() {
	n := m.now.Add(1)
	for most := m.most.Load(); n > most && !m.most.CompareAndSwap(most, n); most = m.most.Load() {
	}
}

func (m *meter) leave() { m.now.Add(-1) }

func TestGroupNestedWaitsKeepMax(t *testing.T) {
	for _, max := range []int{1, 2, 3} {
		t.Run(fmt.Sprintf("helping never runs more than max %d tasks at once", max), func(t *testing.T) {
			p := newPool(t, 0, max)
			mustStart(t, p)
			var m meter
			var walkM func(ctx context.Context, depth int) error
			walkM = func(ctx context.Context, depth int) error {
				m.enter()
				for i := 0; i < 200; i++ { // some work, so that tasks overlap
					runtime.Gosched()
				}
				if depth == 0 {
					m.leave()
					return nil
				}
				g, _ := threadpool.NewGroup(ctx, p)
				for range 3 {
					g.Go(func(ctx context.Context) error { return walkM(ctx, depth-1) })
				}
				m.leave() // waiting, not running
				err := g.Wait()
				m.enter()
				m.leave()
				return err
			}
			g, _ := threadpool.NewGroup(context.Background(), p)
			g.Go(func(ctx context.Context) error { return walkM(ctx, 5) })
			if err := waitGroup(t, g); err != nil {
				t.Fatalf("Wait: %v", err)
			}
			if got := m.most.Load(); got > int32(max) {
				t.Errorf("%d tasks ran at once, max %d", got, max)
			}
			if s := checkStats(t, p); s.Completed != 364 { // 1 + 3 + 9 + 27 + 81 + 243
				t.Errorf("Stats: %+v, want 364 completed", s)
			}
		})
	}
}
