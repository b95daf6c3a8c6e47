package threadpooltest_test

// A model-based test of the scheduling core, driven through the
// deterministic double. The model is written from the contract
// (docs/contract.md: A4-A6, B, C2-C5, D, E, H) and the project's recorded
// decisions, not from the code: a plain FIFO pool with integer counts, and
// after every random step the pool must match it exactly.
//
// The rules (the oracle) are internal/schedmodel, the model this test
// shares with the real pool's (model_real_test.go in the root): sizes, idle
// workers, the task on each busy worker, the FIFO backlog, shrink requests,
// the counters, the transitions and the expected Stats. This test keeps on
// top what only the double shows (see model below): the exact run order,
// callback order and values, Future results, spawned children, Error log
// records, the workers created, and worker names.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/twisted-go/threadpool"
	"github.com/twisted-go/threadpool/internal/schedmodel"
	"github.com/twisted-go/threadpool/threadpooltest"
	"pgregory.net/rapid"
)

// kind is what a task does.
type kind int

const (
	kPlain          kind = iota // CallInThread, returns
	kPanic                      // CallInThread, panics (logged once, Failed)
	kCallback                   // CallInThreadWithCallback, succeeds
	kCallbackErr                // CallInThreadWithCallback, f returns an error
	kCallbackPanic              // CallInThreadWithCallback, f panics
	kCallbackPanics             // CallInThreadWithCallback, onResult panics (logged once, Failed)
	kFuture                     // Submit, succeeds
	kFutureErr                  // Submit, f returns an error
	kSpawn                      // CallInThread that submits a plain child task (id -parent)
	kStopInside                 // CallInThread that calls Stop from inside the pool
	numKinds
)

var kindNames = [...]string{"plain", "panic", "callback", "callback-err", "callback-panic",
	"callback-panics", "future", "future-err", "spawn", "stop-inside"}

func (k kind) String() string { return kindNames[k] }

func (k kind) hasCallback() bool { return k >= kCallback && k <= kCallbackPanics }
func (k kind) isFuture() bool    { return k == kFuture || k == kFutureErr }

var errBoom = errors.New("boom")

// panicValue is what task id panics with.
type panicValue int

// result is what a callback received or a Future resolved with.
type result struct {
	id  int
	val int
	err string // "", "boom", "panic", "canceled", "stopped"
}

func classify(id int, v any, err error) result {
	r := result{id: id}
	if n, ok := v.(int); ok {
		r.val = n
	}
	var pe *threadpool.PanicError
	switch {
	case err == nil:
	case errors.Is(err, errBoom):
		r.err = "boom"
	case errors.As(err, &pe):
		r.err = "panic"
		if pe.Value != panicValue(id) {
			r.err = fmt.Sprintf("panic(%v)", pe.Value)
		}
	case errors.Is(err, threadpool.ErrCanceled):
		r.err = "canceled"
	case errors.Is(err, threadpool.ErrStopped):
		r.err = "stopped"
	default:
		r.err = "unexpected: " + err.Error()
	}
	return r
}

// ---------------------------------------------------------------------------
// The model.

// model is the scheduler's rules, shared with the real pool's model test
// (internal/schedmodel), and what only the double lets this test predict
// on top: the order tasks run in, callbacks, Futures, the children of
// spawning tasks and Error log records. On the double a handed-over task
// waits in its worker until RunOne runs and ends it, so the tasks handed
// over and not yet run (Workers.Pending) are exactly Model.Busy, in
// hand-over order, which is also the run order.
type model struct {
	schedmodel.Model
	kinds map[int]kind

	ran       []int          // task ids in the order they ran
	callbacks []result       // callback deliveries in order
	futures   map[int]result // resolved Futures
	childErr  map[int]bool   // spawn id → its child submission was refused
	logs      int            // Error records expected in the log
}

