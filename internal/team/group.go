package team

import (
	"errors"
	"sync/atomic"
)

// Task groups (the root package's Group and ResultGroup).
//
// A group's tasks are Jobs that embed a Member. The team keeps each group's
// bookkeeping under its one mutex, with the rest:
//
//   - active: the group's tasks accepted and not waiting in the group
//     (handed to a worker, in the backlog, running, or being submitted);
//   - parked: the group's tasks waiting for its limit, FIFO, counted in
//     t.parked and so in Queued;
//   - seqs: the backlog sequence numbers of the group's tasks that went to
//     the backlog, oldest first, for a waiter to run (helping) or a cancel
//     to drop.
//
// When one of the group's tasks ends, however it ends (finish,
// finishInCaller, finishHelped, a drop from the backlog), endLocked counts
// it out and releases the oldest parked task if the limit allows.
//
// A Wait called on a goroutine that holds one of the team's working slots
// (a worker running a task, or a helper running a helped task) does not
// just block: it takes the group's tasks still in the backlog and runs
// them itself, one by one, on a helper goroutine of its own while it
// waits for it (Java's ForkJoinPool helps on join the same way). So a task
// that waits for its own subtasks never holds a worker that they need, and
// recursive fan-out cannot deadlock at any max. The helped task runs in
// the waiter's slot: it leaves Queued and is counted Working in place of
// the waiting task, which counts as Queued until the helped task ends
// (t.suspended). Both are then counted as any task, so
// Submitted == Completed + Failed + Canceled + Queued + Working holds in
// every snapshot. The helper is a goroutine, not the waiter's own, so that
// a helped task that calls runtime.Goexit ends only the helper (which the
// waiter replaces), never the task that waits.

// ErrGroupDone is returned by Group.Submit once the group's Wait has
// returned.
var ErrGroupDone = errors.New("threadpool: Go called after the group's Wait returned")

// Member is embedded in the Job of a group's task: it ties the task to its
// group. Group.Submit sets it.
type Member struct {
	g    *Group               // set by Group.Submit, read-only after
	slot atomic.Pointer[slot] // while the task runs, its goroutine's working slot
}

// MemberKey is the context key under which the context a group's task
// receives gives the task's *Member (see Team.NewGroup).
type MemberKey struct{}

func (m *Member) member() *Member { return m }

// grouped is a Job that embeds a Member.
type grouped interface {
	member() *Member
}

// groupOf returns the group of task, or nil if it is no group's.
func groupOf(task Task) *Group {
	task, _ = untime(task)
	if m, ok := task.job.(grouped); ok {
		return m.member().g
	}
	return nil
}

// Group is the team's record of a task group. Its fields are guarded by the
// team's mutex.
type Group struct {
	t        *Team
	owner    *Member  // the task that made the group, if a task of a group of t; read-only
	limit    int      // < 0: none
	active   int      // tasks accepted, not parked, not ended
	parked   fifo     // tasks waiting for the limit, oldest first
	seqs     []uint64 // backlog sequence numbers of tasks sent there, ascending
	canceled error    // once set, parked and backlogged tasks are dropped with it
	closed   bool     // Wait has returned: no more tasks
	zero     chan struct{}
	change   chan struct{}
}

// NewGroup returns a group of tasks run by t, without a limit. owner, if
// not nil, is the Member of the group task that makes it (found in the
// context it was given): while that task runs, Wait finds the slot it runs
// in there, without asking which goroutine calls it.
func (t *Team) NewGroup(owner *Member) *Group {
	if owner != nil && owner.g.t != t {
		owner = nil
	}
	return &Group{t: t, limit: -1, owner: owner}
}

// left is the number of the group's tasks not yet ended.
func (g *Group) left() int { return g.active + g.parked.len() }

