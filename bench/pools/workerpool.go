package pools

import "github.com/gammazero/workerpool"

// workerpool: github.com/gammazero/workerpool (a dispatcher goroutine in
// front of the workers, unbounded waiting queue). It cannot be resized.
func init() { register("workerpool", newWorkerpool) }

type wpPool struct{ p *workerpool.WorkerPool }

func newWorkerpool(cfg Config) (Pool, error) {
	var opts []workerpool.Option
	if cfg.IdleTimeout > 0 {
		opts = append(opts, workerpool.WithIdleTimeout(cfg.IdleTimeout))
	}
	return &wpPool{p: workerpool.New(cfg.Size, opts...)}, nil
}

func (a *wpPool) Submitter(task func()) func() { return func() { a.p.Submit(task) } }

func (a *wpPool) Close() { a.p.StopWait() }