func newModel(lo, hi int) *model {
	m := &model{kinds: map[int]kind{}, futures: map[int]result{}, childErr: map[int]bool{}}
	m.Min, m.Max = lo, hi
	m.OnCancel = func(id int) { m.deliver(id, result{err: "canceled"}) }
	return m
}

func (m *model) deliver(id int, r result) {
	r.id = id
	switch k := m.kinds[id]; {
	case k.hasCallback():
		m.callbacks = append(m.callbacks, r)
		if k == kCallbackPanics { // a panic in onResult is logged once (C5)
			m.logs++
		}
	case k.isFuture():
		m.futures[id] = r
	}
}

// submit returns whether the submission was refused (ErrStopped).
func (m *model) submit(id int, k kind) (refused bool) {
	m.kinds[id] = k
	if m.Submit(id, false) {
		return false
	}
	if k.isFuture() { // Submit: a Future already resolved with ErrStopped
		m.futures[id] = result{id: id, err: "stopped"}
	}
	return true
}

// runOne runs the oldest handed-over task; it returns its id.
func (m *model) runOne() (int, bool) {
	if len(m.Busy) == 0 {
		return 0, false
	}
	id := m.Busy[0]
	m.ran = append(m.ran, id)
	out := schedmodel.Completed
	switch m.kinds[id] {
	case kPanic:
		out = schedmodel.Failed
		m.logs++
	case kCallback, kFuture:
		m.deliver(id, result{val: id})
	case kCallbackErr, kFutureErr:
		out = schedmodel.Failed
		m.deliver(id, result{err: "boom"})
	case kCallbackPanic:
		out = schedmodel.Failed
		m.deliver(id, result{err: "panic"})
	case kCallbackPanics:
		m.deliver(id, result{val: id})
		out = schedmodel.Failed
	case kSpawn:
		m.childErr[id] = m.submit(-id, kPlain)
	case kStopInside:
		m.Stop(false)
	}
	m.Finish(id, out) // the worker is free again
	return id, true
}

// ---------------------------------------------------------------------------
// The real side.

// errorCounter is a slog handler counting Error records.
type errorCounter struct{ n atomic.Int64 }

func (h *errorCounter) Enabled(context.Context, slog.Level) bool { return true }
func (h *errorCounter) Handle(_ context.Context, r slog.Record) error {
	if r.Level >= slog.LevelError {
		h.n.Add(1)
	}
	return nil
}
func (h *errorCounter) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *errorCounter) WithGroup(string) slog.Handler      { return h }

type poolMachine struct {
	p   *threadpool.Pool
	w   *threadpooltest.Workers
	m   *model
	log *errorCounter

	nextID    int
	ran       []int
	callbacks []result
	futures   map[int]*threadpool.Future[int]
	childErr  map[int]bool
	prev      threadpool.Stats
	names     map[string]bool // every worker name ever seen
	live      map[string]bool // names live at the previous check
	lastOp    string
}

func newPoolMachine(t *rapid.T) *poolMachine {
	lo := rapid.IntRange(0, 3).Draw(t, "min")
	hi := rapid.IntRange(lo, 5).Draw(t, "max")
	log := &errorCounter{}
	p, w := threadpooltest.New(lo, hi, threadpool.WithName("model"),
		threadpool.WithLogger(slog.New(log)))
	pm := &poolMachine{p: p, w: w, m: newModel(lo, hi), log: log,
		futures: map[int]*threadpool.Future[int]{}, childErr: map[int]bool{},
		names: map[string]bool{}, live: map[string]bool{}, lastOp: "New"}
	pm.prev = p.Stats()
	return pm
}

func (pm *poolMachine) record(id int) { pm.ran = append(pm.ran, id) }

func (pm *poolMachine) onResult(id int, panics bool) func(any, error) {
	return func(v any, err error) {
		pm.callbacks = append(pm.callbacks, classify(id, v, err))
		if panics {
			panic(panicValue(id))
		}
	}
}

