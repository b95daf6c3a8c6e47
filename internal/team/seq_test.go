package team

import (
	"context"
	"testing"
)

type recordJob struct {
	ctx           context.Context
	ran, canceled int
	err           error
}

func (j *recordJob) Run() Outcome {
	if j.ctx != nil && j.ctx.Err() != nil {
		j.Cancel(CanceledError(j.ctx))
		return Canceled
	}
	j.ran++
	return Completed
}
func (j *recordJob) Cancel(err error)         { j.canceled++; j.err = err }
func (j *recordJob) Context() context.Context { return j.ctx }

// A context watch that lost the race with a worker (its task left the
// backlog, its stop came too late) and runs only after a stop and restart
// must not find another task under its sequence number: numbers are never
// reused within a team's life.
func TestStaleWatchAfterRestartFindsNothing(t *testing.T) {
	m := &Memory{}
	tm := New(0, 1, Config{NewExecutor: m.Factory(), Synchronous: true})
	_ = tm.Start()
	ctx1, cancel1 := context.WithCancel(context.Background())
	_ = tm.Submit(FuncTask(func() {}))
	old := &recordJob{ctx: ctx1}
	_ = tm.Submit(JobTask(old)) // backlog slot 0
	m.RunOne()                  // the worker takes it
	cancel1()                   // too late for the watch
	m.RunOne()                  // it sees ctx1 done: canceled
	tm.Stop(false)
	for m.RunOne() {
	}
	_ = tm.Start()
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	_ = tm.Submit(FuncTask(func() {}))
	fresh := &recordJob{ctx: ctx2}
	_ = tm.Submit(JobTask(fresh))
	tm.dropWaiting(0, ctx1) // the old watch, running late
	if fresh.canceled != 0 {
		t.Fatalf("a live task was canceled by a stale watch: %v", fresh.err)
	}
	if old.canceled != 1 || old.ran != 0 {
		t.Fatalf("old task: ran %d, canceled %d", old.ran, old.canceled)
	}
	tm.Stop(true)
	for m.RunOne() {
	}
	if fresh.canceled != 1 {
		t.Fatalf("StopNow: fresh task canceled %d times", fresh.canceled)
	}
}
