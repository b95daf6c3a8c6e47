package team

import "runtime/debug"

// The init hook on memory workers (Config.Init; thread.go for real ones).
// A memory worker has no goroutine: its hook runs on the goroutine of the
// step (RunOne, or a group's Wait) that runs its first task, before the
// task. Its cleanup runs on the goroutine of the step that ends it (its
// task ended the goroutine, or it quit after its task), or, for a worker
// that quits while idle (StopAWorker, a stop, a lower max, an idle
// timeout: the team quits it with its mutex held), at the start of the
// next RunOne. A failed hook removes the worker as on a real pool, its task
// goes back to the team, and the step goes on with the next pending task,
// if any. The double runs no threads: Config.OSThreads locks nothing there.

// memHooks is a memory worker's setup.
type memHooks struct {
	started bool   // the hook has been called (only by the step that runs the worker's task)
	cleanup func() // guarded by Memory.mu once started is set; the hook's cleanup, until queued
}

// setUp runs the init hook of e, about to run task, its first. It reports
// false if the hook failed: e is then ended and task given back.
func (e *memExec) setUp(task Task) bool {
	t := e.t
	e.hooks.started = true
	if t.cfg.Init == nil {
		return true
	}
	t.mu.Lock()
	info := ThreadInfo{Name: e.w.Name, Busy: e.w.busy}
	t.mu.Unlock()
	returned := false
	defer func() {
		if !returned { // the hook ended the goroutine
			e.initFailed(task, Fault{What: "worker init", Goexit: true, Stack: debug.Stack()})
		}
	}()
	cleanup, f := t.callInit(info)
	returned = true
	if f != nil {
		e.initFailed(task, *f)
		return false
	}
	e.m.mu.Lock()
	e.hooks.cleanup = cleanup
	e.m.mu.Unlock()
	t.unstall()
	return true
}

// initFailed ends e, whose hook failed with f while it was to run task.
func (e *memExec) initFailed(task Task, f Fault) {
	m, t := e.m, e.t
	m.mu.Lock()
	e.running = false
	e.exited = true
	m.live--
	m.mu.Unlock()
	t.mu.Lock()
	t.removeFailedLocked(e.w, task)
	t.settleAndUnlock()
	t.report(f)
}

// endLocked queues e's cleanup, if any, as e ends.
func (e *memExec) endLocked() {
	if c := e.hooks.cleanup; c != nil {
		e.hooks.cleanup = nil
		e.m.cleanup = append(e.m.cleanup, c)
	}
}

// cleanUp runs the queued cleanups of ended workers, oldest first, on the
// calling goroutine. Each is taken off the queue before it runs.
func (m *Memory) cleanUp(t *Team) {
	for {
		m.mu.Lock()
		if len(m.cleanup) == 0 {
			m.mu.Unlock()
			return
		}
		c := m.cleanup[0]
		m.cleanup = m.cleanup[1:]
		if len(m.cleanup) == 0 {
			m.cleanup = nil
		}
		m.mu.Unlock()
		t.callCleanup(c)
	}
}