// submitReal submits task id of kind k; it reports whether the pool refused
// it with ErrStopped (a Future refused is resolved, checked separately).
func (pm *poolMachine) submitReal(t *rapid.T, id int, k kind) bool {
	var err error
	switch k {
	case kPlain:
		err = pm.p.CallInThread(func() { pm.record(id) })
	case kPanic:
		err = pm.p.CallInThread(func() { pm.record(id); panic(panicValue(id)) })
	case kCallback, kCallbackPanics:
		err = pm.p.CallInThreadWithCallback(pm.onResult(id, k == kCallbackPanics),
			func() (any, error) { pm.record(id); return id, nil })
	case kCallbackErr:
		err = pm.p.CallInThreadWithCallback(pm.onResult(id, false),
			func() (any, error) { pm.record(id); return nil, fmt.Errorf("task %d: %w", id, errBoom) })
	case kCallbackPanic:
		err = pm.p.CallInThreadWithCallback(pm.onResult(id, false),
			func() (any, error) { pm.record(id); panic(panicValue(id)) })
	case kFuture, kFutureErr:
		fail := k == kFutureErr
		pm.futures[id] = threadpool.Submit(context.Background(), pm.p, func(context.Context) (int, error) {
			pm.record(id)
			if fail {
				return 0, errBoom
			}
			return id, nil
		})
		f := pm.futures[id]
		select {
		case <-f.Done():
			_, err := f.Wait(context.Background())
			return errors.Is(err, threadpool.ErrStopped)
		default:
			return false
		}
	case kSpawn:
		err = pm.p.CallInThread(func() {
			pm.record(id)
			err := pm.p.CallInThread(func() { pm.record(-id) })
			if err != nil && !errors.Is(err, threadpool.ErrStopped) {
				panic(fmt.Sprintf("child of %d: unexpected error %v", id, err))
			}
			pm.childErr[id] = err != nil
		})
	case kStopInside:
		err = pm.p.CallInThread(func() {
			pm.record(id)
			if err := pm.p.Stop(); err != nil {
				panic(fmt.Sprintf("Stop inside task %d: %v", id, err))
			}
		})
	}
	if err != nil && !errors.Is(err, threadpool.ErrStopped) {
		t.Fatalf("%s: submission error %v, want nil or ErrStopped", pm.lastOp, err)
	}
	return err != nil
}

// ---------------------------------------------------------------------------
// Actions.

func (pm *poolMachine) Submit(t *rapid.T) {
	k := kind(rapid.IntRange(0, int(numKinds)-1).Draw(t, "kind"))
	pm.nextID++
	id := pm.nextID
	pm.lastOp = fmt.Sprintf("Submit(task %d, %v)", id, k)
	got := pm.submitReal(t, id, k)
	want := pm.m.submit(id, k)
	if got != want {
		t.Fatalf("%s: refused = %v, model says %v", pm.lastOp, got, want)
	}
}

func (pm *poolMachine) RunOne(t *rapid.T) {
	pm.lastOp = "RunOne"
	n := len(pm.ran)
	ok := pm.w.RunOne()
	id, want := pm.m.runOne()
	if ok != want {
		t.Fatalf("RunOne() = %v, model says %v", ok, want)
	}
	if ok {
		if len(pm.ran) <= n || pm.ran[n] != id {
			t.Fatalf("RunOne ran tasks %v, model says task %d (FIFO order broken)", pm.ran[n:], id)
		}
		pm.lastOp = fmt.Sprintf("RunOne(task %d)", id)
	}
}

func (pm *poolMachine) RunAll(t *rapid.T) {
	pm.lastOp = "RunAll"
	got := pm.w.RunAll()
	want := 0
	for {
		if _, ok := pm.m.runOne(); !ok {
			break
		}
		want++
	}
	if got != want {
		t.Fatalf("RunAll() = %d, model says %d", got, want)
	}
}

