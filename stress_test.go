package threadpool_test

// TestStress: for a bounded time (THREADPOOL_STRESS,
// default 300ms per variant) 8 goroutines submit tasks of all three kinds
// (some faulty, some calling back into the pool) while other goroutines
// resize, start and stop workers, and stop and restart the pool (graceful,
// immediate, bounded, several callers at once), and an observer checks
// every Stats snapshot it can take. Every task measures, when it starts,
// how many tasks run. At the end every accepted task ran exactly once or was
// reported as not run, by id, and the counters equal the ledger exactly.

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twisted-go/threadpool"
)

// relStressDuration is how long each stress variant runs.
func relStressDuration(t testing.TB) time.Duration {
	v := os.Getenv("THREADPOOL_STRESS")
	if v == "" {
		return 300 * time.Millisecond
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		t.Fatalf("THREADPOOL_STRESS=%q: want a positive duration such as 2s", v)
	}
	return d
}

// relLimiter measures, inside the tasks, how many run at once, and checks it
// against max (SPEC A5) with its one exception: tasks already running when
// max was lowered. Every AdjustPoolSize of the test goes through adjust,
// which keeps the history of max values under mu. A task notes the epoch
// before it is submitted and reads it again when it starts; the max in
// force when the pool handed it to a worker is one of the values in between,
// so the largest of them bounds it. Of the tasks running at any instant, the
// one handed over last saw all the others busy, so the number running never
// exceeds the largest bound among them.
type relLimiter struct {
	mu      sync.Mutex
	hist    []int       // max after each adjust; hist[0] is the initial max
	running int         // tasks inside their body
	bounds  map[int]int // bound -> running tasks with that bound
	peak    int
	starts  int64
	bad     error
	frozen  bool
}

func relNewLimiter(max int) *relLimiter {
	return &relLimiter{hist: []int{max}, bounds: map[int]int{}}
}

func (l *relLimiter) epoch() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.hist) - 1
}

var errRelFrozen = errors.New("limiter frozen: no more resizing")

// freeze makes every later adjust fail with errRelFrozen, after a last
// resize to (min, max).
func (l *relLimiter) freeze(p *threadpool.Pool, min, max int) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.frozen = true
	err := p.AdjustPoolSize(min, max)
	if err == nil {
		l.hist = append(l.hist, max)
	}
	return err
}

func (l *relLimiter) isFrozen() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.frozen
}

// adjust resizes p and records the new max. The callbacks of tasks that
// AdjustPoolSize cancels (max 0 during a stop) run on this goroutine while
// mu is held: they must not call into the limiter.
func (l *relLimiter) adjust(p *threadpool.Pool, min, max int) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.frozen {
		return errRelFrozen
	}
	err := p.AdjustPoolSize(min, max)
	if err == nil {
		l.hist = append(l.hist, max)
	}
	return err
}

// enter is called first thing in a task submitted at epoch e0; it returns
// the task's bound, to give to exit.
func (l *relLimiter) enter(e0 int) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := 0
	for _, m := range l.hist[e0:] {
		b = max(b, m)
	}
	l.running++
	l.starts++
	l.bounds[b]++
	l.peak = max(l.peak, l.running)
	top := 0
	for k, n := range l.bounds {
		if n > 0 {
			top = max(top, k)
		}
	}
	if l.running > top && l.bad == nil {
		l.bad = fmt.Errorf("%d tasks running at once; the largest max any of them could have been handed over under is %d (max history %v)",
			l.running, top, l.hist[max(0, len(l.hist)-10):])
	}
	return b
}

func (l *relLimiter) exit(b int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.running--
	l.bounds[b]--
}

// Fault kinds injected into stress tasks.
const (
	relFaultNone = iota
	relFaultError
	relFaultPanicString
	relFaultPanicError
	relFaultPanicCustom
	relFaultPanicNil
	relFaultGoexit
	relFaultCallbackPanic // callback kind only
	relFaultKinds
)

