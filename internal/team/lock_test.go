package team

import (
	"sync"
	"sync/atomic"
	"testing"
)

// A crowded pool's workers may take the mutex through lockWorker's yield
// rounds. Forced on (whatever GOMAXPROCS is), with several submitters
// racing them, every task still runs once and the books balance; the flag
// follows the number of workers both ways.
func TestCrowdedWorkersLockByYielding(t *testing.T) {
	const workers, submitters, perSubmitter = 64, 4, 5000
	tm := New(0, workers, Config{RunFunc: func(f func()) bool { f(); return false }})
	tm.spin, tm.crowd = true, 8 // as on a machine with one processor per 8 of these workers
	if err := tm.Start(); err != nil {
		t.Fatal(err)
	}
	var ran atomic.Int64
	var running, peak atomic.Int32
	task := func() {
		if n := running.Add(1); n > peak.Load() {
			peak.Store(n) // a lower bound of the true peak is enough here
		}
		ran.Add(1)
		running.Add(-1)
	}
	var wg sync.WaitGroup
	for range submitters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range perSubmitter {
				if err := tm.Submit(FuncTask(task)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	// No submission is left and no worker can time out: the workers stay.
	if s, c := tm.Snapshot(), tm.crowded.Load(); c != (s.Workers > tm.crowd) {
		t.Fatalf("crowded = %v with %d workers (crowd %d)", c, s.Workers, tm.crowd)
	}
	st := tm.Stop(false)
	if st.Done != nil {
		<-st.Done
	}
	if st.Workers != nil {
		st.Workers.Wait()
	}
	const total = submitters * perSubmitter
	if got := ran.Load(); got != total {
		t.Fatalf("ran %d tasks, want %d", got, total)
	}
	s := tm.Snapshot()
	if s.Submitted != total || s.Completed != total || s.Workers != 0 || s.Working != 0 || s.Queued != 0 {
		t.Fatalf("books after stop: %+v", s)
	}
	if peak.Load() > workers {
		t.Fatalf("%d tasks ran at once, max %d", peak.Load(), workers)
	}
	if tm.crowded.Load() {
		t.Fatal("crowded is still set with no worker left")
	}
}
