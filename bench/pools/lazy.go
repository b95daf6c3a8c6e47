package pools

import "sync"

// lazy: the smallest pool that obeys the placement rule of SPEC A4 (and
// A6), as a second floor: a task goes to an idle worker if there is one,
// else to a new worker while under Size, else to the back of an unbounded
// FIFO. One mutex, a stack of idle workers (the last to go idle is reused
// first), one channel per worker, a slice as the queue. No counters, no
// panic handling, no stop protocol beyond Close: it shows what the rule
// itself costs, apart from everything else threadpool does.
func init() { register("lazy", newLazy) }

type lazyPool struct {
	mu      sync.Mutex
	size    int
	workers int
	idle    []chan func()
	queue   []func()
	head    int
	closed  bool
	wg      sync.WaitGroup
}

func newLazy(cfg Config) (Pool, error) {
	return &lazyPool{size: cfg.Size}, nil
}

func (p *lazyPool) Submitter(task func()) func() { return func() { p.submit(task) } }

func (p *lazyPool) submit(f func()) {
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		ch := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		ch <- f
		return
	}
	if p.workers < p.size {
		p.workers++
		p.mu.Unlock()
		ch := make(chan func(), 1)
		ch <- f
		p.wg.Add(1)
		go p.work(ch)
		return
	}
	p.queue = append(p.queue, f)
	p.mu.Unlock()
}

func (p *lazyPool) work(ch chan func()) {
	defer p.wg.Done()
	for f := range ch {
		for f != nil {
			f()
			f = p.next(ch)
		}
	}
}

// next returns the oldest queued task, or nil after putting the worker on
// the idle stack.
func (p *lazyPool) next(ch chan func()) func() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.head < len(p.queue) {
		f := p.queue[p.head]
		p.queue[p.head] = nil
		p.head++
		if p.head == len(p.queue) {
			p.queue, p.head = p.queue[:0], 0
		}
		return f
	}
	if p.closed {
		close(ch)
		return nil
	}
	p.idle = append(p.idle, ch)
	return nil
}

func (p *lazyPool) Close() {
	p.mu.Lock()
	p.closed = true
	for _, ch := range p.idle {
		close(ch)
	}
	p.idle = nil
	p.mu.Unlock()
	p.wg.Wait()
}
