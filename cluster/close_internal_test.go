package cluster

import (
	"context"
	"errors"
	"testing"
	"time"
)

// K1, end to end: a result that arrives after Close (which has failed the
// Future with ErrClosed) is dropped and counted in Stats.DuplicateResults,
// for stored and ephemeral results. Close is held, by a test hook, after it
// failed the Futures and before its subscriptions end, until the worker's
// result has arrived over NATS.
func TestResultAfterCloseCounted(t *testing.T) {
	for _, ephemeral := range []bool{false, true} {
		t.Run(map[bool]string{false: "stored", true: "ephemeral"}[ephemeral], func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			nc := inProcess(t)
			r := NewRegistry()
			started, release := make(chan struct{}, 1), make(chan struct{})
			hold := Register(r, "hold", func(ctx context.Context, n int) (int, error) {
				started <- struct{}{}
				<-release
				return n, nil
			})
			var opts []Option
			if ephemeral {
				opts = append(opts, WithEphemeralResults())
			}
			c, err := NewClient(ctx, nc, opts...)
			if err != nil {
				t.Fatal(err)
			}
			w, err := NewWorker(nc, r, 0, 1)
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Start(); err != nil {
				t.Fatal(err)
			}
			defer w.Stop()
			f := Submit(ctx, c, hold, 1)
			select {
			case <-started:
			case <-ctx.Done():
				t.Fatal("the task did not start")
			}
			dups := func() int {
				c.mu.Lock()
				defer c.mu.Unlock()
				return c.dups
			}
			testHookClosing = func(cc *Client) {
				if cc != c {
					return
				}
				close(release) // the handler returns; its result comes over NATS
				tick := time.NewTicker(10 * time.Millisecond)
				defer tick.Stop()
				for dups() == 0 {
					select {
					case <-ctx.Done():
						return
					case <-tick.C:
					}
				}
			}
			defer func() { testHookClosing = nil }()
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := f.Wait(ctx); !errors.Is(err, ErrClosed) {
				t.Fatalf("Future after Close: %v", err)
			}
			sctx, scancel := context.WithTimeout(ctx, 100*time.Millisecond)
			defer scancel()
			st, err := c.Stats(sctx)
			if err != nil {
				t.Fatal(err)
			}
			if st.DuplicateResults != 1 {
				t.Fatalf("DuplicateResults %d, want 1", st.DuplicateResults)
			}
		})
	}
}
