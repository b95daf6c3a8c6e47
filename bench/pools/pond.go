package pools

import "github.com/alitto/pond/v2"

// pond: github.com/alitto/pond/v2, fire-and-forget through Go (no Task
// future), unbounded queue (its default).
func init() { register("pond", newPond) }

type pondPool struct{ p pond.Pool }

func newPond(cfg Config) (Pool, error) {
	return &pondPool{p: pond.NewPool(cfg.Size)}, nil
}

func (a *pondPool) Submitter(task func()) func() {
	return func() {
		if err := a.p.Go(task); err != nil {
			panic(err)
		}
	}
}

func (a *pondPool) Resize(size int) { a.p.Resize(size) }

func (a *pondPool) Close() { a.p.StopAndWait() }
