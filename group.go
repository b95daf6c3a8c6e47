package threadpool

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/twisted-go/threadpool/internal/team"
)

// ErrGroupDone is the error of a [Group] (or [ResultGroup]) whose Go was
// called after its Wait had returned: the function is not run, nor
// submitted to the pool, and the next Wait returns this error if the group
// has no other.
var ErrGroupDone = team.ErrGroupDone

// Group is a set of tasks run on a shared [Pool], waited for together:
// golang.org/x/sync/errgroup's Group, whose goroutines are the pool's
// workers. See the package documentation (Task groups) for the model. Make
// one with [NewGroup]; its methods are safe for concurrent use.
type Group struct {
	c groupCore
}

// NewGroup returns a group of tasks run on p, and the group's context:
// derived from ctx, it is canceled when a task of the group first fails or
// when Wait returns, as errgroup.WithContext's is. Each task receives a
// context with the same Done, Err, Deadline and values, which also tells a
// group made from it on p which task made it (see Task groups in the
// package documentation). The group has no limit of its own (see
// [Group.SetLimit]); p's max bounds it. NewGroup panics if ctx or p is nil.
func NewGroup(ctx context.Context, p *Pool) (*Group, context.Context) {
	g := &Group{}
	g.c.init(ctx, p)
	return g, g.c.ctx
}

// Go submits f to run on a worker of the pool with the group's context.
// It never blocks because of the group's limit: a task beyond it waits in
// the group, counted as queued by the pool. (A bounded backlog under the
// [Block] policy may make it wait for room, as any submission.)
//
// The first error of the group is what Wait returns: f's error; a
// *[PanicError] if f panics; [ErrGoexit] if f calls runtime.Goexit; the
// pool's refusal ([ErrStopped], [ErrQueueFull]) if it refuses the task;
// an error wrapping [ErrCanceled] if the group's context ends before f
// starts (f is then never run). A nil f is an error of the group too.
// Called after Wait has returned, Go runs nothing and makes [ErrGroupDone]
// the group's error, if it has none.
func (g *Group) Go(f func(ctx context.Context) error) {
	if f == nil {
		g.c.fail(nilFunc("Group.Go"))
		return
	}
	g.c.submit(&plainTask{taskBase: taskBase{c: &g.c}, e: f})
}

// SetLimit makes at most n of the group's tasks run or wait in the pool at
// once (errgroup's SetLimit, shared-pool style): the others wait in the
// group, in the order of their Go calls, and go to the pool one by one as
// the group's tasks end. A negative n means no limit (the default); 0 holds
// every new task until the limit is raised. It may be called at any time;
// raising the limit sends waiting tasks to the pool at once.
func (g *Group) SetLimit(n int) { g.c.tg.SetLimit(n) }

// Wait waits for every task submitted to the group, then cancels the
// group's context and returns the group's first error (nil if none).
//
// Called from one of the pool's own tasks, Wait does not hold the worker
// idle: while the group's tasks wait in the pool's backlog, it runs them
// itself, one at a time, in the worker's place (see Task groups in the
// package documentation). So tasks that fan out and wait, to any depth,
// cannot deadlock the pool. Wait called from a task of the group itself
// waits for that task too, and never returns.
func (g *Group) Wait() error { return g.c.wait() }

// ResultGroup is a [Group] whose tasks return values, collected in the
// order of the Go calls: the Go counterpart of Twisted's gatherResults.
// Make one with [NewResultGroup].
type ResultGroup[T any] struct {
	c   groupCore
	res results[T]
}

// NewResultGroup returns a group of tasks run on p that return values of
// type T, and the group's context, as [NewGroup].
func NewResultGroup[T any](ctx context.Context, p *Pool) (*ResultGroup[T], context.Context) {
	g := &ResultGroup[T]{}
	g.c.init(ctx, p)
	return g, g.c.ctx
}

// Go submits f as [Group.Go] does; its value goes to the element of Wait's
// result that this call owns.
func (g *ResultGroup[T]) Go(f func(ctx context.Context) (T, error)) {
	i := g.res.add()
	if f == nil {
		g.c.fail(nilFunc("ResultGroup.Go"))
		return
	}
	g.c.submit(&resultTask[T]{taskBase: taskBase{c: &g.c}, f: f, res: &g.res, i: i})
}

// SetLimit limits the group's tasks as [Group.SetLimit].
func (g *ResultGroup[T]) SetLimit(n int) { g.c.tg.SetLimit(n) }

// Wait waits as [Group.Wait] does and returns one element per Go call, in
// the order of the calls: the task's value, or the zero value for a task
// that failed or never ran; and the group's first error.
func (g *ResultGroup[T]) Wait() ([]T, error) {
	err := g.c.wait()
	return g.res.all(), err
}

// groupCore is what Group and ResultGroup share.
type groupCore struct {
	tg     *team.Group
	ctx    context.Context
	cancel context.CancelCauseFunc
	stop   func() bool // unregisters the watch of the parent context, if any
	mu     sync.Mutex
	err    error // guarded by mu; the first error
}

func (c *groupCore) init(ctx context.Context, p *Pool) {
	if p == nil {
		panic("threadpool: NewGroup: nil pool")
	}
	if ctx == nil {
		panic("threadpool: NewGroup: nil context")
	}
	owner, _ := ctx.Value(team.MemberKey{}).(*team.Member) // made by a group's task?
	c.tg = p.t.NewGroup(owner)
	c.ctx, c.cancel = context.WithCancelCause(ctx)
	if !p.t.Synchronous() && ctx.Done() != nil {
		// When the parent ends, the tasks waiting in the group or the
		// backlog are dropped at once, not one by one as they come up. (A
		// test double's pool finds them canceled as they start instead, so
		// that every step stays deterministic.)
		c.stop = context.AfterFunc(ctx, func() { c.tg.Cancel(team.CanceledError(ctx)) })
	}
}

