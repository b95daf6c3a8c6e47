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
// This model and the one of threadpooltest/model_test.go (the deterministic
// double) state the same scheduling rules but are not shared yet: this one
// tracks which task ids are on busy workers (a real worker starts a task
// as it is handed over), stop generations (which waiting Stop returns
// when) and contexts already ended at Submit; the double's separates tasks
// handed over from tasks run (the test runs them), and predicts created
// workers, callback order, Future results and log records. One shared core
// (state, sizes, idle, busy ids, backlog, shrink requests, counters) would
// serve both, each test keeping its own observations; that move was left
// out of the test renaming for time.

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
	"pgregory.net/rapid"
)

// Model states.
const (
	relStNew = iota
	relStRunning
	relStStopping
	relStStopped
)

// relModel is the scheduler as the SPEC describes it (and Twisted's Team).
type relModel struct {
	state                                          int
	min, max                                       int
	idle                                           int
	running                                        []int // task ids on busy workers
	backlog                                        []int // task ids waiting, oldest first
	toShrink, peak                                 int
	submitted, completed, failed, canceled, reject uint64
	gen, endedGen                                  int   // stop generations begun / ended
	drops                                          []int // ids canceled from the backlog, not yet seen by the harness
}

func (m *relModel) workers() int { return m.idle + len(m.running) }

func (m *relModel) notePeak() { m.peak = max(m.peak, m.workers()) }

func (m *relModel) live() bool { return m.state == relStRunning || m.state == relStStopping }

// submit accepts task id (or refuses it); canceledCtx says its Submit
// context is already done. It reports whether the task was accepted.
func (m *relModel) submit(id int, canceledCtx bool) bool {
	if m.state == relStStopping || m.state == relStStopped {
		m.reject++
		return false
	}
	m.submitted++
	if m.state == relStRunning && len(m.backlog) == 0 && (m.idle > 0 || m.workers() < m.max) {
		if m.idle > 0 {
			m.idle--
		}
		m.running = append(m.running, id)
		m.notePeak()
		if canceledCtx { // the worker skips it
			m.finish(id, 2)
		}
		return true
	}
	if canceledCtx { // watched while queued: dropped at once
		m.canceled++
		m.checkDone()
		return true
	}
	m.backlog = append(m.backlog, id)
	return true
}

// finish ends running task id: 0 completed, 1 failed, 2 canceled.
func (m *relModel) finish(id, out int) {
	i := slices.Index(m.running, id)
	m.running = slices.Delete(m.running, i, i+1)
	switch out {
	case 0:
		m.completed++
	case 1:
		m.failed++
	default:
		m.canceled++
	}
	m.recycle()
	m.checkDone()
}

// recycle decides what the worker just freed does (Twisted's _recycleWorker).
func (m *relModel) recycle() {
	switch {
	case m.workers()+1 > m.max || !m.live():
		if m.toShrink > 0 {
			m.toShrink--
		}
	case len(m.backlog) > 0:
		m.running = append(m.running, m.backlog[0])
		m.backlog = m.backlog[1:]
	case m.toShrink > 0:
		m.toShrink--
	case m.state == relStStopping:
	default:
		m.idle++
	}
}

func (m *relModel) drain() {
	if !m.live() {
		return
	}
	for len(m.backlog) > 0 {
		if m.idle > 0 {
			m.idle--
		} else if m.workers() >= m.max {
			return
		}
		m.running = append(m.running, m.backlog[0])
		m.backlog = m.backlog[1:]
		m.notePeak()
	}
}

func (m *relModel) grow() {
	for m.workers() < m.min {
		m.idle++
	}
	m.notePeak()
}

// cancelBacklog drops the backlog and returns the ids dropped.
func (m *relModel) cancelBacklog() []int {
	dropped := m.backlog
	m.canceled += uint64(len(dropped))
	m.backlog = nil
	m.drops = append(m.drops, dropped...)
	return dropped
}

func (m *relModel) checkDone() []int {
	if m.state != relStStopping {
		return nil
	}
	var dropped []int
	if len(m.backlog) > 0 && m.workers() == 0 {
		if m.max == 0 {
			dropped = m.cancelBacklog()
		} else {
			m.drain()
		}
	}
	if len(m.backlog) == 0 && m.workers() == 0 {
		m.state = relStStopped
		m.endedGen = m.gen
		m.toShrink = 0
	}
	return dropped
}

func (m *relModel) adjust(lo, hi int) []int {
	m.min, m.max = lo, hi
	if !m.live() {
		return nil
	}
	for m.workers() > m.max && m.idle > 0 {
		m.idle--
	}
	m.drain()
	if m.state == relStRunning {
		m.grow()
	}
	m.toShrink = min(m.toShrink, max(0, m.workers()-m.min), len(m.running))
	return m.checkDone()
}

// start returns whether Start must fail.
func (m *relModel) start() bool {
	switch m.state {
	case relStRunning:
		return false
	case relStStopping:
		return true
	}
	m.state = relStRunning
	m.drain()
	m.grow()
	return false
}

