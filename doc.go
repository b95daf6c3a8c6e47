// Package threadpool is a pool of worker goroutines with a minimum and a
// maximum size: Twisted's twisted.python.threadpool.ThreadPool, in Go.
//
// # The model
//
// A [Pool] made by [New] has no goroutine until it is started and work
// needs one. [Pool.Start] starts one worker per waiting task, up to max,
// then idle workers up to min. From then on a submitted task goes to an
// idle worker if there is one; else, while the pool has fewer than max
// workers, to a new worker; else to the back of a FIFO backlog. A worker
// that finishes a task takes the oldest backlogged task, or waits idle for
// the next one: workers are reused, never made per task. The minimum is a
// floor that Start and [Pool.AdjustPoolSize] grow the pool to; it is never a
// limit. The maximum bounds the tasks running at once, without exception
// but one: after max is lowered, tasks already running finish, and no new
// task starts until fewer than max run. (And a corner of task groups'
// nested waits, see Task groups.)
//
// The bookkeeping is synchronous: when [Pool.CallInThread] returns, the
// counts ([Pool.Stats], [Pool.Workers], [Pool.QueueSize]) include the task;
// when Start, AdjustPoolSize, [Pool.StartAWorker] or [Pool.StopAWorker]
// return, the pool has its new shape (idle workers asked to quit are no
// longer counted).
//
// Work comes in three forms: [Pool.CallInThread] (fire and forget),
// [Pool.CallInThreadWithCallback] (the outcome goes to a function run on the
// worker right after the task) and [Submit] (a typed [Future], the task gets
// a [context.Context]); and tasks waited for together come in groups
// ([NewGroup], see Task groups).
//
// Internally, all bookkeeping lives in one coordinator guarded by one mutex
// (Twisted's Team design); workers are executors behind a small seam, which
// is how package threadpooltest swaps them for in-memory workers that run
// nothing until a test says so. No user code (task, callback, logger) ever
// runs while the mutex is held.
//
// # Goroutines
//
// Each worker is one goroutine, started when the pool needs a worker and
// ended when the worker quits: [Pool.StopAWorker], a lowered max, an idle
// timeout ([WithIdleTimeout]), or a stop. By default the pool runs no other
// goroutine: no dispatcher, no ticker, nothing at import time. Two features
// add short-lived ones: with an idle timeout the pool has one runtime timer,
// armed while an idle worker could exit, whose function runs briefly when it
// fires; a [Submit] task waiting in the backlog with a cancelable context
// is watched with [context.AfterFunc] (for the standard library's contexts
// that costs no goroutine until the context ends; for other Context
// implementations, the context package runs one goroutine per watched task
// while it waits). And a worker whose task waits for a task group and runs
// the group's tasks in its place (see Task groups) runs them on a helper
// goroutine, which it keeps, parked, for its next such wait until the
// worker exits; a helped task that waits in turn has its own helper, so
// nested waits keep one helper per level. With [WithOSThreads], each
// worker's goroutine, and each helper, is locked to an OS thread of its
// own (see OS threads and worker setup).
// After [Pool.Stop] returns, no goroutine of the pool remains, and a stopped
// pool that nothing refers to can be garbage-collected.
//
// No goroutine of the pool polls while it waits for work: a worker of a
// pool with many more workers than processors yields its processor once
// when it goes idle, then blocks. One that finds the pool's lock taken may
// spin or yield briefly before it blocks (README, Performance).
//
// Each worker runs under the pprof labels threadpool=<pool name> and
// thread=<worker name>, so goroutine and CPU profiles tell workers apart.
// (Goroutines that a task starts inherit them, as Go's labels always are.)
// Workers are named PoolThread-<name>-<n>; a pool without a name uses a
// number unique in the process instead, and n never repeats within a pool.
//
// # Task groups
//
// [NewGroup] makes a [Group]: golang.org/x/sync/errgroup's Group whose tasks
// run on a pool's workers instead of goroutines of their own. [Group.Go]
// submits a task, which receives the group's context; [Group.Wait] waits
// for all of them and returns the first error; the context is canceled at
// the first error and when Wait returns. [NewResultGroup] is the same with
// typed values, returned in the order of the Go calls (Twisted's
// gatherResults). Any number of groups share one pool: its max bounds all
// their tasks together, it can be resized while they run, and its Stats and
// observer see every task. Porting an errgroup program changes three lines
// (see the example of NewGroup).
//
// [Group.SetLimit] caps how many of one group's tasks are in the pool at
// once, running or in the pool's backlog: a per-request or per-tenant share
// under the pool-wide max. The others wait in the group, in the order of
// their Go calls, and each task's end sends the next one to the back of the
// pool's backlog, so groups share the pool's FIFO. Go never blocks because
// of the limit (errgroup's Go does); the limit can be changed at any time.
//
// A task's error, panic (*[PanicError]) or runtime.Goexit ([ErrGoexit]) is
// the group's error, not a crash; so is the pool's refusal of a task
// ([ErrStopped], [ErrQueueFull]) and a nil function. Once the group's
// context is canceled, its tasks that have not started never run: those
// waiting in the group or in the pool's backlog are dropped at once (at the
// group's first failure, or when the parent context ends), and one already
// handed to a worker is found canceled as it starts. Each counts as
// Canceled and, if the group had no error yet, its error (wrapping
// [ErrCanceled] and the context's) becomes the group's. Go after Wait has
// returned runs nothing: [ErrGroupDone] becomes the group's error, and a
// later Wait returns it.
//
// Nested waits cannot deadlock. A task may make a group on its own pool and
// wait for it, at any depth, even with every worker doing the same: Wait
// called from one of the pool's tasks runs its group's tasks that wait in
// the pool's backlog itself, one at a time, in its worker's place, instead
// of holding the worker idle (the helping join of Java's ForkJoinPool).
// The waiting task's goroutine blocks meanwhile, and the helped task runs
// on a helper goroutine, so that a helped task that calls runtime.Goexit
// ends only the helper, never the task that waits; the pool's max still
// bounds the tasks running at once. Wait called outside the pool just
// blocks. (A task that waits for work on its own full pool in any other
// way, a Future's Wait or a channel, can still deadlock it.)
//
// Wait knows it runs in a task cheaply when the group was made from the
// context the task received (NewGroup(ctx, pool) with the ctx of Go's
// function, as in a port of errgroup code); from any other context it reads
// the bottom of the calling goroutine's stack (a fraction of a microsecond)
// and, on one of a pool's goroutines, asks the runtime which goroutine it
// is (a few microseconds). One corner follows from the first way: if a goroutine that a task
// started makes a group from the task's context and waits for it while the
// task itself goes on running, not waiting, the helped tasks run in the
// task's place beside it, and the pool runs one task over its max until
// the wait ends.
//
// Group tasks are counted as any task: in Submitted when Go accepts them,
// then in Completed, Failed or Canceled, or in Rejected when the pool
// refuses them (a Go after Wait is not counted: the pool never sees it). A
// task waiting in its group counts as Queued (and in [Pool.QueueSize]).
// While a task waits in Wait and a helped task runs in its worker's place,
// the helped task counts as Working and the waiting one as Queued, until
// the helped task ends: Submitted == Completed + Failed + Canceled +
// Queued + Working holds in every snapshot.
//
// On a pool made by threadpooltest.New, Wait runs the memory workers'
// pending tasks itself, oldest first, until the group is done, since no
// goroutine would run them; a test that checks each step runs them with
// RunOne before it calls Wait.
//
// # Stopping
//
// [Pool.Stop] refuses new work with [ErrStopped] at once, lets running
// tasks finish, runs the whole backlog, waits for every worker to exit and
// returns. [Pool.Shutdown] is Stop bounded by a context, like
// net/http.Server.Shutdown: if the context ends first it returns its error
// and the drain goes on. [Pool.StopNow] drops the backlog instead of running
// it and reports every dropped task. Stopping twice, or from several
// goroutines, is safe: all callers wait for the same drain. Stop called from
// one of the pool's own tasks or callbacks cannot wait for itself: it begins
// the stop and returns nil. [Pool.Start] restarts a stopped pool.
//
// Nothing is silently lost: every accepted task either runs exactly once or
// is reported as not run, to its callback or Future (an error wrapping
// [ErrCanceled]) or, for fire-and-forget tasks, in Stats.Canceled. A backlog
// that can never run (a pool stopped before it was started, or whose max is
// 0) is canceled when the pool stops.
//
// # Panics and failures
//
// A task that panics (panic(nil) included) fails: its callback gets nil and
// a *[PanicError] with the value and stack, its Future resolves with it, or,
// for a fire-and-forget task, it is logged once at Error level through the
// pool's logger ([WithLogger]). A task that calls runtime.Goexit fails the
// same way with [ErrGoexit]. A panic inside a callback is logged once.
// Every failure counts in Stats.Failed. No fault costs capacity: the worker
// survives a panic, and a worker whose goroutine a Goexit ended is replaced
// at once.
//
// # Faults in user code
//
// User code runs in eight places: the task (a group's task included); its
// callback (onResult, also when it reports a cancellation); the pool
// logger's handler, when the pool logs a failure; a [Submit] context's
// methods; the stop function of a context's AfterFunc, which the pool calls
// when a watched task leaves the backlog; the task observer
// ([WithObserver]); and a worker's init hook and its cleanup
// ([WithWorkerInit]). Whichever way that code ends, the pool reports the failure once,
// to the task's receiver or else to the log, counts the task once, loses
// no task and no capacity (but a failed init hook costs its worker, see
// OS threads and worker setup), and Stop and Shutdown still return:
//
//	where            returns     returns err   panics (any value, nil too)   runtime.Goexit (*)
//	task, no result  Completed   -             Failed, logged                Failed, logged
//	task with result Completed   Failed, err   Failed, *PanicError           Failed, ErrGoexit
//	group task       Completed   Failed, err   Failed, *PanicError           Failed, ErrGoexit
//	onResult         -           -             task Failed, logged           task Failed
//	logger handler   -           ignored       record dropped                task counted as it ended
//	ctx.Err (start)  -           Canceled      Failed, *PanicError           Failed, ErrGoexit
//	ctx.Done/submit  -           -             not watched: Err at start     -
//	AfterFunc stop   -           -             logged                        -
//	observer         -           -             logged                        task counted as it ended
//	worker init      -           InitFailed†   InitFailed†, *PanicError      InitFailed†, ErrGoexit
//	worker cleanup   -           -             logged                        the worker exits as it would
//
// (*) Goexit also stands for a Goexit during a panic and a panic during a
// Goexit: the goroutine ends either way, and the task is reported as a
// Goexit. panic(nil) is a *[PanicError] whose Value is a
// *runtime.PanicNilError, also under GODEBUG=panicnil=1. († The worker
// never runs a task: it is removed, its task goes to an idle worker or to
// the front of the backlog, and the failure is logged once and counted in
// Stats.InitFailed.)
//
// A group task's failure goes to its group: the first one is what Wait
// returns. A group's parent context is user code too, but the pool never
// calls it: [NewGroup] derives the group's context from it and watches it
// with context.AfterFunc, on the caller's goroutine and the context
// package's, as any code deriving a context does.
//
// A worker's goroutine that user code ends, in the task or anywhere after
// it, is replaced at once by a new goroutine (the worker gets a new number
// and name), which carries on with whatever the old one had in hand: the
// task's accounting, the next backlogged task. With [WithWorkerInit] the
// old goroutine runs its cleanup as it ends and the new one runs init
// before its next task; with [WithOSThreads] the new one locks a fresh
// thread and the old thread ends with the old goroutine. A group's task that a Wait
// helps runs on a helper goroutine: a Goexit there ends the helper, which
// the Wait replaces, and the waiting task goes on. A task run on the
// submitting goroutine ([RunInCaller]) that calls Goexit ends that
// goroutine, as Goexit does, and is still counted. A panic of a task with
// no receiver, or of an AfterFunc stop, is logged; if the logger itself
// panics, the record is dropped, as nobody is left to tell.
//
// # Observing tasks
//
// [Pool.Stats] tells how full the pool is; [WithObserver] tells how long
// tasks wait and run. The observer is called once per accepted task, when
// it ends, with a [TaskEnd]: its [Outcome] (Completed, Failed or
// Canceled, as counted in Stats), Wait (from acceptance to the start, or
// to the cancellation) and Run (from the start until the task and its
// callback or Future returned; 0 for a canceled task). The clock is read
// three times per task: when the submission is accepted (before the pool's
// lock is taken; for a submission that blocked under [Block], when it got
// its room), when a worker (or the submitter, under [RunInCaller]) starts
// the task, and when the task's callback or Future has returned; for a
// task dropped from the backlog, once per dropping step after the lock is
// released. The observer is called after the task is counted, without the
// lock, on the worker that ran the task (for a task a group's Wait helped,
// its helper goroutine) or the goroutine that canceled it.
// Without an observer none of this happens: no clock is read and nothing
// is allocated. Modules github.com/twisted-go/threadpool/prom and
// github.com/twisted-go/threadpool/otel export Stats and these timings to
// Prometheus and OpenTelemetry.
//
// # OS threads and worker setup
//
// [WithOSThreads] locks each worker's goroutine to an OS thread of its own
// for the worker's whole life, named after the worker on Linux;
// [WithWorkerInit] runs a setup hook on each worker's goroutine before its
// first task, and the cleanup it returns when the worker ends (Python's
// ThreadPoolExecutor initializer, Java's ThreadFactory). Together they are
// for work that needs real threads: C libraries with per-thread state (an
// OpenGL or CUDA context, an embedded interpreter, a driver's per-thread
// handle), setns or unshare, per-thread credentials. They are not for
// ordinary Go work: OS threads cost a thread per worker, and a thread
// switch for each task handed to an idle worker, whose own thread must
// wake where a goroutine would run on any thread at hand
// (BenchmarkRoundTripOSThreadWorker measures it). Both are off by default
// and cost nothing then.
//
// Per worker, in order: its goroutine locks and names its thread, init
// runs, then its tasks, one at a time, all on that thread; after its last
// task the cleanup runs on the same goroutine and thread, then the thread
// is discarded. Stop and Shutdown return only after every cleanup has run
// (StopNow does not wait for workers; a Stop after it does). Both hooks run
// under the worker's pprof labels, never with the pool's lock held, and may
// call the pool (a Stop there begins the stop and returns, as from a task).
// init receives the worker as [Pool.Threads] lists it, with the thread's id
// under WithOSThreads ([ThreadInfo].ThreadID). Workers set themselves up
// concurrently: inits of several workers may run at once, and beside other
// workers' tasks. A worker told to quit before its goroutine started runs
// neither hook.
//
// A worker is one goroutine's life. When user code ends a worker's
// goroutine (see Faults in user code), the old goroutine runs its cleanup,
// on its own thread, which ends with it; the goroutine that takes over
// (a new worker number and name) locks a fresh thread and runs init before
// its next task. A task that unlocks its worker's thread (more
// runtime.UnlockOSThread calls than it made LockOSThread calls) has handed
// the thread, state and all, back to Go's scheduler, which the pool cannot
// undo; the worker notices after the task, locks whatever thread it is on
// so that this one at least ends with it, and is taken over the same way:
// the next task still runs on a thread of its own that init set up. (That
// worker's cleanup runs on the thread its goroutine is on then.) Balanced
// LockOSThread and UnlockOSThread calls, and extra LockOSThread calls,
// change nothing. A task that a group's Wait helps runs on the helper
// goroutine in its worker's place; under these options the helper is set
// up as a worker is: its own locked thread, named like a worker with a
// number of its own (Threads does not list it), its own init and cleanup.
//
// An init that fails (returns an error, panics or calls runtime.Goexit)
// stops its worker from starting: see [WithWorkerInit] for what happens to
// its task and how the pool avoids starting workers in a loop. If a
// helper's init fails, its task goes back the same way and that Wait
// blocks instead of helping.
//
// On a pool made by threadpooltest.New, the workers have no goroutine: the
// hook runs on the goroutine of the step (RunOne, RunAll, a group's Wait)
// that runs a worker's first task, before it; the cleanup runs on the step
// that ends the worker, or, for one that quit while idle, at the start of
// the next RunOne. WithOSThreads locks no thread there, and ThreadID is 0.
//
// # Overload and idle workers
//
// Both are off by default, as in Twisted. [WithQueueLimit] bounds the
// backlog, with a policy for a full one: [Block], [Reject] or
// [RunInCaller]. [WithIdleTimeout] lets workers above min exit after being
// idle for a while, so the pool shrinks back to min after a burst.
//
// # Deviations from Twisted
//
// Where Twisted's ThreadPool is known to be wrong, this package differs:
//
//	Twisted                                  threadpool                           why
//	raising max leaves the backlog waiting   AdjustPoolSize dispatches it at once  #8043: work stalls for no reason
//	  until the next submission
//	a new task can overtake the backlog      the backlog is strict FIFO            fairness, predictability
//	  when capacity appears
//	threads list keeps dead threads          Threads lists live workers only       #8114: leaked list, wrong stats
//	thread numbers are reused                numbers never repeat in a pool        logs and profiles stay unambiguous
//	shrink requests accumulate past the      requests never exceed busy workers    over-shrinking after repeated calls
//	  workers that exist
//	calls after stop are silently dropped    ErrStopped at the call site           nothing is silently lost
//	stop() cannot be undone                  Start restarts a stopped pool         long-lived services pause pools
//	pickle keeps min and max, loses name     JSON keeps min, max and name          the name is part of the setting
//	stop() joins threads, no bound           Shutdown(ctx), StopNow                bounded and immediate stops
//	failures are Failure objects             error values, *PanicError             idiomatic Go
//	context is Twisted's context module      Submit passes a context.Context       idiomatic Go
//
// Settings are saved with [Pool.MarshalJSON] and restored with
// [Pool.UnmarshalJSON] (Twisted's __getstate__ and __setstate__).
package threadpool