// Submit accepts task, a Job that embeds a Member, into g: it waits in the
// group if g has reached its limit, else it is placed as Team.Submit would
// place it, policies of a full backlog included. It returns ErrGroupDone
// once g's Wait has returned, and what Team.Submit returns for a task the
// pool refuses.
func (g *Group) Submit(task Task) error {
	t := g.t
	task.job.(grouped).member().g = g
	if t.cfg.Observe != nil {
		task = t.timeTask(task)
	}
	t.lock()
	switch {
	case g.closed:
		t.mu.Unlock()
		return ErrGroupDone
	case t.state == stateStopping || t.state == stateStopped:
		t.counts.Rejected++
		t.mu.Unlock()
		return ErrStopped
	case g.canceled != nil:
		// Accepted and dropped at once: the group's context has ended.
		t.counts.Submitted++
		t.counts.Canceled++
		t.noteDropLocked(task, g.canceled)
		t.settleAndUnlock()
		return nil
	case g.limit >= 0 && g.active >= g.limit:
		t.counts.Submitted++
		g.parked.push(task)
		t.parked++
		t.mu.Unlock()
		return nil
	}
	g.active++ // reserved: Wait does not return while it is being placed
	if t.stalled {
		t.drainLocked() // as in Team.Submit: the retry may make backlog room
	}
	if t.isFullLocked() {
		switch t.cfg.QueuePolicy {
		case Reject:
			t.counts.Rejected++
			g.unreserveLocked()
			t.settleAndUnlock()
			return ErrQueueFull
		case RunInCaller:
			t.mu.Unlock()
			return t.runInCaller(task) // finishInCaller ends it in g
		}
		err := t.block(task, task.ctx())
		if err != nil && !errors.Is(err, ErrCanceled) {
			t.lock()
			g.unreserveLocked() // refused: a stop began
			t.settleAndUnlock()
		}
		return err
	}
	t.counts.Submitted++
	w, seq := t.dispatchLocked(task)
	if w == nil {
		g.noteSeqLocked(seq)
	}
	t.settleAndUnlock()
	if w != nil {
		// As in Team.Submit: the wake-up of a parked worker stays out of
		// the critical section, and nothing else can hand w a task or
		// quit it meanwhile (it is busy).
		w.handOver(task)
	}
	return nil
}

// unreserveLocked takes back the place of a task that was not accepted.
func (g *Group) unreserveLocked() {
	g.active--
	g.releaseLocked(false)
	g.signalLocked()
}

// placeLocked places task, counted in g.active, as dispatchLocked would, or
// at the back of the backlog if toBacklog (a worker whose task has just
// ended takes it from there). A task that goes to the backlog is noted for
// helping waiters. A worker that gets it is handed it now (Executor.Do may
// be called with the mutex held).
func (g *Group) placeLocked(task Task, toBacklog bool) {
	t := g.t
	if toBacklog {
		t.queued++
		g.noteSeqLocked(t.backlog.push(entry{task: task}))
		return
	}
	if w, seq := t.dispatchLocked(task); w != nil {
		w.handOver(task)
	} else {
		g.noteSeqLocked(seq)
	}
}

// noteSeqLocked records that one of g's tasks went to backlog slot seq,
// forgetting slots that have left the backlog, and wakes helping waiters.
func (g *Group) noteSeqLocked(seq uint64) {
	first := g.t.backlog.first
	i := 0
	for i < len(g.seqs) && g.seqs[i] < first {
		i++
	}
	if i > 0 {
		n := copy(g.seqs, g.seqs[i:])
		g.seqs = g.seqs[:n]
	}
	g.seqs = append(g.seqs, seq)
	if g.change != nil {
		close(g.change)
		g.change = nil
	}
}

// releaseLocked moves parked tasks into the pool while the limit allows:
// the first one to the backlog if toBacklog. Once g is canceled or the pool
// stopped, they are dropped instead.
func (g *Group) releaseLocked(toBacklog bool) {
	t := g.t
	for g.parked.len() > 0 && (g.limit < 0 || g.active < g.limit || g.canceled != nil || t.state == stateStopped) {
		task := g.parked.pop()
		t.parked--
		if g.canceled != nil || t.state == stateStopped {
			err := g.canceled
			if err == nil {
				err = ErrCanceled
			}
			t.counts.Canceled++
			t.noteDropLocked(task, err)
			continue
		}
		g.active++
		g.placeLocked(task, toBacklog)
		toBacklog = false
	}
}

// signalLocked wakes the waiters of g: all of them when its last task has
// ended, helping ones on any change.
func (g *Group) signalLocked() {
	if g.change != nil {
		close(g.change)
		g.change = nil
	}
	if g.left() == 0 && g.zero != nil {
		close(g.zero)
		g.zero = nil
	}
}

// endLocked counts out one of g's tasks, which has ended (run, failed or
// canceled), and releases the next parked one: to the backlog if toBacklog,
// for the worker whose task has just ended.
func (t *Team) endLocked(g *Group, toBacklog bool) {
	g.active--
	g.releaseLocked(toBacklog)
	g.signalLocked()
}

// SetLimit sets how many of g's tasks may be in the pool at once (n < 0:
// no limit) and releases the parked tasks a higher limit makes room for.
func (g *Group) SetLimit(n int) {
	t := g.t
	t.lock()
	g.limit = n
	g.releaseLocked(false)
	g.signalLocked()
	t.settleAndUnlock()
}

