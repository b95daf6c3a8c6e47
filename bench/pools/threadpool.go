package pools

import (
	"sync/atomic"
	"time"

	"github.com/twisted-go/threadpool"
)

// threadpool: this project, fire-and-forget through CallInThread, with its
// default unbounded backlog (submitters never block). threadpool-block
// bounds the backlog to fixed's channel buffer under the Block policy, so
// that its submitters wait as those of fixed, ants, conc and errgroup do.
// threadpool-observed is threadpool with a task observer (WithObserver)
// that sums the wait and run times, the least an exporter does: the
// difference with threadpool is what observing costs.
func init() {
	register("threadpool", func(cfg Config) (Pool, error) { return newThreadpool(cfg) })
	register("threadpool-block", func(cfg Config) (Pool, error) {
		return newThreadpool(cfg, threadpool.WithQueueLimit(fixedBuffer, threadpool.Block))
	})
	register("threadpool-observed", func(cfg Config) (Pool, error) {
		var waited, ran atomic.Int64
		return newThreadpool(cfg, threadpool.WithObserver(func(e threadpool.TaskEnd) {
			waited.Add(int64(e.Wait / time.Nanosecond))
			ran.Add(int64(e.Run / time.Nanosecond))
		}))
	})
}

type tpPool struct{ p *threadpool.Pool }

func newThreadpool(cfg Config, opts ...threadpool.Option) (Pool, error) {
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
