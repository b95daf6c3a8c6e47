package team

import "runtime"

// Acquiring the mutex on the hot paths.
//
// The critical sections are a few dozen nanoseconds, but sync.Mutex stops
// spinning as soon as its processor's run queue is not empty, which in a
// busy pool is nearly always, and parks the caller. In a pool with
// thousands of runnable workers the parked waiters pile up, some wait
// longer than a millisecond, the mutex switches to its starvation mode, and
// every Unlock then hands the mutex to the next waiter in line: about a
// goroutine switch per critical section.
//
// So the hot paths first retry TryLock for well under a microsecond, and a
// worker of a crowded pool (more than crowdFactor workers per processor)
// then goes on retrying between yields of its processor, up to yieldRounds
// times, before it parks after all. Far fewer goroutines park on the mutex,
// and the starvation mode, when something does set it off, drains quickly.
// The submitter does not yield: measured, that starves the pool of work
// (it waits behind the workers it feeds). With a single processor spinning
// cannot help (the holder is not running), so both go straight to Lock.
//
// spin and crowd follow GOMAXPROCS, which can change while the program
// runs (the runtime follows the CPU limit of a container since Go 1.25;
// tests run with -cpu). Reading it takes a lock of the scheduler, so the
// hot paths do not: the team reads it when it is made and when it starts,
// and then, under mu, whenever the count of tasks ended with one outcome
// (Completed, Failed or Canceled) reaches a multiple of procsEvery
// (countLocked). Those counters are written as each task ends anyway, so
// the check adds no field and no cache line to the path. A count, not the
// slow points (a worker starting, parking, timing out), because the pool
// where spinning matters most, saturated and of a fixed size, has none of
// those. A stale value only changes when this spins or yields, for a few
// thousand tasks at most, never what the pool does.
//
// This is tuning, not a guarantee; what it bought is in
// docs/performance.md.

// readProcsLocked sets spin and crowd from GOMAXPROCS, unless a test has
// pinned them.
func (t *Team) readProcsLocked() {
	if t.pinned {
		return
	}
	procs := runtime.GOMAXPROCS(0)
	if spin := procs > 1; spin != t.spin.Load() {
		t.spin.Store(spin)
	}
	if c := crowdFactor * procs; c != t.crowd {
		t.crowd = c
		t.setCrowdedLocked()
	}
}

// lock acquires t.mu for a submitter. Submit tries TryLock once inline
// first, so that taking a free mutex calls nothing.
func (t *Team) lock() {
	if t.spin.Load() && t.spinLock() {
		return
	}
	t.mu.Lock()
}

// lockWorker acquires t.mu for a worker ending a task.
func (t *Team) lockWorker() {
	if t.spin.Load() {
		if t.spinLock() {
			return
		}
		if t.crowded.Load() {
			for range yieldRounds {
				runtime.Gosched()
				if t.spinLock() {
					return
				}
			}
		}
	}
	t.mu.Lock()
}

// spinLock tries to acquire t.mu spinTries times, pausing between tries.
func (t *Team) spinLock() bool {
	for i := range spinTries {
		if t.mu.TryLock() {
			return true
		}
		if i < spinTries-1 {
			pause(spinPause << i)
		}
	}
	return false
}

const (
	cacheLine   = 64   // bytes; see Team.mu
	spinTries   = 6    // TryLock attempts per round
	spinPause   = 16   // pause loop iterations after the first failed attempt, doubling after each (496 in all)
	yieldRounds = 50   // rounds of a crowded pool's worker before it parks after all
	crowdFactor = 8    // a pool is crowded above this many workers per processor
	procsEvery  = 1024 // tasks ended by workers between two reads of GOMAXPROCS
)

// pause busy-waits for n iterations of an empty loop (the compiler keeps
// it), about a processor cycle each.
func pause(n int) {
	for i := 0; i < n; i++ {
	}
}

// setCrowdedLocked updates t.crowded after the number of workers changed.
func (t *Team) setCrowdedLocked() {
	if c := len(t.workers) > t.crowd; c != t.crowded.Load() {
		t.crowded.Store(c)
	}
}