func (pm *poolMachine) AdjustPoolSize(t *rapid.T) {
	lo := rapid.IntRange(0, 4).Draw(t, "lo")
	hi := rapid.IntRange(lo, 6).Draw(t, "hi")
	pm.lastOp = fmt.Sprintf("AdjustPoolSize(%d, %d)", lo, hi)
	if err := pm.p.AdjustPoolSize(lo, hi); err != nil {
		t.Fatalf("%s = %v", pm.lastOp, err)
	}
	pm.m.Adjust(lo, hi)
}

// AdjustPoolSizeInvalid is a refused resize: it must change nothing (A2);
// Check compares min and max with the model.
func (pm *poolMachine) AdjustPoolSizeInvalid(t *rapid.T) {
	lo, hi := -1, 3
	if rapid.Bool().Draw(t, "min>max") {
		lo = rapid.IntRange(1, 6).Draw(t, "lo")
		hi = lo - 1
	}
	pm.lastOp = fmt.Sprintf("AdjustPoolSize(%d, %d)", lo, hi)
	if err := pm.p.AdjustPoolSize(lo, hi); !errors.Is(err, threadpool.ErrInvalidSize) {
		t.Fatalf("%s = %v, want ErrInvalidSize", pm.lastOp, err)
	}
}

func (pm *poolMachine) StartAWorker(t *rapid.T) {
	pm.lastOp = "StartAWorker"
	err := pm.p.StartAWorker()
	pm.checkRefused(t, err, pm.m.StartAWorker())
}

func (pm *poolMachine) StopAWorker(t *rapid.T) {
	pm.lastOp = "StopAWorker"
	err := pm.p.StopAWorker()
	pm.checkRefused(t, err, pm.m.StopAWorker())
}

func (pm *poolMachine) Start(t *rapid.T) {
	pm.lastOp = "Start"
	err := pm.p.Start()
	pm.checkRefused(t, err, pm.m.Start())
}

func (pm *poolMachine) Stop(t *rapid.T) {
	pm.lastOp = "Stop"
	if err := pm.p.Stop(); err != nil {
		t.Fatalf("Stop() = %v, want nil", err)
	}
	pm.m.Stop(false)
}

func (pm *poolMachine) StopNow(t *rapid.T) {
	pm.lastOp = "StopNow"
	got := pm.p.StopNow()
	if want := pm.m.Stop(true); got != want {
		t.Fatalf("StopNow() = %d, model says %d dropped", got, want)
	}
}

func (pm *poolMachine) checkRefused(t *rapid.T, err error, refused bool) {
	if refused {
		if !errors.Is(err, threadpool.ErrStopped) {
			t.Fatalf("%s = %v, model says an error wrapping ErrStopped", pm.lastOp, err)
		}
	} else if err != nil {
		t.Fatalf("%s = %v, model says nil", pm.lastOp, err)
	}
}

// ---------------------------------------------------------------------------
// The check after every step.

