package team

// lock acquires t.mu on the hot paths (Submit, the end of a task),
// retrying for about a microsecond before it parks.
//
// The critical sections are a few dozen nanoseconds, but sync.Mutex stops
// spinning as soon as its processor's run queue is not empty, which in a
// busy pool is nearly always: a submitter or worker that finds the mutex
// held then parks behind every runnable goroutine, and in a pool with
// thousands of workers each such collision costs far more than the
// critical section it waited for. With a single processor spinning cannot
// help (the holder is not running), so lock goes straight to Lock.
func (t *Team) lock() {
	if t.spin {
		for i := range spinTries {
			if t.mu.TryLock() {
				return
			}
			pause(spinPause << i)
		}
	}
	t.mu.Lock()
}

const (
	spinTries = 6  // attempts before parking
	spinPause = 16 // pause loop iterations after the first failed attempt, doubling after each
)

// pause busy-waits for n iterations of an empty loop (the compiler keeps
// it), about a nanosecond each.
func pause(n int) {
	for i := 0; i < n; i++ {
	}
}
