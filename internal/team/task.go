package team

import (
	"context"
	"errors"
	"fmt"
)

// The sentinel errors of the pool. The root package re-exports them under the
// same names, so errors.Is works across the two packages.
var (
	ErrStopped   = errors.New("threadpool: pool is stopped")
	ErrCanceled  = errors.New("threadpool: task canceled before it ran")
	ErrQueueFull = errors.New("threadpool: backlog is full")
)

// Task is one accepted unit of work: a fire-and-forget function
// (FuncTask) or a Job. The zero Task is an empty backlog slot. A Task is
// one interface value, two words: the backlog and the hand-over channel
// hold it without allocating, and the garbage collector has two words per
// waiting task to scan.
type Task struct {
	job Job
}

// FuncTask makes the Task of a fire-and-forget function (CallInThread). Its
// outcome is only counted (and a panic or Goexit reported to Config.Fault).
func FuncTask(f func()) Task { return Task{job: funcJob(f)} }

// JobTask makes the Task of a Job: a task whose outcome is reported to
// someone, a callback or a Future.
func JobTask(j Job) Task { return Task{job: j} }

// funcJob carries a fire-and-forget function as a Job. A func value is one
// pointer, so the conversion to the interface does not allocate. The team
// calls it itself (Team.run) and recovers its panics, never
// through Job.Run; it has no receiver to cancel and no context.
type funcJob func()

func (funcJob) Run() Outcome             { panic("team: a funcJob is called by the team, not through Run") }
func (funcJob) Cancel(error)             {}
func (funcJob) Context() context.Context { return nil }

// fn returns the function of a fire-and-forget task.
func (task Task) fn() (func(), bool) {
	f, ok := task.job.(funcJob)
	return f, ok
}

// reported tells whether someone receives the task's outcome (a Job that
// is not a fire-and-forget function).
func (task Task) reported() bool {
	_, isFunc := task.fn()
	return task.job != nil && !isFunc
}

// Outcome is how a task ended.
type Outcome uint8

const (
	Completed Outcome = iota // ran and succeeded
	Failed                   // returned an error, panicked or called runtime.Goexit
	Canceled                 // never ran: its context ended first, or a stop dropped it
)

// Job is a task whose outcome is delivered to a receiver.
type Job interface {
	// Run runs the task on the calling goroutine, or cancels it if its
	// context has ended, and delivers its outcome. It recovers the panics
	// of the task and of the context's methods itself, and tells how the
	// task ended. If the task calls runtime.Goexit, Run delivers a failure
	// before the goroutine ends (and does not return).
	Run() Outcome
	// Cancel delivers err to the receiver of a task that will never run.
	// It is never called with the team's mutex held.
	Cancel(err error)
	// Context returns the Submit context, or nil: if it is done before
	// the task starts, the task is canceled instead of run. It must return
	// the same value every time until the task has run or been canceled,
	// without calling into the context: the team calls it with its mutex
	// held.
	Context() context.Context
}

// ctx returns the task's Submit context, or nil.
func (task Task) ctx() context.Context {
	if task.job == nil {
		return nil
	}
	return task.job.Context()
}

// CanceledError is the error of a task whose context ended before it ran.
// ctx.Err is user code: a panic in it is recovered and reported in the
// error instead.
func CanceledError(ctx context.Context) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: the context's Err method panicked: %v", ErrCanceled, r)
		}
	}()
	return fmt.Errorf("%w: %w", ErrCanceled, ctx.Err())
}

// cancel reports task as never run with err; counted by the caller.
func (task Task) cancel(err error) {
	if task.job != nil {
		task.job.Cancel(err)
	}
}
