// Package team is the scheduling core of threadpool: Twisted's Team design in
// Go. One coordinator, the Team, keeps every piece of bookkeeping (idle
// workers, busy count, FIFO backlog, pending shrink requests, counters) under
// one mutex and changes it only through small steps whose names end in
// Locked. Workers are simple executors behind the Executor seam: the team
// hands them a task and later asks them to quit; the goroutine executor is
// one implementation, the in-memory executor of Memory another.
//
// No user code (task, callback, logger) ever runs while the mutex is held:
// steps that must tell a user something queue it in t.notes, and
// settleAndUnlock delivers it after releasing the mutex.
package team

import (
	"log/slog"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// Policy says what a submission does when the bounded backlog is full.
type Policy uint8

const (
	// Block waits for room, for the pool to stop, or for the Submit context.
	Block Policy = iota
	// Reject refuses the task with ErrQueueFull.
	Reject
	// RunInCaller runs the task on the submitting goroutine.
	RunInCaller
)

// MakeOption makes a threadpool.Option (returned as any) that applies f to
// the Config. The root package sets it at initialisation; threadpooltest
// uses it for the settings no exported option reaches.
var MakeOption func(f func(*Config)) any

// Config is everything a Team is built from. It is set before the team is
// used; only Name and Label change later (under mu, on a pool that is not
// started).
type Config struct {
	Name  string // the pool's name, "" if none
	Label string // stands in for Name in worker names and pprof labels

	// NewExecutor creates the executor of each new worker; nil means one
	// goroutine per worker (Goroutines), whose loop also runs the next
	// backlogged task that Run returns (Team.direct). Any other factory,
	// Goroutines passed explicitly included, gets every task through
	// Executor.Do.
	NewExecutor Factory
	// Observe, if not nil, is told of every accepted task once, when it
	// ends, never with the mutex held (observe.go). It may panic (reported
	// as a Fault) or end the goroutine.
	Observe func(End)
	// Fault reports a failure of user code that nobody else receives (see
	// Fault), once, never with the mutex held. It may panic (recovered and
	// dropped) or end the goroutine. Nil means such faults are only counted.
	Fault func(Fault)

	// Synchronous executors run tasks only when a test tells them to
	// (Memory): a stop is begun but never waited for.
	Synchronous bool
	// Step, if not nil, runs one pending task of synchronous executors and
	// reports whether there was one (Memory.RunOne): a group's Wait calls
	// it instead of blocking.
	Step func() bool
	// Logger is the pool's logger; the team itself never logs.
	Logger *slog.Logger
	// OptionErr is the first bad option value, reported by the root
	// package's New; the team never reads it.
	OptionErr error

	// OSThreads locks each worker's goroutine to an OS thread of its own
	// for its whole life, and names the thread (thread.go).
	OSThreads bool
	// Init, if not nil, runs on each worker's goroutine before its first
	// task; the cleanup it returns runs there when the goroutine ends
	// (thread.go).
	Init func(ThreadInfo) (cleanup func(), err error)

	QueueLimit  int    // 0: the backlog is unbounded
	QueuePolicy Policy // what a full bounded backlog does
	IdleTimeout time.Duration
}

type state uint8

const (
	stateNew      state = iota // never started: work waits in the backlog
	stateRunning               // started
	stateStopping              // Stop has begun: no new work, the backlog drains
	stateStopped               // stopped; Start restarts
)

// Counters are the monotone counters of a team.
type Counters struct {
	Submitted, Completed, Failed, Canceled, Rejected, CallerRan uint64
}

// Snapshot is the state of a team at one instant.
type Snapshot struct {
	Min, Max                           int
	Started                            bool
	Workers, Working, Waiters          int
	Queued, PeakWorkers, PendingShrink int
	Counters
	InitFailed uint64 // workers whose init hook failed (thread.go)
}

// Team is the coordinator. Its zero value is not usable; see New.
type Team struct {
	cfg Config // read-only after New except Name and Label, guarded by mu

	// mu has a cache line to itself: the padding keeps every other field
	// off its line whatever the Team's alignment. Goroutines spinning for
	// mu (lock.go) then do not pull the holder's data away from it in
	// the middle of its critical section.
	//
	// The fields that Submit and a task's end read and write come right
	// after it, packed together: a submitter and a worker on different
	// processors hand those lines back and forth on every task. They are
	// not aligned to a line: aligning them measured as noise (the layouts
	// tried, and what each cost, are in docs/performance.md).
	_             [cacheLine]byte
	mu            sync.Mutex
	_             [cacheLine - unsafe.Sizeof(sync.Mutex{})]byte
	state         state               // guarded by mu
	direct        bool                // read-only; the workers are Goroutines, which run what Run returns
	spin          atomic.Bool         // written under mu, read without it: GOMAXPROCS > 1 when last read, so lock may spin
	busy          int                 // guarded by mu; workers running a task and its callback
	queued        int                 // guarded by mu; backlog slots not dropped
	min, max      int                 // guarded by mu
	peak          int                 // guarded by mu
	pendingShrink int                 // guarded by mu; shrink requests waiting for a busy worker
	waiters       int                 // guarded by mu; idle workers, listed from idleNew to idleOld (idle.go)
	idleNew       *Worker             // guarded by mu; the last worker to go idle: reused first
	idleOld       *Worker             // guarded by mu; the worker idle the longest: times out first
	counts        Counters            // guarded by mu
	backlog       backlog             // guarded by mu
	blocked       waitq               // guarded by mu; submitters waiting for backlog room, oldest first (block.go)
	notes         []note              // guarded by mu; cancellations that settleAndUnlock delivers
	workers       []*Worker           // guarded by mu; live workers (idle or busy), for Threads
	exiting       int                 // guarded by mu; told to quit, not yet exited
	timer         *time.Timer         // guarded by mu; the idle timer, nil when not armed
	timerSeq      uint64              // guarded by mu; arms of the idle timer, to tell stale ones
	firing        int                 // guarded by mu; idle timers that fired after being stopped
	nextID        int                 // guarded by mu; last worker number handed out
	done          chan struct{}       // guarded by mu; closed when the current stop ends
	crew          *crew               // guarded by mu; the worker goroutines of the current start
	watches       map[uint64]watching // guarded by mu; backlog sequence number → its context watch
	stops         []func() bool       // guarded by mu; context watches that settleAndUnlock unregisters
	parked        int                 // guarded by mu; group tasks waiting for their group's limit (group.go)
	suspended     int                 // guarded by mu; tasks waiting in a group's Wait while their slot runs a helped task

	crowd   int                     // guarded by mu; crowdFactor × GOMAXPROCS when last read
	crowded atomic.Bool             // written under mu, read without it: more than crowd live workers
	spare   atomic.Pointer[blocked] // a blocked record to reuse, taken and given back without mu (block.go)

	// gmu guards goroutines: the ids of the goroutines running the team's
	// tasks (workers that have not returned, quitting ones included, and
	// submitters running a task in the caller), with how many times each
	// is registered. Stop called on one of them must not wait. A goroutine
	// registers itself, so gmu is its own lock, taken after mu when both
	// are needed.
	gmu        sync.Mutex
	goroutines map[uint64]int // guarded by gmu
	// slots are the goroutines among them that hold a working slot: a
	// worker, a helper of a group's Wait, a memory worker's step. A group's
	// Wait called on one of them helps instead of blocking (group.go).
	slots map[uint64]*slot // guarded by gmu

	// OS threads and init hooks (thread.go), after every other field so
	// that the layout above stays as it was tuned.
	threaded   bool   // read-only; Config.OSThreads or Config.Init: workers set themselves up
	stalled    bool   // guarded by mu; an init hook failed since the backlog was last drained
	failRun    int    // guarded by mu; init hooks failed in a row
	initFailed uint64 // guarded by mu; workers whose init hook failed

	pinned bool // guarded by mu; tests only: spin and crowd were set by hand (pinProcs), not read again
}

// note is a task to report as never run, with the error to report: its
// receiver (task, nil for a fire-and-forget task), then its observer
// (observed: when it was accepted).
type note struct {
	task     Task
	err      error
	observed bool
	accepted instant
}

// dropLocked queues the report of task, dropped from the backlog, for
// settleAndUnlock to deliver, and counts it out of its group. A
// fire-and-forget task is only reported to the observer.
func (t *Team) dropLocked(task Task, err error) {
	if g := groupOf(task); g != nil {
		t.endLocked(g, false)
	}
	t.noteDropLocked(task, err)
}

// noteDropLocked queues the report of task, which will never run, for
// settleAndUnlock to deliver.
func (t *Team) noteDropLocked(task Task, err error) {
	task, m := untime(task)
	n := note{err: err}
	if task.reported() {
		n.task = task
	}
	if m != nil {
		n.observed, n.accepted = true, m.accepted
	}
	if n.task.job != nil || m != nil {
		t.notes = append(t.notes, n)
	}
}

// New returns a team with the given sizes, not started. Sizes are checked
// by the caller.
func New(lo, hi int, cfg Config) *Team {
	direct := cfg.NewExecutor == nil
	if direct {
		cfg.NewExecutor = Goroutines
	}
	if cfg.Fault == nil {
		cfg.Fault = func(Fault) {}
	}
	t := &Team{cfg: cfg, min: lo, max: hi, direct: direct}
	t.readProcsLocked() // nobody else has t yet
	if cfg.OSThreads || cfg.Init != nil {
		t.threaded = true
		t.backlog.first = 1 << 40 // room for pushFront below it (thread.go)
	}
	return t
}

// settleAndUnlock ends a step that may have made backlog room or dropped
// tasks. With mu held, it settles the submitters blocked for backlog room
// (admitLocked: admits their tasks while there is room, or refuses them
// once a stop has begun); it releases mu; then it does what the locked
// steps left for after it: it wakes the settled submitters and delivers
// (deliver) the unregistering of the context watches of tasks that left
// the backlog and the cancellations. Every method that may pop or drop
// backlogged tasks unlocks through it, so a blocked submitter is never
// left waiting while the backlog has room.
func (t *Team) settleAndUnlock() {
	var settled *blocked
	if t.blocked.head != nil {
		settled = t.admitLocked()
	}
	notes, stops := t.notes, t.stops
	if notes != nil || stops != nil {
		t.notes, t.stops = nil, nil
	}
	t.mu.Unlock()
	wake(settled)
	if notes != nil || stops != nil {
		t.deliver(stops, notes)
	}
}

// deliver calls the stop functions of context watches, then reports each
// task of notes as never run, to its receiver and then to the observer
// (Canceled, waited until now). All are user code: a stop or an observer
// that panics is reported as a Fault, and a receiver's panic is its Job's
// to recover. If one ends the goroutine (runtime.Goexit), the rest still
// run as it unwinds: each is taken off its list before it is called.
func (t *Team) deliver(stops []func() bool, notes []note) {
	done := false
	defer func() {
		if !done {
			t.deliver(stops, notes)
		}
	}()
	for len(stops) > 0 {
		stop := stops[0]
		stops = stops[1:]
		t.callStop(stop)
	}
	var dropped instant
	if t.cfg.Observe != nil && len(notes) > 0 {
		dropped = now() // the tasks were dropped by the step that just unlocked
	}
	for len(notes) > 0 {
		n := &notes[0]
		if n.task.job != nil {
			task := n.task
			n.task = Task{}
			task.cancel(n.err)
			continue
		}
		observed, accepted := n.observed, n.accepted
		notes = notes[1:]
		if observed {
			t.observe(End{Outcome: Canceled, Wait: time.Duration(dropped - accepted)})
		}
	}
	done = true
}

// callStop calls the stop function of a context watch, reporting its panic.
func (t *Team) callStop(stop func() bool) {
	normal := false
	defer func() {
		if !normal {
			if r := recover(); r != nil {
				t.report(Fault{What: "context AfterFunc stop", Value: r, Stack: debug.Stack()})
			}
		}
	}()
	stop()
	normal = true
}

// workersLocked is the number of live workers, idle and busy.
func (t *Team) workersLocked() int { return t.waiters + t.busy }

// Snapshot returns the team's state, taken at one instant.
func (t *Team) Snapshot() Snapshot {
	t.mu.Lock()
	defer t.mu.Unlock()
	return Snapshot{
		Min: t.min, Max: t.max,
		Started: t.state == stateRunning,
		Workers: t.workersLocked(), Working: t.busy, Waiters: t.waiters,
		Queued: t.queued + t.parked + t.suspended, PeakWorkers: t.peak, PendingShrink: t.pendingShrink,
		Counters: t.counts, InitFailed: t.initFailed,
	}
}

// ThreadInfo describes one live worker.
type ThreadInfo struct {
	Name string
	Busy bool
	TID  int // its OS thread under Config.OSThreads, once locked (thread.go); else 0
}

// Threads lists the live workers, oldest first.
func (t *Team) Threads() []ThreadInfo {
	t.mu.Lock()
	defer t.mu.Unlock()
	ws := slices.Clone(t.workers)
	slices.SortFunc(ws, func(a, b *Worker) int { return a.ID - b.ID })
	out := make([]ThreadInfo, len(ws))
	for i, w := range ws {
		out[i] = ThreadInfo{Name: w.Name, Busy: w.busy, TID: w.tid}
	}
	return out
}

// Name returns the pool's name.
func (t *Team) Name() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.cfg.Name
}

// Settings returns min, max and the name, read together.
func (t *Team) Settings() (lo, hi int, name string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.min, t.max, t.cfg.Name
}

// Synchronous reports whether the team's executors are synchronous.
func (t *Team) Synchronous() bool { return t.cfg.Synchronous }

// Logger returns the pool's logger.
func (t *Team) Logger() *slog.Logger { return t.cfg.Logger }

// Reconfigure sets min, max and the name of a team that is not running and
// not stopping; it reports whether it did. An empty label keeps the current
// one. The backlog and counters stay.
func (t *Team) Reconfigure(lo, hi int, name, label string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.state == stateRunning || t.state == stateStopping {
		return false
	}
	t.min, t.max = lo, hi
	t.cfg.Name = name
	if label != "" {
		t.cfg.Label = label
	}
	return true
}

// Started reports whether the team is running.
func (t *Team) Started() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.state == stateRunning
}
