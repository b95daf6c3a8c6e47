package team

import (
	"context"
	"runtime"
	"runtime/pprof"
	"strconv"
	"sync/atomic"
	"time"
)

// Worker is the team's record of one worker. Its executor does the work.
type Worker struct {
	// The fields that a hand-over and a worker going idle touch come
	// first, on one cache line (a worker that goes on with the backlog
	// touches none, see finish).
	ch   chan Task // a goroutine executor's channel (see handOver); nil for other executors
	busy bool      // guarded by Team.mu
	pos  int       // guarded by Team.mu; index in Team.workers
	exec Executor
	// guarded by Team.mu; while w is idle, its neighbours in the idle list.
	// The newest idle worker's newer link is not kept: when the newest is
	// taken (unlinkIdleLocked), the next one's still points at it.
	newer, older *Worker

	ID   int    // guarded by Team.mu; unique within the team's life, from 1
	Name string // guarded by Team.mu; PoolThread-<label>-<ID>
	Pool string // the pool's label when the worker was made

	idleSince time.Time // guarded by Team.mu; when it last went idle, if the pool has an idle timeout
	tid       int       // guarded by Team.mu; its goroutine's OS thread under Config.OSThreads (thread.go)
}

// Executor runs the tasks handed to one worker. Neither method may block
// or run user code. The team calls Quit with its mutex held, and Do either
// with it held or, for a worker it has just counted busy, right after
// releasing it (no other task can be handed to that worker, nor can it be
// told to quit, until it finishes the task). For the executors of
// Goroutines, the team sends on their channel instead of calling Do
// (Worker.handOver); Do does the same.
type Executor interface {
	// Do hands task over. The executor later runs it on the goroutine that
	// executes it, in hand-over order: Team.run, then Team.finish(w, ...).
	Do(task Task)
	// Quit asks the executor to end once the tasks already handed over have
	// run. It reports whether the executor has ended already; if not, it
	// calls Team.Exited(w) when it ends.
	Quit() (exited bool)
}

// Factory creates the executor of worker w for team t. It is called with
// t's mutex held and must not block.
type Factory func(t *Team, w *Worker) Executor

// Goroutines is the Factory of real workers: one goroutine each, started
// when the worker is made, ended by Quit. A goroutine that user code ends
// (runtime.Goexit) is taken over by a new one (takeOver).
func Goroutines(t *Team, w *Worker) Executor {
	e := &goroutine{t: t, w: w, ch: make(chan Task, 1)}
	w.ch = e.ch
	c := t.crew // the current start's; Stop waits for it
	c.add()
	go e.loop(c, held{})
	return e
}

// goroutine is the executor of a real worker. The channel holds at most one
// task: the team hands a task only to a worker that is not busy.
type goroutine struct {
	t  *Team
	w  *Worker
	ch chan Task
}

func (e *goroutine) Do(task Task) { e.ch <- task } // what handOver does for it

// handOver gives task to w's executor, as Executor.Do does. For a real
// worker it sends on the channel directly: the hand-over to an idle worker
// is on the latency path of every submission to an idle pool, and skipping
// the interface call and the executor's own record there saves a cache
// miss.
func (w *Worker) handOver(task Task) {
	if w.ch != nil {
		w.ch <- task
		return
	}
	w.exec.Do(task)
}

func (e *goroutine) Quit() bool {
	close(e.ch)
	return false
}

