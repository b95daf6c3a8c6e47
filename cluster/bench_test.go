package cluster_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/twisted-go/threadpool"
	"github.com/twisted-go/threadpool/cluster"
	"github.com/twisted-go/threadpool/cluster/natsembed"
)

// BenchmarkThroughput measures empty tasks through 3 in-process workers on
// one embedded server (the bench module measures worker processes).
func BenchmarkThroughput(b *testing.B) {
	for _, bc := range []struct {
		name     string
		prefetch int
		copts    []cluster.Option
	}{
		{"exact-stored", 0, nil},
		{"exact-ephemeral", 0, []cluster.Option{cluster.WithEphemeralResults()}},
		{"prefetch100-ephemeral", 100, []cluster.Option{cluster.WithEphemeralResults()}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s, err := natsembed.Start(natsembed.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Shutdown()
			r := cluster.NewRegistry()
			nop := cluster.Register(r, "nop", func(ctx context.Context, n int) (int, error) { return n, nil })
			for range 3 {
				nc, _ := s.Connect()
				defer nc.Close()
				w, err := cluster.NewWorker(nc, r, 4, 4, cluster.WithMemoryStorage(), cluster.WithPrefetch(bc.prefetch))
				if err != nil {
					b.Fatal(err)
				}
				w.Start()
				defer w.Stop()
			}
			nc, _ := s.Connect()
			defer nc.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			c, err := cluster.NewClient(ctx, nc, append(bc.copts, cluster.WithMemoryStorage())...)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			b.ResetTimer()
			var wg sync.WaitGroup
			const submitters = 16
			futs := make([]*threadpool.Future[int], b.N)
			for g := range submitters {
				wg.Go(func() {
					for i := g; i < b.N; i += submitters {
						futs[i] = cluster.Submit(ctx, c, nop, i)
					}
				})
			}
			wg.Wait()
			for _, f := range futs {
				if _, err := f.Wait(ctx); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tasks/s")
		})
	}
}
