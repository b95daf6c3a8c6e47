package threadpool_test

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"

	"github.com/twisted-go/threadpool"
)

// A pool runs functions on its workers; Stop waits for all of them.
func Example() {
	pool, err := threadpool.New(2, 4, threadpool.WithName("demo"))
	if err != nil {
		panic(err)
	}
	if err := pool.Start(); err != nil {
		panic(err)
	}
	var mu sync.Mutex
	total := 0
	for i := 1; i <= 10; i++ {
		if err := pool.CallInThread(func() {
			mu.Lock()
			total += i
			mu.Unlock()
		}); err != nil {
			panic(err)
		}
	}
	if err := pool.Stop(); err != nil { // runs everything submitted, then returns
		panic(err)
	}
	fmt.Println("total:", total)
	fmt.Println("workers after Stop:", pool.Workers())
	fmt.Println("after Stop:", pool.CallInThread(func() {}))
	// Output:
	// total: 55
	// workers after Stop: 0
	// after Stop: threadpool: pool is stopped
}

// Work submitted before Start waits in the backlog; Start starts one worker
// per waiting task, up to max.
func ExamplePool_Start() {
	pool, _ := threadpool.New(0, 10)
	for range 5 {
		_ = pool.CallInThread(func() {})
	}
	fmt.Println("before Start:", pool.Workers(), "workers,", pool.QueueSize(), "queued")
	_ = pool.Start()
	fmt.Println("after Start:", pool.Workers(), "workers,", pool.QueueSize(), "queued")
	_ = pool.Stop()
	// Output:
	// before Start: 0 workers, 5 queued
	// after Start: 5 workers, 0 queued
}

// The callback runs on the worker, right after the task, with the task's
// result or error; a panic arrives as a *PanicError.
func ExamplePool_CallInThreadWithCallback() {
	pool, _ := threadpool.New(1, 1)
	_ = pool.Start()
	report := func(result any, err error) {
		var pe *threadpool.PanicError
		switch {
		case errors.As(err, &pe):
			fmt.Println("panicked:", pe.Value)
		case err != nil:
			fmt.Println("failed:", err)
		default:
			fmt.Println("result:", result)
		}
	}
	_ = pool.CallInThreadWithCallback(report, func() (any, error) { return 6 * 7, nil })
	_ = pool.CallInThreadWithCallback(report, func() (any, error) { return nil, errors.New("no luck") })
	_ = pool.CallInThreadWithCallback(report, func() (any, error) { panic("boom") })
	_ = pool.Stop()
	fmt.Println("failed tasks:", pool.Stats().Failed)
	// Output:
	// result: 42
	// failed: no luck
	// panicked: boom
	// failed tasks: 2
}

// AdjustPoolSize resizes a running pool: raising max hands waiting work to
// new workers at once; bad sizes are refused and change nothing.
func ExamplePool_AdjustPoolSize() {
	pool, _ := threadpool.New(0, 1)
	_ = pool.Start()
	release := make(chan struct{})
	for range 3 {
		_ = pool.CallInThread(func() { <-release })
	}
	fmt.Println("max 1:", pool.Working(), "working,", pool.QueueSize(), "queued")

	_ = pool.AdjustPoolSize(0, 3)
	fmt.Println("max 3:", pool.Working(), "working,", pool.QueueSize(), "queued")

	err := pool.AdjustPoolSize(5, 2)
	fmt.Println(err)
	fmt.Println("still:", pool.Min(), pool.Max())

	close(release)
	_ = pool.Stop()
	// Output:
	// max 1: 1 working, 2 queued
	// max 3: 3 working, 0 queued
	// threadpool: invalid pool size (min=5, max=2): minimum is greater than maximum
	// still: 0 3
}

// Stats is one consistent snapshot; its counters account for every task.
func ExamplePool_Stats() {
	pool, _ := threadpool.New(2, 4)
	_ = pool.Start()
	for range 8 {
		_ = pool.CallInThread(func() {})
	}
	_ = pool.CallInThreadWithCallback(func(any, error) {}, func() (any, error) {
		return nil, errors.New("bad input")
	})
	_ = pool.Stop()
	s := pool.Stats()
	fmt.Printf("submitted=%d completed=%d failed=%d canceled=%d queued=%d working=%d\n",
		s.Submitted, s.Completed, s.Failed, s.Canceled, s.Queued, s.Working)
	fmt.Println("balanced:", s.Submitted == s.Completed+s.Failed+s.Canceled+uint64(s.Queued+s.Working))
	// Output:
	// submitted=9 completed=8 failed=1 canceled=0 queued=0 working=0
	// balanced: true
}

// DumpStats writes one record through the pool's logger.
func ExamplePool_DumpStats() {
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{} // keep the output stable
			}
			return a
		},
	}))
	pool, _ := threadpool.New(2, 5, threadpool.WithName("db"), threadpool.WithLogger(logger))
	_ = pool.Start()
	pool.DumpStats()
	_ = pool.Stop()
	// Output:
	// level=INFO msg="threadpool stats" pool=db min=2 max=5 waiters=2 working=0 workers=2 queued=0 threads="[PoolThread-db-1 PoolThread-db-2]"
}

// A pool's settings survive a JSON round trip; the copy is a fresh, stopped
// pool.
func ExamplePool_MarshalJSON() {
	pool, _ := threadpool.New(7, 20, threadpool.WithName("db"))
	b, _ := pool.MarshalJSON()
	fmt.Println(string(b))

	var restored threadpool.Pool
	if err := restored.UnmarshalJSON(b); err != nil {
		panic(err)
	}
	fmt.Println(restored.Name(), restored.Min(), restored.Max(), restored.Started())
	// Output:
	// {"min":7,"max":20,"name":"db"}
	// db 7 20 false
}
