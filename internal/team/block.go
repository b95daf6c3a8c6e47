package team

import "context"

// Submitters blocked for backlog room (the Block policy).
//
// A submitter that finds the bounded backlog full joins the queue t.blocked
// and parks. Whoever makes room settles it without waking it first:
// admitLocked, run by settleAndUnlock at the end of every step that may pop
// or drop backlogged tasks, accepts the oldest blocked submitters' tasks
// while there is room, placing each as Submit would, and only then wakes
// them. So a woken submitter returns at once instead of queueing again for
// the mutex with the workers that made the room, and blocked submitters
// are accepted in the order they blocked. The alternative, waking every
// blocked submitter to try again, cost a wake-up, a new channel and a
// contended lock per task in a steady stream, and let any of them take the
// room. The wake-ups come after the mutex is released (settleAndUnlock), as
// a Go channel wakes a blocked sender after releasing its own lock. (Measured:
// docs/performance.md.)

// blocked is one submitter waiting for backlog room. admitLocked fills in
// the outcome under the mutex, wake signals ready after it is released,
// and the submitter reads the outcome after that.
type blocked struct {
	task  Task
	ready chan struct{} // buffered 1: a signal never waits for the submitter
	w     *Worker       // accepted for this worker: the submitter hands the task over
	seq   uint64        // else accepted into this backlog slot
	err   error         // refused: ErrStopped
	// next links the queue (waitq) while b waits, then, once settled, the
	// ones settled in the same step, for settleAndUnlock to wake after unlocking.
	next *blocked
}

// waitq is the FIFO of blocked submitters, linked by next: admitting the
// oldest takes O(1), however many wait.
type waitq struct {
	head, tail *blocked
}

func (q *waitq) push(b *blocked) {
	if q.tail == nil {
		q.head = b
	} else {
		q.tail.next = b
	}
	q.tail = b
}

// remove takes b out of the queue and reports whether it was there (it is
// not once settled). It walks the queue: it serves only a submitter whose
// context ended while it waited.
func (q *waitq) remove(b *blocked) bool {
	var prev *blocked
	for c := q.head; c != nil; prev, c = c, c.next {
		if c != b {
			continue
		}
		if prev == nil {
			q.head = b.next
		} else {
			prev.next = b.next
		}
		if q.tail == b {
			q.tail = prev
		}
		b.next = nil
		return true
	}
	return false
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
	t.blocked.push(b)
	t.mu.Unlock()
	ctxDone := doneOf(ctx)
	select {
	case <-b.ready:
	case <-ctxDone:
		err := CanceledError(ctx) // ctx.Err is user code: not under the mutex
		t.mu.Lock()
		if t.blocked.remove(b) {
			t.counts.Submitted++
			t.counts.Canceled++
			if g := groupOf(task); g != nil {
				t.endLocked(g, false)
			}
			t.settleAndUnlock()
			t.release(b)
			task, m := untime(task)
			task.cancel(err)
			if m != nil {
				// Accepted and canceled at once: it never waited in the pool.
				t.observe(End{Outcome: Canceled})
			}
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
	case ctxDone != nil:
		t.watch(seq, ctx)
	}
	return nil
}

// doneOf returns ctx.Done(), or nil for a nil ctx. The context's methods are
// user code: one whose Done panics is taken as a context that never ends.
func doneOf(ctx context.Context) (done <-chan struct{}) {
	if ctx == nil {
		return nil
	}
	defer func() {
		if recover() != nil {
			done = nil
		}
	}()
	return ctx.Done()
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
// (counted Rejected). It returns the settled ones, still linked by next
// in that order, for settleAndUnlock to wake once the mutex is free: a woken
// submitter does not then find it held.
func (t *Team) admitLocked() (settled *blocked) {
	refuse := t.state == stateStopping || t.state == stateStopped
	var last *blocked
	var at instant // read at most once, for the accepted tasks' timed records
	read := false
	for b := t.blocked.head; b != nil && (refuse || !t.isFullLocked()); b = b.next {
		if refuse {
			t.counts.Rejected++
			b.err = ErrStopped
		} else {
			t.counts.Submitted++
			reaccept(b.task, &at, &read)
			b.w, b.seq = t.dispatchLocked(b.task)
			if b.w == nil {
				if g := groupOf(b.task); g != nil {
					g.noteSeqLocked(b.seq)
				}
			}
		}
		last = b
	}
	if last == nil {
		return nil
	}
	// The settled ones are the front of the queue: cut it after last.
	settled, t.blocked.head = t.blocked.head, last.next
	if t.blocked.head == nil {
		t.blocked.tail = nil
	}
	last.next = nil
	return settled
}

// wake tells the settled submitters, in order, that their outcome is in.
func wake(settled *blocked) {
	for b := settled; b != nil; {
		next := b.next // b is its submitter's again once signaled
		b.ready <- struct{}{}
		b = next
	}
}
