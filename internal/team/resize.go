package team

import "fmt"

// Start starts the team: it hands the backlog to new workers up to max, then
// grows to min (SPEC B2). Starting a running team does nothing; starting a
// stopped one restarts it with fresh workers. While a stop is still draining,
// Start fails with an error wrapping ErrStopped.
func (t *Team) Start() error {
	t.mu.Lock()
	defer t.settleAndUnlock()
	switch t.state {
	case stateRunning:
		return nil
	case stateStopping:
		return fmt.Errorf("%w: Start called while a stop is still draining; wait for Stop first", ErrStopped)
	}
	t.state = stateRunning
	t.crew = new(crew)
	t.readProcsLocked()
	t.drainLocked()
	t.growLocked()
	return nil
}

// growBatch is how many workers growLocked starts between two releases of
// the mutex.
const growBatch = 256

// growLocked adds idle workers up to min. It lets go of the mutex after
// every growBatch workers, so that a large min does not hold up submitters
// and Stats for the whole growth, and it stops if a stop begins meanwhile.
func (t *Team) growLocked() {
	for n := 1; t.state == stateRunning && t.workersLocked() < t.min; n++ {
		t.pushIdleLocked(t.newWorkerLocked())
		if n%growBatch == 0 {
			t.mu.Unlock()
			t.mu.Lock()
		}
	}
}

// Adjust sets min and max, already checked by the caller (SPEC D1-D3). On a
// team that is not running it only records them. Otherwise surplus idle
// workers quit now, surplus busy ones when they finish; waiting backlog goes
// to the new capacity at once; the team grows to min.
func (t *Team) Adjust(lo, hi int) {
	t.mu.Lock()
	defer t.settleAndUnlock()
	t.min, t.max = lo, hi
	if t.state != stateRunning && t.state != stateStopping {
		return
	}
	for t.workersLocked() > t.max && t.waiters > 0 {
		t.quitLocked(t.popIdleLocked())
	}
	t.drainLocked()
	if t.state == stateRunning {
		t.growLocked()
	}
	t.armIdleLocked() // a lower min lets idle workers time out again
	// Shrink requests may not take the team below the new floor.
	t.pendingShrink = min(t.pendingShrink, max(0, t.workersLocked()-t.min), t.busy)
	t.endStopIfDrainedLocked()
}

// StartAWorker adds one idle worker if the team is running below max; else
// it does nothing. It returns ErrStopped once a stop has begun.
func (t *Team) StartAWorker() error {
	t.mu.Lock()
	defer t.settleAndUnlock()
	switch t.state {
	case stateStopping, stateStopped:
		return ErrStopped
	case stateNew:
		return nil
	}
	if t.stalled {
		t.drainLocked() // an init hook failed: try again (thread.go)
	}
	// Below max, the backlog is empty: it drains whenever capacity appears.
	if t.workersLocked() >= t.max {
		return nil
	}
	t.pushIdleLocked(t.newWorkerLocked())
	return nil
}

// StopAWorker quits one idle worker now or, if none is idle, the next busy
// worker to become free. Requests never outnumber the busy workers that
// could pay them. It returns ErrStopped once a stop has begun.
func (t *Team) StopAWorker() error {
	t.mu.Lock()
	defer t.settleAndUnlock()
	switch t.state {
	case stateStopping, stateStopped:
		return ErrStopped
	case stateNew:
		return nil
	}
	if w := t.popIdleLocked(); w != nil {
		t.quitLocked(w)
		return nil
	}
	if t.pendingShrink < t.busy {
		t.pendingShrink++
	}
	return nil
}
