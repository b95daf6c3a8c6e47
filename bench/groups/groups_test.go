// Package groups measures task groups: batches of tiny tasks,
// each waited for together, through groups on one shared threadpool
// against an errgroup or a conc pool made per batch, at the same total
// concurrency; and a recursive fan-out.
//
//	cd bench && go test -run '^$' -bench . -benchmem -benchtime 10000x ./groups
//
// One op is one batch of 100 tasks (Batches) or one whole tree (FanOut):
// ns/task and allocs/task are reported per task.
package groups

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/sourcegraph/conc/pool"
	"github.com/twisted-go/threadpool"
	"golang.org/x/sync/errgroup"
)

const batch = 100

var sink atomic.Int64

func tiny() { sink.Add(1) }

// run runs f b.N times, from requesters goroutines at once, and reports
// ns, allocations and bytes per task, for n tasks per call of f.
func run(b *testing.B, requesters, n int, f func()) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	var wg sync.WaitGroup
	var next atomic.Int64
	for range requesters {
		wg.Go(func() {
			for next.Add(1) <= int64(b.N) {
				f()
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	runtime.ReadMemStats(&after)
	tasks := float64(b.N) * float64(n)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/tasks, "ns/task")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/tasks, "allocs/task")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/tasks, "B/task")
}

// Batches: requesters goroutines each run batches of 100 tiny tasks, each
// batch limited to limit at once; the shared pool's max is
// requesters × limit, the same total concurrency as a limit per batch.
func BenchmarkBatches(b *testing.B) {
	procs := runtime.GOMAXPROCS(0)
	for _, c := range []struct {
		name              string
		requesters, limit int
	}{
		{"serial", 1, procs},
		{"concurrent8", 8, procs},
	} {
		total := c.requesters * c.limit
		b.Run(c.name+"/threadpool-group", func(b *testing.B) {
			p, _ := threadpool.New(total, total)
			_ = p.Start()
			defer p.Stop()
			run(b, c.requesters, batch, func() {
				g, _ := threadpool.NewGroup(context.Background(), p)
				g.SetLimit(c.limit)
				for range batch {
					g.Go(func(context.Context) error { tiny(); return nil })
				}
				_ = g.Wait()
			})
		})
		b.Run(c.name+"/threadpool-group-nolimit", func(b *testing.B) {
			p, _ := threadpool.New(total, total)
			_ = p.Start()
			defer p.Stop()
			run(b, c.requesters, batch, func() {
				g, _ := threadpool.NewGroup(context.Background(), p)
				for range batch {
					g.Go(func(context.Context) error { tiny(); return nil })
				}
				_ = g.Wait()
			})
		})
		b.Run(c.name+"/threadpool-waitgroup", func(b *testing.B) {
			p, _ := threadpool.New(total, total)
			_ = p.Start()
			defer p.Stop()
			run(b, c.requesters, batch, func() {
				var wg sync.WaitGroup
				wg.Add(batch)
				for range batch {
					_ = p.CallInThread(func() { tiny(); wg.Done() })
				}
				wg.Wait()
			})
		})
		b.Run(c.name+"/errgroup", func(b *testing.B) {
			run(b, c.requesters, batch, func() {
				g, _ := errgroup.WithContext(context.Background())
				g.SetLimit(c.limit)
				for range batch {
					g.Go(func() error { tiny(); return nil })
				}
				_ = g.Wait()
			})
		})
		b.Run(c.name+"/conc", func(b *testing.B) {
			run(b, c.requesters, batch, func() {
				p := pool.New().WithErrors().WithContext(context.Background()).WithMaxGoroutines(c.limit)
				for range batch {
					p.Go(func(context.Context) error { tiny(); return nil })
				}
				_ = p.Wait()
			})
		})
	}
}

const depth = 10 // a binary tree of 2047 nodes

// FanOut: every node of a binary tree 10 levels deep runs its two children
// as a group and waits for them. The threadpool runs the tree on a pool of
// GOMAXPROCS workers (nested waits help); errgroup and conc make a group
// per node with a limit of 2 (a pool-wide bound would deadlock them).
func BenchmarkFanOut(b *testing.B) {
	const nodes = 1<<(depth+1) - 1
	procs := runtime.GOMAXPROCS(0)
	b.Run("threadpool-group", func(b *testing.B) {
		p, _ := threadpool.New(procs, procs)
		_ = p.Start()
		defer p.Stop()
		var walk func(ctx context.Context, d int) error
		walk = func(ctx context.Context, d int) error {
			tiny()
			if d == 0 {
				return nil
			}
			g, _ := threadpool.NewGroup(ctx, p)
			g.Go(func(ctx context.Context) error { return walk(ctx, d-1) })
			g.Go(func(ctx context.Context) error { return walk(ctx, d-1) })
			return g.Wait()
		}
		run(b, 1, nodes, func() {
			g, _ := threadpool.NewGroup(context.Background(), p)
			g.Go(func(ctx context.Context) error { return walk(ctx, depth) })
			_ = g.Wait()
		})
	})
	b.Run("errgroup", func(b *testing.B) {
		var walk func(ctx context.Context, d int) error
		walk = func(ctx context.Context, d int) error {
			tiny()
			if d == 0 {
				return nil
			}
			g, ctx := errgroup.WithContext(ctx)
			g.SetLimit(2)
			g.Go(func() error { return walk(ctx, d-1) })
			g.Go(func() error { return walk(ctx, d-1) })
			return g.Wait()
		}
		run(b, 1, nodes, func() { _ = walk(context.Background(), depth) })
	})
	b.Run("conc", func(b *testing.B) {
		var walk func(ctx context.Context, d int) error
		walk = func(ctx context.Context, d int) error {
			tiny()
			if d == 0 {
				return nil
			}
			p := pool.New().WithErrors().WithContext(ctx).WithMaxGoroutines(2)
			p.Go(func(ctx context.Context) error { return walk(ctx, d-1) })
			p.Go(func(ctx context.Context) error { return walk(ctx, d-1) })
			return p.Wait()
		}
		run(b, 1, nodes, func() { _ = walk(context.Background(), depth) })
	})
}
