package threadpool_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twisted-go/threadpool"
)

// Submit runs a function that takes a context and returns a typed result;
// the Future delivers it (Twisted's deferToThreadPool).
func ExampleSubmit() {
	p, _ := threadpool.New(1, 2)
	p.Start()
	defer p.Stop()

	ctx := context.Background()
	length := threadpool.Submit(ctx, p, func(ctx context.Context) (int, error) {
		return len("hello, pool"), nil
	})
	failing := threadpool.Submit(ctx, p, func(ctx context.Context) (string, error) {
		return "", errors.New("no luck")
	})

	n, err := length.Wait(ctx)
	fmt.Println(n, err)
	_, err = failing.Wait(ctx)
	fmt.Println(err)
	// Output:
	// 11 <nil>
	// no luck
}

// The context given to Wait bounds only that wait: when it ends, Wait
// returns its error and the task goes on; a later Wait gets the result.
func ExampleFuture_Wait() {
	p, _ := threadpool.New(1, 1)
	p.Start()
	defer p.Stop()

	release := make(chan struct{})
	fut := threadpool.Submit(context.Background(), p, func(context.Context) (string, error) {
		<-release
		return "finished", nil
	})

	impatient, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := fut.Wait(impatient)
	fmt.Println("impatient wait:", err)

	close(release)
	v, err := fut.Wait(context.Background())
	fmt.Println("patient wait:", v, err)
	// Output:
	// impatient wait: context canceled
	// patient wait: finished <nil>
}

// NewFuture bridges another executor to code that expects a Future: the
// returned function resolves it, and only its first call counts.
func ExampleNewFuture() {
	fut, resolve := threadpool.NewFuture[string]()
	go func() {
		resolve("computed elsewhere", nil)
		resolve("too late", errors.New("ignored"))
	}()
	<-fut.Done()
	v, err := fut.Wait(context.Background())
	fmt.Println(v, err)
	// Output: computed elsewhere <nil>
}

// StopNow drops the backlog and reports every task it drops; the task
// already running finishes, and Stop waits for it.
func ExamplePool_StopNow() {
	p, _ := threadpool.New(1, 1)
	p.Start()

	release := make(chan struct{})
	p.CallInThread(func() { <-release }) // runs on the only worker
	for range 3 {
		p.CallInThread(func() { fmt.Println("never printed") })
	}
	queued := threadpool.Submit(context.Background(), p, func(context.Context) (int, error) {
		return 1, nil
	})

	fmt.Println("dropped:", p.StopNow())
	_, err := queued.Wait(context.Background())
	fmt.Println("queued Future canceled:", errors.Is(err, threadpool.ErrCanceled))
	fmt.Println("accepts work:", p.CallInThread(func() {}) == nil)

	close(release)
	p.Stop()
	s := p.Stats()
	fmt.Printf("submitted %d, completed %d, canceled %d, workers %d\n",
		s.Submitted, s.Completed, s.Canceled, s.Workers)
	// Output:
	// dropped: 4
	// queued Future canceled: true
	// accepts work: false
	// submitted 5, completed 1, canceled 4, workers 0
}

// Shutdown bounds the wait for the drain. A stuck task makes it return the
// context's error; the drain goes on, and a later Stop waits for the rest.
func ExamplePool_Shutdown() {
	p, _ := threadpool.New(1, 1)
	p.Start()

	stuck := make(chan struct{})
	p.CallInThread(func() { <-stuck })
	p.CallInThread(func() { fmt.Println("backlog ran after all") })

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	fmt.Println("Shutdown:", p.Shutdown(ctx))

	close(stuck)
	fmt.Println("Stop:", p.Stop())
	fmt.Println("workers:", p.Workers())
	// Output:
	// Shutdown: context deadline exceeded
	// backlog ran after all
	// Stop: <nil>
	// workers: 0
}

// A bounded backlog with the Reject policy refuses work when full; with
// RunInCaller the submitter runs the task itself, which also keeps a task
// that submits to its own pool from deadlocking.
func ExampleWithQueueLimit() {
	release := make(chan struct{})

	reject, _ := threadpool.New(1, 1, threadpool.WithQueueLimit(1, threadpool.Reject))
	reject.Start()
	reject.CallInThread(func() { <-release }) // busy
	reject.CallInThread(func() {})            // backlog: 1 of 1
	err := reject.CallInThread(func() {})
	fmt.Println("reject:", err, errors.Is(err, threadpool.ErrQueueFull))

	caller, _ := threadpool.New(1, 1, threadpool.WithQueueLimit(1, threadpool.RunInCaller))
	caller.Start()
	caller.CallInThread(func() { <-release }) // busy
	caller.CallInThread(func() {})            // backlog: 1 of 1
	caller.CallInThread(func() { fmt.Println("run in caller: ran before CallInThread returned") })

	close(release)
	reject.Stop()
	caller.Stop()
	rs, cs := reject.Stats(), caller.Stats()
	fmt.Println("rejected:", rs.Rejected, "caller ran:", cs.CallerRan)
	// Output:
	// reject: threadpool: backlog is full true
	// run in caller: ran before CallInThread returned
	// rejected: 1 caller ran: 1
}

// With an idle timeout, workers above min exit once idle that long, so the
// pool shrinks back to min after a burst.
func ExampleWithIdleTimeout() {
	p, _ := threadpool.New(1, 4, threadpool.WithIdleTimeout(time.Millisecond))
	p.Start()

	release := make(chan struct{})
	var burst []*threadpool.Future[bool]
	for range 4 {
		burst = append(burst, threadpool.Submit(context.Background(), p, func(context.Context) (bool, error) {
			<-release
			return true, nil
		}))
	}
	fmt.Println("workers during the burst:", p.Workers())
	close(release)
	for _, f := range burst {
		f.Wait(context.Background())
	}

	// Each idle worker above min exits a millisecond after it went idle;
	// watch the pool until it is back to min.
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for p.Workers() > p.Min() {
		<-tick.C
	}
	fmt.Println("workers after the timeout:", p.Workers())
	fmt.Println("peak:", p.Stats().PeakWorkers)

	p.Stop()
	fmt.Println("workers after Stop:", p.Workers())
	// Output:
	// workers during the burst: 4
	// workers after the timeout: 1
	// peak: 4
	// workers after Stop: 0
}
