package threadpool_test

// TestQueueLimit: WithQueueLimit, the bounded backlog, under each overflow
// policy: Reject, Block and RunInCaller (SPEC F1).

import (
	"context"
	"errors"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/twisted-go/threadpool"
	"github.com/twisted-go/threadpool/threadpooltest"
)

// fullPool returns a started pool (1, 1) with a backlog limit of 1 under
// policy, whose worker blocks on the returned gate and whose backlog holds
// one task: the backlog is full.
func fullPool(t *testing.T, policy threadpool.OverflowPolicy) (*threadpool.Pool, chan struct{}) {
	t.Helper()
	p := startPool(t, 1, 1, threadpool.WithQueueLimit(1, policy))
	gate := make(chan struct{})
	if err := p.CallInThread(func() { <-gate }); err != nil {
		t.Fatal(err)
	}
	if err := p.CallInThread(func() { <-gate }); err != nil {
		t.Fatal(err)
	}
	wantCounters(t, p, counters{Submitted: 2, Workers: 1, Working: 1, Queued: 1})
	return p, gate
}

// blockedSubmit starts a goroutine that submits a task under Block and
// reports Submit's outcome on the returned channel; it checks that the
// submitter is blocked (every goroutine of the bubble is, and it has not
// returned).
func blockedSubmit(t *testing.T, p *threadpool.Pool, ctx context.Context, ran *atomic.Int32) chan error {
	t.Helper()
	out := make(chan error, 1)
	go func() {
		_, err := threadpool.Submit(ctx, p, func(context.Context) (int, error) {
			ran.Add(1)
			return 1, nil
		}).Wait(context.Background())
		out <- err
	}()
	synctest.Wait()
	select {
	case err := <-out:
		t.Fatalf("Submit to a full backlog under Block returned at once: %v", err)
	default:
	}
	return out
}

// namedFullPool returns a started pool (1, 1) of memory workers with a
// backlog limit of 1 under Block: its worker holds the task "running" and
// its backlog the task "queued", so the backlog is full. task(name) makes a
// task that appends name to *order when it runs, on the goroutine that runs
// it (the test's, through w).
func namedFullPool(t *testing.T) (p *threadpool.Pool, w *threadpooltest.Workers, task func(string) func(), order *[]string) {
	t.Helper()
	p, w = threadpooltest.New(1, 1, threadpool.WithQueueLimit(1, threadpool.Block))
	mustStart(t, p)
	order = new([]string)
	task = func(name string) func() { return func() { *order = append(*order, name) } }
	mustCall(t, p, task("running"))
	mustCall(t, p, task("queued"))
	return p, w, task, order
}

