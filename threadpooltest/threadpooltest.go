// Package threadpooltest is the deterministic test double of threadpool:
// Twisted's MemoryPool and DeterministicThreadPool in Go.
//
// [New] returns a real *threadpool.Pool, running the real scheduling code,
// whose workers are memory workers: a task handed to a worker runs only when
// the test calls [Workers.RunOne] or [Workers.RunAll], on the test's own
// goroutine. Code that takes a *threadpool.Pool can so be tested step by
// step, with no goroutines, no sleeps and no timing.
//
// Everything else is the pool as it is: Start, the backlog, resizing,
// callbacks, Futures, Stats and stops. Three differences follow from the
// workers running nothing by themselves: Stop, Shutdown and StopNow begin
// the stop and return at once (the test runs what is left, then sees
// Workers.Live fall to 0); a backlogged task whose Submit context has ended
// is canceled at the start of the next RunOne, not by a goroutine of the
// context package, so every step is deterministic; and a task that calls
// runtime.Goexit ends the goroutine that called RunOne, as it would end a
// worker (the step is finished, and the worker replaced, before that
// goroutine has ended). WithIdleTimeout works (its timers are real; use
// testing/synctest to step them).
//
// A task group's Wait (threadpool.NewGroup) does not block while tasks are
// pending: it runs them itself, oldest first, as RunOne would, until its
// group is done, since no goroutine would run them. To check each step, run
// them with RunOne before calling Wait. Group tasks that wait in the
// backlog when the group's parent context ends are found canceled as they
// start, not dropped at once.
package threadpooltest

import (
	"github.com/twisted-go/threadpool"
	"github.com/twisted-go/threadpool/internal/team"
)

// Workers controls the memory workers of one pool made by [New].
type Workers struct {
	m *team.Memory
}

// New returns a pool, not started, as threadpool.New(min, max, opts...)
// would, but with memory workers, and the Workers that run their tasks. It
// panics where threadpool.New would return an error (a bad size or
// option): test code passes constants.
func New(min, max int, opts ...threadpool.Option) (*threadpool.Pool, *Workers) {
	m := &team.Memory{}
	memory := team.MakeOption(func(c *team.Config) {
		c.NewExecutor = m.Factory()
		c.Synchronous = true
		c.Step = m.RunOne
	}).(threadpool.Option)
	p, err := threadpool.New(min, max, append(opts[:len(opts):len(opts)], memory)...)
	if err != nil {
		panic(err)
	}
	return p, &Workers{m: m}
}

// RunOne runs the oldest task handed to any memory worker, with its
// callback, on the calling goroutine, and reports whether there was one.
// The worker then takes the next backlogged task, goes idle or quits, as
// the pool decides.
func (w *Workers) RunOne() bool { return w.m.RunOne() }

// RunAll runs tasks until none is pending, including tasks that the tasks
// run submit, and returns how many it ran.
func (w *Workers) RunAll() int {
	n := 0
	for w.m.RunOne() {
		n++
	}
	return n
}

// Pending returns the number of tasks handed to workers and not yet run.
// Tasks in the pool's backlog are not pending: see Pool.QueueSize.
func (w *Workers) Pending() int { return w.m.Pending() }

// Created returns the number of workers ever created.
func (w *Workers) Created() int { return w.m.Created() }

// Live returns the number of workers created and not yet quit.
func (w *Workers) Live() int { return w.m.Live() }
