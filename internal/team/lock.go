package team

import "runtime"

// Acquiring the mutex on the hot paths.
//
// The critical sections are a few dozen nanoseconds, but sync.Mutex stops
// spinning as soon as its processor's run queue is not empty, which in a
// busy pool is nearly always. A submitter or worker that finds the mutex
// held then parks, and is woken onto a run queue behind every runnable
// goroutine. In a pool with thousands of workers that turns into a convoy:
// the waiters queue up faster than they are served, the mutex switches to
// its starvation mode, and from then on every Unlock hands the processor
// to the next waiter: a goroutine switch per critical section (tiny tasks
// on 10,000 workers cost 5× more than they do without it).
//
// So the hot paths retry TryLock for about a microsecond first, and a
// worker of a crowded pool (many more workers than processors) goes on
// retrying between yields of its processor instead of parking: it cannot
// join a queue of waiters, so no convoy forms. The submitter never yields:
// it would wait behind the workers it feeds. With a single processor
// spinning cannot help (the holder is not running), so both go straight to
// Lock.

// lock acquires t.mu for a submitter.
func (t *Team) lock() {
	if t.spin && t.spinLock() {
		return
	}
	t.mu.Lock()
}

// lockWorker acquires t.mu for a worker ending a task.
func (t *Team) lockWorker() {
	if t.spin {
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

// spinLock tries to acquire t.mu for about a microsecond.
func (t *Team) spinLock() bool {
	for i := range spinTries {
		if t.mu.TryLock() {
			return true
		}
		pause(spinPause << i)
	}
	return false
}

const (
	spinTries   = 6  // TryLock attempts per round
	spinPause   = 16 // pause loop iterations after the first failed attempt, doubling after each
	yieldRounds = 50 // rounds of a crowded pool's worker before it parks after all
	crowdFactor = 8  // a pool is crowded above this many workers per processor
)

// pause busy-waits for n iterations of an empty loop (the compiler keeps
// it), about a nanosecond each.
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
