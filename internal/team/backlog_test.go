package team

// Unit tests of the backlog: FIFO order across block boundaries, growth
// and release of blocks (a burst is not pinned), sequence numbers and at(),
// and that a popped slot keeps no reference to its task. Only relCheckRing
// knows the memory layout.

import (
	"context"
	"testing"
)

// relJob is a Job that can be told apart by its value.
type relJob int

func (relJob) Run() Outcome             { return Completed }
func (relJob) Cancel(error)             {}
func (relJob) Context() context.Context { return nil }

// relTask makes a Task that can be told apart: its Job is relJob(n).

func relTask(n int) Task {
	return JobTask(relJob(n))
}

func relVal(t *testing.T, e entry) int {
	t.Helper()
	if e.dropped() {
		t.Fatal("slot without a task")
	}
	return int(e.task.job.(relJob))
}

// relCheckRing checks the backlog's memory (the only helper that knows its
// layout, a queue of fixed-size blocks): blocks before the head are
// released, no more blocks are held than the live slots span, and every
// slot outside the live window is empty (no reference kept to a task that
// left).
func relCheckRing(t *testing.T, b *backlog) {
	t.Helper()
	for i := 0; i < b.c0; i++ {
		if b.chunks[i] != nil {
			t.Fatalf("block %d before the head (c0 %d) is still held", i, b.c0)
		}
	}
	held := len(b.chunks) - b.c0
	need := max(1, (b.head+b.n+chunkSize-1)/chunkSize)
	if b.n > 0 && held > need || held > max(need, 1) {
		t.Fatalf("%d blocks held for %d slots from offset %d; %d needed", held, b.n, b.head, need)
	}
	empty := func(e entry) bool {
		return e.dropped()
	}
	for ci := b.c0; ci < len(b.chunks); ci++ {
		c := b.chunks[ci]
		if c == nil {
			t.Fatalf("block %d of the live window is nil", ci)
		}
		for k := range c {
			pos := (ci-b.c0)*chunkSize + k
			live := pos >= b.head && pos < b.head+b.n
			if !live && !empty(c[k]) {
				t.Fatalf("slot %d of block %d, outside the live window, still holds %+v", k, ci, c[k])
			}
		}
	}
}

func TestBacklogFIFOAcrossWrapAndGrowth(t *testing.T) {
	var b backlog
	if _, _, ok := b.pop(); ok {
		t.Fatal("pop on an empty backlog")
	}
	next, want := 0, 0
	// Interleave pushes and pops so that the head wraps around several
	// times, at several sizes.
	for round := 0; round < 600; round++ { // ~3,600 slots: many block boundaries
		for i := 0; i < 3+round%7; i++ {
			seq := b.push(entry{task: relTask(next)})
			if seq != uint64(next) {
				t.Fatalf("push %d got sequence number %d", next, seq)
			}
			next++
		}
		for i := 0; i < 2+round%5 && b.len() > 0; i++ {
			e, _, ok := b.pop()
			if !ok {
				t.Fatal("pop failed with n > 0")
			}
			if v := relVal(t, e); v != want {
				t.Fatalf("popped %d, want %d (FIFO)", v, want)
			}
			want++
		}
		if b.len() != next-want {
			t.Fatalf("len %d, want %d", b.len(), next-want)
		}
		relCheckRing(t, &b)
	}
	for b.len() > 0 {
		e, _, _ := b.pop()
		if v := relVal(t, e); v != want {
			t.Fatalf("popped %d, want %d", v, want)
		}
		want++
	}
	if want != next {
		t.Fatalf("popped %d of %d", want, next)
	}
	relCheckRing(t, &b)
}

