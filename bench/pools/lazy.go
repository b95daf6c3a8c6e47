package pools

import (
	"slices"
	"sync"
	"time"
)

// lazy: the smallest pool that obeys the placement rule of SPEC A4 (and
// A6), as a second floor: a task goes to an idle worker if there is one,
// else to a new worker while under Size, else to the back of an unbounded
// FIFO. One mutex, a stack of idle workers (the last to go idle is reused
// first), one channel per worker, and a queue of fixed-size blocks that
// are dropped as the head leaves them, so a backlog costs one word per
// waiting task and no copying. No counters, no panic handling, no stop
// protocol beyond Close: it shows what the rule itself costs, in time and
// in memory, apart from everything else threadpool does.
//
// In the burst scenario it also does what that scenario asks of a pool
// (SPEC F2, D2): a worker above Min that waits longer than IdleTimeout
// leaves, and Resize retires idle workers above the new size. So its
// figures there include the cost of ending and restarting workers between
// bursts, which a pool that keeps them all (fixed, conc) does not pay.
func init() { register("lazy", newLazy) }

const lazyBlock = 256 // tasks per block of the queue

type lazyPool struct {
	mu      sync.Mutex
	size    int
	min     int           // the workers an idle timeout leaves
	linger  time.Duration // the idle timeout; 0: workers never time out
	workers int
	idle    []chan func()
	blocks  [][]func() // blocks[0][head] is the oldest waiting task
	head    int
	n       int // waiting tasks
	closed  bool
	wg      sync.WaitGroup
}

func newLazy(cfg Config) (Pool, error) {
	return &lazyPool{size: cfg.Size, min: cfg.Min, linger: cfg.IdleTimeout}, nil
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
	pos := p.head + p.n
	if pos/lazyBlock == len(p.blocks) {
		p.blocks = append(p.blocks, make([]func(), lazyBlock))
	}
	p.blocks[pos/lazyBlock][pos%lazyBlock] = f
	p.n++
	p.mu.Unlock()
}

func (p *lazyPool) work(ch chan func()) {
	defer p.wg.Done()
	var timer *time.Timer
	if p.linger > 0 {
		timer = time.NewTimer(p.linger)
	}
	for {
		f, ok := p.wait(ch, timer)
		if !ok {
			return
		}
		for f != nil {
			f()
			f = p.next(ch)
		}
	}
}

// wait returns the worker's next task, or false when the worker is to end:
// its channel was closed, or it waited longer than the idle timeout
// (timer, nil without one) and retire let it go.
func (p *lazyPool) wait(ch chan func(), timer *time.Timer) (func(), bool) {
	if timer == nil {
		f, ok := <-ch
		return f, ok
	}
	timer.Reset(p.linger)
	for {
		select {
		case f, ok := <-ch:
			timer.Stop()
			return f, ok
		case <-timer.C:
			if p.retire(ch) {
				return nil, false
			}
			timer.Reset(p.linger) // at Min, or a submitter has just taken it
		}
	}
}

// retire takes the idle worker of channel ch off the idle stack if the
// pool is above Min, and reports whether it did.
func (p *lazyPool) retire(ch chan func()) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.workers <= p.min {
		return false
	}
	i := slices.Index(p.idle, ch)
	if i < 0 {
		return false
	}
	p.idle = slices.Delete(p.idle, i, i+1)
	p.workers--
	return true
}

// Resize sets the worker limit; idle workers above it end now, the
// oldest first. (The harness resizes only between bursts, when every
// worker is idle.)
func (p *lazyPool) Resize(size int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.size = size
	for p.workers > size && len(p.idle) > 0 {
		close(p.idle[0])
		p.idle = p.idle[1:]
		p.workers--
	}
}

// next returns the oldest queued task, or nil after putting the worker on
// the idle stack.
func (p *lazyPool) next(ch chan func()) func() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.n > 0 {
		b := p.blocks[0]
		f := b[p.head]
		b[p.head] = nil
		p.head++
		p.n--
		if p.head == lazyBlock {
			p.blocks[0] = nil
			p.blocks = p.blocks[1:]
			p.head = 0
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
