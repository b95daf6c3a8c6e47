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

// Task is one accepted unit of work. Exactly one of Func and Job is set; a
// zero Task is an empty backlog slot. A Task is three words: the backlog
// and the hand-over channel hold it without allocating.
type Task struct {
	// Func is a fire-and-forget task (CallInThread). Its outcome is only
	// counted (and a panic logged by Config.RunFunc).
	Func func()
	// Job is a task whose outcome is reported to someone: a callback or a
	// Future.
	Job Job
}

// Job is a task whose outcome is delivered to a receiver.
type Job interface {
	// Run runs the task on the calling goroutine and delivers its outcome. It
	// recovers the task's panics itself and reports whether the task failed
	// (returned an error, panicked or called runtime.Goexit). If the task
	// calls runtime.Goexit, Run delivers a failure before the goroutine ends.
	Run() (failed bool)
	// Cancel delivers err to the receiver of a task that will never run.
	// It is never called with the team's mutex held.
	Cancel(err error)
	// Context returns the Submit context, or nil: if it is done before
	// the task starts, the task is canceled instead of run. It must return
	// the same value every time, without calling into the context.
	Context() context.Context
}

// ctx returns the task's Submit context, or nil.
func (task Task) ctx() context.Context {
	if task.Job == nil {
		return nil
	}
	return task.Job.Context()
}

// canceledError is the error of a task whose context ended before it ran.
func canceledError(ctx context.Context) error {
	return fmt.Errorf("%w: %w", ErrCanceled, ctx.Err())
}

// cancel reports task as never run with err; counted by the caller.
func (task Task) cancel(err error) {
	if task.Job != nil {
		task.Job.Cancel(err)
	}
}
