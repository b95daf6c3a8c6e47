package team

import "context"

// Submit accepts task: it hands it to an idle worker, or to a new worker
// while the team is under its limit, or appends it to the backlog. The
// bookkeeping is done when Submit returns.
//
// It returns ErrStopped once a stop has begun (until a restart), and
// ErrQueueFull under the Reject policy. Under Block it waits for room, for a
// stop, or for the task's context (nil means no bound); a context that ends first
// makes the task counted as submitted and canceled, and Submit returns the
// cancel error after reporting it to the task. Under CallerRuns a task that
// finds the backlog full runs on the calling goroutine before Submit
// returns.
func (t *Team) Submit(task Task) error {
	t.lock()
	if t.state == stateRunning && t.queued == 0 {
		// The common case of a pool with room, first: an idle worker
		// takes the task at once. It is dispatchLocked's first choice,
		// reached without the checks below (none can refuse a task that
		// runs at once), so it touches no more of the team than it must:
		// on an idle pool every cache line it reads may be cold.
		if w := t.popIdleLocked(); w != nil {
			t.counts.Submitted++
			t.busyLocked(w)
			t.mu.Unlock()
			w.handOver(task)
			return nil
		}
	}
	// Job.Context only returns a field, so it may be called here; the
	// context's own methods are user code, called after unlocking. The
	// task drops its context once it has run, so it is read now, before
	// a worker can have it.
	ctx := task.ctx()
	for {
		if t.state == stateStopping || t.state == stateStopped {
			t.counts.Rejected++
			t.mu.Unlock()
			return ErrStopped
		}
		if !t.fullLocked() {
			break
		}
		switch t.cfg.QueuePolicy {
		case Reject:
			t.counts.Rejected++
			t.mu.Unlock()
			return ErrQueueFull
		case CallerRuns:
			t.mu.Unlock()
			return t.runInCaller(task)
		}
		if t.room == nil {
			t.room = make(chan struct{})
		}
		room := t.room
		t.mu.Unlock()
		var ctxDone <-chan struct{}
		if ctx != nil {
			ctxDone = ctx.Done()
		}
		select {
		case <-room:
		case <-ctxDone:
			err := canceledError(ctx)
			t.mu.Lock()
			t.counts.Submitted++
			t.counts.Canceled++
			t.mu.Unlock()
			task.cancel(err)
			return err
		}
		t.lock()
	}
	t.counts.Submitted++
	w, seq := t.dispatchLocked(task)
	t.mu.Unlock()
	if w != nil {
		// Handing over outside the mutex keeps the wake-up of a parked
		// worker out of the critical section. Nothing else can hand w a
		// task or quit it meanwhile: it is busy.
		w.handOver(task)
	} else if ctx != nil && ctx.Done() != nil {
		t.watch(seq, ctx)
	}
	return nil
}

// fullLocked reports whether the bounded backlog has no room for one more.
// Only a task that would wait counts against the bound.
func (t *Team) fullLocked() bool {
	if t.cfg.QueueLimit <= 0 || t.queued < t.cfg.QueueLimit {
		return false
	}
	return !t.canRunNowLocked()
}

// canRunNowLocked reports whether a new task would go to a worker at once.
func (t *Team) canRunNowLocked() bool {
	if t.state != stateRunning || t.queued > 0 {
		return false
	}
	return t.waiters > 0 || t.workersLocked() < t.max
}

// dispatchLocked places an accepted task (SPEC A4, A6): to an idle worker,
// else to a new worker under the limit, else to the back of the backlog. A
// task never overtakes older backlogged ones. When the task goes to a
// worker, dispatchLocked counts the worker busy and returns it: the caller
// hands the task over (Executor.Do) after unlocking. Otherwise it returns
// nil and the task's sequence number in the backlog.
func (t *Team) dispatchLocked(task Task) (w *Worker, seq uint64) {
	if t.canRunNowLocked() {
		w = t.popIdleLocked()
		if w == nil {
			w = t.newWorkerLocked()
		}
		t.busyLocked(w)
		return w, 0
	}
	t.queued++
	return nil, t.backlog.push(entry{task: task})
}

// watch makes backlog slot seq, whose context can end, reported canceled
// (and stop holding room) as soon as ctx ends, not when a worker reaches
// it. It runs without the mutex: registering calls the context's methods.
func (t *Team) watch(seq uint64, ctx context.Context) {
	stop := context.AfterFunc(ctx, func() { t.dropWaiting(seq, ctx) })
	t.mu.Lock()
	if e := t.backlog.at(seq); e != nil && !e.dropped() {
		if t.watches == nil {
			t.watches = make(map[uint64]func() bool)
		}
		t.watches[seq] = stop
		t.mu.Unlock()
		return
	}
	t.mu.Unlock()
	stop() // the task left the backlog meanwhile
}

// dropWaiting cancels backlog slot seq because its context ended.
func (t *Team) dropWaiting(seq uint64, ctx context.Context) {
	err := canceledError(ctx) // ctx.Err is user code: not under the mutex
	t.mu.Lock()
	if e := t.backlog.at(seq); e != nil && !e.dropped() {
		t.notes = append(t.notes, note{e.task, err})
		e.task = Task{}
		delete(t.watches, seq) // it has fired
		t.queued--
		t.counts.Canceled++
		t.roomLocked()
		t.checkDoneLocked()
	}
	t.unlock()
}

// popLocked takes the oldest task still waiting.
func (t *Team) popLocked() (Task, bool) {
	for {
		e, seq, ok := t.backlog.pop()
		if !ok {
			return Task{}, false
		}
		if e.dropped() {
			continue
		}
		if len(t.watches) > 0 {
			if stop, ok := t.watches[seq]; ok {
				delete(t.watches, seq)
				t.stops = append(t.stops, stop) // called by unlock: it calls into the context
			}
		}
		t.queued--
		t.roomLocked()
		return e.task, true
	}
}

// roomLocked wakes the submitters waiting for backlog room, if any.
func (t *Team) roomLocked() {
	if t.room != nil {
		close(t.room)
		t.room = nil
	}
}

// drainLocked hands backlog to idle workers and new workers under the limit
// (used when capacity appears: start, raised max).
func (t *Team) drainLocked() {
	if t.state != stateRunning && t.state != stateStopping {
		return
	}
	for t.queued > 0 {
		w := t.popIdleLocked()
		if w == nil {
			if t.workersLocked() >= t.max {
				return
			}
			w = t.newWorkerLocked()
		}
		task, _ := t.popLocked()
		t.handLocked(w, task)
	}
}

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
// (a Submit context already done), and in CallerRan, all at once. It never counts as Working: it runs outside the pool.
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
