package team

import (
	"context"
	"slices"
)

// Submit accepts task: it hands it to an idle worker, or to a new worker
// while the team is under its limit, or appends it to the backlog. The
// bookkeeping is done when Submit returns.
//
// It returns ErrStopped once a stop has begun (until a restart), and
// ErrQueueFull under the Reject policy. Under Block it waits for room, for
// a stop, or for the task's context (nil means no bound), and blocked
// submissions are accepted in the order they blocked (block.go); a
// context that ends first makes the task counted as submitted and
// canceled, and Submit returns the cancel error after reporting it to the
// task. Under RunInCaller a task that finds the backlog full runs on the
// calling goroutine before Submit returns.
//
// With an observer, the task is wrapped in its timed record first
// (observe.go): its wait starts here, before the mutex is taken.
func (t *Team) Submit(task Task) error {
	if t.cfg.Observe != nil {
		task = t.timeTask(task)
	}
	if !t.mu.TryLock() {
		t.lock()
	}
	if w := t.idleNew; w != nil && t.state == stateRunning && t.queued == 0 &&
		(w.older != nil || t.timer == nil) {
		// The common case first: an idle worker takes the task at once,
		// as dispatchLocked would place it (its first case), without the
		// checks below (none can refuse a task that runs at once). On an
		// idle pool every line of code and data this path touches may be
		// cold, so it calls nothing out of line before the hand-over: the
		// uncontended lock, the idle list and the counts are all inlined.
		// A task for a new worker, or for the last idle worker while the
		// idle timer is armed, goes the long way (dispatchLocked, whose
		// popIdleLocked disarms the timer): starting a goroutine costs
		// far more than the checks on that way.
		t.unlinkIdleLocked(w)
		t.markBusyLocked(w)
		t.counts.Submitted++
		t.mu.Unlock()
		w.handOver(task)
		return nil
	}
	// Job.Context only returns a field (its contract, task.go), so it may
	// be called here; the context's own methods are user code, called
	// after unlocking. The task drops its context once it has run or been
	// canceled, so it is read now, before a worker can have it.
	ctx := task.ctx()
	if t.state == stateStopping || t.state == stateStopped {
		t.counts.Rejected++
		t.mu.Unlock()
		return ErrStopped
	}
	if t.stalled {
		t.drainLocked() // an init hook failed: try again (thread.go)
	}
	if t.isFullLocked() {
		switch t.cfg.QueuePolicy {
		case Reject:
			t.counts.Rejected++
			t.mu.Unlock()
			return ErrQueueFull
		case RunInCaller:
			t.mu.Unlock()
			return t.runInCaller(task)
		}
		return t.block(task, ctx)
	}
	t.counts.Submitted++
	w, seq := t.dispatchLocked(task)
	t.mu.Unlock()
	if w != nil {
		// Handing over outside the mutex keeps the wake-up of a parked
		// worker out of the critical section. Nothing else can hand w a
		// task or quit it meanwhile: it is busy.
		w.handOver(task)
	} else if ctx != nil {
		t.watch(seq, ctx)
	}
	return nil
}

// isFullLocked reports whether the bounded backlog has no room for one
// more. Only a task that would wait counts against the bound.
func (t *Team) isFullLocked() bool {
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
	if t.stalled {
		t.drainLocked() // an init hook failed: try again (thread.go)
	}
	if t.canRunNowLocked() {
		w = t.popIdleLocked() // the last worker to go idle
		if w == nil {
			w = t.newWorkerLocked()
		}
		t.markBusyLocked(w)
		return w, 0
	}
	t.queued++
	return nil, t.backlog.push(entry{task: task})
}