// relCustomPanic is a panic value of a user type.
type relCustomPanic struct{ id int }

var errRelInjected = errors.New("injected task error")

// Submission kinds.
const (
	relKindCall = iota
	relKindCallback
	relKindFuture
)

// relRec is the ledger entry of one submission.
type relRec struct {
	id        int
	kind      int
	fault     int
	ran       atomic.Int32
	reports   atomic.Int32 // callback calls
	cbErr     atomic.Pointer[error]
	submitErr error // what CallInThread*/Submit returned; set by the submitter
	fut       *threadpool.Future[int]
	callerRan atomic.Bool
	submitter uint64      // goroutine id of the submitter (RunInCaller variant)
	inSubmit  atomic.Bool // the submitter is inside the submission call
}

// faulty reports whether the task, had it run, counts as failed.
func (r *relRec) faulty() bool { return r.fault != relFaultNone }

// relLedger holds every submission of a stress run.
type relLedger struct {
	mu   sync.Mutex
	recs []*relRec
}

func (g *relLedger) add(kind, fault int) *relRec {
	g.mu.Lock()
	defer g.mu.Unlock()
	r := &relRec{id: len(g.recs), kind: kind, fault: fault}
	g.recs = append(g.recs, r)
	return r
}

// relStress is one stress run.
type relStress struct {
	t        *testing.T
	p        *threadpool.Pool
	lim      *relLimiter
	ledger   relLedger
	caller   bool // the pool runs overflow in the caller: tasks may run outside max
	block    bool // submissions may block: callbacks must not submit
	deadline time.Time

	ops, resizes, workerOps, stops, starts, innerCalls atomic.Int64
}

// submit makes one submission of the given kind and fault from the calling
// goroutine (a submitter, or a task or callback of the pool).
func (s *relStress) submit(rng *rand.Rand, kind, fault int) {
	r := s.ledger.add(kind, fault)
	if s.caller {
		r.submitter = goid()
	}
	e0 := s.lim.epoch()
	body := func() (int, error) {
		if s.caller && r.inSubmit.Load() && goid() == r.submitter {
			r.callerRan.Store(true) // RunInCaller: outside the pool's max
		} else {
			b := s.lim.enter(e0)
			defer s.lim.exit(b)
		}
		if r.ran.Add(1) != 1 {
			s.t.Errorf("task %d ran twice", r.id)
		}
		switch r.fault {
		case relFaultError:
			return 0, errRelInjected
		case relFaultPanicString:
			panic("injected panic " + strconv.Itoa(r.id))
		case relFaultPanicError:
			panic(fmt.Errorf("injected panic %d: %w", r.id, errRelInjected))
		case relFaultPanicCustom:
			panic(relCustomPanic{r.id})
		case relFaultPanicNil:
			panic(nil)
		case relFaultGoexit:
			runtime.Goexit()
		}
		return r.id, nil
	}
	r.inSubmit.Store(true)
	defer r.inSubmit.Store(false)
	ctx := context.Background()
	var cancel context.CancelFunc
	if kind == relKindFuture && rng.IntN(8) == 0 {
		ctx, cancel = context.WithCancel(ctx) // canceled right after Submit
	}
	switch kind {
	case relKindCall:
		r.submitErr = s.p.CallInThread(func() { _, _ = body() })
	case relKindCallback:
		inner := rng.IntN(200) // 13 in 200 callbacks call back into the pool
		seed := rng.Uint64()
		r.submitErr = s.p.CallInThreadWithCallback(func(_ any, err error) {
			r.cbErr.Store(&err)
			if r.reports.Add(1) != 1 {
				s.t.Errorf("callback of task %d called twice", r.id)
			}
			if r.ran.Load() == 0 {
				return // canceled: possibly delivered inside adjust; don't call back
			}
			if r.fault == relFaultCallbackPanic {
				panic("injected callback panic")
			}
			if s.lim.isFrozen() {
				return
			}
			switch {
			case inner < 4 && !s.block: // under Block a callback that submits can deadlock (documented)
				s.innerCalls.Add(1)
				s.submit(rand.New(rand.NewPCG(seed, 1)), relKindCall, relFaultNone)
			case inner < 8:
				s.innerCalls.Add(1)
				s.resize(rand.New(rand.NewPCG(seed, 2)))
			case inner < 12:
				s.innerCalls.Add(1)
				_ = s.p.StartAWorker()
				_ = s.p.StopAWorker()
			case inner == 12:
				s.innerCalls.Add(1)
				s.stops.Add(1)
				if err := s.p.Stop(); err != nil { // from inside: begins the stop, returns at once
					s.t.Errorf("Stop inside a callback: %v", err)
				}
			}
		}, func() (any, error) { return body() })
	case relKindFuture:
		r.fut = threadpool.Submit(ctx, s.p, func(context.Context) (int, error) { return body() })
	}
	if cancel != nil {
		cancel()
	}
	s.ops.Add(1)
}

