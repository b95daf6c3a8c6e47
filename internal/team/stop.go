package team

// Stopping says how a call to Stop, StopNow or Shutdown went.
type Stopping struct {
	// Done is closed when the drain has ended; nil if there was nothing
	// to wait for.
	Done <-chan struct{}
	// Workers is the generation of worker goroutines to wait for after
	// Done; nil if none.
	Workers *crew
	// FromWorker is true when the caller runs on one of the team's own
	// workers: waiting would deadlock.
	FromWorker bool
	// Dropped counts the tasks canceled because they could never run.
	Dropped int
}

// Wait waits for the drain and then for the worker goroutines to return,
// or until abort is closed (a nil abort never is). It reports whether both
// ended.
func (s Stopping) Wait(abort <-chan struct{}) bool {
	if s.Done != nil {
		select {
		case <-s.Done:
		case <-abort:
			return false
		}
	}
	return s.Workers == nil || s.Workers.wait(abort)
}

// Stop begins a stop (SPEC E1): no new work is accepted, running tasks
// finish, the backlog runs, idle workers quit now and busy ones when the
// backlog is empty. With now set, the backlog is canceled instead (E5). A
// backlog that can never run (never started, or max 0) is canceled too
// (E6). Stopping a stopping team joins the stop under way; a stopped team
// has nothing to wait for.
func (t *Team) Stop(now bool) Stopping {
	t.mu.Lock()
	defer t.settleAndUnlock()
	var s Stopping
	switch t.state {
	case stateStopped:
		// A worker's goroutine can still be ending: its init hook's cleanup
		// runs after the stop's drain (thread.go).
		return Stopping{Workers: t.crew, FromWorker: t.threaded && t.isWorkerGoroutine(goid())}
	case stateNew:
		t.state = stateStopped
		s.Dropped = t.cancelBacklogLocked(ErrCanceled)
		return s
	case stateRunning:
		t.state = stateStopping
		t.done = make(chan struct{})
		for t.waiters > 0 {
			t.quitLocked(t.popIdleLocked())
		}
	}
	if now {
		s.Dropped = t.cancelBacklogLocked(ErrCanceled)
	}
	s.Dropped += t.endStopIfDrainedLocked()
	s.Workers = t.crew
	if t.state == stateStopping {
		s.Done = t.done
		s.FromWorker = t.isWorkerGoroutine(goid())
	} else if t.threaded {
		s.FromWorker = t.isWorkerGoroutine(goid()) // see stateStopped above
	}
	return s
}

// cancelBacklogLocked drops every waiting task, to be reported with err
// by settleAndUnlock, and returns how many it dropped.
func (t *Team) cancelBacklogLocked(err error) int {
	n := 0
	for {
		task, ok := t.popLocked()
		if !ok {
			return n
		}
		n++
		t.counts.Canceled++
		t.dropLocked(task, err)
	}
}

// endStopIfDrainedLocked ends a stop whose drain is over: the team is
// then stopped and Stopping.Done closed. It does nothing unless a stop is
// under way. A backlog that no worker is left to run is drained to new
// workers, or canceled if none can start (max is 0, or init hooks keep
// failing); it returns how many tasks that dropped.
func (t *Team) endStopIfDrainedLocked() int {
	if t.state != stateStopping {
		return 0
	}
	dropped := 0
	if t.queued > 0 && t.workersLocked() == 0 {
		if t.max == 0 || (t.stalled && t.failRun >= stopRetries) { // workers cannot start (thread.go)
			dropped = t.cancelBacklogLocked(ErrCanceled)
		} else {
			t.drainLocked()
		}
	}
	if t.queued > 0 || t.workersLocked() > 0 || t.exiting > 0 || t.firing > 0 {
		return dropped
	}
	// Only dropped slots can be left: free them. Sequence numbers go on, so
	// that a late dropWaiting can never find another task under its number.
	t.backlog = backlog{first: t.backlog.first + uint64(t.backlog.n)}
	t.watches = nil
	t.state = stateStopped
	close(t.done)
	t.pendingShrink = 0
	return dropped
}