// stop begins a stop; it returns the ids dropped and the generation a
// waiting Stop joins.
func (m *relModel) stop(now bool) ([]int, int) {
	var dropped []int
	switch m.state {
	case relStStopped:
		return nil, m.endedGen
	case relStNew:
		m.state = relStStopped
		m.gen++
		m.endedGen = m.gen
		return m.cancelBacklog(), m.gen
	case relStRunning:
		m.state = relStStopping
		m.gen++
		m.idle = 0
	}
	if now {
		dropped = m.cancelBacklog()
	}
	dropped = append(dropped, m.checkDone()...)
	return dropped, m.gen
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
	h := &relHarness{t: t, p: p, m: relModel{min: lo, max: hi}}
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
	h.dropped(nil)
	m := &h.m
	want := threadpool.Stats{
		Min: m.min, Max: m.max, Started: m.state == relStRunning,
		Workers: m.workers(), Working: len(m.running), Waiters: m.idle, Queued: len(m.backlog),
		PeakWorkers: m.peak, PendingShrink: m.toShrink,
		Submitted: m.submitted, Completed: m.completed, Failed: m.failed, Canceled: m.canceled, Rejected: m.reject,
	}
	if s != want {
		t.Fatalf("stats differ from the model:\n pool  %+v\n model %+v\n running %v backlog %v state %d", s, want, m.running, m.backlog, m.state)
	}
	var active []int
	for _, tk := range h.tasks {
		if tk.started.Load() && !tk.released {
			active = append(active, tk.id)
		}
	}
	run := slices.Clone(m.running)
	slices.Sort(run)
	if !slices.Equal(active, run) {
		t.Fatalf("tasks running %v; the model runs %v (FIFO order broken, or a task lost or run twice)", active, run)
	}
	if msg := h.a5.Load(); msg != nil {
		t.Fatalf("A5: %s", *msg)
	}
	for _, st := range h.stoppers {
		if done := isClosed(st.done); done != (st.gen <= m.endedGen) {
			t.Fatalf("a Stop of generation %d has returned=%v, but the model says its drain ended=%v", st.gen, done, st.gen <= m.endedGen)
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
		h.dropped(h.m.stop(false))
	case relOutSubmitInside:
		tk.child = h.makeTask(relKindCall, 0)
		if !h.m.submit(tk.child.id, false) {
			tk.child.refused, tk.child.wantRun = true, -1
		}
	}
	tk.released, tk.wantRun = true, 1
	tk.gate <- out
	res := 0
	if failed {
		res = 1
	}
	h.m.finish(id, res)
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

// dropped marks the tasks the model dropped (ids is informative: every
// drop is also in m.drops).
func (h *relHarness) dropped(ids []int, _ ...int) {
	for _, id := range h.m.drops {
		h.tasks[id].wantRun = -1
	}
	h.m.drops = nil
}

// The property.
func relModelProp(t *rapid.T) {
	rapid.SyncTest(t, func(t *rapid.T) {
		h := relNewHarness(t)
		defer h.teardown()
		if rapid.IntRange(0, 3).Draw(t, "startFirst") > 0 {
			if h.m.start() || h.p.Start() != nil {
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
				accepted := h.m.submit(tk.id, ctxMode == 2)
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
				if len(h.m.running) == 0 {
					return // a no-op step; see relModelProp on why not t.Skip
				}
				id := rapid.SampledFrom(h.m.running).Draw(t, "task")
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
				if i := slices.Index(h.m.backlog, tk.id); i >= 0 {
					h.m.backlog = slices.Delete(h.m.backlog, i, i+1)
					h.m.canceled++
					tk.wantRun = -1
					h.dropped(h.m.checkDone())
				}
			},
			"adjust": func(t *rapid.T) {
				lo := rapid.IntRange(0, 2).Draw(t, "min")
				hi := rapid.IntRange(lo, lo+2).Draw(t, "max")
				h.curMax.Store(int64(hi))
				h.dropped(h.m.adjust(lo, hi))
				if err := h.p.AdjustPoolSize(lo, hi); err != nil {
					t.Fatal(err)
				}
			},
			"startAWorker": func(t *rapid.T) {
				wantErr := h.m.state == relStStopping || h.m.state == relStStopped
				if h.m.state == relStRunning && h.m.workers() < h.m.max {
					h.m.idle++
					h.m.notePeak()
				}
				if err := h.p.StartAWorker(); (err != nil) != wantErr {
					t.Fatalf("StartAWorker: %v, want error=%v", err, wantErr)
				}
			},
			"stopAWorker": func(t *rapid.T) {
				wantErr := h.m.state == relStStopping || h.m.state == relStStopped
				if h.m.state == relStRunning {
					if h.m.idle > 0 {
						h.m.idle--
					} else if h.m.toShrink < len(h.m.running) {
						h.m.toShrink++
					}
				}
				if err := h.p.StopAWorker(); (err != nil) != wantErr {
					t.Fatalf("StopAWorker: %v, want error=%v", err, wantErr)
				}
			},
			"start": func(t *rapid.T) {
				wantErr := h.m.start()
				if err := h.p.Start(); (err != nil) != wantErr {
					t.Fatalf("Start: %v, want error=%v", err, wantErr)
				}
			},
			"stop": func(t *rapid.T) {
				d, gen := h.m.stop(false)
				h.dropped(d)
				st := relStopper{gen: gen, done: make(chan struct{})}
				h.stoppers = append(h.stoppers, st)
				go func() { _ = h.p.Stop(); close(st.done) }()
			},
			"stopNow": func(t *rapid.T) {
				d, _ := h.m.stop(true)
				h.dropped(d)
				if n := h.p.StopNow(); n != len(d) {
					t.Fatalf("StopNow dropped %d, the model %d", n, len(d))
				}
			},
			"shutdown": func(t *rapid.T) {
				d, _ := h.m.stop(false)
				h.dropped(d)
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				err := h.p.Shutdown(ctx)
				cancel()
				if ended := h.m.state == relStStopped; ended != (err == nil) {
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
	d, gen := h.m.stop(false)
	h.dropped(d)
	st := relStopper{gen: gen, done: make(chan struct{})}
	h.stoppers = append(h.stoppers, st)
	go func() { _ = h.p.Stop(); close(st.done) }()
	for len(h.m.running) > 0 {
		h.release(t, h.m.running[0], relOutOK)
	}
	h.check(t)
	h.dropped(nil)
	if h.m.state != relStStopped {
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
