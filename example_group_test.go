package threadpool_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/twisted-go/threadpool"
)

// sharedPool makes the program's one shared pool, for the examples of groups.
func sharedPool() *threadpool.Pool {
	pool, err := threadpool.New(0, 8, threadpool.WithName("shared"))
	if err != nil {
		panic(err)
	}
	if err := pool.Start(); err != nil {
		panic(err)
	}
	return pool
}

// An errgroup program moves onto a shared pool by three lines: the import,
// the constructor, and the function given to Go, which takes the group's
// context as an argument. Its limit becomes a share of the pool, whose max
// bounds every group at once and can be resized while they run.
//
//   - "golang.org/x/sync/errgroup"
//
//   - "github.com/twisted-go/threadpool"
//
//   - g, ctx := errgroup.WithContext(ctx)
//
//   - g, ctx := threadpool.NewGroup(ctx, pool)
//
//   - g.Go(func() error {
//
//   - g.Go(func(ctx context.Context) error {
func ExampleNewGroup() {
	pool := sharedPool()
	defer pool.Stop()

	words := []string{"alpha", "beta", "gamma", "delta", "epsilon"}
	upper := make([]string, len(words))

	g, ctx := threadpool.NewGroup(context.Background(), pool)
	g.SetLimit(2) // at most 2 of this group's tasks in the pool at once
	for i, w := range words {
		g.Go(func(ctx context.Context) error {
			if err := ctx.Err(); err != nil {
				return err // a sibling failed: give up early
			}
			upper[i] = strings.ToUpper(w)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		fmt.Println("error:", err)
		return
	}
	fmt.Println(upper, ctx.Err())
	// Output:
	// [ALPHA BETA GAMMA DELTA EPSILON] context canceled
}

// A ResultGroup returns its tasks' values in the order of the Go calls.
func ExampleNewResultGroup() {
	pool := sharedPool()
	defer pool.Stop()

	g, _ := threadpool.NewResultGroup[int](context.Background(), pool)
	for _, w := range []string{"a", "bb", "ccc"} {
		g.Go(func(context.Context) (int, error) { return len(w), nil })
	}
	lengths, err := g.Wait()
	fmt.Println(lengths, err)
	// Output:
	// [1 2 3] <nil>
}

// Tasks may fan out on their own pool and wait, to any depth: a Wait on a
// worker runs its group's waiting tasks itself rather than hold the worker.
// Here a pool of one worker sums a tree of 1,023 nodes.
func ExampleGroup_Wait_nested() {
	pool, _ := threadpool.New(0, 1)
	_ = pool.Start()

	var sum func(ctx context.Context, depth int) (int, error)
	sum = func(ctx context.Context, depth int) (int, error) {
		if depth == 0 {
			return 1, nil
		}
		g, _ := threadpool.NewResultGroup[int](ctx, pool)
		for range 2 {
			g.Go(func(ctx context.Context) (int, error) { return sum(ctx, depth-1) })
		}
		parts, err := g.Wait()
		return 1 + parts[0] + parts[1], err
	}
	fut := threadpool.Submit(context.Background(), pool, func(ctx context.Context) (int, error) { return sum(ctx, 9) })
	n, err := fut.Wait(context.Background())
	_ = pool.Stop()
	fmt.Println(n, err, pool.Stats().Completed)
	// Output:
	// 1023 <nil> 1023
}
