package team

import (
	"reflect"
	"runtime"
	"runtime/debug"
	"strings"
)

// helper is the goroutine on which a group's Wait, called in a working
// slot, runs the group's tasks it takes from the backlog (group.go). The
// waiter hands it one task at a time and waits for it: the helped task runs
// in the waiter's slot, never beside it. If a helped task ends the helper's
// goroutine (runtime.Goexit), the task is finished from its held record
// (settleAside) and the waiter starts a new helper for the next one.
type helper struct {
	t      *Team
	in     chan Task     // the task to run
	out    chan struct{} // the task handed in has been counted
	dead   bool          // the goroutine was ended by user code; written before out is signaled
	failed bool          // its init hook failed, the task handed in was given back (thread.go); written before out is signaled
	exited chan struct{} // closed when the goroutine has ended
}

func (t *Team) newHelper() *helper {
	h := &helper{t: t, in: make(chan Task), out: make(chan struct{}), exited: make(chan struct{})}
	go h.loop()
	return h
}

// run runs task, taken from the backlog, on the helper and returns when it
// has been counted. It reports false if the helper could not start (its
// init hook failed, thread.go): the task was given back, not run.
func (h *helper) run(task Task) bool {
	h.in <- task
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
	rec := &held{}
	var st *held // rec while a task is in hand, until the waiter is told it is done
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
	for task := range h.in {
		*rec = held{task: task, slot: s}
		st = rec
		if t.threaded && th == nil {
			th = &thread{t: t}
			if !th.setUpHelper(st) {
				h.dead, h.failed = true, true
				h.out <- struct{}{}
				break
			}
			defer th.end()
		}
		t.run(st)
		t.finishHelped(st, false)
		if th != nil {
			th.exitIfUnlocked()
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
	t.settleOutcome(st, goexited)
	t.lock()
	t.countLocked(st.out)
	t.suspended--
	t.leaveGroupLocked(st, false)
	st.stage = stageIdle
	t.settleAndUnlock()
	t.observeEnded(st)
}

// slotLoops are the names of the functions that the goroutines holding a
// working slot of a team with goroutine workers start from: the worker's
// loop and the helper's.
var slotLoops = func() [2]string {
	name := runtime.FuncForPC(reflect.ValueOf(goid).Pointer()).Name() // <package path>.goid
	pkg := strings.TrimSuffix(name, "goid")
	return [2]string{pkg + "(*goroutine).loop", pkg + "(*helper).loop"}
}()

// onSlotGoroutine reports whether the calling goroutine started from a
// worker's or a helper's loop, of any team: only such a goroutine can hold
// a working slot of a team with goroutine workers. It reads the bottom of
// the stack, which costs a small fraction of the goroutine id (goid), so
// that a Wait called outside any pool skips the latter.
func onSlotGoroutine() bool {
	var pcs [64]uintptr
	n := runtime.Callers(2, pcs[:])
	if n == len(pcs) {
		return true // too deep to see the bottom: ask goid
	}
	for _, pc := range pcs[max(0, n-4):n] { // the loop, a go statement's wrapper, runtime.goexit
		if f := runtime.FuncForPC(pc - 1); f != nil {
			if name := f.Name(); name == slotLoops[0] || name == slotLoops[1] {
				return true
			}
		}
	}
	return false
}
