package threadpool_test

// TestModelRealPool: a model-based test of the REAL pool (goroutine
// workers), inside a testing/synctest bubble (rapid.SyncTest). After every
// action synctest.Wait brings the bubble to quiescence (every goroutine
// durably blocked: tasks on their gates, idle workers on their channels),
// and the pool's Stats must equal a small model of the scheduler exactly:
// sizes, workers, busy/idle, backlog, pending shrink, peak and every
// counter. The model also knows which task runs on which busy worker, so
// the set of tasks that have started and not been released must be the
// model's set (SPEC A4, A6: FIFO, no overtaking). H1/H2 hold at every
// quiescent snapshot, and A5 is measured inside the tasks as they start.
//
// TestModelRealPool runs it with rapid's generator; FuzzModelRealPool
// is the same property as a native fuzz target (rapid.MakeFuzz), with a
// seed corpus in testdata/fuzz/FuzzModelRealPool.
//
// The rules themselves are internal/schedmodel, the model this test shares
// with threadpooltest/model_test.go (the deterministic double): sizes, idle
// workers, the task on each busy worker, the FIFO backlog, shrink requests,
// the counters, the transitions and the expected Stats. This test keeps on
// top what only the real pool shows: which waiting Stop returns when (stop
// generations, relModel), which tasks have started (against Model.Busy),
// and each task's fate (relMTask.wantRun, checked in finish). Only this test
// drives contexts that end (at Submit, or while their task waits) and
// Stop, Shutdown or a submission from inside a task.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/twisted-go/threadpool"
	"github.com/twisted-go/threadpool/internal/schedmodel"
	"pgregory.net/rapid"
)

// relModel is the scheduler's rules, shared with the double's model test
// (internal/schedmodel), and what only this test observes on top: which
// waiting Stop returns when (stop generations). Each task's fate is in
// relMTask.wantRun, set through the Model's OnCancel.
type relModel struct {
	schedmodel.Model
	gen int // stops begun; a waiting Stop returns when its generation's drain ends
}

// stop begins a stop (or joins the one under way); it returns how many
// waiting tasks it canceled and the generation a waiting Stop joins.
func (m *relModel) stop(now bool) (dropped, gen int) {
	if m.State == schedmodel.StateNew || m.State == schedmodel.StateRunning {
		m.gen++
	}
	return m.Stop(now), m.gen
}

// endedGen is the last stop generation whose drain has ended: all of them
// but a stop under way.
func (m *relModel) endedGen() int {
	if m.State == schedmodel.StateStopping {
		return m.gen - 1
	}
	return m.gen
}

// Outcomes of a released task.
const (
	relOutOK = iota
	relOutError
	relOutPanic
	relOutGoexit
	relOutStopInside
	relOutSubmitInside
	relOutCallbackPanic
	relOutCount
)

type relMTask struct {
	id       int
	kind     int
	ctxMode  int      // Future kind: 0 Background, 1 cancelable, 2 already done
	gate     chan int // the outcome, sent by release
	cancel   context.CancelFunc
	child    *relMTask // the task it submits for relOutSubmitInside
	started  atomic.Bool
	ran      atomic.Int32
	reports  atomic.Int32
	cbPanic  atomic.Bool
	innerErr atomic.Pointer[error] // Stop or submission error inside the task
	fut      *threadpool.Future[int]
	// Test goroutine only:
	released bool
	refused  bool // refused at submission
	wantRun  int  // model: 1 it ran, -1 it never runs, 0 not decided yet
}

type relHarness struct {
	t        *rapid.T
	p        *threadpool.Pool
	m        relModel
	tasks    []*relMTask
	active   atomic.Int64 // started, not yet released
	curMax   atomic.Int64 // max as the test last set it
	a5       atomic.Pointer[string]
	stoppers []relStopper
	prev     *threadpool.Stats
}

type relStopper struct {
	gen  int
	done chan struct{}
}

