package team

import (
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"unicode/utf8"
)

// OS-thread workers and the per-worker init hook (Config.OSThreads,
// Config.Init).
//
// With either on, a worker's goroutine sets itself up before its first
// task (a goroutine that takes a worker over, see takeOver, does so after
// finishing what the old one had in hand): it locks its OS thread for good
// and names it, then runs the init hook. The thread is never unlocked, so
// it ends with the goroutine, leftover state and all. The cleanup the hook
// returned runs on the same goroutine when it ends, whichever way.
//
// A worker whose init hook fails (returns an error, panics, or ends the
// goroutine) never runs a task: it is removed as if it had never been
// made, the task it was handed goes to an idle worker or back to the front
// of the backlog, and the failure is counted (Snapshot.InitFailed) and
// reported once. The pool is then stalled: it starts no worker by itself
// to replace that one, so a hook that always fails cannot make it spin.
// The next event that places work (a submission, Start, Adjust,
// StartAWorker) drains the backlog as usual, starting workers for it, and
// a worker whose hook succeeds does the same. A stop whose backlog has
// no worker left to run it starts workers for it again, as it would
// without hooks, until stopRetries init hooks in a row have failed; then
// it cancels the backlog, as it would for a pool whose max is 0.
//
// A task that unlocks the worker's thread (more runtime.UnlockOSThread
// calls than it made LockOSThread calls) cannot be undone: the thread has
// gone back to the Go scheduler. The worker sees it after the task (the
// goroutine is no longer locked), locks whatever thread it is on now, so
// that this one at least ends with it, and ends its goroutine: the worker
// is taken over by a fresh goroutine on a fresh thread, with a new name,
// which runs the init hook again.

// stopRetries is how many init hooks in a row must fail before a stop
// gives up on a backlog that no worker is left to run.
const stopRetries = 8

// thread is the setup of one worker goroutine.
type thread struct {
	t       *Team
	state   threadState
	cleanup func() // the init hook's, until it is called
	buf     []byte // for lockedToThread
}

type threadState uint8

const (
	threadStarting threadState = iota // setting up: the init hook may be running
	threadReady                       // set up: the goroutine runs tasks
	threadFailed                      // the init hook failed; the worker is removed
)

// setUp locks and names the calling goroutine's thread and runs the init
// hook for w. It reports false if the hook failed: the worker is then
// removed and the task in st's hand or in its channel given back.
func (th *thread) setUp(w *Worker, st *held) bool {
	t := th.t
	tid := 0
	if t.cfg.OSThreads {
		runtime.LockOSThread()
		tid = gettid()
	}
	t.mu.Lock()
	live := t.liveLocked(w)
	w.tid = tid
	info := ThreadInfo{Name: w.Name, Busy: w.busy, TID: tid}
	label, id := w.Pool, w.ID
	t.mu.Unlock()
	if t.cfg.OSThreads {
		setThreadName(KernelName(label, id))
	}
	if t.cfg.Init == nil || !live {
		// A worker told to quit before it started runs no hook: it
		// finds its channel closed at once.
		th.state = threadReady
		return true
	}
	cleanup, f := t.callInit(info)
	if f != nil {
		th.fail(w, st, *f)
		return false
	}
	th.cleanup = cleanup
	th.state = threadReady
	t.unstall()
	return true
}

// goOn is called as the goroutine ends without returning from its loop:
// it reports whether the worker is to be taken over. A goroutine that the
// init hook ended (th still starting) is a failed init: nothing to take
// over. A nil th (neither option on) always goes on.
func (th *thread) goOn(w *Worker, st *held) bool {
	if th == nil {
		return true
	}
	switch th.state {
	case threadStarting:
		th.fail(w, st, Fault{What: "worker init", Goexit: true, Stack: debug.Stack()})
		return false
	case threadFailed:
		return false
	}
	return true
}

// exitIfUnlocked runs after each task: if the task left the goroutine
// unlocked from its thread, it locks the thread it is on and ends the
// goroutine (runtime.Goexit), and the worker is taken over (see the top of
// the file).
func (th *thread) exitIfUnlocked() {
	if th.t.cfg.OSThreads && !th.locked() {
		runtime.LockOSThread()
		runtime.Goexit()
	}
}