// loop runs the worker's tasks until it is told to quit, starting from st:
// what the goroutine it takes over from had in hand (held{} for a new
// worker).
func (e *goroutine) loop(c *crew, st held) {
	// The loop keeps e's fields in locals: the compiler cannot, as e's
	// record might change across the calls, and reading it again costs a
	// cache line per task that a busy pool seldom has at hand.
	t, w, ch := e.t, e.w, e.ch
	id := goid()
	st.slot = t.addSlot(id)
	returned := false
	var th *thread // with OS threads or an init hook, the goroutine's setup (thread.go)
	defer func() {
		t.dropSlot(id)
		if !returned && th.goOn(w, &st) {
			t.takeOver(e, c, st) // user code ended this goroutine
		}
		c.done()
	}()
	pprof.SetGoroutineLabels(pprof.WithLabels(context.Background(),
		pprof.Labels("threadpool", w.Pool, "thread", w.Name)))
	if st.stage != stageIdle {
		t.finish(w, &st, st.stage == stageRun)
	}
	if t.threaded {
		th = &thread{t: t}
		if !th.setUp(w, &st) {
			return
		}
		defer th.end()
	}
	for {
		if st.task.job == nil {
			// A worker of a crowded pool that has just gone idle yields
			// once before it parks. A submitter that picks it meanwhile (it
			// is the first idle worker reused) hands the task over without
			// waking a goroutine, and it runs the task without having
			// parked. Without this, thousands of workers can settle into
			// handing out tasks one wake-up at a time.
			if t.crowded.Load() && len(ch) == 0 {
				runtime.Gosched()
			}
			task, ok := <-ch
			if !ok {
				break
			}
			st.task = task
		}
		t.run(&st)
		t.finish(w, &st, false)
		if th != nil {
			th.exitIfUnlocked()
		}
		// st.task is the next task, or the zero Task: an idle worker keeps
		// no reference to the tasks it ran.
	}
	returned = true
	t.Exited(w)
}

// takeOver starts a new goroutine for the worker of e, whose goroutine user
// code has ended (runtime.Goexit) in the middle of its loop: in a task, in
// the logger reporting the task's failure, or in a cancellation delivered
// after a task. The new goroutine carries on from st, the task in hand,
// so nothing is lost and no capacity either. The worker gets a new number
// and name, as a replacement would. It runs in a deferred call of the
// ending goroutine, and calls no user code.
func (t *Team) takeOver(e *goroutine, c *crew, st held) {
	t.mu.Lock()
	t.nextID++
	e.w.ID = t.nextID
	e.w.Name = workerName(e.w.Pool, t.nextID)
	t.mu.Unlock()
	c.add() // before the ending goroutine's done: Stop waits for both
	go e.loop(c, st)
}

// goid returns the id of the calling goroutine. Go has no API for it; the
// header line of runtime.Stack ("goroutine 42 [running]:") carries it. It is
// read once per worker and once per Stop, to tell whether Stop was called
// from one of the pool's own workers. The digits are parsed in place: the
// only allocation is buf, which runtime.Stack makes escape.
func goid() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	const prefix = len("goroutine ")
	if len(b) <= prefix {
		return 0
	}
	var id uint64
	for _, c := range b[prefix:] {
		if c < '0' || c > '9' {
			break
		}
		id = id*10 + uint64(c-'0')
	}
	return id
}

// addGoroutine records that goroutine id runs the team's tasks: a worker's,
// or a submitter's running a task in the caller (possibly nested).
func (t *Team) addGoroutine(id uint64) {
	t.gmu.Lock()
	if t.goroutines == nil {
		t.goroutines = make(map[uint64]int)
		t.slots = make(map[uint64]*slot)
	}
	t.goroutines[id]++
	t.gmu.Unlock()
}

// dropGoroutine undoes one addGoroutine for id.
func (t *Team) dropGoroutine(id uint64) {
	t.gmu.Lock()
	if t.goroutines[id]--; t.goroutines[id] <= 0 {
		delete(t.goroutines, id)
	}
	t.gmu.Unlock()
}

// slot is the record of a goroutine that holds a working slot of the team:
// a worker's, a group Wait's helper, a memory worker's step. Only that
// goroutine reads or writes its fields, but for n (guarded by gmu).
type slot struct {
	n       int         // guarded by gmu; registrations (a memory step may nest)
	inWait  atomic.Bool // a group's Wait found this slot through its task's context and runs in it
	claimed atomic.Bool // a Wait is using helper (or dropSlot is ending it)
	dropped atomic.Bool // the goroutine has given the slot up: whoever holds claimed last ends helper
	helper  *helper     // the helper of the group Waits called there, kept for the next; used only while claimed
}

