package pools

import "github.com/panjf2000/ants/v2"

// ants: github.com/panjf2000/ants/v2 with its defaults (blocking Submit,
// workers made on demand, idle workers purged after the expiry duration).
func init() { register("ants", newAnts) }

type antsPool struct{ p *ants.Pool }

func newAnts(cfg Config) (Pool, error) {
	var opts []ants.Option
	if cfg.IdleTimeout > 0 {
		opts = append(opts, ants.WithExpiryDuration(cfg.IdleTimeout))
	}
	p, err := ants.NewPool(cfg.Size, opts...)
	if err != nil {
		return nil, err
	}
	return &antsPool{p: p}, nil
}

func (a *antsPool) Submitter(task func()) func() {
	return func() {
		if err := a.p.Submit(task); err != nil {
			panic(err)
		}
	}
}

func (a *antsPool) Resize(size int) { a.p.Tune(size) }

// Close releases the workers; the harness has already waited for the tasks.
func (a *antsPool) Close() { a.p.Release() }
