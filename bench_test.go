package threadpool_test

import (
	"context"
	"runtime"
	"sync"
	"testing"

	"github.com/twisted-go/threadpool"
)

// The benchmarks of the submission paths, on a warm started pool of
// GOMAXPROCS workers. Each task's function is made once, outside the loop,
// so allocs/op is the pool's own cost per submission (the targets: 0
// for CallInThread, at most 1 beyond the Future for Submit). The peer
// comparison lives in the bench module (bench/run.sh).

// warmPool returns a started pool of GOMAXPROCS workers that have all run
// a task, stopped when the benchmark ends.
func warmPool(b *testing.B, opts ...threadpool.Option) *threadpool.Pool {
	b.Helper()
	n := runtime.GOMAXPROCS(0)
	p, err := threadpool.New(n, n, opts...)
	if err != nil {
		b.Fatal(err)
	}
	if err := p.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := p.Stop(); err != nil {
			b.Error(err)
		}
	})
	var wg sync.WaitGroup
	wg.Add(10 * n)
	for range 10 * n {
		if err := p.CallInThread(wg.Done); err != nil {
			b.Fatal(err)
		}
	}
	wg.Wait()
	return p
}

func BenchmarkCallInThread(b *testing.B) { benchCallInThread(b) }

// BenchmarkCallInThreadObserved is BenchmarkCallInThread with a task
// observer that does nothing: the cost of the timings alone.
func BenchmarkCallInThreadObserved(b *testing.B) {
	benchCallInThread(b, threadpool.WithObserver(func(threadpool.TaskEnd) {}))
}

func benchCallInThread(b *testing.B, opts ...threadpool.Option) {
	p := warmPool(b, opts...)
	var wg sync.WaitGroup
	task := func() { wg.Done() }
	b.ReportAllocs()
	b.ResetTimer()
	wg.Add(b.N)
	for range b.N {
		if err := p.CallInThread(task); err != nil {
			b.Fatal(err)
		}
	}
	wg.Wait()
}

func BenchmarkCallInThreadWithCallback(b *testing.B) {
	p := warmPool(b)
	var wg sync.WaitGroup
	task := func() (any, error) { return nil, nil }
	onResult := func(any, error) { wg.Done() }
	b.ReportAllocs()
	b.ResetTimer()
	wg.Add(b.N)
	for range b.N {
		if err := p.CallInThreadWithCallback(onResult, task); err != nil {
			b.Fatal(err)
		}
	}
	wg.Wait()
}

func BenchmarkSubmit(b *testing.B) { benchSubmit(b) }

// BenchmarkSubmitObserved is BenchmarkSubmit with a task observer that
// does nothing.
func BenchmarkSubmitObserved(b *testing.B) {
	benchSubmit(b, threadpool.WithObserver(func(threadpool.TaskEnd) {}))
}

func benchSubmit(b *testing.B, opts ...threadpool.Option) {
	p := warmPool(b, opts...)
	ctx := context.Background()
	task := func(context.Context) (int, error) { return 1, nil }
	futures := make([]*threadpool.Future[int], 0, 1024)
	wait := func() {
		for _, f := range futures {
			if v, err := f.Wait(ctx); v != 1 || err != nil {
				b.Fatalf("Future = %v, %v; want 1, nil", v, err)
			}
		}
		futures = futures[:0]
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		futures = append(futures, threadpool.Submit(ctx, p, task))
		if len(futures) == cap(futures) {
			wait()
		}
	}
	wait()
}

func BenchmarkCallInThreadParallel(b *testing.B) {
	p := warmPool(b)
	var wg sync.WaitGroup
	task := func() { wg.Done() }
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			wg.Add(1)
			if err := p.CallInThread(task); err != nil {
				b.Error(err)
				return
			}
		}
	})
	wg.Wait()
}
