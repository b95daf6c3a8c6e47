package team

import (
	"slices"
	"testing"
	"time"
)

// The idle list: the last worker to go idle is taken first, the one idle
// the longest is at the other end (the idle timeout retires it first), and
// taking workers off either end keeps both directions and the count right.
// (The newest worker's newer link is not kept: the walk from the oldest
// stops at the newest.)
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
			if w == tm.idleNew {
				break
			}
		}
		slices.Reverse(fromOld)
		if !slices.Equal(fromNew, want) || !slices.Equal(fromOld, want) || tm.waiters != len(want) {
			t.Fatalf("idle list newest first %v, oldest first reversed %v, waiters %d; want %v",
				fromNew, fromOld, tm.waiters, want)
		}
	}
	for _, w := range ws {
		tm.pushIdleLocked(w)
	}
	check(4, 3, 2, 1)
	if w := tm.popIdleLocked(); w != ws[3] || w.newer != nil || w.older != nil {
		t.Fatalf("popped %+v, want worker 4 unlinked", w)
	}
	check(3, 2, 1)
	tm.pushIdleLocked(ws[3])
	check(4, 3, 2, 1)
	if w := tm.popOldestIdleLocked(); w != ws[0] || w.newer != nil || w.older != nil {
		t.Fatalf("popped %+v as the oldest, want worker 1 unlinked", w)
	}
	check(4, 3, 2)
	if w := tm.popOldestIdleLocked(); w != ws[1] {
		t.Fatalf("popped %+v as the oldest, want worker 2", w)
	}
	check(4, 3)
	for _, want := range []*Worker{ws[3], ws[2], nil} {
		if w := tm.popIdleLocked(); w != want {
			t.Fatalf("popped %+v, want %+v", w, want)
		}
	}
	check()
	tm.pushIdleLocked(ws[0])
	check(1)
	if w := tm.popOldestIdleLocked(); w != ws[0] {
		t.Fatalf("popped %+v as the oldest of one, want worker 1", w)
	}
	check()
	// The newest was taken, leaving a stale newer link on the next one;
	// pushing again and taking from the oldest end must not follow it.
	tm.pushIdleLocked(ws[0])
	tm.pushIdleLocked(ws[1])
	tm.pushIdleLocked(ws[2])
	if w := tm.popIdleLocked(); w != ws[2] {
		t.Fatalf("popped %+v, want worker 3", w)
	}
	check(2, 1)
	if w := tm.popOldestIdleLocked(); w != ws[0] {
		t.Fatalf("popped %+v as the oldest, want worker 1", w)
	}
	check(2)
	if w := tm.popOldestIdleLocked(); w != ws[1] {
		t.Fatalf("popped %+v as the oldest, want worker 2", w)
	}
	check()
}

// The idle timer is armed exactly while some idle worker could exit (SPEC
// F2), whichever way Submit takes an idle worker: its fast path while
// another idle worker remains, and popIdleLocked when it takes the last
// one, which must disarm the timer.
func TestSubmitKeepsIdleTimerOnlyWhileAWorkerIsIdle(t *testing.T) {
	m := &Memory{}
	tm := New(0, 2, Config{NewExecutor: m.Factory(), Synchronous: true, IdleTimeout: time.Hour})
	if err := tm.Start(); err != nil {
		t.Fatal(err)
	}
	armed := func(want bool, when string) {
		t.Helper()
		tm.mu.Lock()
		got, waiters := tm.timer != nil, tm.waiters
		tm.mu.Unlock()
		if got != want {
			t.Fatalf("%s: idle timer armed %v with %d idle, want %v", when, got, waiters, want)
		}
	}
	submit := func() {
		t.Helper()
		if err := tm.Submit(FuncTask(func() {})); err != nil {
			t.Fatal(err)
		}
	}
	submit()
	submit()
	armed(false, "two busy workers")
	m.RunOne()
	m.RunOne()
	armed(true, "two idle workers above min")
	submit()
	armed(true, "one of two idle workers taken")
	submit()
	armed(false, "the last idle worker taken")
	m.RunOne()
	armed(true, "a worker idle again")
	submit()
	armed(false, "the only idle worker taken")
	m.RunOne()
	m.RunOne()
	if !tm.Stop(false).Wait(nil) {
		t.Fatal("stop did not end")
	}
	armed(false, "stopped")
}
