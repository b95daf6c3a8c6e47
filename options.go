package threadpool

import (
	"errors"
	"log/slog"
	"time"

	"github.com/twisted-go/threadpool/internal/team"
)

// settings is what the options set.
type settings = team.Config

// Option configures a pool in [New] (and in threadpooltest.New). Options are
// checked by New: a bad value makes New return an error. An Option is made
// only by the With functions of this package; the zero Option is refused.
type Option struct {
	apply func(*settings)
}

// option wraps f as an Option.
func option(f func(*settings)) Option { return Option{apply: f} }

// The memory workers of package threadpooltest set fields of the settings
// that no exported option sets; this hook, set once here, lets that package
// (and only the packages of this module, as team is internal) make such an
// Option. It is an assignment, run at package initialisation; it starts
// nothing.
func init() {
	team.MakeOption = func(f func(*team.Config)) any { return option(f) }
}

// WithName names the pool. The name appears in worker names
// (PoolThread-<name>-<n>), pprof labels, logs and JSON. Without it, a
// number unique to the pool stands in for the name in worker names.
func WithName(name string) Option {
	return option(func(s *settings) { s.Name = name })
}

// WithLogger sets the logger the pool writes to: failures of user code that
// nobody receives (panics, and failed worker init hooks; see Faults in user
// code in the package documentation) and [Pool.DumpStats]. The default is [slog.Default] at the time of [New].
// A nil logger makes New fail.
func WithLogger(l *slog.Logger) Option {
	return option(func(s *settings) {
		if l == nil {
			optionErr(s, errors.New("threadpool: WithLogger: nil logger"))
			return
		}
		s.Logger = l
	})
}

// optionErr records the first bad option value; New returns it.
func optionErr(s *settings, err error) {
	if s.OptionErr == nil {
		s.OptionErr = err
	}
}

// OverflowPolicy says what a submission does when the bounded backlog set by
// [WithQueueLimit] is full.
type OverflowPolicy uint8

const (
	// Block makes the submitter wait until the backlog has room, the pool
	// stops ([ErrStopped]), or the Submit context ends ([ErrCanceled]).
	// CallInThread and CallInThreadWithCallback have no context: they wait
	// for room or a stop. Blocked submissions take the room in the order
	// they blocked, and a later submission never overtakes them; each is
	// accepted (counted in Submitted and QueueSize, or handed to a worker)
	// the moment its room appears, before its submitter wakes. A task that
	// submits to its own full pool under Block can deadlock: it holds a
	// worker while it waits for room that only a worker can make. Use
	// RunInCaller for pools whose tasks submit to the same pool.
	Block OverflowPolicy = iota
	// Reject refuses the task with [ErrQueueFull]; it counts as Rejected.
	Reject
	// RunInCaller runs the task on the submitting goroutine before the
	// submission returns (Java's CallerRunsPolicy). Such a task runs outside
	// the pool's max, is never counted as Working, and is counted in
	// Submitted, in Completed or Failed, and in CallerRan once it has run.
	// It slows the submitter down to the pool's pace and cannot deadlock.
	// It applies to a pool that is not started too: once its backlog is
	// full, further tasks run on their submitters.
	RunInCaller
)

// WithQueueLimit bounds the backlog (tasks accepted and not yet handed to a
// worker) to limit tasks, with policy deciding what a submission does when
// it is full. The default is an unbounded backlog, as in Twisted. A limit
// below 1 or an unknown policy makes New fail.
func WithQueueLimit(limit int, policy OverflowPolicy) Option {
	return option(func(s *settings) {
		if limit < 1 || policy > RunInCaller {
			optionErr(s, errors.New("threadpool: WithQueueLimit: the limit must be at least 1 and the policy Block, Reject or RunInCaller"))
			return
		}
		s.QueueLimit = limit
		s.QueuePolicy = team.Policy(policy)
	})
}

// WithIdleTimeout makes workers above the minimum exit once they have been
// idle for d, so the pool shrinks back to min after a burst. The oldest
// idle workers exit first. The pool then has one runtime timer, armed only
// while an idle worker could exit; no goroutine or ticker runs while no
// worker is idle. The default (and 0) keeps idle workers until they are
// stopped, as in Twisted. A negative d makes New fail.
func WithIdleTimeout(d time.Duration) Option {
	return option(func(s *settings) {
		if d < 0 {
			optionErr(s, errors.New("threadpool: WithIdleTimeout: negative duration"))
			return
		}
		s.IdleTimeout = d
	})
}