func (pm *poolMachine) Check(t *rapid.T) {
	m, s, op := pm.m, pm.p.Stats(), pm.lastOp
	eq := func(what string, got, want any) {
		t.Helper()
		if got != want {
			t.Fatalf("after %s: %s = %v, model says %v\nstats: %+v", op, what, got, want, s)
		}
	}
	// Exact state: field by field for a readable failure, then the whole
	// snapshot (CallerRan and InitFailed are 0 in the model).
	want := threadpool.Stats(m.Stats())
	eq("Min", s.Min, want.Min)
	eq("Max", s.Max, want.Max)
	eq("Started", s.Started, want.Started)
	eq("Working (busy)", s.Working, want.Working)
	eq("Waiters (idle)", s.Waiters, want.Waiters)
	eq("Workers", s.Workers, want.Workers)
	eq("Queued (backlog length)", s.Queued, want.Queued)
	eq("PendingShrink", s.PendingShrink, want.PendingShrink)
	eq("PeakWorkers", s.PeakWorkers, want.PeakWorkers)
	eq("Submitted", s.Submitted, want.Submitted)
	eq("Completed", s.Completed, want.Completed)
	eq("Failed", s.Failed, want.Failed)
	eq("Canceled", s.Canceled, want.Canceled)
	eq("Rejected", s.Rejected, want.Rejected)
	eq("CallerRan", s.CallerRan, want.CallerRan)
	if s != want {
		t.Fatalf("after %s: Stats = %+v, model says %+v", op, s, want)
	}
	eq("Workers.Pending", pm.w.Pending(), len(m.Busy))
	eq("Workers.Created", pm.w.Created(), m.Created)
	eq("Workers.Live", pm.w.Live(), m.Workers())
	eq("Error log records", int(pm.log.n.Load()), m.logs)
	eq("Pool.Workers()", pm.p.Workers(), m.Workers())
	eq("Pool.QueueSize()", pm.p.QueueSize(), len(m.Backlog))
	if !slices.Equal(pm.ran, m.ran) {
		t.Fatalf("after %s: tasks ran in order %v, model says %v", op, pm.ran, m.ran)
	}
	if !slices.Equal(pm.callbacks, m.callbacks) {
		t.Fatalf("after %s: callbacks got %v, model says %v", op, pm.callbacks, m.callbacks)
	}
	for id, f := range pm.futures {
		want, resolved := m.futures[id]
		select {
		case <-f.Done():
			v, err := f.Wait(context.Background())
			got := classify(id, v, err)
			if !resolved || got != want {
				t.Fatalf("after %s: Future of task %d resolved %+v, model says %+v (resolved %v)", op, id, got, want, resolved)
			}
		default:
			if resolved {
				t.Fatalf("after %s: Future of task %d unresolved, model says %+v", op, id, want)
			}
		}
	}
	if len(pm.childErr) != len(m.childErr) {
		t.Fatalf("after %s: %d spawned children, model says %d", op, len(pm.childErr), len(m.childErr))
	}
	for id, refused := range pm.childErr {
		eq(fmt.Sprintf("child of task %d refused", id), refused, m.childErr[id])
	}

	// Stats invariants H1, H2.
	if s.Working+s.Waiters != s.Workers {
		t.Fatalf("after %s: H1 Working %d + Waiters %d != Workers %d", op, s.Working, s.Waiters, s.Workers)
	}
	if s.Working < 0 || s.Waiters < 0 || s.Queued < 0 || s.PendingShrink < 0 {
		t.Fatalf("after %s: H1 negative count in %+v", op, s)
	}
	p := pm.prev
	if s.Submitted < p.Submitted || s.Completed < p.Completed || s.Failed < p.Failed ||
		s.Canceled < p.Canceled || s.Rejected < p.Rejected || s.PeakWorkers < p.PeakWorkers {
		t.Fatalf("after %s: H1 a counter decreased: %+v -> %+v", op, p, s)
	}
	if s.Submitted != s.Completed+s.Failed+s.Canceled+uint64(s.Queued)+uint64(s.Working) {
		t.Fatalf("after %s: H2 Submitted %d != Completed %d + Failed %d + Canceled %d + Queued %d + Working %d",
			op, s.Submitted, s.Completed, s.Failed, s.Canceled, s.Queued, s.Working)
	}
	// A5: never more than max busy, except tasks already running when max
	// was lowered; no new task starts while Working >= max.
	if s.Working > s.Max && s.Working > p.Working {
		t.Fatalf("after %s: Working went from %d to %d with Max %d", op, p.Working, s.Working, s.Max)
	}
	// A4/A6: a started pool with an idle worker has no backlog.
	if s.Started && s.Queued > 0 && s.Waiters > 0 {
		t.Fatalf("after %s: %d tasks wait while %d workers idle", op, s.Queued, s.Waiters)
	}

	// G1, G2: Threads lists the live workers; names never come back.
	ths := pm.p.Threads()
	busy := 0
	live := map[string]bool{}
	for _, th := range ths {
		if th.Busy {
			busy++
		}
		if !strings.HasPrefix(th.Name, "PoolThread-model-") || live[th.Name] {
			t.Fatalf("after %s: bad or duplicate worker name %q in %v", op, th.Name, ths)
		}
		if pm.names[th.Name] && !pm.live[th.Name] {
			t.Fatalf("after %s: worker name %q reused", op, th.Name)
		}
		live[th.Name] = true
		pm.names[th.Name] = true
	}
	pm.live = live
	eq("len(Threads())", len(ths), m.Workers())
	eq("busy Threads()", busy, len(m.Busy))

	pm.prev = s
}

