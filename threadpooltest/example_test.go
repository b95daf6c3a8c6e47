package threadpooltest_test

import (
	"context"
	"fmt"

	"github.com/twisted-go/threadpool"
	"github.com/twisted-go/threadpool/threadpooltest"
)

// thumbnails is the code under test: it fans the images out onto the pool
// and returns one Future per image. In production it gets a pool from
// threadpool.New; its test gives it one from threadpooltest.New.
func thumbnails(ctx context.Context, p *threadpool.Pool, sizes []int) []*threadpool.Future[int] {
	futs := make([]*threadpool.Future[int], len(sizes))
	for i, size := range sizes {
		futs[i] = threadpool.Submit(ctx, p, func(context.Context) (int, error) {
			if size <= 0 {
				return 0, fmt.Errorf("image %d: bad size %d", i, size)
			}
			return size / 4, nil
		})
	}
	return futs
}

// Testing code that takes a *threadpool.Pool, step by step: the pool is
// real, but its workers run a task only when the test calls RunOne or
// RunAll, on the test's goroutine. No sleeps, no goroutines, no flakes.
func Example() {
	ctx := context.Background()
	pool, workers := threadpooltest.New(0, 2) // at most 2 tasks at once
	if err := pool.Start(); err != nil {
		panic(err)
	}

	futs := thumbnails(ctx, pool, []int{800, 0, 1200})

	// show prints which Futures have resolved, and the pool's counts.
	show := func(step string) {
		fmt.Printf("%-9s running=%d waiting=%d resolved=[", step, pool.Working(), pool.QueueSize())
		for i, f := range futs {
			select {
			case <-f.Done():
				v, err := f.Wait(ctx)
				fmt.Printf(" %d:%v", i, valueOrError(v, err))
			default:
				fmt.Printf(" %d:-", i)
			}
		}
		fmt.Println(" ]")
	}

	show("submitted")
	workers.RunOne() // the oldest task: image 0; its worker takes image 2
	show("RunOne")
	workers.RunOne()
	show("RunOne")
	fmt.Println("ran:", workers.RunAll())
	show("RunAll")

	s := pool.Stats()
	fmt.Printf("completed=%d failed=%d workers created=%d\n", s.Completed, s.Failed, workers.Created())

	_ = pool.Stop() // never waits on a test pool; nothing is left to run
	fmt.Println("live workers after Stop:", workers.Live())

	// Output:
	// submitted running=2 waiting=1 resolved=[ 0:- 1:- 2:- ]
	// RunOne    running=2 waiting=0 resolved=[ 0:200 1:- 2:- ]
	// RunOne    running=1 waiting=0 resolved=[ 0:200 1:image 1: bad size 0 2:- ]
	// ran: 1
	// RunAll    running=0 waiting=0 resolved=[ 0:200 1:image 1: bad size 0 2:300 ]
	// completed=2 failed=1 workers created=2
	// live workers after Stop: 0
}

func valueOrError(v int, err error) any {
	if err != nil {
		return err
	}
	return v
}
