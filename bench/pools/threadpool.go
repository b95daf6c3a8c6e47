package pools

import "github.com/twisted-go/threadpool"

// threadpool: this project, fire-and-forget through CallInThread.
func init() { register("threadpool", newThreadpool) }

type tpPool struct{ p *threadpool.Pool }

func newThreadpool(cfg Config) (Pool, error) {
	var opts []threadpool.Option
	if cfg.IdleTimeout > 0 {
		opts = append(opts, threadpool.WithIdleTimeout(cfg.IdleTimeout))
	}
	p, err := threadpool.New(min(cfg.Min, cfg.Size), cfg.Size, opts...)
	if err != nil {
		return nil, err
	}
	if err := p.Start(); err != nil {
		return nil, err
	}
	return &tpPool{p: p}, nil
}

func (a *tpPool) Submitter(task func()) func() {
	return func() {
		if err := a.p.CallInThread(task); err != nil {
			panic(err)
		}
	}
}

func (a *tpPool) Resize(size int) {
	if err := a.p.AdjustPoolSize(min(a.p.Min(), size), size); err != nil {
		panic(err)
	}
}

func (a *tpPool) Close() {
	if err := a.p.Stop(); err != nil {
		panic(err)
	}
}
