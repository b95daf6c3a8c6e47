package threadpool_test

// TestOSThreads: with WithOSThreads, each worker on an OS thread of its own,
// checked on Linux by the threads' kernel ids and names (SPEC J1).

import (
	"context"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/twisted-go/threadpool"
)

// threadLog records, by kernel thread id, which hooks and tasks ran there.
type threadLog struct {
	mu       sync.Mutex
	inits    map[int]string // tid -> the worker name init was given
	infoTIDs map[int]int    // tid -> the ThreadID init was given
	cleanups map[int]int    // tid -> cleanups run there
	ended    chan int       // tids of cleanups, as they run
}

func newThreadLog() *threadLog {
	return &threadLog{inits: map[int]string{}, infoTIDs: map[int]int{}, cleanups: map[int]int{}, ended: make(chan int, 100)}
}

func (l *threadLog) init(info threadpool.ThreadInfo) (func(), error) {
	tid := syscall.Gettid()
	l.mu.Lock()
	if _, again := l.inits[tid]; again {
		l.inits[tid] = "AGAIN " + info.Name
	} else {
		l.inits[tid] = info.Name
	}
	l.infoTIDs[tid] = info.ThreadID
	l.mu.Unlock()
	return func() {
		tid := syscall.Gettid()
		l.mu.Lock()
		l.cleanups[tid]++
		l.mu.Unlock()
		l.ended <- tid
	}, nil
}

// ranInit reports whether init ran on thread tid.
func (l *threadLog) ranInit(tid int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, ok := l.inits[tid]
	return ok
}

// check fails unless each thread that ran init was given its own id and
// ran its cleanup, once each; but for the worker that ran on thread moved
// (not 0), whose task unlocked it, the cleanup ran on thread movedTo.
func (l *threadLog) check(t *testing.T, moved, movedTo int) int {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	if moved != 0 && movedTo != moved {
		l.cleanups[moved]++
		if l.cleanups[movedTo]--; l.cleanups[movedTo] == 0 {
			delete(l.cleanups, movedTo)
		}
	}
	for tid, name := range l.inits {
		if strings.HasPrefix(name, "AGAIN") || l.infoTIDs[tid] != tid || l.cleanups[tid] != 1 {
			t.Errorf("thread %d: init as %q told ThreadID %d, %d cleanups there; want once, its own id, 1", tid, name, l.infoTIDs[tid], l.cleanups[tid])
		}
	}
	for tid := range l.cleanups {
		if _, ok := l.inits[tid]; !ok {
			t.Errorf("cleanup on thread %d, which ran no init", tid)
		}
	}
	return len(l.inits)
}

// poolThread is what a task saw: its worker (the pprof label) and thread.
type poolThread struct {
	worker string
	tid    int
}

func here() poolThread {
	return poolThread{worker: myLabels()["thread"], tid: syscall.Gettid()}
}