func TestQueueLimit(t *testing.T) {
	// F1: A full backlog under Reject refuses every kind of
	// submission with ErrQueueFull, counted as Rejected, and nothing runs;
	// room made by a worker is usable again.
	t.Run("Reject refuses every kind of submission to a full backlog", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p, gate := fullPool(t, threadpool.Reject)
			var ran atomic.Int32
			if err := p.CallInThread(func() { ran.Add(1) }); !errors.Is(err, threadpool.ErrQueueFull) {
				t.Errorf("CallInThread: %v, want ErrQueueFull", err)
			}
			err := p.CallInThreadWithCallback(func(any, error) { t.Error("callback of a rejected task called") },
				func() (any, error) { ran.Add(1); return nil, nil })
			if !errors.Is(err, threadpool.ErrQueueFull) {
				t.Errorf("CallInThreadWithCallback: %v, want ErrQueueFull", err)
			}
			fut := threadpool.Submit(context.Background(), p, func(context.Context) (int, error) { ran.Add(1); return 1, nil })
			if !isClosed(fut.Done()) {
				t.Error("Future of a rejected task not resolved when Submit returned")
			}
			if _, err := fut.Wait(context.Background()); !errors.Is(err, threadpool.ErrQueueFull) {
				t.Errorf("Submit: %v, want ErrQueueFull", err)
			}
			wantCounters(t, p, counters{Submitted: 2, Rejected: 3, Workers: 1, Working: 1, Queued: 1})
			close(gate)
			stopAndCheck(t, p)
			if ran.Load() != 0 {
				t.Errorf("%d rejected tasks ran", ran.Load())
			}
			wantCounters(t, p, counters{Submitted: 2, Completed: 2, Rejected: 3})
		})
	})

	// F1: Tasks that go straight to a
	// worker do not use the backlog's room.
	t.Run("Reject counts only waiting tasks against the limit", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p := startPool(t, 0, 3, threadpool.WithQueueLimit(1, threadpool.Reject))
			gate := make(chan struct{})
			for i := range 4 { // three to new workers, one to the backlog
				if err := p.CallInThread(func() { <-gate }); err != nil {
					t.Fatalf("task %d: %v", i, err)
				}
			}
			if err := p.CallInThread(func() {}); !errors.Is(err, threadpool.ErrQueueFull) {
				t.Errorf("fifth task: %v, want ErrQueueFull", err)
			}
			wantCounters(t, p, counters{Submitted: 4, Rejected: 1, Workers: 3, Working: 3, Queued: 1})
			close(gate)
			stopAndCheck(t, p)
			wantCounters(t, p, counters{Submitted: 4, Completed: 4, Rejected: 1})
		})
	})

	// F1: A submitter blocks while the backlog is
	// full and proceeds when a worker takes a task from it.
	t.Run("Block waits for room a worker makes", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p, gate := fullPool(t, threadpool.Block)
			var ran atomic.Int32
			out := blockedSubmit(t, p, context.Background(), &ran)
			// While blocked it is not counted anywhere.
			wantCounters(t, p, counters{Submitted: 2, Workers: 1, Working: 1, Queued: 1})
			close(gate)
			if err := <-out; err != nil {
				t.Errorf("blocked Submit after room appeared: %v", err)
			}
			stopAndCheck(t, p)
			if ran.Load() != 1 {
				t.Errorf("the blocked task ran %d times", ran.Load())
			}
			wantCounters(t, p, counters{Submitted: 3, Completed: 3})
		})
	})

	// F1: Submitters blocked on a full backlog
	// are accepted in the order they blocked, one per slot of room, and each
	// is counted (Submitted, Queued) the moment the room appears, before its
	// submitter wakes; the others stay blocked, and one that blocks later
	// waits behind them. Memory workers make room one task at a time, on the
	// test's goroutine.
	t.Run("Block admits blocked submitters in order", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p, w, task, order := namedFullPool(t)
			names := []string{"a", "b", "c", "late"}
			outs := make([]chan error, len(names)) // nil until the submitter starts
			block := func(i int) {
				outs[i] = make(chan error, 1)
				go func() { outs[i] <- p.CallInThread(task(names[i])) }()
				synctest.Wait() // blocked, after the ones before it
			}
			for i := range 3 {
				block(i)
			}
			wantCounters(t, p, counters{Submitted: 2, Workers: 1, Working: 1, Queued: 1})
			for i := range names {
				if !w.RunOne() {
					t.Fatalf("round %d: nothing to run", i)
				}
				// The worker took the oldest backlogged task, and the oldest
				// blocked submission its room, without waiting for a wake-up.
				wantCounters(t, p, counters{Submitted: uint64(3 + i), Completed: uint64(1 + i), Workers: 1, Working: 1, Queued: 1})
				synctest.Wait()
				for j, out := range outs {
					select {
					case err := <-out:
						if j != i {
							t.Fatalf("round %d: submitter %s returned (%v)", i, names[j], err)
						}
						if err != nil {
							t.Errorf("submitter %s: %v", names[j], err)
						}
					default:
						if j == i {
							t.Fatalf("round %d: submitter %s still blocked", i, names[j])
						}
					}
				}
				if i == 0 {
					block(3) // the backlog is full again: behind b and c
				}
			}
			w.RunAll()
			if want := []string{"running", "queued", "a", "b", "c", "late"}; !slices.Equal(*order, want) {
				t.Errorf("ran %v, want %v", *order, want)
			}
			stopAndCheck(t, p)
			wantCounters(t, p, counters{Submitted: 6, Completed: 6})
		})
	})

	// F1: Blocked submissions whose
	// contexts end leave the queue of blocked submitters from wherever they
	// are (here its end, then its middle) and are counted submitted and
	// canceled; the rest are still accepted in order, one that blocks later
	// included.
	t.Run("Block lets a submitter whose context ends leave the queue", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p, w, task, order := namedFullPool(t)
			// call blocks in CallInThread, which returns once the task is
			// accepted; submit blocks in Submit, whose Future here resolves
			// only when its context ends.
			call := func(name string) chan error {
				out := make(chan error, 1)
				go func() { out <- p.CallInThread(task(name)) }()
				synctest.Wait() // blocked, after the ones before it
				return out
			}
			submit := func(ctx context.Context, name string) chan error {
				out := make(chan error, 1)
				go func() {
					_, err := threadpool.Submit(ctx, p, func(context.Context) (int, error) {
						task(name)()
						return 0, nil
					}).Wait(context.Background())
					out <- err
				}()
				synctest.Wait()
				return out
			}
			ctxB, cancelB := context.WithCancel(context.Background())
			ctxC, cancelC := context.WithCancel(context.Background())
			outA := call("a")
			outB := submit(ctxB, "b")
			outC := submit(ctxC, "c")
			cancelC() // the end of the queue
			if err := <-outC; !errors.Is(err, threadpool.ErrCanceled) {
				t.Errorf("c: %v, want ErrCanceled", err)
			}
			outD := call("d") // queued after b
			cancelB()         // now the middle
			if err := <-outB; !errors.Is(err, threadpool.ErrCanceled) {
				t.Errorf("b: %v, want ErrCanceled", err)
			}
			wantCounters(t, p, counters{Submitted: 4, Canceled: 2, Workers: 1, Working: 1, Queued: 1})
			for _, out := range []chan error{outA, outD} {
				if !w.RunOne() {
					t.Fatal("nothing to run")
				}
				synctest.Wait()
				select {
				case err := <-out:
					if err != nil {
						t.Errorf("blocked Submit: %v", err)
					}
				default:
					t.Fatal("the oldest blocked submission was not accepted")
				}
			}
			w.RunAll()
			if want := []string{"running", "queued", "a", "d"}; !slices.Equal(*order, want) {
				t.Errorf("ran %v, want %v", *order, want)
			}
			stopAndCheck(t, p)
			wantCounters(t, p, counters{Submitted: 6, Completed: 4, Canceled: 2})
		})
	})

	// F1: Raising max hands the backlog to a
	// new worker, which makes room for the blocked submitter.
	t.Run("Block is woken by a raised max", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p, gate := fullPool(t, threadpool.Block)
			var ran atomic.Int32
			blocked := make(chan error, 1)
			go func() { blocked <- p.CallInThread(func() { ran.Add(1); <-gate }) }()
			synctest.Wait()
			select {
			case err := <-blocked:
				t.Fatalf("CallInThread to a full backlog under Block returned at once: %v", err)
			default:
			}
			if err := p.AdjustPoolSize(1, 2); err != nil {
				t.Fatal(err)
			}
			synctest.Wait()
			select {
			case err := <-blocked:
				if err != nil {
					t.Errorf("CallInThread woken by the raised max: %v", err)
				}
			default:
				t.Fatal("raising max did not wake the blocked submitter")
			}
			// The two gated tasks run; the woken one waits in the backlog.
			wantCounters(t, p, counters{Submitted: 3, Workers: 2, Working: 2, Queued: 1})
			close(gate)
			stopAndCheck(t, p)
			if ran.Load() != 1 {
				t.Errorf("the woken task ran %d times", ran.Load())
			}
			wantCounters(t, p, counters{Submitted: 3, Completed: 3})
		})
	})

	// F1: A stop wakes every blocked submitter with
	// ErrStopped (counted Rejected); the tasks never run.
	t.Run("Block is woken by a stop with ErrStopped", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p, gate := fullPool(t, threadpool.Block)
			var ran atomic.Int32
			fut := blockedSubmit(t, p, context.Background(), &ran)
			call := make(chan error, 1)
			go func() { call <- p.CallInThread(func() { ran.Add(1) }) }()
			synctest.Wait()

			stopped := make(chan error, 1)
			go func() { stopped <- p.Stop() }()
			synctest.Wait()
			if err := <-fut; !errors.Is(err, threadpool.ErrStopped) {
				t.Errorf("blocked Submit woken by Stop: %v, want ErrStopped", err)
			}
			if err := <-call; !errors.Is(err, threadpool.ErrStopped) {
				t.Errorf("blocked CallInThread woken by Stop: %v, want ErrStopped", err)
			}
			select {
			case err := <-stopped:
				t.Fatalf("Stop returned %v before the gated tasks finished", err)
			default:
			}
			close(gate)
			if err := <-stopped; err != nil {
				t.Errorf("Stop: %v", err)
			}
			stopAndCheck(t, p)
			if ran.Load() != 0 {
				t.Errorf("%d refused tasks ran", ran.Load())
			}
			wantCounters(t, p, counters{Submitted: 2, Completed: 2, Rejected: 2})
		})
	})

	// F1: A blocked Submit whose ctx ends returns at
	// that moment; its Future resolves with an error wrapping ErrCanceled and
	// the ctx's error; the task counts as submitted and canceled and never runs.
	t.Run("Block returns when the submitter's context ends", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p, gate := fullPool(t, threadpool.Block)
			var ran atomic.Int32

			ctx, cancel := context.WithCancel(context.Background())
			out := blockedSubmit(t, p, ctx, &ran)
			cancel()
			if err := <-out; !errors.Is(err, threadpool.ErrCanceled) || !errors.Is(err, context.Canceled) {
				t.Errorf("canceled blocked Submit: %v, want ErrCanceled and context.Canceled", err)
			}
			wantCounters(t, p, counters{Submitted: 3, Canceled: 1, Workers: 1, Working: 1, Queued: 1})

			tctx, tcancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer tcancel()
			start := time.Now()
			_, err := threadpool.Submit(tctx, p, func(context.Context) (int, error) {
				ran.Add(1)
				return 1, nil
			}).Wait(context.Background())
			if !errors.Is(err, threadpool.ErrCanceled) || !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("timed-out blocked Submit: %v, want ErrCanceled and DeadlineExceeded", err)
			}
			if d := time.Since(start); d != 3*time.Second {
				t.Errorf("blocked Submit returned after %v, want 3s", d)
			}
			wantCounters(t, p, counters{Submitted: 4, Canceled: 2, Workers: 1, Working: 1, Queued: 1})

			// A ctx already done does not wait at all.
			if _, err := threadpool.Submit(canceledCtx(), p, func(context.Context) (int, error) {
				ran.Add(1)
				return 1, nil
			}).Wait(context.Background()); !errors.Is(err, threadpool.ErrCanceled) {
				t.Errorf("Submit with a done ctx to a full backlog: %v", err)
			}

			close(gate)
			stopAndCheck(t, p)
			if ran.Load() != 0 {
				t.Errorf("%d canceled tasks ran", ran.Load())
			}
			wantCounters(t, p, counters{Submitted: 5, Completed: 2, Canceled: 3})
		})
	})

	// F1: A backlogged task whose
	// ctx ends gives its room to a blocked submitter at once.
	t.Run("Block is woken by a canceled backlogged task", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p := startPool(t, 1, 1, threadpool.WithQueueLimit(1, threadpool.Block))
			gate := make(chan struct{})
			if err := p.CallInThread(func() { <-gate }); err != nil {
				t.Fatal(err)
			}
			var ran atomic.Int32
			ctx, cancel := context.WithCancel(context.Background())
			waiting := threadpool.Submit(ctx, p, func(context.Context) (int, error) { ran.Add(1); return 1, nil })
			out := blockedSubmit(t, p, context.Background(), &ran)
			cancel()
			synctest.Wait()
			if !isClosed(waiting.Done()) {
				t.Fatal("the canceled backlogged task was not reported")
			}
			// The blocked submission took the freed room; the worker still blocks.
			wantCounters(t, p, counters{Submitted: 3, Canceled: 1, Workers: 1, Working: 1, Queued: 1})
			close(gate)
			if err := <-out; err != nil {
				t.Errorf("blocked Submit: %v", err)
			}
			stopAndCheck(t, p)
			if ran.Load() != 1 {
				t.Errorf("%d tasks ran, want the formerly blocked one only", ran.Load())
			}
			wantCounters(t, p, counters{Submitted: 3, Completed: 2, Canceled: 1})
		})
	})

	// F1: It documents the self-deadlock of
	// Block: a task that submits to its own full pool waits for room only a
	// worker could make; a stop releases it with ErrStopped.
	t.Run("Block makes a task that submits to its own full pool wait for a stop", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p := startPool(t, 1, 1, threadpool.WithQueueLimit(1, threadpool.Block))
			inner := make(chan error, 2)
			outer := threadpool.Submit(context.Background(), p, func(ctx context.Context) (int, error) {
				inner <- p.CallInThread(func() {}) // to the backlog
				inner <- p.CallInThread(func() {}) // the backlog is full: waits
				return 0, nil
			})
			synctest.Wait()
			if err := <-inner; err != nil {
				t.Fatalf("first inner submission: %v", err)
			}
			if isClosed(outer.Done()) || len(inner) != 0 {
				t.Fatal("the task submitting to its own full pool did not block")
			}
			wantCounters(t, p, counters{Submitted: 2, Workers: 1, Working: 1, Queued: 1})
			stopAndCheck(t, p)
			if err := <-inner; !errors.Is(err, threadpool.ErrStopped) {
				t.Errorf("second inner submission: %v, want ErrStopped", err)
			}
			wantCounters(t, p, counters{Submitted: 2, Completed: 2, Rejected: 1})
		})
	})

	// F1: A submission to a full backlog under
	// RunInCaller runs on the submitting goroutine before Submit returns; it is
	// counted in Submitted, Completed or Failed and CallerRan, never Working.
	t.Run("RunInCaller runs a submission to a full backlog on the submitter", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p, gate := fullPool(t, threadpool.RunInCaller)
			me := goid()
			var gotID uint64
			var stack []byte
			fut := threadpool.Submit(context.Background(), p, func(context.Context) (int, error) {
				gotID = goid()
				stack = debug.Stack()
				return 5, nil
			})
			if !isClosed(fut.Done()) {
				t.Fatal("the task did not run before Submit returned")
			}
			if v, err := fut.Wait(context.Background()); v != 5 || err != nil {
				t.Errorf("RunInCaller Future: (%d, %v)", v, err)
			}
			if gotID != me {
				t.Errorf("task ran on goroutine %d, the submitter is %d", gotID, me)
			}
			if !strings.Contains(string(stack), "TestQueueLimit.") {
				t.Errorf("the submitter is not on the task's stack:\n%s", stack)
			}
			wantCounters(t, p, counters{Submitted: 3, Completed: 1, CallerRan: 1, Workers: 1, Working: 1, Queued: 1})

			// Fire-and-forget and callback tasks too; a panic fails the task.
			var callerRan atomic.Bool
			if err := p.CallInThread(func() { callerRan.Store(goid() == me) }); err != nil || !callerRan.Load() {
				t.Errorf("CallInThread: err %v, ran on the caller %v", err, callerRan.Load())
			}
			var cbErr error
			err := p.CallInThreadWithCallback(func(_ any, err error) { cbErr = err },
				func() (any, error) { panicWith("caller4"); return nil, nil })
			var pe *threadpool.PanicError
			if err != nil || !errors.As(cbErr, &pe) || pe.Value != "caller4" {
				t.Errorf("panicking callback task: err %v, callback got %v", err, cbErr)
			}
			wantCounters(t, p, counters{Submitted: 5, Completed: 2, Failed: 1, CallerRan: 3, Workers: 1, Working: 1, Queued: 1})
			close(gate)
			stopAndCheck(t, p)
			wantCounters(t, p, counters{Submitted: 5, Completed: 4, Failed: 1, CallerRan: 3})
		})
	})

	// F1: A task run in the caller that calls
	// runtime.Goexit ends the submitting goroutine (as it would end a worker),
	// reports the Goexit error to its callback, and is counted like any task
	// that ran: Submitted, Failed and CallerRan (SPEC C6, H2).
	t.Run("RunInCaller with Goexit ends the submitter and is counted", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p, gate := fullPool(t, threadpool.RunInCaller)
			cbErr := make(chan error, 1)
			returned := false
			done := make(chan struct{})
			go func() {
				defer close(done)
				p.CallInThreadWithCallback(func(_ any, err error) { cbErr <- err },
					func() (any, error) { runtime.Goexit(); return nil, nil })
				returned = true
			}()
			<-done
			if returned {
				t.Fatal("the submitter survived the Goexit of a task run in it")
			}
			if err := <-cbErr; err == nil || err.Error() != "threadpool: task called runtime.Goexit" {
				t.Errorf("callback got %v, want the Goexit error", err)
			}
			wantCounters(t, p, counters{Submitted: 3, Failed: 1, CallerRan: 1, Workers: 1, Working: 1, Queued: 1})
			close(gate)
			stopAndCheck(t, p)
			wantCounters(t, p, counters{Submitted: 3, Completed: 2, Failed: 1, CallerRan: 1})
		})
	})

	// F1: A task run by the RunInCaller policy that calls runtime.Goexit ends the
	// submitting goroutine (as Goexit does), and is still counted: submitted,
	// failed and caller-ran, so Submitted == Completed+Failed+Canceled+Queued+
	// Working still holds ("nothing is silently lost").
	t.Run("RunInCaller with Goexit in every kind of task is counted once", func(t *testing.T) {
		p, _ := startCountedPool(t, 0, 1, threadpool.WithQueueLimit(1, threadpool.RunInCaller))
		gate := newGate(t)
		started := make(chan struct{}, 1)
		_ = p.CallInThread(func() { started <- struct{}{}; gate.wait() })
		recvN(t, started, 1, "blocker")
		_ = p.CallInThread(func() {}) // fills the backlog of 1
		for _, kind := range []string{"call", "callback", "future"} {
			done := make(chan struct{})
			go func() {
				defer close(done)
				switch kind {
				case "call":
					_ = p.CallInThread(func() { runtime.Goexit() })
				case "callback":
					_ = p.CallInThreadWithCallback(func(any, error) {}, func() (any, error) { runtime.Goexit(); return nil, nil })
				default:
					threadpool.Submit(context.Background(), p, func(context.Context) (int, error) { runtime.Goexit(); return 0, nil })
				}
				t.Errorf("%s: the submission returned after the task called Goexit in the caller", kind)
			}()
			waitClosed(t, done, "caller-run Goexit")
		}
		s := p.Stats()
		if err := checkSnapshot(nil, s); err != nil {
			t.Error(err)
		}
		if s.CallerRan != 3 || s.Failed != 3 || s.Submitted != 5 {
			t.Errorf("after 3 caller-run Goexits: CallerRan %d Failed %d Submitted %d; want 3 3 5", s.CallerRan, s.Failed, s.Submitted)
		}
		gate.open()
	})

	// F1: A task that submits to its own pool
	// (max 1, full backlog) under RunInCaller runs the submission itself and
	// waits for it without deadlock.
	t.Run("RunInCaller lets a task submit to its own full pool", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p := startPool(t, 1, 1, threadpool.WithQueueLimit(1, threadpool.RunInCaller))
			var later atomic.Bool
			outer := threadpool.Submit(context.Background(), p, func(ctx context.Context) (int, error) {
				if err := p.CallInThread(func() { later.Store(true) }); err != nil { // to the backlog
					return 0, err
				}
				// The backlog is full and the only worker is this one.
				return threadpool.Submit(ctx, p, func(context.Context) (int, error) {
					return 7, nil
				}).Wait(ctx)
			})
			if v, err := outer.Wait(context.Background()); v != 7 || err != nil {
				t.Fatalf("outer: (%d, %v), want (7, nil)", v, err)
			}
			stopAndCheck(t, p)
			if !later.Load() {
				t.Error("the backlogged inner task did not run")
			}
			wantCounters(t, p, counters{Submitted: 3, Completed: 3, CallerRan: 1})
		})
	})

}
