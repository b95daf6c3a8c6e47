package team

import "sync"

// entry is one slot of the backlog. A task canceled while waiting (its
// context ended) leaves an empty slot behind until the head reaches it; it
// no longer counts as queued.
type entry struct {
	task Task
}

// dropped reports whether the slot's task was canceled while waiting.
func (e *entry) dropped() bool { return e.task.job == nil }

// chunkSize is the number of slots in one block of the backlog.
const chunkSize = 256

type chunk [chunkSize]entry

// chunks caches empty blocks for reuse by every backlog. A backlog that
// fills and drains over and over (bursts) reuses its blocks instead of
// allocating new ones while the old ones wait for the garbage collector;
// the cache itself is emptied by the collector, so it pins no memory.
var chunks = sync.Pool{New: func() any { return new(chunk) }}

// backlog is the FIFO of tasks accepted but not yet handed to a worker: a
// queue of fixed-size blocks. Pushing and popping never copy slots; a block
// goes back to the chunks cache as soon as the head leaves it, so a burst
// does not pin its peak memory.
//
// Every slot ever pushed gets a sequence number; a slot can be found again
// by that number while it is still queued (see at).
type backlog struct {
	chunks []*chunk // chunks[c0] holds the oldest slot; before c0: nil
	c0     int
	head   int    // index of the oldest slot in chunks[c0]
	n      int    // slots in use
	first  uint64 // sequence number of the oldest slot
}

func (b *backlog) len() int { return b.n }

// push appends e and returns its sequence number.
func (b *backlog) push(e entry) uint64 {
	pos := b.head + b.n
	ci := b.c0 + pos/chunkSize
	if ci == len(b.chunks) {
		b.chunks = append(b.chunks, chunks.Get().(*chunk))
	}
	b.chunks[ci][pos%chunkSize] = e
	b.n++
	return b.first + uint64(b.n-1)
}

// pop removes and returns the oldest slot and its sequence number. The
// queue forgets the slot, so the backlog keeps no reference to the task.
func (b *backlog) pop() (entry, uint64, bool) {
	if b.n == 0 {
		return entry{}, 0, false
	}
	seq := b.first
	c := b.chunks[b.c0]
	e := c[b.head]
	c[b.head] = entry{}
	b.head++
	b.n--
	b.first++
	switch {
	case b.n == 0:
		// Empty: keep the current block for the next push.
		b.head = 0
		clear(b.chunks)
		b.chunks, b.c0 = append(b.chunks[:0], c), 0
	case b.head == chunkSize:
		// The head left this block: every slot in it is cleared already.
		b.chunks[b.c0] = nil
		b.c0++
		b.head = 0
		chunks.Put(c)
		if b.c0 >= 32 && 2*b.c0 >= len(b.chunks) {
			k := copy(b.chunks, b.chunks[b.c0:])
			clear(b.chunks[k:])
			b.chunks, b.c0 = b.chunks[:k], 0
		}
	}
	return e, seq, true
}

// at returns the slot with sequence number seq, or nil once it has left.
func (b *backlog) at(seq uint64) *entry {
	if seq < b.first || seq >= b.first+uint64(b.n) {
		return nil
	}
	pos := b.head + int(seq-b.first)
	return &b.chunks[b.c0+pos/chunkSize][pos%chunkSize]
}
