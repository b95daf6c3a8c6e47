package threadpool

import (
	"context"
	"errors"
	"sync/atomic"

	"github.com/twisted-go/threadpool/internal/team"
)

// Future is the typed result of a task: the Go counterpart of the Deferred
// that Twisted's deferToThreadPool returns. It resolves exactly once; any
// number of goroutines may wait for it and all see the same value and error.
type Future[T any] struct {
	done     chan struct{}
	resolved atomic.Bool
	val      T     // written once, before done is closed
	err      error // written once, before done is closed
	job      submitted[T]
}

// Submit runs f(ctx) on a worker of p and returns a Future of its result.
//
// The task receives ctx. If ctx is done before the task starts, the task is
// skipped and the Future resolves with an error wrapping both [ErrCanceled]
// and ctx.Err() (a ctx already done at Submit counts as submitted, then
// canceled); a task waiting in the backlog is reported as soon as its ctx
// ends. Once a task has started, ctx is the task's to honour.
//
// The Future resolves with f's result and error (both as f returned them); with a *[PanicError] if f
// panics; with an error if f calls runtime.Goexit; with [ErrCanceled] if
// [Pool.StopNow] drops the task. On a stopped pool (or with a nil p, ctx or
// f) the Future is already resolved with the error ([ErrStopped] for a
// stopped pool). Under a bounded backlog with the [Block] policy, Submit
// waits for room, and a ctx that ends meanwhile cancels the task.
func Submit[T any](ctx context.Context, p *Pool, f func(context.Context) (T, error)) *Future[T] {
	fut := &Future[T]{done: make(chan struct{})}
	switch {
	case p == nil:
		fut.resolve(*new(T), errors.New("threadpool: Submit: nil pool"))
		return fut
	case ctx == nil:
		fut.resolve(*new(T), errors.New("threadpool: Submit: nil context"))
		return fut
	case f == nil:
		fut.resolve(*new(T), nilFunc("Submit"))
		return fut
	}
	fut.job = submitted[T]{fut: fut, p: p, f: f, ctx: ctx}
	if err := p.t.Submit(team.JobTask(&fut.job)); err != nil {
		fut.job = submitted[T]{}  // refused: the pool keeps nothing, nor should the Future
		fut.resolve(*new(T), err) // first resolution wins: a Block cancel already resolved it
	}
	return fut
}

// NewFuture returns an unresolved Future and the function that resolves it,
// for bridges from other executors. Only the first call of the function
// counts; later calls do nothing.
func NewFuture[T any]() (*Future[T], func(T, error)) {
	fut := &Future[T]{done: make(chan struct{})}
	return fut, func(v T, err error) { fut.resolve(v, err) }
}

// Done returns a channel that is closed when the Future is resolved.
func (f *Future[T]) Done() <-chan struct{} { return f.done }

// Wait waits for the Future and returns its value and error. ctx bounds only
// this wait: if it ends before the Future is resolved, Wait returns the zero
// value and ctx.Err(), and the task goes on. A Future already resolved
// returns its outcome whatever the state of ctx. A nil ctx waits without
// bound.
func (f *Future[T]) Wait(ctx context.Context) (T, error) {
	if ctx == nil || f.resolved.Load() {
		<-f.done
		return f.val, f.err
	}
	select {
	case <-f.done:
		return f.val, f.err
	case <-ctx.Done():
		select {
		case <-f.done: // resolved too: the outcome wins
			return f.val, f.err
		default:
		}
		var zero T
		return zero, ctx.Err()
	}
}

// resolve sets the outcome unless it is already set.
func (f *Future[T]) resolve(v T, err error) {
	if !f.resolved.CompareAndSwap(false, true) {
		return
	}
	f.val, f.err = v, err
	close(f.done)
}

// submitted is the task of a Future, kept inside it to save an allocation.
type submitted[T any] struct {
	fut *Future[T]
	p   *Pool
	f   func(context.Context) (T, error)
	ctx context.Context
}

func (s *submitted[T]) Run() team.Outcome {
	normal := false
	defer func() {
		if !normal {
			// f called runtime.Goexit (maybe while panicking, or a deferred
			// call of it panicked during the Goexit): the goroutine ends.
			s.finish(*new(T), ErrGoexit)
		}
	}()
	v, out, err := s.call()
	normal = true
	s.finish(v, err)
	return out
}

// call runs f(ctx), or skips it if ctx has ended, and tells how it ended.
// The context's Err is user code, so it is called here, inside the
// recovery: a panic in f or in Err is a *PanicError. It does not return if
// f ends the goroutine.
func (s *submitted[T]) call() (v T, out team.Outcome, err error) {
	normal := false
	defer func() {
		if !normal {
			v, out, err = *new(T), team.Failed, panicError(recover())
		}
	}()
	if s.ctx.Err() != nil {
		normal = true
		return v, team.Canceled, team.CanceledError(s.ctx)
	}
	v, err = s.f(s.ctx)
	normal = true
	if err != nil {
		return v, team.Failed, err
	}
	return v, team.Completed, nil
}

func (s *submitted[T]) Cancel(err error) { s.finish(*new(T), err) }

func (s *submitted[T]) Context() context.Context { return s.ctx }

// finish drops the references to the task, then resolves the Future.
func (s *submitted[T]) finish(v T, err error) {
	fut := s.fut
	*s = submitted[T]{}
	fut.resolve(v, err)
}
