package team

import (
	"reflect"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"
)

// A crowded pool's workers may take the mutex through lockWorker's yield
// rounds. Forced on (whatever GOMAXPROCS is), with several submitters
// racing them, every task still runs once and the books balance; the flag
// follows the number of workers both ways.
func TestCrowdedWorkersLockByYielding(t *testing.T) {
	const workers, submitters, perSubmitter = 64, 4, 5000
	tm := New(0, workers, Config{})
	tm.pinProcs(true, 8) // as on a machine with one processor per 8 of these workers
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
	st.Wait(nil)
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

// A crowded pool's worker that cannot get the mutex through all its yield
// rounds parks on it after all, and finishes its task once it is free: the
// test holds the mutex while the worker's task ends, and releases it only
// once the worker is blocked in Lock.
func TestCrowdedWorkerParksAfterItsYieldRounds(t *testing.T) {
	tm := New(0, 1, Config{})
	tm.pinProcs(true, 0) // crowded from the first worker, whatever GOMAXPROCS is
	if err := tm.Start(); err != nil {
		t.Fatal(err)
	}
	started, gate := make(chan struct{}), make(chan struct{})
	if err := tm.Submit(FuncTask(func() { close(started); <-gate })); err != nil {
		t.Fatal(err)
	}
	<-started
	if !tm.crowded.Load() {
		t.Fatal("a pool with crowd 0 and one worker is not crowded")
	}
	tm.mu.Lock()
	close(gate)
	// Wait, without sleeping, until the worker is parked in Lock under
	// lockWorker: the yield rounds are over.
	buf := make([]byte, 1<<16)
	for {
		n := runtime.Stack(buf, true)
		if parkedInLockWorker(string(buf[:n])) {
			break
		}
		runtime.Gosched()
	}
	tm.mu.Unlock()
	st := tm.Stop(false)
	st.Wait(nil)
	if s := tm.Snapshot(); s.Completed != 1 || s.Workers != 0 {
		t.Fatalf("after the stop: %+v", s)
	}
}

// pinProcs sets spin and crowd by hand, whatever GOMAXPROCS is, for good.
func (t *Team) pinProcs(spin bool, crowd int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.pinned = true
	t.spin.Store(spin)
	t.crowd = crowd
	t.setCrowdedLocked()
}

// procsNow returns spin, crowd and crowded, read together.
func (t *Team) procsNow() (spin bool, crowd int, crowded bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.spin.Load(), t.crowd, t.crowded.Load()
}

// spin and crowd follow a change of GOMAXPROCS at the documented point:
// when the count of tasks ended with one outcome reaches a multiple of
// procsEvery, and not before. Memory workers run each task on the test's
// goroutine, so the point is exact.
func TestSpinAndCrowdFollowGOMAXPROCS(t *testing.T) {
	old := runtime.GOMAXPROCS(0)
	t.Cleanup(func() { runtime.GOMAXPROCS(old) })
	m := &Memory{}
	tm := New(0, 1, Config{NewExecutor: m.Factory(), Synchronous: true})
	if err := tm.Start(); err != nil {
		t.Fatal(err)
	}
	run := func(n int, task func()) {
		t.Helper()
		for range n {
			if err := tm.Submit(FuncTask(task)); err != nil {
				t.Fatal(err)
			}
			if !m.RunOne() {
				t.Fatal("no task to run")
			}
		}
	}
	want := func(procs int) {
		t.Helper()
		spin, crowd, crowded := tm.procsNow()
		if spin != (procs > 1) || crowd != crowdFactor*procs || crowded != (tm.Snapshot().Workers > crowd) {
			t.Fatalf("spin %v, crowd %d, crowded %v; want those of GOMAXPROCS %d", spin, crowd, crowded, procs)
		}
	}
	want(old)
	for _, procs := range []int{1, 3, 2, 1} {
		runtime.GOMAXPROCS(procs)
		run(procsEvery-1, func() {}) // up to the task before the point
		if procs != old {
			want(old)
		}
		run(1, func() {})
		want(procs)
		old = procs
	}
	// Failed tasks are counted apart: their own count reaches the point.
	runtime.GOMAXPROCS(2)
	run(procsEvery-1, func() { panic("fails") })
	want(1)
	run(1, func() { panic("fails") })
	want(2)
	st := tm.Stop(false)
	st.Wait(nil)
}

// On goroutine workers too, spin and crowd follow GOMAXPROCS once the
// workers have ended procsEvery tasks, and a team started again reads it at
// once.
func TestSpinAndCrowdFollowGOMAXPROCSOnWorkers(t *testing.T) {
	old := runtime.GOMAXPROCS(0)
	t.Cleanup(func() { runtime.GOMAXPROCS(old) })
	procs := 1
	if old == 1 {
		procs = 2
	}
	tm := New(0, 4, Config{})
	if err := tm.Start(); err != nil {
		t.Fatal(err)
	}
	runtime.GOMAXPROCS(procs)
	for range procsEvery {
		if err := tm.Submit(FuncTask(func() {})); err != nil {
			t.Fatal(err)
		}
	}
	stopWithin(t, tm)
	if s := tm.Snapshot(); s.Completed != procsEvery {
		t.Fatalf("completed %d tasks, want %d", s.Completed, procsEvery)
	}
	if spin, crowd, _ := tm.procsNow(); spin != (procs > 1) || crowd != crowdFactor*procs {
		t.Fatalf("after %d tasks: spin %v, crowd %d; want those of GOMAXPROCS %d", procsEvery, spin, crowd, procs)
	}
	runtime.GOMAXPROCS(old)
	if err := tm.Start(); err != nil {
		t.Fatal(err)
	}
	if spin, crowd, _ := tm.procsNow(); spin != (old > 1) || crowd != crowdFactor*old {
		t.Fatalf("after a restart: spin %v, crowd %d; want those of GOMAXPROCS %d", spin, crowd, old)
	}
	stopWithin(t, tm)
}

// stopWithin stops tm and waits for it, at most a minute.
func stopWithin(t *testing.T, tm *Team) {
	t.Helper()
	abort := make(chan struct{})
	timer := time.AfterFunc(time.Minute, func() { close(abort) })
	defer timer.Stop()
	if st := tm.Stop(false); !st.Wait(abort) {
		t.Fatal("the team did not stop within a minute")
	}
}

// parkedInLockWorker reports whether a goroutine in the dump is blocked in
// sync.Mutex.Lock called from lockWorker.
func parkedInLockWorker(dump string) bool {
	for _, g := range strings.Split(dump, "\n\n") {
		i := strings.Index(g, "sync.(*Mutex).Lock")
		if i >= 0 && strings.Contains(g[i:], "(*Team).lockWorker") && strings.Contains(g, "[sync.Mutex.Lock") {
			return true
		}
	}
	return false
}

// The mutex has a cache line to itself, whatever the Team's alignment: mu
// is 8 bytes at an offset that is a multiple of 8, so a line holding it
// starts at most 56 bytes before it, and no other field may overlap the
// span from there to a line after mu's start.
func TestMutexHasItsOwnCacheLine(t *testing.T) {
	typ := reflect.TypeFor[Team]()
	mu, _ := typ.FieldByName("mu")
	lo, hi := mu.Offset, mu.Offset+mu.Type.Size()
	for i := range typ.NumField() {
		f := typ.Field(i)
		if f.Name == "mu" || f.Name == "_" {
			continue
		}
		start, end := f.Offset, f.Offset+f.Type.Size()
		if start < lo+cacheLine && end > hi-cacheLine {
			t.Errorf("field %s [%d, %d) is within %d bytes of mu [%d, %d)", f.Name, start, end, cacheLine, lo, hi)
		}
	}
}

// A Worker's hot fields (hand-over, task end, idle list) fit in its first
// cache line, and the record is in the 128-byte size class, whose objects
// start on a line.
func TestWorkerHotFieldsShareALine(t *testing.T) {
	var w Worker
	if end := unsafe.Offsetof(w.older) + unsafe.Sizeof(w.older); end > cacheLine {
		t.Errorf("the hot fields end at byte %d, past the first line", end)
	}
	for _, off := range []uintptr{unsafe.Offsetof(w.ch), unsafe.Offsetof(w.busy), unsafe.Offsetof(w.pos), unsafe.Offsetof(w.exec), unsafe.Offsetof(w.newer)} {
		if off >= cacheLine {
			t.Errorf("a hot field at byte %d is past the first line", off)
		}
	}
	// Sizes 113-128 are allocated in the 128-byte class.
	if size := unsafe.Sizeof(w); size <= 112 || size > 128 {
		t.Errorf("Worker is %d bytes, not in the 128-byte size class: its records may no longer start on a line", size)
	}
}