// Cancel drops g's tasks that have not started, parked or in the backlog,
// reporting err to each (counted Canceled); tasks parked or placed later
// are dropped too. The first call's err stands.
func (g *Group) Cancel(err error) {
	t := g.t
	t.lock()
	if g.canceled == nil {
		g.canceled = err
	}
	err = g.canceled
	g.releaseLocked(false)
	for _, seq := range g.seqs {
		task, ok := t.takeLocked(seq)
		if !ok {
			continue
		}
		t.counts.Canceled++
		t.noteDropLocked(task, err)
		g.active--
	}
	g.seqs = g.seqs[:0]
	g.signalLocked()
	t.endStopIfDrainedLocked()
	t.settleAndUnlock()
}

// takeLocked takes the task of backlog slot seq, if it still waits there,
// leaving the slot empty.
func (t *Team) takeLocked(seq uint64) (Task, bool) {
	e := t.backlog.at(seq)
	if e == nil || e.dropped() {
		return Task{}, false
	}
	task := e.task
	e.task = Task{}
	t.queued--
	if len(t.watches) > 0 {
		t.unwatchLocked(seq)
	}
	return task, true
}

// Wait returns when every task of g has ended; then g takes no more tasks
// (Submit returns ErrGroupDone). Called on a goroutine holding one of the
// team's working slots, it runs g's backlogged tasks itself meanwhile (see
// the top of this file). On a team of synchronous executors, it runs their
// pending tasks (Config.Step) rather than block, as no goroutine would.
func (g *Group) Wait() {
	t := g.t
	var s *slot // the caller's working slot, if it holds one
	checked := false
	for {
		t.lock()
		if g.left() == 0 {
			g.closed = true
			t.mu.Unlock()
			return
		}
		if !checked {
			checked = true
			t.mu.Unlock()
			// The slot of the task that made g, if it still runs and is
			// not waiting already (then the caller cannot be it), saves
			// looking up the calling goroutine.
			if g.owner != nil {
				if os := g.owner.slot.Load(); os != nil && os.inWait.CompareAndSwap(false, true) {
					s = os
					defer os.inWait.Store(false)
				}
			}
			if s == nil && (t.cfg.Synchronous || onSlotGoroutine()) {
				s = t.slotOf(goid())
			}
			continue
		}
		if s != nil && s.claimed.CompareAndSwap(false, true) {
			if task, ok := g.stealLocked(); ok {
				t.mu.Unlock()
				if s.helper == nil || s.helper.dead {
					s.helper = t.newHelper()
				}
				helped := s.helper.run(task)
				s.claimed.Store(false)
				s.release() // the slot's goroutine gave it up meanwhile
				if !helped {
					s = nil // its helper could not start (thread.go): this Wait blocks
				}
				continue
			}
			s.claimed.Store(false)
			s.release()
		}
		if t.cfg.Step != nil {
			t.mu.Unlock()
			if t.cfg.Step() {
				continue
			}
			t.lock()
			if g.left() == 0 {
				t.mu.Unlock()
				continue
			}
		}
		var ch chan struct{}
		if s != nil || t.cfg.Step != nil {
			if g.change == nil {
				g.change = make(chan struct{})
			}
			ch = g.change
		} else {
			if g.zero == nil {
				g.zero = make(chan struct{})
			}
			ch = g.zero
		}
		t.mu.Unlock()
		<-ch
	}
}

// stealLocked takes the oldest of g's tasks still in the backlog, for a
// helping waiter: it leaves Queued, and the waiter's task enters it.
func (g *Group) stealLocked() (Task, bool) {
	t := g.t
	for len(g.seqs) > 0 {
		seq := g.seqs[0]
		g.seqs = g.seqs[1:]
		if task, ok := t.takeLocked(seq); ok {
			t.suspended++
			return task, true
		}
	}
	g.seqs = nil
	return Task{}, false
}

// fifo is a queue of tasks.
type fifo struct {
	tasks []Task
	head  int
}

func (q *fifo) len() int { return len(q.tasks) - q.head }

func (q *fifo) push(task Task) {
	if q.head > 0 && q.head == len(q.tasks) {
		q.tasks, q.head = q.tasks[:0], 0
	} else if q.head >= 64 && 2*q.head >= len(q.tasks) {
		n := copy(q.tasks, q.tasks[q.head:])
		clear(q.tasks[n:])
		q.tasks, q.head = q.tasks[:n], 0
	}
	q.tasks = append(q.tasks, task)
}

func (q *fifo) pop() Task {
	task := q.tasks[q.head]
	q.tasks[q.head] = Task{}
	q.head++
	if q.head == len(q.tasks) {
		q.tasks, q.head = q.tasks[:0], 0
	}
	return task
}
