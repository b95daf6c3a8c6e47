package threadpool

import "context"

// Stop stops the pool gracefully: new submissions fail with [ErrStopped] at
// once, running tasks finish, every backlogged task runs, and Stop returns
// when every worker goroutine has exited. Then Workers is 0 and the pool
// runs no goroutine; it can be started again with [Pool.Start].
//
// Stop on a pool that was never started, or whose max is 0, cannot run its
// backlog: it cancels it as [Pool.StopNow] does. Calling Stop again, or from
// several goroutines at once, or after Shutdown, waits for the same drain
// and returns nil.
//
// Called from one of the pool's own tasks or callbacks, Stop begins the stop
// and returns nil at once: it cannot wait for the task that called it. The
// drain then ends after that task returns; call Stop again from outside the
// pool to wait for it. On a pool made by threadpooltest.New, Stop never
// waits: the test runs what is left.
func (p *Pool) Stop() error {
	p.stop(nil)
	return nil
}

// Shutdown is [Pool.Stop] with a bound: it returns ctx.Err() if ctx ends
// before the drain does. The drain then goes on in the background, and a
// later Stop or Shutdown waits for what is left. A nil ctx waits without
// bound, like Stop. Called from the pool's own task, it returns nil at once
// as Stop does.
func (p *Pool) Shutdown(ctx context.Context) error {
	var abort <-chan struct{}
	if ctx != nil {
		abort = ctx.Done()
	}
	if !p.stop(abort) {
		return ctx.Err()
	}
	return nil
}

// stop begins a graceful stop and waits for it unless abort closes first,
// the caller is one of the pool's workers, or the pool's workers are a
// test's memory workers. It reports false only when abort closed first.
func (p *Pool) stop(abort <-chan struct{}) bool {
	s := p.t.Stop(false)
	if s.FromWorker || p.t.Synchronous() {
		return true
	}
	return s.Wait(abort)
}

// StopNow stops the pool without running its backlog: every task still
// waiting is dropped, its callback gets or its [Future] resolves with an
// error wrapping [ErrCanceled] (fire-and-forget tasks are counted in
// Stats.Canceled), and StopNow returns how many tasks it dropped. Running
// tasks are not interrupted: StopNow does not wait for them; call
// [Pool.Stop] or [Pool.Shutdown] afterwards to wait. New submissions fail
// with [ErrStopped] from the moment StopNow is called.
func (p *Pool) StopNow() int { return p.t.Stop(true).Dropped }
