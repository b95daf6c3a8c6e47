package team

import "time"

// The idle set. Idle workers are kept in the order they went idle: new work
// takes the most recent one (its stack is warm), and the idle timeout
// retires the oldest ones first. With an idle timeout, one timer per pool
// is armed for the moment the oldest idle worker is due, and only while
// some idle worker could exit (the pool has more than min workers): no
// timer runs, and no goroutine exists for it, while no worker is idle.

// idleLocked makes w, which is not busy, wait for work.
func (t *Team) idleLocked(w *Worker) {
	if t.cfg.IdleTimeout > 0 {
		w.idleSince = time.Now()
	}
	t.idle = append(t.idle, w)
	if n := t.workersLocked(); n > t.peak {
		t.peak = n
	}
	t.armIdleLocked()
}

// popIdleLocked takes the most recently idled worker, or nil; it is then
// neither idle nor busy.
func (t *Team) popIdleLocked() *Worker {
	last := len(t.idle) - 1
	if last < 0 {
		return nil
	}
	w := t.idle[last]
	t.idle[last] = nil
	t.idle = t.idle[:last]
	if last == 0 {
		t.disarmIdleLocked()
	}
	return w
}

// armIdleLocked arms the idle timer for the oldest idle worker if the pool
// has an idle timeout, the timer is not armed, and some idle worker could
// exit.
func (t *Team) armIdleLocked() {
	d := t.cfg.IdleTimeout
	if d <= 0 || t.timer != nil || len(t.idle) == 0 || t.workersLocked() <= t.min {
		return
	}
	t.timerSeq++
	seq := t.timerSeq
	wait := time.Until(t.idle[0].idleSince.Add(d))
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
		k := 0
		for k < len(t.idle) && t.workersLocked()-k > t.min &&
			!now.Before(t.idle[k].idleSince.Add(t.cfg.IdleTimeout)) {
			k++
		}
		for _, w := range t.idle[:k] {
			t.quitLocked(w)
		}
		t.idle = append(t.idle[:0], t.idle[k:]...)
		clear(t.idle[len(t.idle) : len(t.idle)+k])
		t.armIdleLocked()
	}
	t.checkDoneLocked()
	t.unlock()
}
