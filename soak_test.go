package threadpool_test

// TestSoak: many tiny tasks of all three kinds go through one pool
// (directly and through the backlog); the live heap after GC, and the
// goroutine count, must be the same before and after.

import (
	"context"
	"runtime"
	"sync"
	"testing"

	"github.com/twisted-go/threadpool"
)

// relSoakTolerance is how much the live heap may grow over the soak.
//
// Why 256 KiB: anything the pool retained per task would be at least one
// pointer-sized slot plus the closure it points to (16 bytes or more), so
// over the full soak (1,000,000 tasks) a leak of a single object per task
// shows up as 16 MB or more, and over the default 200,000 tasks as 3.2 MB or
// more; even one leaked object per 64 tasks is caught at full count. The
// noise is far below 256 KiB: measured growth is about 10 KiB (the runtime's
// own heap, such as timers, sudogs and the testing package's buffers, moves
// a little between two forced GCs), and the pool's own structures (backlog
// ring, worker records) are sized by the peak backlog, which the warm-up
// reaches first.
const relSoakTolerance = 256 << 10

func relLiveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// relSoakRun pushes n tasks through p in waves of 4,096 (submitted faster
// than they run, so most of a wave goes through the backlog); it returns
// how many ran.
func relSoakRun(t *testing.T, p *threadpool.Pool, n int) int {
	const wave = 4096
	ran := 0
	var count sync.WaitGroup
	var mu sync.Mutex
	futs := make([]*threadpool.Future[int], 0, wave)
	for done := 0; done < n; {
		k := min(wave, n-done)
		count.Add(k)
		futs = futs[:0]
		for i := 0; i < k; i++ {
			switch i % 3 {
			case 0:
				if err := p.CallInThread(func() { count.Done() }); err != nil {
					t.Fatal(err)
				}
			case 1:
				if err := p.CallInThreadWithCallback(func(any, error) { count.Done() },
					func() (any, error) { return nil, nil }); err != nil {
					t.Fatal(err)
				}
			default:
				i := i
				futs = append(futs, threadpool.Submit(context.Background(), p, func(context.Context) (int, error) {
					count.Done()
					return i, nil
				}))
			}
		}
		within(t, "soak wave", count.Wait)
		for _, f := range futs {
			if _, err := f.Wait(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		clear(futs)
		mu.Lock()
		ran += k
		mu.Unlock()
		done += k
	}
	return ran
}

// TestSoak runs THREADPOOL_SOAK tiny tasks (default 200,000; CI runs
// 1,000,000) and checks that the heap after GC and the number of goroutines
// stay flat.
func TestSoak(t *testing.T) {
	n := envInt(t, "THREADPOOL_SOAK", 200_000)
	p, _ := startCountedPool(t, 2, 8)
	relSoakRun(t, p, 40_000) // warm-up: the pool's structures reach their size
	relIdle(t, p)
	g0 := runtime.NumGoroutine()
	h0 := relLiveHeap()
	ran := relSoakRun(t, p, n)
	relIdle(t, p)
	h1 := relLiveHeap()
	g1 := runtime.NumGoroutine()
	growth := int64(h1) - int64(h0)
	s := p.Stats()
	t.Logf("SOAK tasks=%d ran=%d heap_before=%d heap_after=%d growth=%d tolerance=%d goroutines_before=%d goroutines_after=%d failed=%d canceled=%d",
		n, ran, h0, h1, growth, relSoakTolerance, g0, g1, s.Failed, s.Canceled)
	if ran != n {
		t.Errorf("ran %d of %d", ran, n)
	}
	if growth > relSoakTolerance {
		t.Errorf("live heap grew by %d bytes over %d tasks (%.2f bytes/task); tolerance %d", growth, n, float64(growth)/float64(n), relSoakTolerance)
	}
	if g1 != g0 {
		t.Errorf("goroutines: %d before, %d after", g0, g1)
	}
	if want := uint64(n + 40_000); s.Completed != want || s.Submitted != want {
		t.Errorf("Submitted %d Completed %d, want %d", s.Submitted, s.Completed, want)
	}
}
