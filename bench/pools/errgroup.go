package pools

import "golang.org/x/sync/errgroup"

// errgroup: golang.org/x/sync/errgroup with SetLimit: one new goroutine per
// task, Go blocks while Size run.
func init() { register("errgroup", newErrgroup) }

type egPool struct{ g errgroup.Group }

func newErrgroup(cfg Config) (Pool, error) {
	a := &egPool{}
	a.g.SetLimit(cfg.Size)
	return a, nil
}

func (a *egPool) Submitter(task func()) func() {
	f := func() error { task(); return nil } // adapted once, not per task
	return func() { a.g.Go(f) }
}

// Resize is called between bursts. SetLimit panics while a goroutine of the
// group is active, and one may still be returning after its task ended, so
// it waits for them first.
func (a *egPool) Resize(size int) {
	_ = a.g.Wait()
	a.g.SetLimit(size)
}

func (a *egPool) Close() { _ = a.g.Wait() }
