package team

// Unit tests of the backlog ring: FIFO order across wrap-around, growth by
// doubling, shrinking when mostly empty, sequence numbers and at(), and
// that a popped slot keeps no reference to its task.

import (
	"context"
	"testing"
)

// relTask makes a Task that can be told apart: its Ctx carries the value n.
type relKey struct{}

func relTask(n int) Task {
	return Task{Func: func() {}, Ctx: context.WithValue(context.Background(), relKey{}, n)}
}

func relVal(t *testing.T, e entry) int {
	t.Helper()
	if e.task.Ctx == nil {
		t.Fatal("slot without a task")
	}
	return e.task.Ctx.Value(relKey{}).(int)
}

// relCheckRing checks the ring's structure: size a power of two (at least
// minBacklog once used), and every slot outside the live window empty.
func relCheckRing(t *testing.T, b *backlog) {
	t.Helper()
	size := len(b.buf)
	if size == 0 {
		if b.n != 0 {
			t.Fatalf("n %d with no buffer", b.n)
		}
		return
	}
	if size < minBacklog || size&(size-1) != 0 {
		t.Fatalf("ring size %d: want a power of two >= %d", size, minBacklog)
	}
	if b.n > size || b.head < 0 || b.head >= size {
		t.Fatalf("n %d head %d size %d", b.n, b.head, size)
	}
	for i := b.n; i < size; i++ {
		e := b.buf[(b.head+i)%size]
		if e.task.Func != nil || e.task.Job != nil || e.task.Ctx != nil || e.stop != nil || e.dropped {
			t.Fatalf("slot %d outside the live window still holds %+v", (b.head+i)%size, e)
		}
	}
}

func TestRelBacklogFIFOAcrossWrapAndGrowth(t *testing.T) {
	var b backlog
	if _, ok := b.pop(); ok {
		t.Fatal("pop on an empty backlog")
	}
	next, want := 0, 0
	// Interleave pushes and pops so that the head wraps around several
	// times, at several sizes.
	for round := 0; round < 50; round++ {
		for i := 0; i < 3+round%7; i++ {
			seq := b.push(entry{task: relTask(next)})
			if seq != uint64(next) {
				t.Fatalf("push %d got sequence number %d", next, seq)
			}
			next++
		}
		for i := 0; i < 2+round%5 && b.len() > 0; i++ {
			e, ok := b.pop()
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
		e, _ := b.pop()
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

func TestRelBacklogGrowsByDoublingAndShrinks(t *testing.T) {
	var b backlog
	b.push(entry{task: relTask(0)})
	if len(b.buf) != minBacklog {
		t.Fatalf("first push: size %d, want %d", len(b.buf), minBacklog)
	}
	for i := 1; i < 1000; i++ {
		before := len(b.buf)
		b.push(entry{task: relTask(i)})
		if after := len(b.buf); after != before && after != 2*before {
			t.Fatalf("grew from %d to %d, want doubling", before, after)
		}
	}
	if len(b.buf) != 1024 {
		t.Fatalf("1000 slots in a ring of %d, want 1024", len(b.buf))
	}
	peak := len(b.buf)
	for i := 0; i < 1000; i++ {
		e, _ := b.pop()
		if v := relVal(t, e); v != i {
			t.Fatalf("popped %d, want %d", v, i)
		}
		// Shrinking: never below minBacklog; while above it, the ring is
		// at most 4x (plus one halving step) what it holds.
		if len(b.buf) > minBacklog && b.n < len(b.buf)/4 {
			t.Fatalf("n %d in a ring of %d after pop: not shrunk", b.n, len(b.buf))
		}
		relCheckRing(t, &b)
	}
	if len(b.buf) != minBacklog {
		t.Fatalf("empty after a burst: ring of %d, want %d (a burst must not pin its peak %d)", len(b.buf), minBacklog, peak)
	}
}

func TestRelBacklogSequenceNumbersAndAt(t *testing.T) {
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
	b.at(30).dropped = true
	for i := 0; i < 20; i++ { // more pushes: growth keeps numbers stable
		if seq := b.push(entry{task: relTask(40 + i)}); seq != uint64(40+i) {
			t.Fatalf("sequence number %d, want %d", seq, 40+i)
		}
	}
	if e := b.at(30); e == nil || !e.dropped || relVal(t, *e) != 30 {
		t.Fatalf("slot 30 after growth: %+v", e)
	}
	for want := 25; b.len() > 0; want++ {
		e, _ := b.pop()
		if relVal(t, e) != want || e.dropped != (want == 30) {
			t.Fatalf("popped %d (dropped=%v), want %d", relVal(t, e), e.dropped, want)
		}
		if b.at(uint64(want)) != nil {
			t.Fatalf("at(%d) after it was popped", want)
		}
	}
}

// A popped slot is cleared: the ring keeps no reference to the task, its
// context or its stop function.
func TestRelBacklogPopForgets(t *testing.T) {
	var b backlog
	for i := 0; i < 10; i++ {
		b.push(entry{task: relTask(i), stop: func() bool { return true }})
	}
	for i := 0; i < 10; i++ {
		b.pop()
		relCheckRing(t, &b)
	}
	for _, e := range b.buf {
		if e.task.Ctx != nil || e.task.Func != nil || e.stop != nil {
			t.Fatalf("slot kept %+v after pop", e)
		}
	}
}
