package threadpool

import (
	"context"
	"runtime/debug"

	"github.com/twisted-go/threadpool/internal/team"
)

// CallInThread submits f to run on a worker, without a result (Twisted's
// callInThread). When it returns, the pool's counts include the task. It
// returns an error, and f never runs, when f is nil or a stop has begun
// ([ErrStopped]); with a bounded backlog it may also block or return
// [ErrQueueFull] (see [WithQueueLimit]).
//
// A panic or runtime.Goexit in f fails the task: it is counted in
// Stats.Failed and logged once at Error level through the pool's logger,
// with the value and stack. The worker survives a panic and is replaced at
// once after a Goexit.
func (p *Pool) CallInThread(f func()) error {
	if f == nil {
		return nilFunc("CallInThread")
	}
	return p.t.Submit(team.FuncTask(f))
}

// CallInThreadWithCallback submits f to run on a worker and then calls
// onResult with its outcome on the same goroutine (Twisted's
// callInThreadWithCallback): onResult(result, nil) when f succeeds,
// onResult(nil, err) when f returns an error (whatever result came with
// it), onResult(nil, *[PanicError]) when f panics, and onResult(nil, err)
// with a Goexit error when f calls runtime.Goexit. The worker counts as busy until onResult returns. If the
// task never runs ([Pool.StopNow]), onResult(nil, err) reports an error
// wrapping [ErrCanceled].
//
// It returns an error, and neither function is called, when either is nil
// or a stop has begun ([ErrStopped]). A panic inside onResult is logged
// once through the pool's logger and the task counts as failed.
func (p *Pool) CallInThreadWithCallback(onResult func(result any, err error), f func() (any, error)) error {
	switch {
	case onResult == nil:
		return nilFunc("CallInThreadWithCallback: onResult")
	case f == nil:
		return nilFunc("CallInThreadWithCallback")
	}
	return p.t.Submit(team.JobTask(&callback{p: p, f: f, onResult: onResult}))
}

// callback is a task whose outcome goes to an onResult function.
type callback struct {
	p        *Pool
	f        func() (any, error)
	onResult func(any, error)
}

func (c *callback) Run() (failed bool) {
	normal := false
	defer func() {
		if !normal {
			err := fault(recover())
			c.deliver(nil, err)
			failed = true
		}
	}()
	res, err := c.f()
	normal = true
	if err != nil {
		res = nil // SPEC C3: a failure reports no result
	}
	return !c.deliver(res, err) || err != nil
}

func (c *callback) Cancel(err error) { c.deliver(nil, err) }

func (c *callback) Context() context.Context { return nil }

// deliver calls onResult once, after dropping the pool's last reference to
// f; it reports false if onResult panicked (which is logged).
func (c *callback) deliver(res any, err error) (ok bool) {
	onResult := c.onResult
	c.f, c.onResult = nil, nil
	defer func() {
		if !ok {
			if r := recover(); r != nil {
				c.p.logFault("threadpool: callback panicked", &PanicError{Value: r, Stack: debug.Stack()})
			}
		}
	}()
	onResult(res, err)
	return true
}

// fault turns what recover returned in an abnormal exit into the error to
// report: a *PanicError, or the Goexit error when nothing was recovered.
// (panic(nil) recovers a *runtime.PanicNilError, so it is a panic too.)
func fault(r any) error {
	if r == nil {
		return errGoexit
	}
	return &PanicError{Value: r, Stack: debug.Stack()}
}

// funcFailed logs a fire-and-forget task's panic or Goexit (recovered is
// nil): there is nobody else to report it to.
func (p *Pool) funcFailed(recovered any) {
	p.logFault("threadpool: task failed with nobody to report to", fault(recovered))
}

// logFault logs err once at Error level, with the stack of a panic.
func (p *Pool) logFault(msg string, err error) {
	attrs := []any{"pool", p.Name(), "err", err}
	if pe, ok := err.(*PanicError); ok {
		attrs = append(attrs, "panic", pe.Value, "stack", string(pe.Stack))
	}
	p.t.Logger().Error(msg, attrs...)
}