// submit hands gt to the team's group; a refusal is the group's error.
func (c *groupCore) submit(gt team.Job) {
	if err := c.tg.Submit(team.JobTask(gt)); err != nil {
		c.fail(err)
	}
}

// fail makes err the group's error if it has none; the first failure
// cancels the group's context and drops its tasks that have not started.
func (c *groupCore) fail(err error) {
	c.mu.Lock()
	first := c.err == nil
	if first {
		c.err = err
	}
	c.mu.Unlock()
	if first {
		c.cancel(err)
		c.tg.Cancel(team.CanceledError(c.ctx))
	}
}

func (c *groupCore) wait() error {
	c.tg.Wait()
	if c.stop != nil {
		c.stop()
	}
	c.mu.Lock()
	err := c.err
	c.mu.Unlock()
	c.cancel(err)
	return err
}

// taskBase is what every task of a group has: its membership in the
// team's group, and its group.
type taskBase struct {
	team.Member
	c *groupCore
}

func (b *taskBase) Context() context.Context { return b.c.ctx }

// plainTask is the Job of a Group's task.
type plainTask struct {
	taskBase
	e func(context.Context) error
}

func (t *plainTask) Run() team.Outcome { return runTask[struct{}](&t.taskBase, t) }
func (t *plainTask) Cancel(err error)  { t.deliver(struct{}{}, err) }

func (t *plainTask) invoke(ctx context.Context) (struct{}, error) { return struct{}{}, t.e(ctx) }

// deliver drops the task's function and gives its outcome to the group.
func (t *plainTask) deliver(_ struct{}, err error) {
	t.e = nil
	if err != nil {
		t.c.fail(err)
	}
}

// resultTask is the Job of a ResultGroup's task, whose value goes to
// res[i].
type resultTask[T any] struct {
	taskBase
	f   func(context.Context) (T, error)
	res *results[T]
	i   int
}

func (t *resultTask[T]) Run() team.Outcome { return runTask[T](&t.taskBase, t) }
func (t *resultTask[T]) Cancel(err error)  { t.deliver(*new(T), err) }

func (t *resultTask[T]) invoke(ctx context.Context) (T, error) { return t.f(ctx) }

// deliver drops the task's function and gives its outcome to the group.
func (t *resultTask[T]) deliver(v T, err error) {
	t.f = nil
	if err != nil {
		t.c.fail(err)
		return
	}
	t.res.set(t.i, v)
}

// groupJob is what runTask needs of a task: to call its function, and to
// deliver its outcome.
type groupJob[T any] interface {
	invoke(ctx context.Context) (T, error)
	deliver(v T, err error)
}

// runTask runs the task j (whose base is b) and delivers its outcome; if
// the task calls runtime.Goexit, it delivers ErrGoexit as the goroutine
// ends, and does not return.
func runTask[T any, J groupJob[T]](b *taskBase, j J) team.Outcome {
	normal := false
	defer func() {
		if !normal {
			// f called runtime.Goexit (maybe while panicking): the
			// goroutine ends, the group gets the failure first.
			j.deliver(*new(T), ErrGoexit)
		}
	}()
	v, out, err := callTask[T](b, j)
	normal = true
	j.deliver(v, err)
	return out
}

// callTask calls j's function with the task's context, or skips it if the
// group's context has ended, and tells how it ended. It does not return if
// the task ends the goroutine.
func callTask[T any, J groupJob[T]](b *taskBase, j J) (v T, out team.Outcome, err error) {
	normal := false
	defer func() {
		if !normal {
			v, out, err = *new(T), team.Failed, panicError(recover())
		}
	}()
	if b.c.ctx.Err() != nil {
		normal = true
		return v, team.Canceled, team.CanceledError(b.c.ctx)
	}
	// The task's context is the group's, seen through b: a group that the
	// task makes from it knows which task made it (taskContext).
	v, err = j.invoke(taskContext{b})
	normal = true
	if err != nil {
		return v, team.Failed, err
	}
	return v, team.Completed, nil
}

// taskContext is the context a group's task receives: the group's, which
// also gives the task's team.Member under team.MemberKey, so that a group
// made from it on the same pool can help from the task's working slot
// without looking up the calling goroutine (team.Group.Wait). It is one
// pointer: passing it as a context.Context does not allocate.
type taskContext struct{ b *taskBase }

func (c taskContext) Deadline() (time.Time, bool) { return c.b.c.ctx.Deadline() }
func (c taskContext) Done() <-chan struct{}       { return c.b.c.ctx.Done() }
func (c taskContext) Err() error                  { return c.b.c.ctx.Err() }
func (c taskContext) Value(key any) any {
	if _, ok := key.(team.MemberKey); ok {
		return &c.b.Member
	}
	return c.b.c.ctx.Value(key)
}

func (c taskContext) String() string { return fmt.Sprint(c.b.c.ctx) + ".WithGroupTask" }

// results are a ResultGroup's values, one per Go call.
type results[T any] struct {
	mu   sync.Mutex
	vals []T // guarded by mu
}

func (r *results[T]) add() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.vals = append(r.vals, *new(T))
	return len(r.vals) - 1
}

func (r *results[T]) set(i int, v T) {
	r.mu.Lock()
	r.vals[i] = v
	r.mu.Unlock()
}

func (r *results[T]) all() []T {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.vals[:len(r.vals):len(r.vals)]
}
