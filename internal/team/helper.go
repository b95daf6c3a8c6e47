package team

import "runtime/debug"

// helper is the goroutine on which a group's Wait, called in a working
// slot, runs the group's tasks it takes from the backlog (group.go). The
// waiter hands it one task at a time and waits for it: the helped task runs
// in the waiter's slot, never beside it. If a helped task ends the helper's
// goroutine (runtime.Goexit), the task is finished from its held record
// (settleAside) and the waiter starts a new helper for the next one.
type helper struct {
	t      *Team
	in     chan *held    // the task to run
	out    chan struct{} // the task handed in has been counted
	dead   bool          // the goroutine was ended by user code; written before out is signaled
	failed bool          // its init hook failed, the task handed in was given back (thread.go); written before out is signaled
	exited chan struct{} // closed when the goroutine has ended
}

func (t *Team) newHelper() *helper {
	h := &helper{t: t, in: make(chan *held), out: make(chan struct{}), exited: make(chan struct{})}
	go h.loop()
	return h
}

// run runs task, taken from the backlog, on the helper and returns when it
// has been counted. It reports false if the helper could not start (its
// init hook failed, thread.go): the task was given back, not run.
func (h *helper) run(task Task) bool {
	h.in <- &held{task: task}
	<-h.out
	return !h.failed
}

// stop ends the helper's goroutine and waits for it.
func (h *helper) stop() {
	if !h.dead {
		close(h.in)
	}
	<-h.exited
}

func (h *helper) loop() {
	t := h.t
	id := goid()
	s := t.addSlot(id)
	var st *held // the task in hand, until the waiter is told it is done
	returned := false
	var th *thread // with OS threads or an init hook, the goroutine's setup (thread.go)
	defer func() {
		t.dropSlot(id)
		if !returned {
			h.dead = true
			if th != nil && th.state == threadStarting { // the init hook ended the goroutine
				th.helperFailed(st, Fault{What: "worker init", Goexit: true, Stack: debug.Stack()})
				h.failed = true
				h.out <- struct{}{}
			} else if st != nil {
				if st.stage != stageIdle {
					settleAside(st, t.finishHelped)
				}
				h.out <- struct{}{}
			}
		}
		close(h.exited)
	}()
	for st = range h.in {
		if t.threaded && th == nil {
			th = &thread{t: t}
			if !th.setUpHelper(st) {
				h.dead, h.failed = true, true
				h.out <- struct{}{}
				break
			}
			defer th.end()
		}
		st.slot = s
		t.run(st)
		t.finishHelped(st, false)
		if th != nil {
			th.check()
		}
		st = nil
		h.out <- struct{}{}
	}
	returned = true
}

// finishHelped is finish for a task run by a helper: the waiter's task,
// counted Queued meanwhile, takes its slot back.
func (t *Team) finishHelped(st *held, goexited bool) {
	st.obs.stop()
	t.ended(st, goexited)
	t.lock()
	t.countLocked(st.out)
	t.suspended--
	if m := st.mem; m != nil {
		st.mem = nil
		m.slot.Store(nil)
		t.endLocked(m.g, false)
	}
	st.stage = stageIdle
	t.unlock()
	if st.obs.pending() {
		t.observeHeld(st)
	}
}
