package threadpooltest_test

// Task groups on the deterministic double: each step is the test's.

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/twisted-go/threadpool"
	"github.com/twisted-go/threadpool/threadpooltest"
)

func TestGroupStepByStep(t *testing.T) {
	t.Run("a limited group's tasks run one step at a time, in order, counted at each step", func(t *testing.T) {
		p, w := threadpooltest.New(0, 3)
		if err := p.Start(); err != nil {
			t.Fatal(err)
		}
		g, _ := threadpool.NewResultGroup[int](context.Background(), p)
		g.SetLimit(2)
		var order []int
		for i := range 5 {
			g.Go(func(context.Context) (int, error) { order = append(order, i); return 10 * i, nil })
		}
		// Two handed to workers, three waiting in the group.
		wantCounts(t, "after Go ×5", p, w, counts{Workers: 2, Working: 2, Queued: 3, Pending: 2, Live: 2})
		for step := 1; step <= 5; step++ {
			if !w.RunOne() {
				t.Fatalf("step %d: nothing to run", step)
			}
			queued := max(0, 3-step)
			working := min(2, 5-step)
			wantCounts(t, "after a step", p, w, counts{
				Workers: 2, Working: working, Waiters: 2 - working, Queued: queued, Pending: working, Live: 2,
			})
		}
		if w.RunOne() {
			t.Fatal("a sixth task ran")
		}
		vals, err := g.Wait()
		if err != nil || !slices.Equal(vals, []int{0, 10, 20, 30, 40}) || !slices.Equal(order, []int{0, 1, 2, 3, 4}) {
			t.Fatalf("Wait: %v, %v; order %v", vals, err, order)
		}
	})

	t.Run("a failure drops the waiting tasks at that step", func(t *testing.T) {
		p, w := threadpooltest.New(0, 1)
		if err := p.Start(); err != nil {
			t.Fatal(err)
		}
		g, ctx := threadpool.NewGroup(context.Background(), p)
		g.SetLimit(1)
		boom := errors.New("boom")
		g.Go(func(context.Context) error { return boom })
		g.Go(func(context.Context) error { t.Error("a skipped task ran"); return nil })
		g.Go(func(context.Context) error { t.Error("a skipped task ran"); return nil })
		wantCounts(t, "after Go ×3", p, w, counts{Workers: 1, Working: 1, Queued: 2, Pending: 1, Live: 1})
		w.RunOne()
		if ctx.Err() == nil {
			t.Error("the group's context is not canceled after the failure")
		}
		wantCounts(t, "after the failure", p, w, counts{Workers: 1, Waiters: 1, Live: 1})
		if s := p.Stats(); s.Failed != 1 || s.Canceled != 2 {
			t.Errorf("Stats: %+v", s)
		}
		if err := g.Wait(); err != boom {
			t.Fatalf("Wait: %v, want %v", err, boom)
		}
	})

	t.Run("Wait runs the pending tasks itself rather than block, nested waits included", func(t *testing.T) {
		p, w := threadpooltest.New(0, 1)
		if err := p.Start(); err != nil {
			t.Fatal(err)
		}
		g, _ := threadpool.NewGroup(context.Background(), p)
		ran := 0
		g.Go(func(ctx context.Context) error {
			inner, _ := threadpool.NewGroup(ctx, p) // its tasks can only be helped: max is 1
			for range 3 {
				inner.Go(func(context.Context) error { ran++; return nil })
			}
			return inner.Wait()
		})
		if err := g.Wait(); err != nil {
			t.Fatalf("Wait: %v", err)
		}
		if ran != 3 || w.Pending() != 0 {
			t.Errorf("ran %d inner tasks, %d pending", ran, w.Pending())
		}
		if s := p.Stats(); s.Completed != 4 || s.Queued != 0 || s.Working != 0 {
			t.Errorf("Stats: %+v", s)
		}
	})
}