// end runs the cleanup of the init hook, if any, once.
func (th *thread) end() {
	if c := th.cleanup; c != nil {
		th.cleanup = nil
		th.t.callCleanup(c)
	}
}

// fail removes w, whose init hook failed with f, and reports f.
func (th *thread) fail(w *Worker, st *held, f Fault) {
	t := th.t
	th.state = threadFailed
	task := st.task
	st.task = Task{}
	t.mu.Lock()
	if task.job == nil && w.busy && t.liveLocked(w) {
		// Its task is in its channel, or on its way there: a submitter
		// hands it over right after counting w busy and unlocking.
		t.mu.Unlock()
		task = <-w.ch
		t.mu.Lock()
	}
	t.removeFailedLocked(w, task)
	t.settleAndUnlock()
	t.report(f)
}

// removeFailedLocked removes w, whose init hook failed, with task, the
// task it was handed if it is busy: the task goes to an idle worker or to
// the front of the backlog. The pool is stalled until unstall.
func (t *Team) removeFailedLocked(w *Worker, task Task) {
	t.initFailed++
	t.stalled = true
	t.failRun++
	switch {
	case !t.liveLocked(w):
		t.exiting-- // told to quit: it will not report Exited
	case w.busy:
		t.busy--
		w.busy = false
		t.forgetLocked(w)
		t.pendingShrink = min(t.pendingShrink, t.busy)
		t.requeueLocked(task)
	default:
		t.unlinkIdleAnyLocked(w)
		t.forgetLocked(w)
	}
	t.endStopIfDrainedLocked()
}

// requeueLocked gives back task, handed to a worker that will not run it:
// to an idle worker, or to the front of the backlog.
func (t *Team) requeueLocked(task Task) {
	if t.state == stateRunning {
		if w := t.popIdleLocked(); w != nil {
			t.handLocked(w, task)
			return
		}
	}
	t.queued++
	seq := t.backlog.pushFront(entry{task: task})
	if g := groupOf(task); g != nil {
		g.noteSeqLocked(seq)
	}
}

// unstall is called when a worker's init hook has succeeded: it clears
// the run of failures, and a stalled pool drains its backlog again.
func (t *Team) unstall() {
	t.mu.Lock()
	t.failRun = 0
	if t.stalled {
		t.drainLocked()
	}
	t.settleAndUnlock()
}

// liveLocked reports whether w is in the live list (not told to quit).
func (t *Team) liveLocked(w *Worker) bool {
	return w.pos < len(t.workers) && t.workers[w.pos] == w
}

// unlinkIdleAnyLocked takes w, which is idle, off the idle list. A worker
// that is not the newest idle one has a valid newer link (see
// Worker.newer).
func (t *Team) unlinkIdleAnyLocked(w *Worker) {
	if w == t.idleNew {
		t.unlinkIdleLocked(w)
	} else {
		w.newer.older = w.older
		if w.older != nil {
			w.older.newer = w.newer
		} else {
			t.idleOld = w.newer
		}
		w.newer, w.older = nil, nil
		t.waiters--
	}
	if t.waiters == 0 {
		t.disarmIdleLocked()
	}
}

// callInit runs the init hook. A panic in it, or an error it returns,
// comes back as a Fault; a Goexit ends the goroutine (the caller's
// deferred code tells).
func (t *Team) callInit(info ThreadInfo) (cleanup func(), f *Fault) {
	normal := false
	defer func() {
		if !normal {
			v := recover()
			if v == nil {
				v = new(runtime.PanicNilError) // panic(nil) under GODEBUG=panicnil=1
			}
			f = &Fault{What: "worker init", Value: v, Stack: debug.Stack()}
		}
	}()
	cleanup, err := t.cfg.Init(info)
	normal = true
	if err != nil {
		return nil, &Fault{What: "worker init", Err: err}
	}
	return cleanup, nil
}

