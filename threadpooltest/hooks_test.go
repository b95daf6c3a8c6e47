package threadpooltest_test

// The init hook on the double: it runs on the goroutine of the step
// that runs a worker's first task, before it; the cleanup on the step that
// ends the worker, or at the next RunOne for a worker that quit idle.

import (
	"errors"
	"io"
	"log/slog"
	"testing"

	"github.com/twisted-go/threadpool"
	"github.com/twisted-go/threadpool/threadpooltest"
)

func TestDoubleRunsWorkerHooksStepByStep(t *testing.T) {
	var events []string
	fail := false
	p, w := threadpooltest.New(0, 2, threadpool.WithName("d"), threadpool.WithOSThreads(),
		threadpool.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
		threadpool.WithWorkerInit(func(info threadpool.ThreadInfo) (func(), error) {
			if info.ThreadID != 0 {
				t.Errorf("ThreadID %d on the double, want 0", info.ThreadID)
			}
			if fail {
				events = append(events, "init failed "+info.Name)
				return nil, errors.New("no")
			}
			events = append(events, "init "+info.Name)
			return func() { events = append(events, "cleanup "+info.Name) }, nil
		}))
	mustNil(t, p.Start())
	call := func(name string) {
		t.Helper()
		mustNil(t, p.CallInThread(func() { events = append(events, name) }))
	}
	want := func(step string, evs ...string) {
		t.Helper()
		if len(events) != len(evs) {
			t.Fatalf("%s: %q, want %q", step, events, evs)
		}
		for i := range evs {
			if events[i] != evs[i] {
				t.Fatalf("%s: %q, want %q", step, events, evs)
			}
		}
		events = nil
	}

	call("a")
	call("b")
	want("submitted: nothing runs until a step")
	w.RunOne()
	want("first step", "init PoolThread-d-1", "a")
	w.RunOne()
	want("second step", "init PoolThread-d-2", "b")
	call("c")
	w.RunOne()
	want("third step: no init again", "c")

	// A worker that quits idle is cleaned up at the next RunOne.
	mustNil(t, p.StopAWorker())
	want("StopAWorker: nothing runs until a step")
	w.RunOne()
	want("next step", "cleanup PoolThread-d-2")

	// A failing init: the step runs nothing else, the task goes back and
	// runs on a worker whose init succeeds.
	mustNil(t, p.AdjustPoolSize(0, 2))
	fail = true
	call("x") // to the idle worker 1, set up already
	call("d") // to a new worker, 3
	call("e") // to the backlog
	w.RunAll()
	// x runs; worker 1 takes e; worker 3's init fails, and d goes back to
	// the front of the backlog; e runs, then worker 1 takes d.
	want("failing init", "x", "init failed PoolThread-d-3", "e", "d")
	if s := p.Stats(); s.InitFailed != 1 || s.Workers != 1 {
		t.Fatalf("Stats %+v", s)
	}
	p.Stop()
	w.RunAll()
	want("Stop, then a step", "cleanup PoolThread-d-1")
	if s := p.Stats(); s.Completed != 6 || s.Workers != 0 || w.Live() != 0 {
		t.Fatalf("Stats %+v, Live %d", s, w.Live())
	}
}
