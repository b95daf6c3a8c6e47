package team

// entry is one slot of the backlog.
type entry struct {
	task Task
	// stop unregisters the context watch of a Submit task whose context can
	// end while it waits; nil when there is none.
	stop func() bool
	// dropped marks a task canceled while waiting (its context ended). Its
	// slot stays until the head reaches it, but it no longer counts as queued.
	dropped bool
}

// backlog is the FIFO of tasks accepted but not yet handed to a worker: a
// ring buffer whose size is a power of two, that grows by doubling and
// shrinks when mostly empty, so a burst does not pin its peak memory forever.
//
// Every slot ever pushed gets a sequence number; a slot can be found again
// by that number while it is still in the ring (see at).
type backlog struct {
	buf   []entry
	head  int    // index of the oldest slot
	n     int    // slots in use
	first uint64 // sequence number of buf[head]
}

const minBacklog = 16

func (b *backlog) len() int { return b.n }

// push appends e and returns its sequence number.
func (b *backlog) push(e entry) uint64 {
	if b.n == len(b.buf) {
		b.resize(max(minBacklog, 2*len(b.buf)))
	}
	b.buf[(b.head+b.n)&(len(b.buf)-1)] = e
	b.n++
	return b.first + uint64(b.n-1)
}

// pop removes and returns the oldest slot. The ring forgets the slot, so the
// backlog keeps no reference to the task.
func (b *backlog) pop() (entry, bool) {
	if b.n == 0 {
		return entry{}, false
	}
	e := b.buf[b.head]
	b.buf[b.head] = entry{}
	b.head = (b.head + 1) & (len(b.buf) - 1)
	b.n--
	b.first++
	if len(b.buf) > minBacklog && b.n < len(b.buf)/4 {
		b.resize(len(b.buf) / 2)
	}
	return e, true
}

// at returns the slot with sequence number seq, or nil once it has left.
func (b *backlog) at(seq uint64) *entry {
	if seq < b.first || seq >= b.first+uint64(b.n) {
		return nil
	}
	return &b.buf[(b.head+int(seq-b.first))&(len(b.buf)-1)]
}

// resize moves the slots in use to a new ring of size slots (a power of
// two, at least b.n), oldest first.
func (b *backlog) resize(size int) {
	buf := make([]entry, size)
	if b.n > 0 {
		tail := min(b.n, len(b.buf)-b.head) // slots from head to the end
		copy(buf, b.buf[b.head:b.head+tail])
		copy(buf[tail:], b.buf[:b.n-tail])
	}
	b.buf, b.head = buf, 0
}
