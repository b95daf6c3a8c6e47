package team

// Running a task on a worker and deciding what the worker does next.

// outcome is how a task ended.
type outcome uint8

const (
	completed outcome = iota
	failed
	canceled
)

// Run executes task for worker w on the calling goroutine, then reports w
// free. A Submit task whose context ended before it started is canceled
// instead. A fire-and-forget task that panics is reported through
// Config.FuncFailed and counted failed, and w goes on. If the task ends the
// goroutine (runtime.Goexit), Run reports the task failed and w dead, and
// the team replaces w; the Goexit goes on.
//
// For a worker whose executor runs tasks directly (Team.direct), Run may
// return the worker's next task instead of handing it over with Do: the
// caller runs it next, saving a round trip through the executor.
//
// A fire-and-forget function is called from Run itself, which recovers its
// panic: no frame stands between the worker's loop, Run and the function.
// With a thousand workers each returns to a stack it left a millisecond
// ago, mostly out of cache, so every frame on the way costs a miss.
func (t *Team) Run(w *Worker, task Task) (next Task, more bool) {
	f, isFunc := task.fn()
	normal := false
	defer func() {
		if normal {
			return
		}
		// Only a function's panic is recovered here. A Job recovers its
		// own; one that escapes it anyway goes on, as a crash, rather than
		// be swallowed.
		var r any
		if isFunc {
			r = recover()
			t.cfg.FuncFailed(r)
		}
		if r != nil { // a function's panic: the worker goes on
			next, more = t.finish(w, failed, false)
			return
		}
		t.finish(w, failed, true) // runtime.Goexit or a Job's panic: the goroutine ends
	}()
	out := completed
	if isFunc {
		f()
	} else {
		out = runJob(task.job)
	}
	normal = true
	return t.finish(w, out, false)
}

// exec runs task, recovering a function's panic, and tells how it ended.
func (t *Team) exec(task Task) outcome {
	if f, ok := task.fn(); ok {
		if t.callFunc(f) {
			return failed
		}
		return completed
	}
	return runJob(task.job)
}

// runJob runs j, or cancels it if its context has ended, and tells how it
// ended. A Job recovers its own panics.
func runJob(j Job) outcome {
	if ctx := j.Context(); ctx != nil && ctx.Err() != nil {
		j.Cancel(canceledError(ctx))
		return canceled
	}
	if j.Run() {
		return failed
	}
	return completed
}

// callFunc calls a fire-and-forget function, reporting a panic or Goexit
// through Config.FuncFailed; it reports whether f failed. It serves the
// CallerRuns path (exec); a worker does the same inside Run, to keep one
// frame off its way to every task.
func (t *Team) callFunc(f func()) (failed bool) {
	normal := false
	defer func() {
		if !normal {
			t.cfg.FuncFailed(recover())
			failed = true
		}
	}()
	f()
	normal = true
	return false
}

// runInCaller runs task on the submitting goroutine (CallerRuns policy). It
// is counted when it has run: in Submitted, in Completed, Failed or Canceled
// (a Submit context already done), and in CallerRan, all at once. It never
// counts as Working: it runs outside the pool.
func (t *Team) runInCaller(task Task) error {
	out := failed // unless exec returns: the task called runtime.Goexit
	defer func() {
		t.mu.Lock()
		t.counts.Submitted++
		t.counts.CallerRan++
		t.countLocked(out)
		t.mu.Unlock()
	}()
	out = t.exec(task)
	return nil
}

func (t *Team) countLocked(out outcome) {
	switch out {
	case completed:
		t.counts.Completed++
	case failed:
		t.counts.Failed++
	default:
		t.counts.Canceled++
	}
}

// finish is the end of a task on worker w: w is free again, or dead. When
// the team's workers run what finish returns (Team.direct) and w goes on
// with the oldest backlogged task, finish returns that task.
func (t *Team) finish(w *Worker, out outcome, dead bool) (next Task, more bool) {
	t.lockWorker()
	t.countLocked(out)
	if t.direct && !dead && t.continueLocked() {
		// w stays busy with its next task: no count changes, and w's own
		// record is not touched. In a pool of many workers that record
		// is seldom in cache when a task ends.
		next, _ = t.popLocked()
		t.unlock()
		return next, true
	}
	t.busy--
	w.busy = false
	if dead {
		t.forgetLocked(w)
		w = nil
	}
	t.recycleLocked(w)
	t.checkDoneLocked()
	t.unlock()
	return Task{}, false
}

// continueLocked reports whether a busy worker whose task has just ended
// takes the oldest backlogged task next: what recycleLocked would decide
// for it, without counting it free first.
func (t *Team) continueLocked() bool {
	return t.queued > 0 && t.workersLocked() <= t.max &&
		(t.state == stateRunning || t.state == stateStopping)
}

// recycleLocked decides what the free worker w does next (Twisted's
// _recycleWorker). w is nil when the worker died: the decision is then made
// for its slot, and a fresh worker takes the slot if it is to stay, so a
// fault never costs capacity.
//
// In order: a worker above max quits (this also pays one shrink request);
// else it takes the oldest backlogged task; else it pays a shrink request by
// quitting; else, during a stop, it quits; else it waits for work. (finish
// decides the second case itself for a direct worker: continueLocked.)
func (t *Team) recycleLocked(w *Worker) {
	quit := func() {
		if w != nil {
			t.quitLocked(w)
		}
	}
	switch {
	case t.workersLocked()+1 > t.max || (t.state != stateRunning && t.state != stateStopping):
		if t.toShrink > 0 {
			t.toShrink--
		}
		quit()
	case t.queued > 0:
		task, _ := t.popLocked()
		if w == nil {
			w = t.newWorkerLocked()
		}
		t.handLocked(w, task)
	case t.toShrink > 0:
		t.toShrink--
		quit()
	case t.state == stateStopping:
		quit()
	default:
		if w == nil {
			w = t.newWorkerLocked()
		}
		t.idleLocked(w)
	}
}
