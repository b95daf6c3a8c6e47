package team

import (
	"slices"
	"testing"
)

// The idle list: the last worker to go idle is taken first, the one idle
// the longest is at the other end (the idle timeout retires it first), and
// taking workers off anywhere keeps both directions and the count right.
func TestIdleListOrder(t *testing.T) {
	tm := New(0, 10, Config{})
	ws := make([]*Worker, 4)
	for i := range ws {
		ws[i] = &Worker{ID: i + 1}
	}
	tm.mu.Lock()
	defer tm.mu.Unlock()
	check := func(want ...int) {
		t.Helper()
		var fromNew, fromOld []int
		for w := tm.idleNew; w != nil; w = w.older {
			fromNew = append(fromNew, w.ID)
		}
		for w := tm.idleOld; w != nil; w = w.newer {
			fromOld = append(fromOld, w.ID)
		}
		slices.Reverse(fromOld)
		if !slices.Equal(fromNew, want) || !slices.Equal(fromOld, want) || tm.waiters != len(want) {
			t.Fatalf("idle list newest first %v, oldest first reversed %v, waiters %d; want %v",
				fromNew, fromOld, tm.waiters, want)
		}
	}
	for _, w := range ws {
		tm.idleLocked(w)
	}
	check(4, 3, 2, 1)
	if w := tm.popIdleLocked(); w != ws[3] || w.newer != nil || w.older != nil {
		t.Fatalf("popped %+v, want worker 4 unlinked", w)
	}
	check(3, 2, 1)
	tm.unlinkIdleLocked(ws[1]) // from the middle
	check(3, 1)
	tm.idleLocked(ws[3])
	check(4, 3, 1)
	tm.unlinkIdleLocked(tm.idleOld) // as expire does
	check(4, 3)
	for _, want := range []*Worker{ws[3], ws[2], nil} {
		if w := tm.popIdleLocked(); w != want {
			t.Fatalf("popped %+v, want %+v", w, want)
		}
	}
	check()
}
