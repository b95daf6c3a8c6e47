package team

import (
	"context"
	"slices"
)

// Submitters blocked for backlog room (the Block policy).
//
// A submitter that finds the bounded backlog full joins t.blocked and
// parks. Whoever makes room settles it without waking it first:
// admitLocked, run by unlock at the end of every step that may pop or
// drop backlogged tasks, accepts the oldest blocked submitters' tasks
// while there is room, placing each as Submit would, and only then wakes
// them. So a woken submitter returns at once instead of queueing again for
// the mutex with the workers that made the room, and blocked submitters
// are accepted in the order they blocked. The alternative, waking every
// blocked submitter to try again, cost a wake-up, a channel and a contended
// lock per task in a steady stream: 20,000 tasks of 1 ms on 1,000 workers
// with a limit of 1,024 took 47-51 ms against 31-36 without a limit (bench
// sleep scenario).

// blocked is one submitter waiting for backlog room. admitLocked fills in
// the outcome, then signals ready; the submitter reads it after that.
type blocked struct {
	task  Task
	ready chan struct{} // buffered 1: a signal never waits for the submitter
	w     *Worker       // accepted for this worker: the submitter hands the task over
	seq   uint64        // else accepted into this backlog slot
	err   error         // refused: ErrStopped
}

// block waits, under the Block policy, until admitLocked accepts task or
// refuses it, or until ctx (nil: none) ends. A task whose context ends
// first is counted as submitted and canceled, and the cancel error is
// reported to it and returned. It is called with t.mu held and releases
// it.
func (t *Team) block(task Task, ctx context.Context) error {
	b := t.spare.Swap(nil)
	if b == nil {
		b = &blocked{ready: make(chan struct{}, 1)}
	}
	b.task = task
	t.blocked = append(t.blocked, b)
	t.mu.Unlock()
	var ctxDone <-chan struct{}
	if ctx != nil {
		ctxDone = ctx.Done()
	}
	select {
	case <-b.ready:
	case <-ctxDone:
		err := canceledError(ctx) // ctx.Err is user code: not under the mutex
		t.mu.Lock()
		if i := slices.Index(t.blocked, b); i >= 0 {
			t.blocked = slices.Delete(t.blocked, i, i+1)
			t.counts.Submitted++
			t.counts.Canceled++
			t.mu.Unlock()
			t.release(b)
			task.cancel(err)
			return err
		}
		t.mu.Unlock()
		<-b.ready // settled meanwhile: the outcome stands
	}
	w, seq, err := b.w, b.seq, b.err
	t.release(b)
	switch {
	case err != nil:
		return err
	case w != nil:
		w.handOver(task) // w is busy: nothing else hands it a task meanwhile
	case ctx != nil && ctxDone != nil:
		t.watch(seq, ctx)
	}
	return nil
}

// release clears b, whose submitter is done with it, and keeps it as the
// team's spare record, unless it has one. A submitter that blocks in a
// steady stream blocks once per task, and reuses one record and channel.
// (Not a sync.Pool shared by every team: a channel made inside a
// testing/synctest bubble must not be used outside it.)
func (t *Team) release(b *blocked) {
	*b = blocked{ready: b.ready}
	t.spare.CompareAndSwap(nil, b)
}

// admitLocked settles the blocked submitters, oldest first: while the
// backlog has room, it accepts each one's task and places it as Submit
// would; once a stop has begun, it refuses each one with ErrStopped
// (counted Rejected).
func (t *Team) admitLocked() {
	refuse := t.state == stateStopping || t.state == stateStopped
	for len(t.blocked) > 0 && (refuse || !t.fullLocked()) {
		b := t.blocked[0]
		n := copy(t.blocked, t.blocked[1:])
		t.blocked[n] = nil
		t.blocked = t.blocked[:n]
		if refuse {
			t.counts.Rejected++
			b.err = ErrStopped
		} else {
			t.counts.Submitted++
			b.w, b.seq = t.dispatchLocked(b.task)
		}
		b.ready <- struct{}{}
	}
}
