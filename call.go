package threadpool

import (
	"context"
	"runtime"
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

func (c *callback) Run() team.Outcome {
	normal := false
	defer func() {
		if !normal {
			// f called runtime.Goexit (maybe while panicking, or a deferred
			// call of it panicked during the Goexit): the goroutine ends.
			c.deliver(nil, ErrGoexit)
		}
	}()
	res, err := c.call()
	normal = true
	if !c.deliver(res, err) || err != nil {
		return team.Failed
	}
	return team.Completed
}

// call calls f, turning its panic into a *PanicError. It does not return
// if f ends the goroutine.
func (c *callback) call() (res any, err error) {
	normal := false
	defer func() {
		if !normal {
			res, err = nil, panicError(recover())
		}
	}()
	res, err = c.f()
	normal = true
	if err != nil {
		res = nil // SPEC C3: a failure reports no result
	}
	return res, err
}

func (c *callback) Cancel(err error) { c.deliver(nil, err) }

func (c *callback) Context() context.Context { return nil }

// deliver calls onResult once, after dropping the pool's last reference to
// f; it reports false if onResult panicked (which is logged). It does not
// return if onResult ends the goroutine.
func (c *callback) deliver(res any, err error) (ok bool) {
	onResult := c.onResult
	c.f, c.onResult = nil, nil
	if pe := callOnResult(onResult, res, err); pe != nil {
		c.p.logFault("threadpool: callback panicked", pe, nil)
		return false
	}
	return true
}

// callOnResult calls onResult, turning its panic into a *PanicError. It
// does not return if onResult ends the goroutine.
func callOnResult(onResult func(any, error), res any, err error) (pe *PanicError) {
	normal := false
	defer func() {
		if !normal {
			pe = panicError(recover())
		}
	}()
	onResult(res, err)
	normal = true
	return nil
}

// panicError is the error of a panic whose recovered value is r, with the
// stack of the calling goroutine, taken in the deferred call that recovered
// it. A nil r can only come from panic(nil) under GODEBUG=panicnil=1 (a
// caller that got nil from recover and returned was not in a Goexit): it is
// reported as the runtime reports panic(nil) by default.
func panicError(r any) *PanicError {
	if r == nil {
		r = new(runtime.PanicNilError)
	}
	return &PanicError{Value: r, Stack: debug.Stack()}
}

// fault logs a failure of user code that nobody else receives (team.Fault):
// a fire-and-forget task's panic or Goexit, a context's AfterFunc stop or an
// observer that panicked, a worker's init hook or cleanup that failed.
func (p *Pool) fault(f team.Fault) {
	if f.What == "worker init" || f.What == "worker cleanup" {
		p.hookFault(f)
		return
	}
	if f.Goexit {
		p.logFault("threadpool: task failed with nobody to report to", ErrGoexit, f.Stack)
		return
	}
	msg := "threadpool: task failed with nobody to report to"
	if f.What != "task" {
		msg = "threadpool: " + f.What + " panicked"
	}
	p.logFault(msg, &PanicError{Value: f.Value, Stack: f.Stack}, nil)
}

// logFault logs err once at Error level, with the stack of a panic (or
// stack, for a Goexit). The logger's handler is user code: if it panics,
// the record is lost, as there is nobody left to tell.
func (p *Pool) logFault(msg string, err error, stack []byte) {
	defer func() { _ = recover() }()
	attrs := []any{"pool", p.Name(), "err", err}
	if pe, ok := err.(*PanicError); ok {
		attrs = append(attrs, "panic", pe.Value, "stack", string(pe.Stack))
	} else if stack != nil {
		attrs = append(attrs, "stack", string(stack))
	}
	p.t.Logger().Error(msg, attrs...)
}