// addSlot records that goroutine id runs the team's tasks in a working
// slot of its own (addGoroutine, and a group's Wait there helps).
func (t *Team) addSlot(id uint64) *slot {
	t.gmu.Lock()
	if t.goroutines == nil {
		t.goroutines = make(map[uint64]int)
		t.slots = make(map[uint64]*slot)
	}
	t.goroutines[id]++
	s := t.slots[id]
	if s == nil {
		s = &slot{}
		t.slots[id] = s
	}
	s.n++
	t.gmu.Unlock()
	return s
}

// dropSlot undoes one addSlot for id. The last one ends the slot's helper,
// if it has one, and waits for it: it is idle (its waiter has returned).
func (t *Team) dropSlot(id uint64) {
	t.gmu.Lock()
	if t.goroutines[id]--; t.goroutines[id] <= 0 {
		delete(t.goroutines, id)
	}
	s := t.slots[id]
	if s.n--; s.n > 0 {
		s = nil
	} else {
		delete(t.slots, id)
	}
	t.gmu.Unlock()
	if s != nil {
		s.dropped.Store(true)
		s.release() // unless a Wait still uses it: then that Wait does it
	}
}

// release ends the helper of a dropped slot if no Wait is using it, and
// keeps claimed set so that no Wait uses the slot again.
func (s *slot) release() {
	if s.dropped.Load() && s.claimed.CompareAndSwap(false, true) && s.helper != nil {
		s.helper.stop()
		s.helper = nil
	}
}

// slotOf returns the slot that goroutine id holds, or nil.
func (t *Team) slotOf(id uint64) *slot {
	t.gmu.Lock()
	defer t.gmu.Unlock()
	return t.slots[id]
}

// isWorkerGoroutine reports whether goroutine id is running the team's
// tasks: Stop called there must not wait for the drain.
func (t *Team) isWorkerGoroutine(id uint64) bool {
	t.gmu.Lock()
	defer t.gmu.Unlock()
	_, ok := t.goroutines[id]
	return ok
}

// newWorkerLocked makes a worker; the caller makes it busy or idle.
func (t *Team) newWorkerLocked() *Worker {
	t.nextID++
	label := t.cfg.Label
	w := &Worker{
		ID:   t.nextID,
		Name: workerName(label, t.nextID),
		Pool: label,
		pos:  len(t.workers),
	}
	t.workers = append(t.workers, w)
	t.setCrowdedLocked()
	w.exec = t.cfg.NewExecutor(t, w)
	return w
}

// workerName is the name of worker number id of the pool labelled label
// (SPEC G1).
func workerName(label string, id int) string {
	return "PoolThread-" + label + "-" + strconv.Itoa(id)
}

// handLocked gives task to w, which is not busy and not idle.
func (t *Team) handLocked(w *Worker, task Task) {
	t.markBusyLocked(w)
	w.handOver(task)
}

// markBusyLocked counts w, which is neither busy nor idle, as busy, and
// raises the peak if need be.
func (t *Team) markBusyLocked(w *Worker) {
	w.busy = true
	t.busy++
	if n := t.workersLocked(); n > t.peak {
		t.peak = n
	}
}

// quitLocked tells w, which is neither idle nor busy, to quit.
func (t *Team) quitLocked(w *Worker) {
	t.forgetLocked(w)
	t.exiting++
	if w.exec.Quit() {
		t.exiting--
	}
}

// forgetLocked removes w from the live list.
func (t *Team) forgetLocked(w *Worker) {
	last := len(t.workers) - 1
	moved := t.workers[last]
	t.workers[w.pos] = moved
	moved.pos = w.pos
	t.workers[last] = nil
	t.workers = t.workers[:last]
	t.setCrowdedLocked()
}

// Exited reports that the executor of w has ended after Quit.
func (t *Team) Exited(w *Worker) {
	t.mu.Lock()
	t.exiting--
	t.endStopIfDrainedLocked()
	t.settleAndUnlock()
}
