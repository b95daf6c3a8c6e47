package pools

import "github.com/sourcegraph/conc/pool"

// conc: github.com/sourcegraph/conc/pool with WithMaxGoroutines (Go blocks
// while all are busy; its workers live until Wait). It cannot be resized.
func init() { register("conc", newConc) }

type concPool struct{ p *pool.Pool }

func newConc(cfg Config) (Pool, error) {
	return &concPool{p: pool.New().WithMaxGoroutines(cfg.Size)}, nil
}

func (a *concPool) Submitter(task func()) func() { return func() { a.p.Go(task) } }

func (a *concPool) Close() { a.p.Wait() }
