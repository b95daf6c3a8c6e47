package pools

import "sync"

// fixed: the textbook pool and the floor of the comparison: Size goroutines
// started up front, ranging over one buffered channel.
func init() { register("fixed", newFixed) }

// fixedBuffer is the channel's capacity: a submitter blocks only when this
// many tasks wait.
const fixedBuffer = 1024

type fixedPool struct {
	ch chan func()
	wg sync.WaitGroup
}

func newFixed(cfg Config) (Pool, error) {
	p := &fixedPool{ch: make(chan func(), fixedBuffer)}
	p.wg.Add(cfg.Size)
	for range cfg.Size {
		go func() {
			defer p.wg.Done()
			for f := range p.ch {
				f()
			}
		}()
	}
	return p, nil
}

func (p *fixedPool) Submitter(task func()) func() { return func() { p.ch <- task } }

func (p *fixedPool) Close() {
	close(p.ch)
	p.wg.Wait()
}
