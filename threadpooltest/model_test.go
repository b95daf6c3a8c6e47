package threadpooltest_test

// A model-based test of the scheduling core, driven through the
// deterministic double. The model below is written from SPEC.md (A4-A6, B,
// C2-C5, D, E, H) and the project's recorded decisions, not from the code:
// it is a plain FIFO pool with integer counts, and after every random step
// the real pool must match it exactly.
//
// Model rules (the oracle):
//   - a new task goes to an idle worker, else to a new worker while
//     workers < max, else to the back of the backlog; a task never overtakes
//     the backlog (A4, A6); before Start everything waits (B1);
//   - the memory workers run handed-over tasks in hand-over order;
//   - a worker that finishes: above max → quits (and pays one shrink
//     request); else takes the oldest backlogged task; else pays a shrink
//     request by quitting; else quits if stopping; else goes idle;
//   - StopAWorker: quit an idle worker now, else one more shrink request,
//     never more requests than busy workers (D4); StartAWorker: one idle
//     worker below max (D4); nothing on a never-started pool; ErrStopped
//     once a stop began;
//   - AdjustPoolSize: idle workers above max quit, the backlog goes to idle
//     and new workers up to max (D3), the pool grows to min, and shrink
//     requests are clamped so they cannot take the pool below min nor
//     outnumber the busy workers (D2);
//   - Start: the backlog to new workers up to max, then idle ones up to min
//     (B2); Start during a draining stop fails with ErrStopped;
//   - Stop: refuse new work, quit idle workers now, busy ones when the
//     backlog is empty; on a never-started pool, or when no worker can ever
//     reach the backlog (max 0), the backlog is canceled (E6); StopNow
//     cancels the backlog at once and returns how many it dropped (E5).
//
// The model of the real pool (model_real_test.go in the root) states the same
// rules; why the two are not shared yet is written there.

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

type mstate int

const (
	mNew mstate = iota
	mRunning
	mStopping
	mStopped
)

type model struct {
	state    mstate
	min, max int
	idle     int   // idle workers
	busy     int   // workers with a task (running or handed over)
	pending  []int // tasks handed to workers, not yet run, oldest first
	backlog  []int // accepted, not handed to a worker, oldest first
	shrink   int   // StopAWorker requests waiting for a busy worker
	created  int
	peak     int
	kinds    map[int]kind

	submitted, completed, failed, canceled, rejected uint64

	ran       []int          // task ids in the order they ran
	callbacks []result       // callback deliveries in order
	futures   map[int]result // resolved Futures
	childErr  map[int]bool   // spawn id → its child submission was refused
	logs      int            // Error records expected in the log
}

func newModel(lo, hi int) *model {
	return &model{min: lo, max: hi, kinds: map[int]kind{},
		futures: map[int]result{}, childErr: map[int]bool{}}
}

func (m *model) workers() int { return m.idle + m.busy }

func (m *model) grew() { m.peak = max(m.peak, m.workers()) }

// hand gives id to a worker that is neither idle nor busy.
func (m *model) hand(id int) {
	m.busy++
	m.pending = append(m.pending, id)
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
	if m.state == mStopping || m.state == mStopped {
		m.rejected++
		if k.isFuture() { // Submit: a Future already resolved with ErrStopped
			m.futures[id] = result{id: id, err: "stopped"}
		}
		return true
	}
	m.submitted++
	if m.state == mRunning && len(m.backlog) == 0 {
		switch {
		case m.idle > 0:
			m.idle--
			m.hand(id)
			return false
		case m.workers() < m.max:
			m.created++
			m.hand(id)
			m.grew()
			return false
		}
	}
	m.backlog = append(m.backlog, id)
	return false
}

func (m *model) popBacklog() int {
	id := m.backlog[0]
	m.backlog = m.backlog[1:]
	return id
}

// drain hands the backlog to idle workers, then new ones up to max.
func (m *model) drain() {
	if m.state != mRunning && m.state != mStopping {
		return
	}
	for len(m.backlog) > 0 {
		switch {
		case m.idle > 0:
			m.idle--
		case m.workers() < m.max:
			m.created++
		default:
			return
		}
		m.hand(m.popBacklog())
		m.grew()
	}
}

func (m *model) grow() {
	for m.workers() < m.min {
		m.created++
		m.idle++
		m.grew()
	}
}

func (m *model) cancelBacklog() int {
	n := len(m.backlog)
	for len(m.backlog) > 0 {
		id := m.popBacklog()
		m.canceled++
		m.deliver(id, result{err: "canceled"})
	}
	return n
}

// checkDone ends a stop whose drain is over; a backlog no worker can ever
// reach is canceled first.
func (m *model) checkDone() int {
	if m.state != mStopping {
		return 0
	}
	n := 0
	if len(m.backlog) > 0 && m.workers() == 0 {
		if m.max == 0 {
			n = m.cancelBacklog()
		} else {
			m.drain()
		}
	}
	if len(m.backlog) == 0 && m.workers() == 0 {
		m.state = mStopped
		m.shrink = 0
	}
	return n
}

