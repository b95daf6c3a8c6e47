package team

import (
	"runtime"
	"runtime/debug"
)

// Running a task on a worker and deciding what the worker does next.
//
// User code can end the goroutine that runs it (runtime.Goexit) wherever it
// runs: in the task, in the logger that reports the task's failure, in a
// cancellation delivered after the task. So the state of a task in hand is
// not kept in a frame that a Goexit would unwind, but in a held record, and
// each step moves it on before it calls user code. Whoever takes over from
// an ended goroutine (takeOver, settleAside) carries on from that record:
// a task in hand is never lost, and a task is never counted twice.

// stage is how far the task in hand has got.
type stage uint8

const (
	stageIdle   stage = iota // no task running; held.task may be the next one to run
	stageRun                 // the task is running (run has not returned)
	stageReport              // the task has ended; its fault is being reported
)

// held is what a worker, or a goroutine running a task in the caller, has
// in hand.
type held struct {
	task  Task  // the task to run next (run clears it as the task starts)
	stage stage //
	out   Outcome
	fault *Fault      // a fire-and-forget task's failure, not yet reported
	dead  bool        // the worker is to be replaced, not continued (memory workers)
	obs   observation // the task's timing, while its observer call is pending (observe.go)
	mem   *Member     // the group membership of the task in hand, until it is counted out of its group
	slot  *slot       // the working slot of the goroutine running the tasks (nil in the caller)
}

// Fault is a failure of user code that nobody else receives: a
// fire-and-forget task that panicked or called runtime.Goexit, a context's
// AfterFunc stop function that panicked, a task observer that panicked, or
// a worker's init hook or its cleanup that failed (thread.go).
type Fault struct {
	What   string // "task", "context AfterFunc stop", "observer", "worker init" or "worker cleanup"
	Value  any    // the recovered value; a *runtime.PanicNilError for panic(nil), nil for a Goexit
	Goexit bool   // the goroutine was ended by runtime.Goexit
	Err    error  // the error a worker's init hook returned (thread.go)
	Stack  []byte // the stack where the failure was recovered
}

// run starts st.task: it runs a fire-and-forget function, recovering its
// panic into st.fault, or a Job, which recovers its own. It returns only if
// the task did not end the goroutine; st.stage is stageRun until finish.
//
// A fire-and-forget function is called from run itself: no frame stands
// between the worker's loop, run and the function, and each frame on that
// way is one more stack line a worker must bring back into cache.
func (t *Team) run(st *held) {
	task := st.task
	st.task = Task{} // the pool keeps no reference to a task once it runs
	st.stage = stageRun
	if m, ok := task.job.(*timed); ok {
		task = m.task
		st.obs = observation{on: true, ran: true, accepted: m.accepted, started: now()}
	}
	f, isFunc := task.fn()
	if !isFunc {
		if m, ok := task.job.(grouped); ok {
			st.mem = m.member()
			st.mem.slot.Store(st.slot) // a group it makes knows where its Wait runs
		}
		st.out = task.job.Run()
		return
	}
	normal := false
	defer func() {
		if !normal {
			// A panic, or a Goexit (recover returns nil): finish tells
			// them apart by whether run returned.
			st.out = Failed
			st.fault = &Fault{What: "task", Value: recover(), Stack: debug.Stack()}
		}
	}()
	f()
	normal = true
	st.out = Completed
}

// finish ends the task in hand of worker w, which may be nil (a task run in
// the caller, finished by finishInCaller): it reports a fire-and-forget
// fault, then counts the outcome and decides what w does next. goexited
// says that the task ended its goroutine (it was still in stageRun when the
// goroutine ended). On return st.stage is stageIdle and st.task is the task
// that w runs next, when the team's workers take it from here (Team.direct)
// and w goes on with the oldest backlogged task.
//
// With an observer, the task is observed last, after the mutex is
// released: a Goexit there finds st idle, with the next task in hand.
func (t *Team) finish(w *Worker, st *held, goexited bool) {
	st.obs.stop()
	t.settleOutcome(st, goexited)
	t.lockWorker()
	t.countLocked(st.out)
	if st.mem != nil {
		t.leaveGroupLocked(st, true) // its next task, if any, goes to w through the backlog
	}
	st.stage = stageIdle
	if t.direct && !st.dead && t.shouldContinueLocked() {
		// w stays busy with its next task: no count changes, and w's own
		// record is not touched (it is seldom in cache when a task ends in
		// a pool of many workers).
		st.task, _ = t.popLocked()
		t.settleAndUnlock()
		t.observeEnded(st)
		return
	}
	t.busy--
	w.busy = false
	if st.dead {
		t.forgetLocked(w)
		w = nil
	}
	t.recycleLocked(w)
	t.endStopIfDrainedLocked()
	t.settleAndUnlock()
	t.observeEnded(st)
}

