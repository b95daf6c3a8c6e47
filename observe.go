package threadpool

import (
	"errors"
	"strconv"
	"time"

	"github.com/twisted-go/threadpool/internal/team"
)

// Outcome is how a task ended, as told to the observer of [WithObserver].
type Outcome uint8

const (
	// Completed: the task ran and succeeded (and its callback returned).
	Completed Outcome = iota
	// Failed: the task returned an error, panicked or called
	// runtime.Goexit, or its callback panicked.
	Failed
	// Canceled: the task was accepted but never ran: its Submit context
	// ended before it started, [Pool.StopNow] dropped it, or a stop
	// canceled a backlog that could never run.
	Canceled
)

// String returns "completed", "failed" or "canceled".
func (o Outcome) String() string {
	switch o {
	case Completed:
		return "completed"
	case Failed:
		return "failed"
	case Canceled:
		return "canceled"
	}
	return "Outcome(" + strconv.Itoa(int(o)) + ")"
}

// TaskEnd is what the observer of [WithObserver] is told about one task
// when it ends.
//
// Wait is the time from the task's acceptance to its start or, for a
// canceled task, to its cancellation. A task is accepted when its
// submission is called (for a submission that blocked under [Block], when
// it got its room): the time it waits in the backlog, and the hand-over
// to a worker, are in Wait. A task that starts is started on its worker
// (or on the submitter, under [RunInCaller]) right before its function is
// called; a Submit task whose context has ended is found canceled at that
// moment instead. A task dropped from the backlog is canceled when the
// step that dropped it (StopNow, Stop, the end of its context) releases
// the pool's lock; a Block submission whose context ends while it waits
// for room is accepted and canceled at once (Wait is 0).
//
// Run is the time from the start to the moment the task's function and its
// callback (or the resolution of its [Future]) have returned: the time the
// task held a worker. It is 0 for a canceled task. For a task that ended
// its goroutine (runtime.Goexit), Run ends when the pool has taken over
// from that goroutine.
//
// Both are differences of readings of the monotonic clock (as
// [time.Since] takes them), so inside a testing/synctest bubble they are
// exact fake-clock durations.
type TaskEnd struct {
	Outcome Outcome
	Wait    time.Duration
	Run     time.Duration
}

// WithObserver sets f as the pool's task observer: f is called once for
// every accepted task, when it ends, with how it ended and how long it
// waited and ran (see [TaskEnd]). Tasks run by [RunInCaller] and tasks
// canceled before they ran are observed too; refused submissions (Rejected
// in [Stats]) are not. Calls for different tasks may run concurrently and
// in any order; f must be safe for concurrent use, and short: it runs on
// the worker (or on the goroutine that canceled the task), and that worker
// starts its next task only when f returns, although Stats may already
// count it idle.
//
// f is called after the task is counted in [Stats], never with the pool's
// lock held, so it may call any method of the pool. A task that ran is
// observed on its worker after its callback (or Future); a task canceled
// from the backlog, after its callback got [ErrCanceled]. [Pool.Stop]
// returns after the calls for every task that ran on the pool's workers
// have returned.
//
// If f panics, the panic is recovered and logged once at Error level
// through the pool's logger ("threadpool: observer panicked"), and the
// worker goes on; if f calls runtime.Goexit, the goroutine ends and, on a
// worker, is replaced at once. Neither changes how the task was counted
// or costs capacity.
//
// Without an observer (the default) the pool reads no clock and allocates
// nothing for timings. With one, each accepted task costs one small
// allocation and three clock readings (README, Observability). A later
// WithObserver replaces an earlier one; to feed several consumers, call
// them from one f. A nil f makes New fail.
func WithObserver(f func(TaskEnd)) Option {
	return option(func(s *settings) {
		if f == nil {
			optionErr(s, errors.New("threadpool: WithObserver: nil observer"))
			return
		}
		s.Observe = func(e team.End) {
			f(TaskEnd{Outcome: Outcome(e.Outcome), Wait: e.Wait, Run: e.Run})
		}
	})
}