// runOne runs the oldest handed-over task; it returns its id.
func (m *model) runOne() (int, bool) {
	if len(m.pending) == 0 {
		return 0, false
	}
	id := m.pending[0]
	m.pending = m.pending[1:]
	m.ran = append(m.ran, id)
	ok := true
	switch m.kinds[id] {
	case kPanic:
		ok = false
		m.logs++
	case kCallback, kFuture:
		m.deliver(id, result{val: id})
	case kCallbackErr, kFutureErr:
		ok = false
		m.deliver(id, result{err: "boom"})
	case kCallbackPanic:
		ok = false
		m.deliver(id, result{err: "panic"})
	case kCallbackPanics:
		m.deliver(id, result{val: id})
		ok = false
	case kSpawn:
		m.childErr[id] = m.submit(-id, kPlain)
	case kStopInside:
		m.stop(false)
	}
	// The worker is free again.
	m.busy--
	if ok {
		m.completed++
	} else {
		m.failed++
	}
	switch {
	case m.workers()+1 > m.max:
		if m.shrink > 0 {
			m.shrink--
		}
	case len(m.backlog) > 0:
		m.hand(m.popBacklog())
	case m.shrink > 0:
		m.shrink--
	case m.state == mStopping:
	default:
		m.idle++
	}
	m.checkDone()
	return id, true
}

func (m *model) start() (refused bool) {
	switch m.state {
	case mRunning:
		return false
	case mStopping:
		return true
	}
	m.state = mRunning
	m.drain()
	m.grow()
	return false
}

func (m *model) stop(now bool) int {
	switch m.state {
	case mStopped:
		return 0
	case mNew:
		m.state = mStopped
		return m.cancelBacklog()
	case mRunning:
		m.state = mStopping
		m.idle = 0
	}
	n := 0
	if now {
		n = m.cancelBacklog()
	}
	return n + m.checkDone()
}

func (m *model) adjust(lo, hi int) {
	m.min, m.max = lo, hi
	if m.state != mRunning && m.state != mStopping {
		return
	}
	for m.workers() > m.max && m.idle > 0 {
		m.idle--
	}
	m.drain()
	if m.state == mRunning {
		m.grow()
	}
	m.shrink = min(m.shrink, max(0, m.workers()-m.min), m.busy)
	m.checkDone()
}

func (m *model) startAWorker() (refused bool) {
	switch m.state {
	case mStopping, mStopped:
		return true
	case mNew:
		return false
	}
	if m.workers() < m.max {
		m.created++
		if len(m.backlog) > 0 {
			m.hand(m.popBacklog())
		} else {
			m.idle++
		}
		m.grew()
	}
	return false
}

func (m *model) stopAWorker() (refused bool) {
	switch m.state {
	case mStopping, mStopped:
		return true
	case mNew:
		return false
	}
	if m.idle > 0 {
		m.idle--
	} else if m.shrink < m.busy {
		m.shrink++
	}
	return false
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
	pm.m.adjust(lo, hi)
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
	pm.checkRefused(t, err, pm.m.startAWorker())
}

func (pm *poolMachine) StopAWorker(t *rapid.T) {
	pm.lastOp = "StopAWorker"
	err := pm.p.StopAWorker()
	pm.checkRefused(t, err, pm.m.stopAWorker())
}

func (pm *poolMachine) Start(t *rapid.T) {
	pm.lastOp = "Start"
	err := pm.p.Start()
	pm.checkRefused(t, err, pm.m.start())
}

func (pm *poolMachine) Stop(t *rapid.T) {
	pm.lastOp = "Stop"
	if err := pm.p.Stop(); err != nil {
		t.Fatalf("Stop() = %v, want nil", err)
	}
	pm.m.stop(false)
}

func (pm *poolMachine) StopNow(t *rapid.T) {
	pm.lastOp = "StopNow"
	got := pm.p.StopNow()
	if want := pm.m.stop(true); got != want {
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
	// The model's own sanity (its rules must keep these).
	if m.busy != len(m.pending) {
		t.Fatalf("model broken after %s: %+v", op, m)
	}

	// Exact state.
	eq("Min", s.Min, m.min)
	eq("Max", s.Max, m.max)
	eq("Started", s.Started, m.state == mRunning)
	eq("Working (busy)", s.Working, m.busy)
	eq("Waiters (idle)", s.Waiters, m.idle)
	eq("Workers", s.Workers, m.workers())
	eq("Queued (backlog length)", s.Queued, len(m.backlog))
	eq("PendingShrink", s.PendingShrink, m.shrink)
	eq("PeakWorkers", s.PeakWorkers, m.peak)
	eq("Workers.Pending", pm.w.Pending(), len(m.pending))
	eq("Workers.Created", pm.w.Created(), m.created)
	eq("Workers.Live", pm.w.Live(), m.workers())
	eq("Submitted", s.Submitted, m.submitted)
	eq("Completed", s.Completed, m.completed)
	eq("Failed", s.Failed, m.failed)
	eq("Canceled", s.Canceled, m.canceled)
	eq("Rejected", s.Rejected, m.rejected)
	eq("CallerRan", s.CallerRan, uint64(0))
	eq("Error log records", int(pm.log.n.Load()), m.logs)
	eq("Pool.Workers()", pm.p.Workers(), m.workers())
	eq("Pool.QueueSize()", pm.p.QueueSize(), len(m.backlog))
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
	eq("len(Threads())", len(ths), m.workers())
	eq("busy Threads()", busy, m.busy)

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
	if pm.m.state != mNew || rapid.Bool().Draw(t, "restart") {
		pm.Start(t)
		pm.Check(t)
	}
	pm.Stop(t)
	pm.Check(t)
	pm.RunAll(t)
	pm.Check(t)
	if s := pm.p.Stats(); s.Workers != 0 || s.Queued != 0 || pm.w.Live() != 0 || pm.m.state != mStopped {
		t.Fatalf("after final Stop and RunAll: %+v, Live %d, model state %d", s, pm.w.Live(), pm.m.state)
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
