package schedmodel

import "slices"

// Submit accepts task id or refuses it, and reports whether it was
// accepted. A stop under way or ended refuses it (counted in Rejected).
// Otherwise it counts in Submitted and goes to an idle worker, else to a
// new worker below Max, else, or before Start, to the back of the backlog
// (A4, A6: never past older waiting tasks). ctxDone says its context had
// already ended: a worker it is handed to skips it (Finish with Canceled),
// and one that would wait is canceled at once, never entering the backlog.
func (m *Model) Submit(id int, ctxDone bool) (accepted bool) {
	if m.refusing() {
		m.Rejected++
		return false
	}
	m.Submitted++
	if m.State == StateRunning && len(m.Backlog) == 0 && (m.Idle > 0 || m.Workers() < m.Max) {
		m.handOver(id)
		if ctxDone {
			m.Finish(id, Canceled)
		}
		return true
	}
	if ctxDone {
		m.cancel(id)
		m.endStopIfDrained()
		return true
	}
	m.Backlog = append(m.Backlog, id)
	return true
}

// CancelWaiting cancels task id because its context ended, if it is in the
// backlog (a watched context drops its task at once); it reports whether it
// was there. A task already on a worker is not affected.
func (m *Model) CancelWaiting(id int) bool {
	i := slices.Index(m.Backlog, id)
	if i < 0 {
		return false
	}
	m.Backlog = slices.Delete(m.Backlog, i, i+1)
	m.cancel(id)
	m.endStopIfDrained()
	return true
}

// handOver gives task id to an idle worker, else to a new one; the caller
// has checked that there is room.
func (m *Model) handOver(id int) {
	if m.Idle > 0 {
		m.Idle--
	} else {
		m.newWorker()
	}
	m.Busy = append(m.Busy, id)
	m.notePeak()
}

// cancel counts accepted task id canceled before any worker had it.
func (m *Model) cancel(id int) {
	m.Canceled++
	if m.OnCancel != nil {
		m.OnCancel(id)
	}
}