// A burst grows the backlog block by block and, once drained, leaves at
// most one block behind: the peak is not pinned, and every block handed
// back to the chunks cache is empty. Under a
// steady flow the block list stays short (the head's index is compacted).
func TestBacklogBurstIsNotPinned(t *testing.T) {
	var b backlog
	const burst = 10 * chunkSize
	for i := 0; i < burst; i++ {
		b.push(entry{task: relTask(i)})
	}
	relCheckRing(t, &b)
	if held := len(b.chunks) - b.c0; held != burst/chunkSize {
		t.Fatalf("%d slots in %d blocks, want %d", burst, held, burst/chunkSize)
	}
	released := 0
	for i := 0; i < burst; i++ {
		head := b.chunks[b.c0]
		e, _, _ := b.pop()
		if v := relVal(t, e); v != i {
			t.Fatalf("popped %d, want %d", v, i)
		}
		if i%97 == 0 {
			relCheckRing(t, &b)
		}
		if b.len() > 0 && b.chunks[b.c0] != head {
			released++
			for k := range head {
				if !head[k].dropped() {
					t.Fatalf("block released to the cache after slot %d still holds %+v in slot %d", i, head[k], k)
				}
			}
		}
	}
	if released != burst/chunkSize-1 {
		t.Fatalf("%d blocks released to the cache while draining %d blocks, want %d", released, burst/chunkSize, burst/chunkSize-1)
	}
	relCheckRing(t, &b)
	if blocks := len(b.chunks) - b.c0; blocks > 1 {
		t.Fatalf("after a drained burst of %d: %d blocks kept, want at most 1", burst, blocks)
	}
	// Steady flow: 300 waiting, 100,000 through.
	next, want := 0, 0
	for ; next < 300; next++ {
		b.push(entry{task: relTask(next)})
	}
	for i := 0; i < 100_000; i++ {
		b.push(entry{task: relTask(next)})
		next++
		e, _, _ := b.pop()
		if v := relVal(t, e); v != want {
			t.Fatalf("popped %d, want %d", v, want)
		}
		want++
		if len(b.chunks) > 70 {
			t.Fatalf("block list of %d entries for %d waiting slots: the head index is not compacted", len(b.chunks), b.n)
		}
	}
	relCheckRing(t, &b)
}

// at() across a block boundary, after the head has moved into a later block.
func TestBacklogAtAcrossBlocks(t *testing.T) {
	var b backlog
	const pushed, popped = 3*chunkSize + 17, 2*chunkSize - 5
	for i := 0; i < pushed; i++ {
		b.push(entry{task: relTask(i)})
	}
	for i := 0; i < popped; i++ {
		b.pop()
	}
	for seq := uint64(0); seq < pushed+3; seq++ {
		e := b.at(seq)
		if (e != nil) != (seq >= popped && seq < pushed) {
			t.Fatalf("at(%d) = %v with slots %d..%d queued", seq, e, popped, pushed-1)
		}
		if e != nil && relVal(t, *e) != int(seq) {
			t.Fatalf("at(%d) holds %d", seq, relVal(t, *e))
		}
	}
	relCheckRing(t, &b)
}

func TestBacklogSequenceNumbersAndAt(t *testing.T) {
	var b backlog
	if b.at(0) != nil {
		t.Fatal("at(0) on an empty backlog")
	}
	for i := 0; i < 40; i++ {
		b.push(entry{task: relTask(i)})
	}
	for i := 0; i < 25; i++ {
		b.pop()
	}
	// Slots 25..39 are in the ring, after wrap-around and a shrink.
	for seq := uint64(0); seq < 45; seq++ {
		e := b.at(seq)
		switch {
		case seq < 25 || seq >= 40:
			if e != nil {
				t.Fatalf("at(%d) = %+v, want nil (not in the ring)", seq, *e)
			}
		case e == nil:
			t.Fatalf("at(%d) = nil, want slot %d", seq, seq)
		case relVal(t, *e) != int(seq):
			t.Fatalf("at(%d) holds %d", seq, relVal(t, *e))
		}
	}
	// at returns the slot itself: marking it is seen by pop.
	b.at(30).task = Task{}    // as dropWaiting does
	for i := 0; i < 20; i++ { // more pushes: growth keeps numbers stable
		if seq := b.push(entry{task: relTask(40 + i)}); seq != uint64(40+i) {
			t.Fatalf("sequence number %d, want %d", seq, 40+i)
		}
	}
	if e := b.at(30); e == nil || !e.dropped() {
		t.Fatalf("slot 30 after growth: %+v", e)
	}
	for want := 25; b.len() > 0; want++ {
		e, seq, _ := b.pop()
		if seq != uint64(want) {
			t.Fatalf("popped sequence number %d, want %d", seq, want)
		}
		if e.dropped() != (want == 30) || (want != 30 && relVal(t, e) != want) {
			t.Fatalf("popped %+v (dropped=%v), want %d", e, e.dropped(), want)
		}
		if b.at(uint64(want)) != nil {
			t.Fatalf("at(%d) after it was popped", want)
		}
	}
}

// A popped slot is cleared: the backlog keeps no reference to the task.
func TestBacklogPopForgets(t *testing.T) {
	var b backlog
	for i := 0; i < 10; i++ {
		b.push(entry{task: relTask(i)})
	}
	for i := 0; i < 10; i++ {
		b.pop()
		relCheckRing(t, &b)
	}
}
