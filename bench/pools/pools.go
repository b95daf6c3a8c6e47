// Package pools puts each pool the benchmark compares behind one small
// adapter, one file per pool.
package pools

import (
	"fmt"
	"sort"
	"time"
)

// Config is what a scenario asks of a pool.
type Config struct {
	// Size is the most tasks the pool runs at once (its worker limit).
	// Pools without a limit (raw goroutines) ignore it.
	Size int
	// Min is the floor of pools that have one (threadpool, lazy); others
	// ignore it.
	Min int
	// IdleTimeout, when set, is how long an idle worker above Min lives,
	// for pools that can be told (threadpool, lazy, ants, workerpool). Zero keeps
	// each pool's default.
	IdleTimeout time.Duration
}

// Pool is one pool under test.
//
// The harness submits the same task value many times and counts completion
// itself (each task ends with one WaitGroup.Done, the same for every pool),
// so a pool needs no Wait of its own.
type Pool interface {
	// Submitter returns the function that submits task once. It is called
	// once per batch, so an adapter that must adapt the task (errgroup takes
	// a func() error) does it once and the per-task figures show only the
	// pool's own cost. The returned function is safe for concurrent use and
	// may block when the pool blocks its submitters.
	Submitter(task func()) func()
	// Close waits for the submitted tasks, then releases the pool's
	// goroutines.
	Close()
}

// Resizer is a pool whose worker limit can change while it lives. Resize
// is only called while the pool is idle (between bursts).
type Resizer interface {
	Resize(size int)
}

// Factory makes a started, ready pool.
type Factory func(Config) (Pool, error)

var registry = map[string]Factory{}

func register(name string, f Factory) { registry[name] = f }

// New makes the pool called name.
func New(name string, cfg Config) (Pool, error) {
	f, ok := registry[name]
	if !ok {
		return nil, fmt.Errorf("unknown pool %q (have %v)", name, Names())
	}
	return f(cfg)
}

// Names lists the pools, sorted.
func Names() []string {
	var names []string
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
