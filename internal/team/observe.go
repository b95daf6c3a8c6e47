package team

import (
	"context"
	"runtime"
	"runtime/debug"
	"time"
)

// The task observer (Config.Observe): one call per accepted task, when it
// ends, with how it ended and how long it waited and ran.
//
// Without an observer nothing here runs: a task is the Task it was given,
// no clock is read and nothing is allocated. With one, Submit wraps each
// task in a timed record (one allocation) holding the time it was
// accepted; run unwraps it, notes the start in the worker's held record,
// and finish calls the observer after releasing the mutex, once the task
// is counted. A task dropped from the backlog is observed with its
// cancellation note, after the cancellation is delivered (Team.deliver).
//
// The observer is user code. Each place that calls it takes the pending
// observation off its record first, so a Goexit in the observer costs
// nothing but a takeover (the count is done) and never a second call; a
// panic in it is recovered and reported as a Fault.

// End is what the observer is told about one task.
type End struct {
	Outcome Outcome
	Wait    time.Duration // accepted → started, or → canceled
	Run     time.Duration // started → the task (and its callback) returned; 0 if it never ran
}

// instant is a reading of the monotonic clock: nanoseconds since epoch.
// Only differences of instants mean anything.
type instant int64

// epoch is the origin of instants.
var epoch = time.Now()

// now reads the clock. time.Since reads only the monotonic clock, which
// costs about half of time.Now, which reads the wall clock too; an observed
// task reads the clock three times. Inside a testing/synctest bubble it
// reads the bubble's fake clock, so the differences of readings taken there
// are exact.
func now() instant { return instant(time.Since(epoch)) }

// timed is the Job of an accepted task while an observer is set: the task
// and the time it was accepted. run unwraps it; the team never calls its
// methods except Context.
type timed struct {
	task     Task
	accepted instant
}

func (*timed) Run() Outcome               { panic("team: a timed task is unwrapped by the team, not run") }
func (*timed) Cancel(error)               { panic("team: a timed task is unwrapped by the team, not canceled") }
func (m *timed) Context() context.Context { return m.task.ctx() }

// observation is a task's timing in hand: the record of a task that has
// started (or been dropped) and whose observer call is still to come.
type observation struct {
	on       bool    // an observation is pending
	ran      bool    // started is set
	stopped  bool    // ended is set
	accepted instant //
	started  instant // when the task started
	ended    instant // when it ended
}

// pending reports whether o is an observation still to be made.
func (o *observation) pending() bool { return o.on }

// timeTask wraps task in a timed record if the team has an observer.
func (t *Team) timeTask(task Task) Task {
	if t.cfg.Observe == nil {
		return task
	}
	return Task{job: &timed{task: task, accepted: now()}}
}

// untime returns the task a timed record holds, and the record; for any
// other task, the task itself and nil.
func untime(task Task) (Task, *timed) {
	if m, ok := task.job.(*timed); ok {
		return m.task, m
	}
	return task, nil
}

// reaccept sets the accepted time of a blocked submitter's task to now,
// the moment admitLocked accepts it; now is read once per admission step.
func reaccept(task Task, at *instant, read *bool) {
	if m, ok := task.job.(*timed); ok {
		if !*read {
			*at, *read = now(), true
		}
		m.accepted = *at
	}
}

// stop notes the time the task in hand ended, unless it is noted already
// (a goroutine taking over a task's end finishes it a second time) or no
// observation is pending.
func (o *observation) stop() {
	if o.on && !o.stopped {
		o.ended, o.stopped = now(), true
	}
}

// end returns what the observer is told of o, ended at o.ended (set now
// if not yet), with outcome out.
func (o *observation) end(out Outcome) End {
	o.stop()
	if out == Canceled || !o.ran {
		// A Submit task whose context ended before it started is started
		// by run, to check its context, but never ran.
		start := o.started
		if !o.ran {
			start = o.ended
		}
		return End{Outcome: Canceled, Wait: time.Duration(start - o.accepted)}
	}
	return End{Outcome: out, Wait: time.Duration(o.started - o.accepted), Run: time.Duration(o.ended - o.started)}
}

// observe gives e to the observer. A panic in it is recovered and reported
// as a Fault; a Goexit ends the calling goroutine, as it would for any
// user code, and the caller has already taken the observation off its
// record.
func (t *Team) observe(e End) {
	if v, stack, panicked := t.callObserver(e); panicked {
		t.report(Fault{What: "observer", Value: v, Stack: stack})
	}
}

// callObserver calls the observer; it returns only if the observer returned
// or panicked, and tells which.
func (t *Team) callObserver(e End) (v any, stack []byte, panicked bool) {
	normal := false
	defer func() {
		if !normal {
			// A panic, or a Goexit (then this call never returns).
			v, stack, panicked = recover(), debug.Stack(), true
			if v == nil {
				v = new(runtime.PanicNilError) // panic(nil) under GODEBUG=panicnil=1
			}
		}
	}()
	t.cfg.Observe(e)
	normal = true
	return nil, nil, false
}

// observeHeld calls the observer for the task in st's hand, whose
// observation is pending (observeEnded checks); the observation is taken
// off st first.
func (t *Team) observeHeld(st *held) {
	o := st.obs
	st.obs = observation{}
	t.observe(o.end(st.out))
}