func TestOSThreads(t *testing.T) {
	// J1: Each worker runs all its tasks on one thread of its own, which init and
	// cleanup run on too, named after the worker; Threads reports it.
	t.Run("each worker keeps one thread of its own", func(t *testing.T) {
		l := newThreadLog()
		const workers = 4
		p := newPool(t, workers, workers, threadpool.WithName("db"), threadpool.WithOSThreads(), threadpool.WithWorkerInit(l.init))
		mustStart(t, p)
		seen := map[string]map[int]bool{}
		comms := map[int]string{}
		var mu sync.Mutex
		for range 20 {
			// A round of tasks that each wait for all: one per worker.
			var all sync.WaitGroup
			all.Add(workers)
			done := make(chan poolThread, workers)
			for range workers {
				mustCall(t, p, func() {
					all.Done()
					all.Wait()
					pt := here()
					comm, err := os.ReadFile("/proc/self/task/" + strconv.Itoa(pt.tid) + "/comm")
					if err != nil {
						t.Error(err)
					}
					mu.Lock()
					comms[pt.tid] = strings.TrimSpace(string(comm))
					mu.Unlock()
					done <- pt
				})
			}
			for range workers {
				pt := recv(t, done, "a task")
				if seen[pt.worker] == nil {
					seen[pt.worker] = map[int]bool{}
				}
				seen[pt.worker][pt.tid] = true
				if !l.ranInit(pt.tid) {
					t.Errorf("a task of %s ran on thread %d, where init never ran", pt.worker, pt.tid)
				}
			}
		}
		byTID := map[int]string{}
		for worker, tids := range seen {
			if len(tids) != 1 {
				t.Errorf("%s ran on threads %v, want one", worker, tids)
			}
			for tid := range tids {
				if other, ok := byTID[tid]; ok {
					t.Errorf("thread %d ran %s and %s", tid, worker, other)
				}
				byTID[tid] = worker
				// "PoolThread-db-1" is 15 bytes: the whole name fits.
				if comms[tid] != worker {
					t.Errorf("thread %d is named %q, want %q", tid, comms[tid], worker)
				}
			}
		}
		if len(seen) != workers {
			t.Errorf("%d workers ran tasks, want %d", len(seen), workers)
		}
		for _, ti := range p.Threads() {
			if byTID[ti.ThreadID] != ti.Name {
				t.Errorf("Threads: %s on thread %d, but its tasks ran on %v", ti.Name, ti.ThreadID, seen[ti.Name])
			}
		}
		mustStop(t, p)
		if n := l.check(t, 0, 0); n != workers {
			t.Errorf("init ran on %d threads, want %d", n, workers)
		}
	})

	// J1: Without WithOSThreads, ThreadID is 0.
	t.Run("ThreadID is 0 without WithOSThreads", func(t *testing.T) {
		p := newPool(t, 1, 1)
		mustStart(t, p)
		for _, ti := range p.Threads() {
			if ti.ThreadID != 0 {
				t.Errorf("%+v", ti)
			}
		}
	})

	// J1: A long pool name is cut so that the worker's number stays whole.
	t.Run("a long pool name is cut so the thread name keeps the number", func(t *testing.T) {
		p := newPool(t, 1, 1, threadpool.WithName("ingest-pipeline"), threadpool.WithOSThreads())
		mustStart(t, p)
		done := make(chan string, 1)
		mustCall(t, p, func() {
			b, _ := os.ReadFile("/proc/self/task/" + strconv.Itoa(syscall.Gettid()) + "/comm")
			done <- strings.TrimSpace(string(b))
		})
		if got := recv(t, done, "the task"); got != "ingest-pipeli-1" {
			t.Errorf("kernel name %q, want ingest-pipeli-1", got)
		}
	})

	// J1: A task that ends its worker's goroutine: its thread ends with it, after
	// the cleanup ran there; the goroutine that takes the worker over locks a
	// fresh thread, named after the worker's new name, and runs init there.
	t.Run("the goroutine that takes over after a Goexit locks a fresh thread", func(t *testing.T) {
		l := newThreadLog()
		p := newPool(t, 1, 1, threadpool.WithName("gx"), threadpool.WithOSThreads(), threadpool.WithWorkerInit(l.init))
		mustStart(t, p)
		first := make(chan poolThread, 1)
		mustCall(t, p, func() { first <- here(); runtime.Goexit() })
		a := recv(t, first, "the Goexit task")
		if got := recv(t, l.ended, "the cleanup of the ended goroutine"); got != a.tid {
			t.Errorf("cleanup ran on thread %d, want %d", got, a.tid)
		}
		next := make(chan poolThread, 1)
		mustCall(t, p, func() { next <- here() })
		b := recv(t, next, "the next task")
		if b.tid == a.tid || b.worker == a.worker || !l.ranInit(b.tid) {
			t.Errorf("before %+v, after %+v (init there: %v)", a, b, l.ranInit(b.tid))
		}
		mustStop(t, p)
		if n := l.check(t, 0, 0); n != 2 {
			t.Errorf("init ran on %d threads, want 2", n)
		}
	})

	// J1: A task that unlocks its worker's thread (one UnlockOSThread too many)
	// cannot take the guarantee away from the next task: the worker notices,
	// ends its goroutine (and the thread it is on), and a fresh goroutine on a
	// fresh thread, set up by init, runs the next task. Balanced Lock and
	// Unlock, or a Lock left behind, keep the worker as it is.
	t.Run("a task that unlocks its thread gets the worker replaced", func(t *testing.T) {
		l := newThreadLog()
		p := newPool(t, 1, 1, threadpool.WithName("ul"), threadpool.WithOSThreads(), threadpool.WithWorkerInit(l.init))
		mustStart(t, p)
		run := func(f func()) poolThread {
			t.Helper()
			ch := make(chan poolThread, 1)
			mustCall(t, p, func() { f(); ch <- here() })
			return recv(t, ch, "a task")
		}
		a := run(func() {})
		b := run(func() { runtime.LockOSThread(); runtime.UnlockOSThread() })
		c := run(func() { runtime.LockOSThread() }) // left locked: harmless
		if b != a || c != a {
			t.Fatalf("balanced or extra locking moved the worker: %+v %+v %+v", a, b, c)
		}
		// Two unlocks undo c's lock and the worker's own.
		unlocked := run(func() { runtime.UnlockOSThread(); runtime.UnlockOSThread() })
		// Its cleanup runs wherever the goroutine is when the worker notices:
		// the thread it was set up on is no longer the goroutine's.
		cleanedOn := recv(t, l.ended, "the cleanup of the unlocked worker")
		d := run(func() {})
		e := run(func() {})
		if d.tid == unlocked.tid || d.worker == a.worker || !l.ranInit(d.tid) || e != d {
			t.Errorf("after the unlock: %+v then %+v (was %+v; init on %d: %v)", d, e, unlocked, d.tid, l.ranInit(d.tid))
		}
		mustStop(t, p)
		if n := l.check(t, a.tid, cleanedOn); n != 2 {
			t.Errorf("init ran on %d threads, want 2", n)
		}
		if s := checkStats(t, p); s.Completed != 6 || s.Failed != 0 {
			t.Errorf("Stats %+v", s)
		}
	})

	// J1: The tasks a group's Wait helps run on the helper's own locked thread,
	// which ran init; the waiting task's thread stays its worker's.
	t.Run("a group's Wait helps on a thread set up by init", func(t *testing.T) {
		l := newThreadLog()
		p := newPool(t, 1, 1, threadpool.WithName("gw"), threadpool.WithOSThreads(), threadpool.WithWorkerInit(l.init))
		mustStart(t, p)
		ctx := context.Background()
		type result struct {
			waiter, after poolThread
			helped        []int
		}
		f := threadpool.Submit(ctx, p, func(ctx context.Context) (result, error) {
			var r result
			r.waiter = here()
			g, _ := threadpool.NewGroup(ctx, p)
			var mu sync.Mutex
			for range 3 {
				g.Go(func(context.Context) error {
					mu.Lock()
					r.helped = append(r.helped, syscall.Gettid())
					mu.Unlock()
					return nil
				})
			}
			err := g.Wait()
			r.after = here()
			return r, err
		})
		wctx, cancel := context.WithTimeout(ctx, hangTimeout)
		defer cancel()
		r, err := f.Wait(wctx)
		if err != nil {
			t.Fatal(err)
		}
		if r.after != r.waiter || len(r.helped) != 3 {
			t.Fatalf("%+v", r)
		}
		for _, tid := range r.helped {
			if tid == r.waiter.tid || tid != r.helped[0] || !l.ranInit(tid) {
				t.Errorf("helped tasks on threads %v, the waiter on %d", r.helped, r.waiter.tid)
			}
		}
		mustStop(t, p)
		if n := l.check(t, 0, 0); n != 2 {
			t.Errorf("init ran on %d threads, want 2", n)
		}
	})

}