// callCleanup runs a cleanup of the init hook, reporting its panic. A
// Goexit in it ends the goroutine; the deferred code of the worker's loop
// still runs.
func (t *Team) callCleanup(c func()) {
	normal := false
	defer func() {
		if !normal {
			if v := recover(); v != nil {
				t.report(Fault{What: "worker cleanup", Value: v, Stack: debug.Stack()})
			}
		}
	}()
	c()
	normal = true
}

// locked reports whether the calling goroutine is locked to its OS
// thread. Go has no API for it; the header of the goroutine's own
// traceback says ", locked to thread" when it is. The buffer is kept:
// runtime.Stack makes it escape.
func (th *thread) locked() bool {
	if th.buf == nil {
		th.buf = make([]byte, 128)
	}
	b := th.buf[:runtime.Stack(th.buf, false)]
	const mark = ", locked to thread"
	for i := 0; i+len(mark) <= len(b) && b[i] != '\n'; i++ {
		if string(b[i:i+len(mark)]) == mark {
			return true
		}
	}
	return false
}

// KernelName is the name a worker's OS thread gets under Config.OSThreads
// on Linux, where a thread's name holds 15 bytes: the worker's name,
// PoolThread-<label>-<n>, if it fits; otherwise <label>-<n> with the label
// cut to fit (never in the middle of a UTF-8 sequence), so that the
// number, unique within the pool, is always kept whole; and if the number
// alone needs more, its last 15 digits.
func KernelName(label string, n int) string {
	const size = 15
	num := strconv.Itoa(n)
	if full := workerName(label, n); len(full) <= size {
		return full
	}
	room := size - len(num) - 1
	if room <= 0 {
		return num[len(num)-min(len(num), size):]
	}
	if len(label) > room {
		label = label[:room]
		for len(label) > 0 && !utf8.ValidString(label) {
			label = label[:len(label)-1]
		}
	}
	return label + "-" + num
}

// pushFront puts e before the oldest slot and returns its sequence number,
// one below the oldest's. The team's backlog numbers start high enough,
// with these options on, never to wrap (Team.New).
func (b *backlog) pushFront(e entry) uint64 {
	if b.n == 0 {
		return b.push(e)
	}
	if b.head == 0 {
		if b.c0 == 0 {
			b.chunks = slices.Insert(b.chunks, 0, nil)
			b.c0 = 1
		}
		b.c0--
		b.chunks[b.c0] = chunks.Get().(*chunk)
		b.head = chunkSize
	}
	b.head--
	b.first--
	b.n++
	b.chunks[b.c0][b.head] = e
	return b.first
}

// setUpHelper sets up the goroutine of a group Wait's helper (helper.go)
// before it runs st's task, its first: a helped task runs in a worker's
// place, on a thread set up as a worker's. The helper is named as a worker,
// with a number of its own, but is not one (Threads does not list it). It
// reports false if the init hook failed: st's task is then given back.
func (th *thread) setUpHelper(st *held) bool {
	t := th.t
	tid := 0
	if t.cfg.OSThreads {
		runtime.LockOSThread()
		tid = gettid()
	}
	t.mu.Lock()
	t.nextID++
	id, label := t.nextID, t.cfg.Label
	t.mu.Unlock()
	if t.cfg.OSThreads {
		setThreadName(KernelName(label, id))
	}
	if t.cfg.Init == nil {
		th.state = threadReady
		return true
	}
	cleanup, f := t.callInit(ThreadInfo{Name: workerName(label, id), Busy: true, TID: tid})
	if f != nil {
		th.helperFailed(st, *f)
		return false
	}
	th.cleanup = cleanup
	th.state = threadReady
	t.unstall()
	return true
}

// helperFailed gives back the task of st, which a helper whose init hook
// failed with f was to run, and reports f. The task leaves the waiter's
// slot (suspended) for an idle worker or the front of the backlog.
func (th *thread) helperFailed(st *held, f Fault) {
	t := th.t
	th.state = threadFailed
	task := st.task
	st.task = Task{}
	t.mu.Lock()
	t.initFailed++
	t.suspended--
	t.requeueLocked(task)
	t.endStopIfDrainedLocked()
	t.settleAndUnlock()
	t.report(f)
}
