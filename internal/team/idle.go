package team

import "time"

// The idle set. Idle workers are kept in the order they went idle: new work
// takes the most recent one (its stack is warm), and the idle timeout
// retires the oldest ones first. The list runs through the workers' own
// records (Worker.newer, Worker.older), on the cache line a hand-over
// touches anyway, rather than through a slice whose slots would be one more
// line to fetch on every hand-over. With an idle timeout,
// one timer per pool is armed for the moment the oldest idle worker is due,
// and only while some idle worker could exit (the pool has more than min
// workers): no timer runs, and no goroutine exists for it, while no worker
// is idle.

// pushIdleLocked makes w, which is not busy, wait for work: it becomes the
// newest idle worker (popIdleLocked takes it back), the peak is raised if
// need be, and the idle timer is armed if some idle worker could now exit
// (armIdleLocked).
func (t *Team) pushIdleLocked(w *Worker) {
	if t.cfg.IdleTimeout > 0 {
		w.idleSince = time.Now()
	}
	w.older = t.idleNew
	if w.older != nil {
		w.older.newer = w
	} else {
		t.idleOld = w
	}
	t.idleNew = w
	t.waiters++
	if n := t.workersLocked(); n > t.peak {
		t.peak = n
	}
	t.armIdleLocked()
}

// popIdleLocked takes the most recently idled worker, or nil; it is then
// neither idle nor busy. The idle timer is disarmed when no idle worker is
// left.
func (t *Team) popIdleLocked() *Worker {
	w := t.idleNew
	if w == nil {
		return nil
	}
	t.unlinkIdleLocked(w)
	if t.waiters == 0 {
		t.disarmIdleLocked()
	}
	return w
}

// unlinkIdleLocked takes w, the most recently idled worker, off the idle
// list. It writes no other worker's record: the next worker's newer link is
// left pointing at w (see Worker.newer), so a hand-over fetches one worker
// record, not two, which counts where workers go idle and are reused all
// the time. It calls nothing, so it is inlined, and
// Submit's fast path uses it directly (see there); the idle timer is left
// to popIdleLocked.
func (t *Team) unlinkIdleLocked(w *Worker) {
	t.idleNew = w.older
	if t.idleNew == nil {
		t.idleOld = nil
	}
	w.newer, w.older = nil, nil
	t.waiters--
}

// popOldestIdleLocked takes the worker idle the longest, which exists (the
// idle timeout's end of the list).
func (t *Team) popOldestIdleLocked() *Worker {
	w := t.idleOld
	if w == t.idleNew {
		t.idleNew, t.idleOld = nil, nil
	} else {
		t.idleOld = w.newer
		t.idleOld.older = nil
	}
	w.newer, w.older = nil, nil
	t.waiters--
	return w
}

// armIdleLocked arms the idle timer for the oldest idle worker if the pool
// has an idle timeout, the timer is not armed, and some idle worker could
// exit.
func (t *Team) armIdleLocked() {
	d := t.cfg.IdleTimeout
	if d <= 0 || t.timer != nil || t.idleOld == nil || t.workersLocked() <= t.min {
		return
	}
	t.timerSeq++
	seq := t.timerSeq
	wait := time.Until(t.idleOld.idleSince.Add(d))
	t.timer = time.AfterFunc(wait, func() { t.expire(seq) })
}

// disarmIdleLocked stops the idle timer, if armed.
func (t *Team) disarmIdleLocked() {
	if t.timer == nil {
		return
	}
	if !t.timer.Stop() {
		t.firing++ // its function runs soon and finds itself stale
	}
	t.timer = nil
}

// expire is the idle timer's function for arm number seq: the workers idle
// for the timeout exit, oldest first, while the pool is above min.
func (t *Team) expire(seq uint64) {
	t.mu.Lock()
	if t.timer == nil || t.timerSeq != seq {
		t.firing-- // stopped too late: counted by disarmIdleLocked
	} else {
		t.timer = nil
		now := time.Now()
		for t.idleOld != nil && t.workersLocked() > t.min &&
			!now.Before(t.idleOld.idleSince.Add(t.cfg.IdleTimeout)) {
			t.quitLocked(t.popOldestIdleLocked())
		}
		t.armIdleLocked()
	}
	t.endStopIfDrainedLocked()
	t.settleAndUnlock()
}
