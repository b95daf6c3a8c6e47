package team

import (
	"sync"
	"sync/atomic"
)

// Memory is a set of in-memory executors: workers that run nothing until
// told to (Twisted's MemoryWorker). Tasks handed to any of its workers wait
// in one FIFO, and RunOne runs the oldest on the caller's goroutine, through
// the real Team.run and Team.finish, so the team's bookkeeping is exactly
// what it is with goroutine workers.
type Memory struct {
	team    atomic.Pointer[Team] // the team whose workers these are, set by its first worker
	mu      sync.Mutex
	pending []memTask // guarded by mu; handed over, not yet run, oldest first
	created int       // guarded by mu
	live    int       // guarded by mu
	cleanup []func()  // guarded by mu; init hooks' cleanups of ended workers, to run (memthread.go)
}

type memTask struct {
	e    *memExec
	task Task
}

// memExec is the executor of one memory worker.
type memExec struct {
	m        *Memory
	t        *Team
	w        *Worker
	queued   int  // guarded by m.mu; its tasks in m.pending
	running  bool // guarded by m.mu
	quitting bool // guarded by m.mu
	exited   bool // guarded by m.mu
	hooks    memHooks
}

// Factory returns the Factory that makes memory workers of m.
func (m *Memory) Factory() Factory {
	return func(t *Team, w *Worker) Executor {
		m.team.Store(t)
		m.mu.Lock()
		defer m.mu.Unlock()
		m.created++
		m.live++
		return &memExec{m: m, t: t, w: w}
	}
}

func (e *memExec) Do(task Task) {
	e.m.mu.Lock()
	defer e.m.mu.Unlock()
	e.m.pending = append(e.m.pending, memTask{e, task})
	e.queued++
}

func (e *memExec) Quit() bool {
	e.m.mu.Lock()
	defer e.m.mu.Unlock()
	e.quitting = true
	return e.exitIfDoneLocked()
}

// exitIfDoneLocked ends a quitting executor with nothing left to run.
func (e *memExec) exitIfDoneLocked() bool {
	if !e.quitting || e.running || e.queued > 0 || e.exited {
		return false
	}
	e.exited = true
	e.m.live--
	e.endLocked()
	return true
}

// RunOne runs the oldest pending task on the calling goroutine and reports
// whether there was one. The task's worker then takes its next task from
// the backlog, goes idle or quits, as the team decides.
//
// First it cancels the backlogged tasks whose context has ended (Sweep), so
// that what a step sees never depends on when another goroutine ran.
//
// If the task ends the goroutine (runtime.Goexit), its worker is counted
// dead and replaced, as a real worker's goroutine would be; if user code
// run after the task ends it, the worker lives on. Either way the task is
// finished, on other goroutines if need be (settleAside), before the
// calling goroutine has ended.
func (m *Memory) RunOne() bool {
	if t := m.team.Load(); t != nil {
		t.Sweep()
		m.cleanUp(t)
	}
	m.mu.Lock()
	if len(m.pending) == 0 {
		m.mu.Unlock()
		return false
	}
	mt := m.pending[0]
	m.pending[0] = memTask{}
	m.pending = m.pending[1:]
	if len(m.pending) == 0 {
		m.pending = nil // let the backing array go
	}
	e := mt.e
	e.queued--
	e.running = true
	m.mu.Unlock()
	if e.t.threaded && !e.hooks.started && !e.setUp(mt.task) {
		return m.RunOne() // its task went back to the team: run the next one
	}

	st := held{task: mt.task}
	ended := true
	// While the task runs, the calling goroutine holds its worker's slot:
	// a group's Wait there helps (group.go).
	id := goid()
	st.slot = e.t.addSlot(id)
	defer func() {
		e.t.dropSlot(id)
		if ended && st.stage != stageIdle {
			st.dead = st.stage == stageRun
			settleAside(&st, func(st *held, goexited bool) { e.t.finish(e.w, st, goexited) })
		}
		m.mu.Lock()
		e.running = false
		if st.dead {
			e.exited = true
			m.live--
			e.endLocked()
			m.mu.Unlock()
			m.cleanUp(e.t)
			return
		}
		exited := e.exitIfDoneLocked()
		m.mu.Unlock()
		if exited {
			e.t.Exited(e.w)
			m.cleanUp(e.t)
		}
	}()
	e.t.run(&st)
	e.t.finish(e.w, &st, false)
	ended = false
	return true
}

// Pending is the number of tasks handed to workers and not yet run.
func (m *Memory) Pending() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.pending)
}

// Created is the number of workers ever made.
func (m *Memory) Created() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.created
}

// Live is the number of workers made and not yet ended.
func (m *Memory) Live() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.live
}
