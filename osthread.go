package threadpool

import (
	"errors"

	"github.com/twisted-go/threadpool/internal/team"
)

// WithOSThreads locks each worker's goroutine to an OS thread of its own,
// for the worker's whole life: the goroutine calls runtime.LockOSThread
// before its first task and never unlocks, so the thread ends with the
// worker and is never reused with leftover state. Use it for C libraries
// with per-thread state (an OpenGL or CUDA context, an embedded
// interpreter, a driver's per-thread handle), for setns or unshare, for
// per-thread credentials; with [WithWorkerInit] to set that state up once
// per worker. Do not use it for ordinary Go work: it costs a thread per
// worker; every hand-over of a task to an idle worker wakes that worker's
// own thread, a thread switch, where an unlocked goroutine runs on
// whichever thread is at hand; and after each task the worker checks that
// the task left its thread locked, which reads the goroutine's own stack
// trace header (Go has no cheaper way to ask). Off by default. See OS
// threads in the package documentation.
//
// On Linux the thread's kernel name (prctl PR_SET_NAME, what top -H, ps -L,
// perf and gdb show) is the worker's name, cut to the 15 bytes the kernel
// keeps: PoolThread-<name>-<n> if it fits, else <name>-<n> with the pool's
// name cut short, so the worker's number, unique in the pool, is always
// whole. [ThreadInfo].ThreadID is the thread's id (gettid). On other
// systems the thread is locked but not named, and ThreadID is 0.
func WithOSThreads() Option {
	return option(func(s *settings) { s.OSThreads = true })
}

// WithWorkerInit runs init on each worker's goroutine before its first
// task (on its locked thread, with [WithOSThreads]), and the cleanup it
// returns, if not nil, on the same goroutine when the worker ends, for any
// reason: it quits ([Pool.StopAWorker], a lowered max, an idle timeout, a
// stop, [Pool.StopNow]), or user code ends its goroutine (see OS threads in
// the package documentation). info is the worker as [Pool.Threads] lists
// it. A nil init makes New fail.
//
// If init returns an error, panics or calls runtime.Goexit, that worker
// never runs a task: the failure is logged once and counted in
// Stats.InitFailed, the worker is removed, and the task it was to run goes
// to an idle worker or back to the front of the backlog. The pool then
// starts no worker by itself to take its place; it tries again at the next
// submission, [Pool.Start], [Pool.AdjustPoolSize] or [Pool.StartAWorker],
// as when capacity appears, or when another worker's init succeeds. So a
// hook that always fails costs at most max failed starts per such call,
// never a loop. A stop that finds no worker left to run the backlog starts
// workers for it, as usual, until 8 init calls in a row have failed; then
// it cancels the backlog (reported as for a pool whose max is 0), so Stop
// and Shutdown still return. If init returns an error, the pool does not
// call the cleanup it returned.
func WithWorkerInit(init func(info ThreadInfo) (cleanup func(), err error)) Option {
	return option(func(s *settings) {
		if init == nil {
			optionErr(s, errors.New("threadpool: WithWorkerInit: nil function"))
			return
		}
		s.Init = func(ti team.ThreadInfo) (func(), error) {
			return init(ThreadInfo{Name: ti.Name, Busy: ti.Busy, ThreadID: ti.TID})
		}
	})
}

// hookFault logs the failure of a worker's init hook or cleanup.
func (p *Pool) hookFault(f team.Fault) {
	var err error
	switch {
	case f.Err != nil:
		err = f.Err
	case f.Goexit:
		err = ErrGoexit
	default:
		err = &PanicError{Value: f.Value, Stack: f.Stack}
	}
	p.logFault("threadpool: "+f.What+" failed", err, f.Stack)
}
