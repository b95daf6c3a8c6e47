package threadpool_test

// TestIntrospection: worker names (G1), Threads (G2), pprof labels (G3),
// DumpStats (G4), and the Stats invariants under load (H1, H2).

import (
	"log/slog"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/twisted-go/threadpool"
)

func TestIntrospection(t *testing.T) {
	// G1: worker names are PoolThread-<name>-<n>, and n never repeats within a
	// pool's life: not after StopAWorker, a shrink, a Goexit or a restart.
	t.Run("worker names never repeat within a pool's life", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			_, logger := newRecorder()
			p := newPool(t, 2, 3, threadpool.WithName("db"), threadpool.WithLogger(logger))
			ever := map[string]bool{}
			last := 0
			observe := func(step string) {
				t.Helper()
				for _, ti := range p.Threads() {
					if !regexp.MustCompile(`^PoolThread-db-[1-9][0-9]*$`).MatchString(ti.Name) {
						t.Fatalf("%s: worker name %q", step, ti.Name)
					}
					if !ever[ti.Name] {
						if n := workerNum(t, ti.Name); n <= last {
							t.Fatalf("%s: new worker %s numbered below an earlier one (%d)", step, ti.Name, last)
						} else {
							last = n
						}
					}
					ever[ti.Name] = true
				}
			}
			mustStart(t, p)
			if got := names(p.Threads()); !slices.Equal(got, []string{"PoolThread-db-1", "PoolThread-db-2"}) {
				t.Fatalf("first workers %v", got)
			}
			observe("start")
			for range 3 {
				if err := p.StopAWorker(); err != nil {
					t.Fatal(err)
				}
				if err := p.StartAWorker(); err != nil {
					t.Fatal(err)
				}
				observe("stop and start a worker")
			}
			mustCall(t, p, func() { runtime.Goexit() })
			synctest.Wait()
			observe("goexit")
			if err := p.AdjustPoolSize(0, 1); err != nil {
				t.Fatal(err)
			}
			if err := p.AdjustPoolSize(3, 3); err != nil {
				t.Fatal(err)
			}
			observe("shrink and grow")
			mustStop(t, p)
			mustStart(t, p)
			observe("restart")
			if len(ever) != 2+3+1+2+3 {
				t.Fatalf("%d distinct names seen, want 11: %v", len(ever), ever)
			}
			if last != 11 {
				t.Fatalf("last worker number %d, want 11", last)
			}
		})
	})

	// G1: an unnamed pool's workers use a number unique to the pool for the
	// name, also in the pprof label.
	t.Run("unnamed pools get a unique number for a name", func(t *testing.T) {
		re := regexp.MustCompile(`^PoolThread-([0-9]+)-1$`)
		ids := map[string]bool{}
		for range 3 {
			p := newPool(t, 0, 1)
			if p.Name() != "" {
				t.Fatalf("Name() = %q for an unnamed pool", p.Name())
			}
			mustStart(t, p)
			labels := make(chan map[string]string, 1)
			mustCall(t, p, func() { labels <- myLabels() })
			l := recv(t, labels, "labels")
			m := re.FindStringSubmatch(l["thread"])
			if m == nil {
				t.Fatalf("unnamed pool worker name %q", l["thread"])
			}
			if l["threadpool"] != m[1] {
				t.Fatalf("labels %v: threadpool label is not the pool's id %s", l, m[1])
			}
			if ids[m[1]] {
				t.Fatalf("two unnamed pools share the id %s", m[1])
			}
			ids[m[1]] = true
			if got := names(p.Threads()); !slices.Equal(got, []string{l["thread"]}) {
				t.Fatalf("Threads %v, want [%s]", got, l["thread"])
			}
			mustStop(t, p)
		}
	})

	// G2: Threads lists live workers only, oldest first, with their busy
	// state (Twisted #8114 leaks dead ones).
	t.Run("Threads lists live workers only", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			_, logger := newRecorder()
			p := newPool(t, 0, 3, threadpool.WithName("g2"), threadpool.WithLogger(logger))
			mustStart(t, p)
			if ts := p.Threads(); len(ts) != 0 {
				t.Fatalf("Threads of a pool without workers = %v", ts)
			}
			g := newGate(t)
			where := make(chan string, 3)
			for range 3 {
				mustCall(t, p, func() {
					where <- myLabels()["thread"]
					g.wait()
				})
			}
			want := []threadpool.ThreadInfo{{Name: "PoolThread-g2-1", Busy: true}, {Name: "PoolThread-g2-2", Busy: true}, {Name: "PoolThread-g2-3", Busy: true}}
			if ts := p.Threads(); !slices.Equal(ts, want) {
				t.Fatalf("Threads = %+v, want %+v", ts, want)
			}
			running := []string{<-where, <-where, <-where}
			sort.Strings(running)
			if !slices.Equal(running, names(want)) {
				t.Fatalf("tasks ran on %v, Threads says %v", running, names(want))
			}
			g.open()
			synctest.Wait()
			if ts := p.Threads(); len(ts) != 3 || ts[0].Busy || ts[1].Busy || ts[2].Busy {
				t.Fatalf("Threads after the tasks = %+v, want 3 idle", ts)
			}

			// One busy, two idle: the busy one is the one running the task.
			g = newGate(t)
			mustCall(t, p, func() {
				where <- myLabels()["thread"]
				g.wait()
			})
			busy := <-where
			for _, ti := range p.Threads() {
				if ti.Busy != (ti.Name == busy) {
					t.Fatalf("Threads %+v: the task runs on %s", p.Threads(), busy)
				}
			}
			if err := p.StopAWorker(); err != nil { // an idle one goes
				t.Fatal(err)
			}
			ts := p.Threads()
			if len(ts) != 2 || !slices.ContainsFunc(ts, func(ti threadpool.ThreadInfo) bool { return ti.Name == busy && ti.Busy }) {
				t.Fatalf("Threads after StopAWorker = %+v", ts)
			}
			if ts[0].Name >= ts[1].Name { // oldest first ("1" < "2" < "3")
				t.Fatalf("Threads not oldest first: %+v", ts)
			}
			mustCall(t, p, func() { runtime.Goexit() }) // the idle one dies, a fresh one replaces it
			synctest.Wait()
			ts = p.Threads()
			if len(ts) != 2 || ts[1].Name != "PoolThread-g2-4" || ts[0].Name != busy {
				t.Fatalf("Threads after a Goexit = %+v, want [%s PoolThread-g2-4]", ts, busy)
			}
			g.open()
			mustStop(t, p)
			if ts := p.Threads(); len(ts) != 0 {
				t.Fatalf("Threads after Stop = %+v", ts)
			}
		})
	})

	// G3: every worker runs with the pprof labels threadpool=<name> and
	// thread=<worker name>, visible in a goroutine profile while a task runs.
	t.Run("every worker carries the pprof labels", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p := newPool(t, 2, 4, threadpool.WithName("g3"))
			mustStart(t, p)
			g := newGate(t)
			mine := make(chan map[string]string, 1)
			mustCall(t, p, func() {
				mine <- myLabels()
				g.wait()
			})
			l := <-mine
			if len(l) != 2 || l["threadpool"] != "g3" || l["thread"] != "PoolThread-g3-2" {
				// The task goes to the most recently idled worker; either
				// worker is acceptable as long as the labels name it.
				if l["threadpool"] != "g3" || (l["thread"] != "PoolThread-g3-1" && l["thread"] != "PoolThread-g3-2") || len(l) != 2 {
					t.Fatalf("task labels %v", l)
				}
			}
			if busy := p.Threads(); !slices.Contains(busy, threadpool.ThreadInfo{Name: l["thread"], Busy: true}) {
				t.Fatalf("the task's thread label %s is not the busy worker in %+v", l["thread"], busy)
			}
			synctest.Wait() // the idle worker is parked too
			got := poolThreads("g3")
			sort.Strings(got)
			if want := names(p.Threads()); !slices.Equal(got, want) {
				t.Fatalf("goroutines labeled threadpool=g3: %v, want one per worker %v", got, want)
			}
			g.open()
			mustStop(t, p)
			synctest.Wait() // past wg.Done, the workers' last instructions run
			if got := poolThreads("g3"); len(got) != 0 {
				t.Fatalf("labeled goroutines after Stop: %v", got)
			}
		})
	})

	// G4: DumpStats writes exactly one Info record "threadpool stats" with the
	// attributes pool, min, max, waiters, working, workers, queued, threads.
	t.Run("DumpStats writes one record with every count", func(t *testing.T) {
		rec, logger := newRecorder()
		p := newPool(t, 1, 3, threadpool.WithName("g4"), threadpool.WithLogger(logger))
		check := func(min, max, waiters, working, workers, queued int, threads []string) {
			t.Helper()
			before := len(rec.records())
			p.DumpStats()
			r := rec.records()
			if len(r) != before+1 {
				t.Fatalf("DumpStats wrote %d records, want 1", len(r)-before)
			}
			got := r[len(r)-1]
			if got.Level != slog.LevelInfo || got.Msg != "threadpool stats" {
				t.Fatalf("record %v %q", got.Level, got.Msg)
			}
			keys := make([]string, 0, len(got.Attrs))
			for k := range got.Attrs {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			if want := []string{"max", "min", "pool", "queued", "threads", "waiters", "workers", "working"}; !slices.Equal(keys, want) {
				t.Fatalf("attributes %v, want %v", keys, want)
			}
			if v := got.Attrs["pool"]; v.Kind() != slog.KindString || v.String() != "g4" {
				t.Fatalf("pool = %v", v)
			}
			for k, want := range map[string]int{"min": min, "max": max, "waiters": waiters, "working": working, "workers": workers, "queued": queued} {
				if v := got.Attrs[k]; v.Kind() != slog.KindInt64 || v.Int64() != int64(want) {
					t.Errorf("%s = %v (%v), want %d", k, v, v.Kind(), want)
				}
			}
			ths, ok := got.Attrs["threads"].Any().([]string)
			if !ok || !slices.Equal(ths, threads) {
				t.Fatalf("threads = %#v, want %v", got.Attrs["threads"].Any(), threads)
			}
		}
		check(1, 3, 0, 0, 0, 0, []string{})
		mustStart(t, p)
		check(1, 3, 1, 0, 1, 0, []string{"PoolThread-g4-1"})
		g := newGate(t)
		blockers(t, p, 5, g, nil)
		check(1, 3, 0, 3, 3, 2, []string{"PoolThread-g4-1", "PoolThread-g4-2", "PoolThread-g4-3"})
		g.open()
		mustStop(t, p)
		check(1, 3, 0, 0, 0, 0, []string{})
		if r := rec.records(); len(r) != 4 {
			t.Fatalf("%d records, want only the 4 DumpStats records", len(r))
		}
	})

	// H1, H2: every snapshot taken while the pool is under concurrent load,
	// resizing, faults and a stop satisfies the invariants; at the end the
	// accounting is exact.
	t.Run("every Stats snapshot under load keeps the invariants", func(t *testing.T) {
		rec, logger := newRecorder()
		p := newPool(t, 1, 4, threadpool.WithLogger(logger))
		mustStart(t, p)
		stopSampling := sampleStats(t, p, 2)
		var ok, failed, panicked, accepted atomic.Int64
		var wg sync.WaitGroup
		for s := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 300 {
					var err error
					switch (s + i) % 5 {
					case 0:
						err = p.CallInThread(func() { ok.Add(1) })
					case 1:
						err = p.CallInThreadWithCallback(func(any, error) {}, func() (any, error) { failed.Add(1); return nil, errTask })
					case 2:
						err = p.CallInThread(func() { failed.Add(1); panicked.Add(1); panic("load panic") })
					case 3:
						err = p.CallInThreadWithCallback(func(any, error) {}, func() (any, error) { ok.Add(1); return i, nil })
					case 4:
						switch i % 4 {
						case 0:
							err = p.AdjustPoolSize(i%3, 2+i%5)
						case 1:
							err = p.StopAWorker()
						case 2:
							err = p.StartAWorker()
						default:
							err = p.AdjustPoolSize(1, 4)
						}
						if err != nil {
							t.Error(err)
						}
						continue
					}
					if err != nil {
						t.Error(err)
						return
					}
					accepted.Add(1)
				}
			}()
		}
		wg.Wait()
		if err := p.AdjustPoolSize(1, 4); err != nil { // a max of 0 would cancel the backlog
			t.Fatal(err)
		}
		mustStop(t, p)
		stopSampling()
		s := checkStats(t, p)
		if s.Submitted != uint64(accepted.Load()) || s.Completed != uint64(ok.Load()) || s.Failed != uint64(failed.Load()) ||
			s.Canceled != 0 || s.Queued != 0 || s.Working != 0 || s.Workers != 0 || s.Rejected != 0 {
			t.Fatalf("final Stats %+v; accepted %d, ok %d, failed %d", s, accepted.Load(), ok.Load(), failed.Load())
		}
		if n := int64(len(rec.records())); n != panicked.Load() {
			t.Fatalf("%d records logged, want one per panicking task (%d)", n, panicked.Load())
		}
	})

}