// resize picks new sizes; max is 0 now and then (a paused pool).
func (s *relStress) resize(rng *rand.Rand) {
	lo := rng.IntN(4)
	hi := lo + rng.IntN(6)
	if rng.IntN(20) == 0 {
		lo, hi = 0, 0
	}
	if err := s.lim.adjust(s.p, lo, hi); err != nil && !errors.Is(err, errRelFrozen) {
		s.t.Errorf("AdjustPoolSize(%d, %d): %v", lo, hi, err)
	}
	s.resizes.Add(1)
	s.ops.Add(1)
}

// every calls f every period until the deadline (pacing only: nothing
// relies on the timing).
func (s *relStress) every(period time.Duration, f func()) {
	tick := time.NewTicker(period)
	defer tick.Stop()
	for !s.t.Failed() {
		<-tick.C
		if !time.Now().Before(s.deadline) {
			return
		}
		f()
	}
}

// restart starts the pool again, waiting out a drain still under way.
func (s *relStress) restart() {
	for {
		err := s.p.Start()
		s.ops.Add(1)
		if err == nil {
			s.starts.Add(1)
			return
		}
		if !errors.Is(err, threadpool.ErrStopped) {
			s.t.Errorf("Start: %v", err)
			return
		}
		_ = s.p.Stop() // a StopNow or Shutdown left a drain: wait for it
	}
}

// stopOnce stops the pool one of several ways.
func (s *relStress) stopOnce(rng *rand.Rand) {
	s.stops.Add(1)
	s.ops.Add(1)
	switch rng.IntN(5) {
	case 0:
		_ = s.p.Stop()
	case 1:
		_ = s.p.StopNow()
	case 2: // bounded: may give up; the drain goes on
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Microsecond)
		err := s.p.Shutdown(ctx)
		cancel()
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			s.t.Errorf("Shutdown: %v", err)
		}
	default: // several callers at once, one of them immediate
		var wg sync.WaitGroup
		for i := 0; i < 3; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				if i == 0 && rng.IntN(2) == 0 {
					_ = s.p.StopNow()
					return
				}
				if err := s.p.Stop(); err != nil {
					s.t.Errorf("concurrent Stop: %v", err)
				}
			}(i)
		}
		wg.Wait()
	}
}