// leaveGroupLocked counts the task in hand out of its group, if it is a
// group's; next says whether the worker may take the group's next task
// through the backlog (endLocked).
func (t *Team) leaveGroupLocked(st *held, next bool) {
	if m := st.mem; m != nil {
		st.mem = nil
		m.slot.Store(nil)
		t.endLocked(m.g, next)
	}
}

// observeEnded calls the observer for the task in hand if an observation is
// pending (observeHeld). Its callers have released the mutex.
func (t *Team) observeEnded(st *held) {
	if st.obs.pending() {
		t.observeHeld(st)
	}
}

// settleOutcome settles how the task in hand ended, before it is counted:
// a task that ended its goroutine failed, and a fire-and-forget task's
// fault is reported to Config.Fault, user code (once: st moves on before
// the user code that reports it runs).
func (t *Team) settleOutcome(st *held, goexited bool) {
	if goexited {
		st.out = Failed
	}
	if st.fault == nil {
		return
	}
	f := *st.fault
	st.fault = nil
	st.stage = stageReport
	f.Goexit = goexited
	if !goexited && f.Value == nil {
		// panic(nil) under GODEBUG=panicnil=1: recover returned nil, but run
		// returned, so it was a panic. It is reported as the runtime reports
		// panic(nil) by default.
		f.Value = new(runtime.PanicNilError)
	}
	t.report(f)
}

// report gives f to Config.Fault. The receiver is user code (the pool's
// logger): a panic in it is recovered and dropped, as there is nobody left
// to tell.
func (t *Team) report(f Fault) {
	defer func() { _ = recover() }()
	t.cfg.Fault(f)
}

// settleAside finishes st on new goroutines, one after the other, while
// step leaves it unsettled. The calling goroutine is ending (runtime.Goexit),
// and step runs user code that could end a goroutine again: on a goroutine
// of its own, step always starts afresh, and each step moves st.stage on
// before calling user code, so this ends.
func settleAside(st *held, step func(st *held, goexited bool)) {
	for st.stage != stageIdle {
		goexited := st.stage == stageRun
		done := make(chan struct{})
		go func() {
			defer close(done)
			step(st, goexited)
		}()
		<-done
	}
}

// runInCaller runs task on the submitting goroutine (RunInCaller policy). It
// is counted when it has run: in Submitted, in Completed, Failed or Canceled
// (a Submit context already done), and in CallerRan, all at once. It never
// counts as Working: it runs outside the pool. While it runs, the goroutine
// counts as one of the team's own for Stop, which must not wait for it.
//
// A task that calls runtime.Goexit ends the submitting goroutine, as it
// would end a worker; it is still reported and counted as it unwinds.
func (t *Team) runInCaller(task Task) error {
	id := goid()
	t.addGoroutine(id)
	st := held{task: task}
	defer func() {
		t.dropGoroutine(id)
		if st.stage != stageIdle {
			settleAside(&st, t.finishInCaller)
		}
	}()
	t.run(&st)
	t.finishInCaller(&st, false)
	return nil
}

// finishInCaller is finish for a task run in the caller.
func (t *Team) finishInCaller(st *held, goexited bool) {
	st.obs.stop()
	t.settleOutcome(st, goexited)
	t.mu.Lock()
	t.counts.Submitted++
	t.counts.CallerRan++
	t.countLocked(st.out)
	t.leaveGroupLocked(st, false)
	st.stage = stageIdle
	t.settleAndUnlock()
	t.observeEnded(st)
}

// countLocked counts a task that has ended with out. Every procsEvery
// tasks of one outcome, it reads GOMAXPROCS again (lock.go).
func (t *Team) countLocked(out Outcome) {
	n := &t.counts.Canceled
	switch out {
	case Completed:
		n = &t.counts.Completed
	case Failed:
		n = &t.counts.Failed
	}
	*n++
	if *n%procsEvery == 0 {
		t.readProcsLocked()
	}
}

// shouldContinueLocked reports whether a busy worker whose task has just
// ended takes the oldest backlogged task next: what recycleLocked would
// decide for it, without counting it free first. It changes nothing.
func (t *Team) shouldContinueLocked() bool {
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
// decides the second case itself for a direct worker: shouldContinueLocked.)
func (t *Team) recycleLocked(w *Worker) {
	quit := func() {
		if w != nil {
			t.quitLocked(w)
		}
	}
	switch {
	case t.workersLocked()+1 > t.max || (t.state != stateRunning && t.state != stateStopping):
		if t.pendingShrink > 0 {
			t.pendingShrink--
		}
		quit()
	case t.queued > 0:
		task, _ := t.popLocked()
		if w == nil {
			w = t.newWorkerLocked()
		}
		t.handLocked(w, task)
	case t.pendingShrink > 0:
		t.pendingShrink--
		quit()
	case t.state == stateStopping:
		quit()
	default:
		if w == nil {
			w = t.newWorkerLocked()
		}
		t.pushIdleLocked(w)
	}
}