// ---------------------------------------------------------------------------

// maxSteps bounds a run, so that a long fuzz input cannot make one case
// slow (Check compares whole histories).
const maxSteps = 150

// actions is the menu of steps; Submit and RunOne appear several times so
// that pools fill up and drain.
var actions = []struct {
	name string
	do   func(*poolMachine, *rapid.T)
}{
	{"Submit", (*poolMachine).Submit},
	{"RunOne", (*poolMachine).RunOne},
	{"Submit", (*poolMachine).Submit},
	{"RunOne", (*poolMachine).RunOne},
	{"AdjustPoolSize", (*poolMachine).AdjustPoolSize},
	{"Start", (*poolMachine).Start},
	{"StartAWorker", (*poolMachine).StartAWorker},
	{"StopAWorker", (*poolMachine).StopAWorker},
	{"Submit", (*poolMachine).Submit},
	{"RunOne", (*poolMachine).RunOne},
	{"StopAWorker", (*poolMachine).StopAWorker},
	{"AdjustPoolSize", (*poolMachine).AdjustPoolSize},
	{"RunAll", (*poolMachine).RunAll},
	{"Stop", (*poolMachine).Stop},
	{"StopNow", (*poolMachine).StopNow},
	{"AdjustPoolSizeInvalid", (*poolMachine).AdjustPoolSizeInvalid},
}

func modelProperty(t *rapid.T) {
	pm := newPoolMachine(t)
	pm.Check(t)
	steps := rapid.IntRange(1, maxSteps).Draw(t, "steps")
	pick := rapid.IntRange(0, len(actions)-1)
	for range steps {
		a := actions[pick.Draw(t, "action")]
		t.Logf("action: %s", a.name)
		a.do(pm, t)
		pm.Check(t)
	}
	// Finally everything accepted must be accounted for: stop, run what is
	// left, and the pool is stopped with no worker.
	pm.lastOp = "final Stop"
	if pm.m.State != schedmodel.StateNew || rapid.Bool().Draw(t, "restart") {
		pm.Start(t)
		pm.Check(t)
	}
	pm.Stop(t)
	pm.Check(t)
	pm.RunAll(t)
	pm.Check(t)
	if s := pm.p.Stats(); s.Workers != 0 || s.Queued != 0 || pm.w.Live() != 0 || pm.m.State != schedmodel.StateStopped {
		t.Fatalf("after final Stop and RunAll: %+v, Live %d, model state %d", s, pm.w.Live(), pm.m.State)
	}
}

// TestModel drives the double with random operation sequences and checks it
// against the FIFO model after every step.
// Each rapid.Check call draws a fresh seed (unless -rapid.seed is given),
// so the loop runs several times rapid's default number of cases.
func TestModel(t *testing.T) {
	for range 5 {
		rapid.Check(t, modelProperty)
	}
}

// FuzzModel is TestModel as a fuzz target: go test -fuzz FuzzModel.
func FuzzModel(f *testing.F) {
	f.Fuzz(rapid.MakeFuzz(modelProperty))
}
