package team

import "sync"

// crew counts the worker goroutines of one start of the team, so that Stop
// can wait for every one to return, with a bound (Stopping.Wait). Unlike a
// sync.WaitGroup, its wait can be abandoned, and it can fall to zero and
// grow again (idle workers time out, new ones start).
type crew struct {
	mu   sync.Mutex
	n    int           // guarded by mu; goroutines started and not returned
	zero chan struct{} // guarded by mu; made by a waiter while n > 0, closed when n falls to 0
}

// add counts one more goroutine, before it starts.
func (c *crew) add() {
	c.mu.Lock()
	c.n++
	c.mu.Unlock()
}

// done counts one goroutine returned.
func (c *crew) done() {
	c.mu.Lock()
	if c.n--; c.n == 0 && c.zero != nil {
		close(c.zero)
		c.zero = nil
	}
	c.mu.Unlock()
}

// wait waits until no goroutine of the crew runs, or until abort is closed
// (a nil abort never is). It reports whether none runs.
func (c *crew) wait(abort <-chan struct{}) bool {
	c.mu.Lock()
	if c.n == 0 {
		c.mu.Unlock()
		return true
	}
	if c.zero == nil {
		c.zero = make(chan struct{})
	}
	zero := c.zero
	c.mu.Unlock()
	select {
	case <-zero:
		return true
	case <-abort:
		return false
	}
}