func relRunStress(t *testing.T, variant string, opts ...threadpool.Option) {
	const submitters = 8
	const initMin, initMax = 2, 8
	name := "stress-" + variant
	p, logs := newCountedPool(t, initMin, initMax, append([]threadpool.Option{threadpool.WithName(name)}, opts...)...)
	s := &relStress{t: t, p: p, lim: relNewLimiter(initMax), deadline: time.Now().Add(relStressDuration(t))}
	s.caller = variant == "caller"
	s.block = variant == "block"
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	obs := observeStats(p)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)

	var subs, actors sync.WaitGroup
	for i := 0; i < submitters; i++ {
		subs.Add(1)
		go func(i int) {
			defer subs.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(i)))
			for time.Now().Before(s.deadline) && !t.Failed() {
				if p.QueueSize() > 64 {
					// Keep the backlog short, so that stops drain quickly
					// and most of the run is spent running tasks.
					runtime.Gosched()
					continue
				}
				kind := rng.IntN(3)
				fault := relFaultNone
				if rng.IntN(10) == 0 {
					fault = 1 + rng.IntN(relFaultKinds-1)
					if fault == relFaultError && kind == relKindCall {
						fault = relFaultPanicString // a fire-and-forget task has no error to return
					}
					if fault == relFaultCallbackPanic && kind != relKindCallback {
						fault = relFaultGoexit
					}
					if fault == relFaultGoexit && s.caller {
						// A Goexit in a task run by the caller would end the
						// submitter itself; see TestQueueLimit/RunInCaller_with_Goexit_in_every_kind_of_task_is_counted_once.
						fault = relFaultPanicNil
					}
				}
				s.submit(rng, kind, fault)
			}
		}(i)
	}
	actors.Add(3)
	go func() { // resizer
		defer actors.Done()
		rng := rand.New(rand.NewPCG(seed, 100))
		s.every(100*time.Microsecond, func() { s.resize(rng) })
	}()
	go func() { // worker toggler
		defer actors.Done()
		rng := rand.New(rand.NewPCG(seed, 101))
		s.every(50*time.Microsecond, func() {
			var err error
			if rng.IntN(2) == 0 {
				err = p.StartAWorker()
			} else {
				err = p.StopAWorker()
			}
			if err != nil && !errors.Is(err, threadpool.ErrStopped) {
				t.Errorf("Start/StopAWorker: %v", err)
			}
			s.workerOps.Add(1)
			s.ops.Add(1)
		})
	}()
	go func() { // stopper
		defer actors.Done()
		rng := rand.New(rand.NewPCG(seed, 102))
		s.every(3*time.Millisecond, func() {
			s.stopOnce(rng)
			s.restart()
		})
	}()

	within(t, "stress actors", actors.Wait)
	// Let the last submissions through: capacity, a running pool.
	if err := s.lim.freeze(p, initMin, initMax); err != nil {
		t.Fatal(err)
	}
	s.restart()
	within(t, "stress submitters", subs.Wait)
	within(t, "final Stop", func() { _ = p.Stop() })
	noPoolGoroutines(t, name)
	snapshots, obsErr := obs.finish(t)
	if obsErr != nil {
		t.Errorf("observer: %v", obsErr)
	}
	if s.lim.bad != nil {
		t.Errorf("A5: %v", s.lim.bad)
	}

	// The ledger, by id. Every disagreement counts as a task lost or
	// duplicated.
	bad := 0
	fail := func(format string, args ...any) {
		bad++
		t.Errorf(format, args...)
	}
	var accepted, rejected, ran, completed, failed, notRun, callerRan, faults, wantLogs uint64
	for _, r := range s.ledger.recs {
		nran := r.ran.Load()
		if nran > 1 {
			fail("task %d ran %d times", r.id, nran)
		}
		isRejected := false
		switch r.kind {
		case relKindCall, relKindCallback:
			isRejected = r.submitErr != nil
			if isRejected && !errors.Is(r.submitErr, threadpool.ErrStopped) && !errors.Is(r.submitErr, threadpool.ErrQueueFull) {
				fail("task %d: submission error %v", r.id, r.submitErr)
			}
		case relKindFuture:
			if !isClosed(r.fut.Done()) {
				fail("task %d: Future unresolved after Stop", r.id)
				continue
			}
			v, err := r.fut.Wait(context.Background())
			switch {
			case errors.Is(err, threadpool.ErrStopped) || errors.Is(err, threadpool.ErrQueueFull):
				isRejected = true
			case errors.Is(err, threadpool.ErrCanceled):
				if nran != 0 {
					fail("task %d ran but its Future says canceled", r.id)
				}
			case nran == 0:
				fail("task %d: Future resolved with (%v, %v) but the task never ran", r.id, v, err)
			case r.faulty() && err == nil:
				fail("task %d (fault %d): Future has no error", r.id, r.fault)
			case !r.faulty() && (err != nil || v != r.id):
				fail("task %d: Future (%v, %v)", r.id, v, err)
			}
		}
		if r.kind == relKindCallback {
			reports := r.reports.Load()
			switch {
			case isRejected && reports != 0:
				fail("task %d refused at submission, yet its callback was called", r.id)
			case !isRejected && reports != 1:
				fail("task %d: callback called %d times, want 1", r.id, reports)
			case !isRejected && nran == 0 && !errors.Is(*r.cbErr.Load(), threadpool.ErrCanceled):
				fail("task %d never ran; callback got %v", r.id, *r.cbErr.Load())
			case !isRejected && nran == 1 && r.faulty() && r.fault != relFaultCallbackPanic && *r.cbErr.Load() == nil:
				fail("task %d (fault %d): callback got no error", r.id, r.fault)
			}
		}
		if isRejected {
			rejected++
			if nran != 0 {
				fail("task %d refused at submission, yet it ran", r.id)
			}
			continue
		}
		accepted++
		if r.callerRan.Load() {
			callerRan++
		}
		if nran == 0 {
			notRun++
			continue
		}
		ran++
		if r.faulty() {
			failed++
			faults++
			if r.kind == relKindCall || r.fault == relFaultCallbackPanic {
				wantLogs++
			}
		} else {
			completed++
		}
	}
	st := p.Stats()
	if st.Submitted != accepted || st.Rejected != rejected || st.Completed != completed ||
		st.Failed != failed || st.Canceled != notRun || st.CallerRan != callerRan || st.Queued != 0 || st.Working != 0 || st.Workers != 0 {
		fail("Stats after the final Stop disagree with the ledger:\n stats  %+v\n ledger submitted=%d rejected=%d completed=%d failed=%d canceled=%d callerRan=%d",
			st, accepted, rejected, completed, failed, notRun, callerRan)
	}
	if got := uint64(logs.errors.Load()); got != wantLogs+st.InitFailed {
		fail("%d error records logged, want %d (one per fault nobody received) + %d (one per failed worker init)", got, wantLogs, st.InitFailed)
	}
	s.lim.mu.Lock()
	peak, starts := s.lim.peak, s.lim.starts
	s.lim.mu.Unlock()
	t.Logf("STRESS variant=%s duration=%v submitters=%d ops=%d submissions=%d accepted=%d rejected=%d ran=%d completed=%d failed=%d faults_injected=%d canceled_reported=%d caller_ran=%d resizes=%d worker_ops=%d stops=%d restarts=%d callbacks_into_pool=%d snapshots_checked=%d measured_starts=%d peak_running=%d ledger_disagreements=%d",
		variant, relStressDuration(t), submitters, s.ops.Load(), len(s.ledger.recs), accepted, rejected, ran, completed, failed,
		faults, notRun, callerRan, s.resizes.Load(), s.workerOps.Load(), s.stops.Load(), s.starts.Load(),
		s.innerCalls.Load(), snapshots, starts, peak, bad)
}

// TestStress runs the stress in four configurations: the default
// unbounded backlog, and a bounded one under each overflow policy.
func TestStress(t *testing.T) {
	for _, v := range []struct {
		name string
		opts []threadpool.Option
	}{
		{"unbounded", nil},
		{"block", []threadpool.Option{threadpool.WithQueueLimit(4, threadpool.Block)}},
		{"reject", []threadpool.Option{threadpool.WithQueueLimit(4, threadpool.Reject)}},
		{"caller", []threadpool.Option{threadpool.WithQueueLimit(4, threadpool.RunInCaller)}},
	} {
		t.Run(v.name, func(t *testing.T) { relRunStress(t, v.name, v.opts...) })
	}
}
