package threadpool

import (
	"errors"
	"log/slog"
	"strconv"
	"sync/atomic"

	"github.com/twisted-go/threadpool/internal/team"
)

// DefaultMin and DefaultMax are the sizes of Twisted's ThreadPool():
// New(DefaultMin, DefaultMax) is its Go equivalent.
const DefaultMin, DefaultMax = 5, 20

// Pool is a pool of worker goroutines with a minimum and a maximum size. See
// the package documentation for the model. Make one with [New]; a Pool is
// safe for concurrent use. The zero Pool is only good as the target of
// [Pool.UnmarshalJSON].
type Pool struct {
	t *team.Team
}

// poolIDs numbers the pools of the process, for unnamed pools' worker names.
var poolIDs atomic.Uint64

// New returns a pool with the given sizes, not started: no goroutine exists
// until [Pool.Start] and work need one. Work submitted before Start waits.
//
// It returns an error wrapping [ErrInvalidSize] when min is negative,
// greater than max, or above 1<<20 (min workers are started eagerly, one
// goroutine each; max is only a limit and may be anything), and an error
// naming the option when an option has a bad value. (0, 0) is legal: a pool that holds work until its max is raised.
func New(min, max int, opts ...Option) (*Pool, error) {
	if err := checkSize(min, max); err != nil {
		return nil, err
	}
	s := settings{Logger: slog.Default()}
	for _, opt := range opts {
		if opt.apply == nil {
			return nil, errors.New("threadpool: New: zero Option (make Options with the With functions)")
		}
		opt.apply(&s)
	}
	if s.OptionErr != nil {
		return nil, s.OptionErr
	}
	s.Label = label(s.Name)
	p := &Pool{}
	s.Fault = p.fault
	p.t = team.New(min, max, s)
	return p, nil
}

// label is what stands for the pool in worker names: its name, or a number
// unique to the pool when it has none.
func label(name string) string {
	if name != "" {
		return name
	}
	return strconv.FormatUint(poolIDs.Add(1), 10)
}

// Start starts the pool: it starts one worker per waiting task up to max and
// then idle workers up to min, and from then on runs submitted work (a new
// worker is started only when a task finds no idle one). Calling Start on a
// started pool does nothing. Start after [Pool.Stop] restarts the pool with
// fresh workers; its counters go on. While a stop is still draining (after a
// [Pool.Shutdown] that timed out, or a [Pool.StopNow]), Start returns an
// error wrapping [ErrStopped].
func (p *Pool) Start() error { return p.t.Start() }

// Started reports whether the pool is started: Start has run and no stop has
// begun since.
func (p *Pool) Started() bool { return p.t.Started() }

// Name returns the name given by [WithName] (or [Pool.UnmarshalJSON]), ""
// if none.
func (p *Pool) Name() string { return p.t.Name() }

// Min returns the minimum number of workers.
func (p *Pool) Min() int { min, _, _ := p.t.Settings(); return min }

// Max returns the maximum number of workers.
func (p *Pool) Max() int { _, max, _ := p.t.Settings(); return max }

// AdjustPoolSize sets the minimum and maximum sizes, checking them first: it
// returns an error wrapping [ErrInvalidSize] and changes nothing when min is
// negative, greater than max, or above 1<<20 (as [New]).
//
// On a pool that is not started it only records the sizes. On a started
// pool, when it returns: idle workers above the new max have quit, busy ones
// above it will quit when they finish their task (they take no more from the
// backlog); backlog that the new max makes room for has been handed to
// workers; and the pool has at least min workers. It can be called while a
// stop drains, to change how fast the backlog drains.
func (p *Pool) AdjustPoolSize(min, max int) error {
	if err := checkSize(min, max); err != nil {
		return err
	}
	p.t.Adjust(min, max)
	return nil
}

// StartAWorker adds one idle worker if the pool is started and has fewer
// than max workers; otherwise it does nothing and returns nil. Once a stop
// has begun it returns [ErrStopped].
func (p *Pool) StartAWorker() error { return p.t.StartAWorker() }

// StopAWorker removes one worker: an idle one at once or, if all are busy,
// the next one to finish a task while the backlog is empty. Requests never
// outnumber the busy workers, so repeated calls never remove more workers
// than exist; with no worker at all it does nothing and returns nil. It does
// not change min: the pool may go below min until the next Start or
// AdjustPoolSize. Once a stop has begun it returns [ErrStopped].
func (p *Pool) StopAWorker() error { return p.t.StopAWorker() }
