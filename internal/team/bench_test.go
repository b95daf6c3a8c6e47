package team

import (
	"runtime"
	"sync"
	"testing"
)

// The dispatch benchmarks of the core: Submit and a worker ending a task,
// the two paths that take the mutex for every task. The root package's
// bench_test.go measures the same through the public API; the peer
// comparison lives in the bench module. docs/performance.md says how to
// compare two versions.

// BenchmarkGOMAXPROCS is the cost of reading GOMAXPROCS, which the team
// re-reads now and then (lock.go).
func BenchmarkGOMAXPROCS(b *testing.B) {
	for range b.N {
		runtime.GOMAXPROCS(0)
	}
}

// BenchmarkGOMAXPROCSParallel reads GOMAXPROCS on every processor at once:
// the read takes a lock of the scheduler.
func BenchmarkGOMAXPROCSParallel(b *testing.B) {
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			runtime.GOMAXPROCS(0)
		}
	})
}

// BenchmarkDispatch submits empty tasks from one goroutine to a started
// team of GOMAXPROCS workers.
func BenchmarkDispatch(b *testing.B) { benchDispatch(b, runtime.GOMAXPROCS(0), 1) }

// BenchmarkDispatchCrowded is BenchmarkDispatch on a crowded team (more
// than crowdFactor workers per processor), from 4 submitters: its workers
// yield while they wait for the mutex.
func BenchmarkDispatchCrowded(b *testing.B) {
	benchDispatch(b, 4*crowdFactor*runtime.GOMAXPROCS(0), 4)
}

func benchDispatch(b *testing.B, workers, submitters int) {
	tm := New(workers, workers, Config{})
	if err := tm.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		st := tm.Stop(false)
		st.Wait(nil)
	})
	var wg sync.WaitGroup
	task := FuncTask(func() { wg.Done() })
	submit := func(n int) {
		for range n {
			if err := tm.Submit(task); err != nil {
				b.Error(err)
				return
			}
		}
	}
	wg.Add(10 * workers)
	submit(10 * workers) // every worker has run
	wg.Wait()
	b.ReportAllocs()
	b.ResetTimer()
	wg.Add(b.N)
	var subs sync.WaitGroup
	for i := range submitters {
		n := b.N / submitters
		if i == 0 {
			n += b.N % submitters
		}
		subs.Go(func() { submit(n) })
	}
	subs.Wait()
	wg.Wait()
}