// watch makes backlog slot seq, whose context may end, reported canceled
// (and stop holding room) as soon as ctx ends, not when a worker reaches
// it. It runs without the mutex: registering calls the context's methods.
//
// A team of synchronous executors does not register with the context: its
// callback would run on a goroutine of its own, whenever the scheduler
// lets it, and the next step of a test would see one outcome or the other.
// Its tasks' contexts are polled at each step instead (Sweep).
func (t *Team) watch(seq uint64, ctx context.Context) {
	var stop func() bool
	if !t.cfg.Synchronous {
		if stop = t.afterFunc(seq, ctx); stop == nil {
			return // ctx never ends, or its methods panicked (the task checks it as it starts)
		}
	}
	t.mu.Lock()
	if e := t.backlog.at(seq); e != nil && !e.dropped() {
		if t.watches == nil {
			t.watches = make(map[uint64]watching)
		}
		t.watches[seq] = watching{ctx: ctx, stop: stop}
		t.mu.Unlock()
		return
	}
	t.mu.Unlock()
	if stop != nil {
		t.callStop(stop) // the task left the backlog meanwhile
	}
}

// watching is the watch of one backlog slot's context: the stop function
// of its context.AfterFunc, or nil on a synchronous team, which polls ctx.
type watching struct {
	ctx  context.Context
	stop func() bool
}

// afterFunc registers dropWaiting(seq, ctx) with context.AfterFunc for a
// context that can end, and returns its stop function; nil for a context
// that cannot end (without allocating the callback). The context's methods
// are user code: if one panics, nothing is registered and afterFunc
// returns nil.
func (t *Team) afterFunc(seq uint64, ctx context.Context) (stop func() bool) {
	defer func() {
		if recover() != nil {
			stop = nil
		}
	}()
	if ctx.Done() == nil {
		return nil
	}
	return context.AfterFunc(ctx, func() { t.dropWaiting(seq, ctx) })
}

// Sweep cancels the backlogged tasks whose context has ended, oldest first.
// Only a team of synchronous executors needs it (see watch): Memory calls
// it at the start of each step. A context whose Err panics is left for the
// task to check as it starts.
func (t *Team) Sweep() {
	t.mu.Lock()
	if len(t.watches) == 0 {
		t.mu.Unlock()
		return
	}
	seqs := make([]uint64, 0, len(t.watches))
	for seq := range t.watches {
		seqs = append(seqs, seq)
	}
	slices.Sort(seqs)
	ctxs := make([]context.Context, len(seqs))
	for i, seq := range seqs {
		ctxs[i] = t.watches[seq].ctx
	}
	t.mu.Unlock()
	for i, ctx := range ctxs {
		if ended(ctx) {
			t.dropWaiting(seqs[i], ctx)
		}
	}
}

// ended reports whether ctx has ended; false if its Err method panics.
func ended(ctx context.Context) (yes bool) {
	defer func() { _ = recover() }()
	return ctx.Err() != nil
}

// dropWaiting cancels backlog slot seq because its context ended.
func (t *Team) dropWaiting(seq uint64, ctx context.Context) {
	err := CanceledError(ctx) // ctx.Err is user code: not under the mutex
	t.mu.Lock()
	if e := t.backlog.at(seq); e != nil && !e.dropped() {
		t.dropLocked(e.task, err)
		e.task = Task{}
		delete(t.watches, seq) // it has fired
		t.queued--
		t.counts.Canceled++
		t.endStopIfDrainedLocked()
	}
	t.settleAndUnlock()
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
			t.unwatchLocked(seq)
		}
		t.queued--
		return e.task, true
	}
}

// unwatchLocked ends the context watch of backlog slot seq, if it has one:
// its task has left the backlog. settleAndUnlock calls the watch's stop
// function, as it calls into the context.
func (t *Team) unwatchLocked(seq uint64) {
	if wt, ok := t.watches[seq]; ok {
		delete(t.watches, seq)
		if wt.stop != nil {
			t.stops = append(t.stops, wt.stop)
		}
	}
}

// drainLocked hands backlog to idle workers and new workers under the limit
// (used when capacity appears: start, raised max).
func (t *Team) drainLocked() {
	if t.state != stateRunning && t.state != stateStopping {
		return
	}
	t.stalled = false
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