func relNewHarness(t *rapid.T) *relHarness {
	lo := rapid.IntRange(0, 2).Draw(t, "min")
	hi := rapid.IntRange(lo, lo+2).Draw(t, "max")
	p, err := threadpool.New(lo, hi, threadpool.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	h := &relHarness{t: t, p: p}
	h.m.Min, h.m.Max = lo, hi
	h.m.OnCancel = func(id int) { h.tasks[id].wantRun = -1 }
	h.curMax.Store(int64(hi))
	return h
}

// makeTask records a new gated task (test goroutine only).
func (h *relHarness) makeTask(kind, ctxMode int) *relMTask {
	tk := &relMTask{id: len(h.tasks), kind: kind, ctxMode: ctxMode, gate: make(chan int, 1)}
	h.tasks = append(h.tasks, tk)
	return tk
}

// submitTask submits tk to the pool, from any goroutine.
func (h *relHarness) submitTask(tk *relMTask) error {
	body := func() (int, error) {
		tk.started.Store(true)
		if n := h.active.Add(1); n > h.curMax.Load() {
			msg := fmt.Sprintf("task %d started with %d running; max %d", tk.id, n, h.curMax.Load())
			h.a5.CompareAndSwap(nil, &msg)
		}
		tk.ran.Add(1)
		out := <-tk.gate
		h.active.Add(-1)
		switch out {
		case relOutError:
			return 0, errRelInjected
		case relOutPanic:
			panic(fmt.Sprint("task ", tk.id))
		case relOutGoexit:
			runtime.Goexit()
		case relOutStopInside:
			err := h.p.Stop()
			tk.innerErr.Store(&err)
		case relOutSubmitInside:
			err := h.submitTask(tk.child)
			tk.innerErr.Store(&err)
		}
		return tk.id, nil
	}
	switch tk.kind {
	case relKindCall:
		return h.p.CallInThread(func() { _, _ = body() })
	case relKindCallback:
		return h.p.CallInThreadWithCallback(func(any, error) {
			tk.reports.Add(1)
			if tk.cbPanic.Load() {
				panic("callback")
			}
		}, func() (any, error) { return body() })
	}
	ctx := context.Background()
	switch tk.ctxMode {
	case 1:
		ctx, tk.cancel = context.WithCancel(ctx)
	case 2:
		c, cancel := context.WithCancel(ctx)
		cancel()
		ctx = c
	}
	tk.fut = threadpool.Submit(ctx, h.p, func(context.Context) (int, error) { return body() })
	return nil
}

// quiesce waits until every goroutine of the bubble is durably blocked.
func (h *relHarness) quiesce() { synctest.Wait() }

// check compares the pool with the model at quiescence.
func (h *relHarness) check(t *rapid.T) {
	h.quiesce()
	s := h.p.Stats()
	if err := checkSnapshot(h.prev, s); err != nil {
		t.Fatalf("H1/H2: %v", err)
	}
	h.prev = &s
	m := &h.m
	if want := threadpool.Stats(m.Stats()); s != want {
		t.Fatalf("stats differ from the model:\n pool  %+v\n model %+v\n running %v backlog %v state %d", s, want, m.Busy, m.Backlog, m.State)
	}
	var active []int
	for _, tk := range h.tasks {
		if tk.started.Load() && !tk.released {
			active = append(active, tk.id)
		}
	}
	run := slices.Clone(m.Busy)
	slices.Sort(run)
	if !slices.Equal(active, run) {
		t.Fatalf("tasks running %v; the model runs %v (FIFO order broken, or a task lost or run twice)", active, run)
	}
	if msg := h.a5.Load(); msg != nil {
		t.Fatalf("A5: %s", *msg)
	}
	for _, st := range h.stoppers {
		if done := isClosed(st.done); done != (st.gen <= m.endedGen()) {
			t.Fatalf("a Stop of generation %d has returned=%v, but the model says its drain ended=%v", st.gen, done, st.gen <= m.endedGen())
		}
	}
}

// release lets running task id finish with outcome out, in the model and
// in the pool.
func (h *relHarness) release(t *rapid.T, id, out int) {
	tk := h.tasks[id]
	failed := out == relOutError && tk.kind != relKindCall || out == relOutPanic || out == relOutGoexit
	if out == relOutCallbackPanic {
		if tk.kind == relKindCallback {
			tk.cbPanic.Store(true)
			failed = true
		} else {
			out = relOutOK
		}
	}
	// What the task does before it returns happens first.
	switch out {
	case relOutStopInside:
		h.m.stop(false)
	case relOutSubmitInside:
		tk.child = h.makeTask(relKindCall, 0)
		if !h.m.Submit(tk.child.id, false) {
			tk.child.refused, tk.child.wantRun = true, -1
		}
	}
	tk.released, tk.wantRun = true, 1
	tk.gate <- out
	res := schedmodel.Completed
	if failed {
		res = schedmodel.Failed
	}
	h.m.Finish(id, res)
	h.quiesce()
	switch out {
	case relOutStopInside:
		if p := tk.innerErr.Load(); p == nil || *p != nil {
			t.Fatalf("Stop inside a task did not return nil at once")
		}
	case relOutSubmitInside:
		p := tk.innerErr.Load()
		if p == nil || (*p == nil) == tk.child.refused {
			t.Fatalf("submission inside a task: %v; the model refused=%v", p, tk.child.refused)
		}
	}
}

// The property.
func relModelProp(t *rapid.T) {
	rapid.SyncTest(t, func(t *rapid.T) {
		h := relNewHarness(t)
		defer h.teardown()
		if rapid.IntRange(0, 3).Draw(t, "startFirst") > 0 {
			if h.m.Start() || h.p.Start() != nil {
				t.Fatal("Start on a new pool")
			}
		}
		// An action that does not apply is a no-op rather than t.Skip:
		// rapid fails a run in which too many draws in a row are skipped,
		// and a fuzzer's input can pick "release" on an idle pool at will.
		actions := map[string]func(*rapid.T){
			"submit": func(t *rapid.T) {
				kind := rapid.IntRange(0, 2).Draw(t, "kind")
				ctxMode := 0
				if kind == relKindFuture {
					ctxMode = rapid.IntRange(0, 2).Draw(t, "ctx") // none, cancelable, already done
				}
				tk := h.makeTask(kind, ctxMode)
				accepted := h.m.Submit(tk.id, ctxMode == 2)
				if !accepted || ctxMode == 2 {
					tk.wantRun = -1
				}
				tk.refused = !accepted
				err := h.submitTask(tk)
				if kind != relKindFuture && (err == nil) != accepted {
					t.Fatalf("submission: err %v, model accepted=%v", err, accepted)
				}
				if kind == relKindFuture && !accepted {
					if _, err := tk.fut.Wait(context.Background()); !errors.Is(err, threadpool.ErrStopped) {
						t.Fatalf("Submit on a stopped pool: %v", err)
					}
				}
			},
			"release": func(t *rapid.T) {
				if len(h.m.Busy) == 0 {
					return // a no-op step; see relModelProp on why not t.Skip
				}
				id := rapid.SampledFrom(h.m.Busy).Draw(t, "task")
				h.release(t, id, rapid.IntRange(0, relOutCount-1).Draw(t, "outcome"))
			},
			"cancelCtx": func(t *rapid.T) {
				var c []int
				for _, tk := range h.tasks {
					if tk.cancel != nil {
						c = append(c, tk.id)
					}
				}
				if len(c) == 0 {
					return // a no-op step
				}
				tk := h.tasks[rapid.SampledFrom(c).Draw(t, "task")]
				tk.cancel()
				tk.cancel = nil
				h.m.CancelWaiting(tk.id) // OnCancel marks it never run if it waited
			},
			"adjust": func(t *rapid.T) {
				lo := rapid.IntRange(0, 2).Draw(t, "min")
				hi := rapid.IntRange(lo, lo+2).Draw(t, "max")
				h.curMax.Store(int64(hi))
				h.m.Adjust(lo, hi)
				if err := h.p.AdjustPoolSize(lo, hi); err != nil {
					t.Fatal(err)
				}
			},
			"startAWorker": func(t *rapid.T) {
				wantErr := h.m.StartAWorker()
				if err := h.p.StartAWorker(); (err != nil) != wantErr {
					t.Fatalf("StartAWorker: %v, want error=%v", err, wantErr)
				}
			},
			"stopAWorker": func(t *rapid.T) {
				wantErr := h.m.StopAWorker()
				if err := h.p.StopAWorker(); (err != nil) != wantErr {
					t.Fatalf("StopAWorker: %v, want error=%v", err, wantErr)
				}
			},
			"start": func(t *rapid.T) {
				wantErr := h.m.Start()
				if err := h.p.Start(); (err != nil) != wantErr {
					t.Fatalf("Start: %v, want error=%v", err, wantErr)
				}
			},
			"stop": func(t *rapid.T) {
				_, gen := h.m.stop(false)
				st := relStopper{gen: gen, done: make(chan struct{})}
				h.stoppers = append(h.stoppers, st)
				go func() { _ = h.p.Stop(); close(st.done) }()
			},
			"stopNow": func(t *rapid.T) {
				d, _ := h.m.stop(true)
				if n := h.p.StopNow(); n != d {
					t.Fatalf("StopNow dropped %d, the model %d", n, d)
				}
			},
			"shutdown": func(t *rapid.T) {
				h.m.stop(false)
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				err := h.p.Shutdown(ctx)
				cancel()
				if ended := h.m.State == schedmodel.StateStopped; ended != (err == nil) {
					t.Fatalf("Shutdown: %v; the model's drain ended=%v", err, ended)
				}
			},
			"": h.check,
		}
		// Weights: Repeat draws actions uniformly, so frequent ones appear
		// under several names, and the three stops share one.
		stops := []func(*rapid.T){actions["stop"], actions["stopNow"], actions["shutdown"]}
		delete(actions, "stop")
		delete(actions, "stopNow")
		delete(actions, "shutdown")
		actions["stop"] = func(t *rapid.T) {
			stops[rapid.IntRange(0, 2).Draw(t, "stop: graceful, now, bounded")](t)
		}
		for name, n := range map[string]int{"submit": 5, "release": 6, "start": 3, "adjust": 2} {
			for i := 2; i <= n; i++ {
				actions[fmt.Sprint(name, i)] = actions[name]
			}
		}
		t.Repeat(actions)
		h.finish(t)
	})
}

// finish releases everything, stops the pool and checks every task's fate.
func (h *relHarness) finish(t *rapid.T) {
	_, gen := h.m.stop(false)
	st := relStopper{gen: gen, done: make(chan struct{})}
	h.stoppers = append(h.stoppers, st)
	go func() { _ = h.p.Stop(); close(st.done) }()
	for len(h.m.Busy) > 0 {
		h.release(t, h.m.Busy[0], relOutOK)
	}
	h.check(t)
	if h.m.State != schedmodel.StateStopped {
		t.Fatalf("the model did not stop: %+v", h.m)
	}
	for _, tk := range h.tasks {
		ran := tk.ran.Load()
		switch {
		case tk.wantRun == 0:
			t.Fatalf("task %d: the model lost it", tk.id)
		case tk.wantRun == 1 && ran != 1, tk.wantRun == -1 && ran != 0:
			t.Fatalf("task %d ran %d times; the model says run=%d", tk.id, ran, tk.wantRun)
		}
		switch tk.kind {
		case relKindCallback:
			want := int32(1)
			if tk.refused {
				want = 0
			}
			if n := tk.reports.Load(); n != want {
				t.Fatalf("task %d (refused=%v): callback called %d times", tk.id, tk.refused, n)
			}
		case relKindFuture:
			if !isClosed(tk.fut.Done()) {
				t.Fatalf("task %d: Future unresolved after Stop", tk.id)
			}
			if _, err := tk.fut.Wait(context.Background()); tk.wantRun == -1 && err == nil {
				t.Fatalf("task %d never ran but its Future has no error", tk.id)
			}
		}
	}
}

// teardown frees every goroutine of the bubble, even after a failure.
func (h *relHarness) teardown() {
	for _, tk := range h.tasks {
		select {
		case tk.gate <- relOutOK:
		default:
		}
		if tk.cancel != nil {
			tk.cancel()
		}
	}
	_ = h.p.StopNow()
	_ = h.p.AdjustPoolSize(0, 1)
	done := make(chan struct{})
	go func() { _ = h.p.Stop(); close(done) }()
	synctest.Wait()
	// Tasks that started after the first round of releases.
	for _, tk := range h.tasks {
		select {
		case tk.gate <- relOutOK:
		default:
		}
	}
	synctest.Wait()
}

// TestModelRealPool checks the real pool against the model on random
// operation sequences (rapid; -rapid.checks=N for more).
func TestModelRealPool(t *testing.T) {
	rapid.Check(t, relModelProp)
}

// FuzzModelRealPool is the same property as a fuzz target: go test
// -run '^$' -fuzz '^FuzzModelRealPool$' -fuzztime 60s .
func FuzzModelRealPool(f *testing.F) {
	f.Fuzz(rapid.MakeFuzz(relModelProp))
}
