package threadpool_test

import (
	"context"
	"fmt"

	"github.com/twisted-go/threadpool"
)

// Workers on OS threads of their own, each set up once before its first
// task and cleaned up as it exits: the shape of a pool for a C library with
// per-thread state (here a stand-in).
func ExampleWithWorkerInit() {
	pool, err := threadpool.New(1, 1, threadpool.WithName("gl"),
		threadpool.WithOSThreads(),
		threadpool.WithWorkerInit(func(info threadpool.ThreadInfo) (func(), error) {
			// Runs on the worker's locked thread: create the per-thread
			// context here (info.ThreadID is the thread, on Linux).
			fmt.Println("init", info.Name)
			return func() { fmt.Println("cleanup", info.Name) }, nil
		}))
	if err != nil {
		panic(err)
	}
	if err := pool.Start(); err != nil {
		panic(err)
	}
	ctx := context.Background()
	f := threadpool.Submit(ctx, pool, func(context.Context) (string, error) {
		return "rendered on the worker's thread", nil
	})
	v, err := f.Wait(ctx)
	fmt.Println(v, err)
	if err := pool.Stop(); err != nil { // waits for the cleanup
		panic(err)
	}
	// Output:
	// init PoolThread-gl-1
	// rendered on the worker's thread <nil>
	// cleanup PoolThread-gl-1
}
