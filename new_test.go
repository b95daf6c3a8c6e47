package threadpool_test

// TestNew: New and its options. No goroutine before Start (A1), Twisted's
// defaults, bad sizes (A2) and bad options refused at the call site.

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/twisted-go/threadpool"
	"go.uber.org/goleak"
)

func TestNew(t *testing.T) {
	// A1: New starts nothing, not even with work waiting; Start starts exactly
	// one goroutine per worker and no other.
	t.Run("New starts no goroutine and Start one per worker", func(t *testing.T) {
		goleak.VerifyNone(t) // earlier tests' goroutines are gone
		p := newPool(t, 0, 4, threadpool.WithName("a1"))
		ran := make(chan struct{}, 3)
		for range 3 {
			mustCall(t, p, func() { ran <- struct{}{} })
		}
		wantCounts(t, p, 0, 0, 0, 3)
		if n := poolGoroutines(""); n != 0 {
			t.Fatalf("after New and 3 submissions: %d pool goroutines, want 0", n)
		}
		goleak.VerifyNone(t)
		if len(ran) != 0 {
			t.Fatalf("%d tasks ran before Start", len(ran))
		}

		g := newGate(t)
		defer g.open()
		started := make(chan struct{}, 4)
		blockers(t, p, 1, g, started)
		mustStart(t, p) // 4 tasks waiting, max 4: 4 workers
		for range 3 {
			recv(t, ran, "a task submitted before Start")
		}
		recv(t, started, "blocking task")
		// The blocking task is running, so its worker has set its labels.
		if n := poolGoroutines(""); n != 4 {
			t.Fatalf("pool goroutines after Start with 4 waiting tasks = %d, want 4 (one per worker)", n)
		}
		if n := p.Workers(); n != 4 {
			t.Fatalf("Workers = %d, want 4", n)
		}
	})

	// A1: New(DefaultMin, DefaultMax) is Twisted's ThreadPool(): 5 and 20.
	t.Run("the defaults are Twisted's 5 and 20", func(t *testing.T) {
		if threadpool.DefaultMin != 5 || threadpool.DefaultMax != 20 {
			t.Fatalf("DefaultMin, DefaultMax = %d, %d, want 5, 20", threadpool.DefaultMin, threadpool.DefaultMax)
		}
		p := newPool(t, threadpool.DefaultMin, threadpool.DefaultMax)
		if p.Min() != 5 || p.Max() != 20 || p.Started() {
			t.Fatalf("Min, Max, Started = %d, %d, %v; want 5, 20, false", p.Min(), p.Max(), p.Started())
		}
		wantCounts(t, p, 0, 0, 0, 0)
		mustStart(t, p)
		wantCounts(t, p, 5, 0, 5, 0)
	})

	// A2: bad sizes are refused with errors that wrap ErrInvalidSize, say why
	// and name the values; (0, 0) is legal.
	t.Run("bad sizes are refused with ErrInvalidSize", func(t *testing.T) {
		cases := []struct {
			min, max int
			why      string
		}{
			{-1, 3, "minimum is negative"},
			{-1, -5, "minimum is negative"},
			{4, 3, "minimum is greater than maximum"},
			{1, 0, "minimum is greater than maximum"},
		}
		for _, c := range cases {
			p, err := threadpool.New(c.min, c.max)
			if err == nil || p != nil {
				t.Errorf("New(%d, %d) = %v, %v; want nil and an error", c.min, c.max, p, err)
				continue
			}
			if !errors.Is(err, threadpool.ErrInvalidSize) {
				t.Errorf("New(%d, %d): %v does not wrap ErrInvalidSize", c.min, c.max, err)
			}
			msg := err.Error()
			if !strings.Contains(msg, c.why) {
				t.Errorf("New(%d, %d): %q does not contain %q", c.min, c.max, msg, c.why)
			}
			for _, v := range []int{c.min, c.max} {
				if !strings.Contains(msg, itoa(v)) {
					t.Errorf("New(%d, %d): %q does not name %d", c.min, c.max, msg, v)
				}
			}
		}
		p, err := threadpool.New(0, 0)
		if err != nil || p == nil {
			t.Fatalf("New(0, 0) = %v, %v; want a pool", p, err)
		}
		if p.Min() != 0 || p.Max() != 0 {
			t.Fatalf("New(0, 0): Min, Max = %d, %d", p.Min(), p.Max())
		}
		if err := p.Stop(); err != nil {
			t.Fatal(err)
		}
	})

	// A2: An absurd minimum (it would start that many goroutines at once) is
	// refused at the call site; an absurd maximum is only a limit.
	t.Run("an absurd minimum is refused", func(t *testing.T) {
		const huge = int(^uint(0) >> 1)
		if _, err := threadpool.New(huge, huge); !errors.Is(err, threadpool.ErrInvalidSize) || !strings.Contains(err.Error(), "minimum is above") {
			t.Fatalf("New(MaxInt, MaxInt): %v", err)
		}
		var p threadpool.Pool
		if err := p.UnmarshalJSON([]byte(`{"min": 9223372036854775807, "max": 9223372036854775807}`)); !errors.Is(err, threadpool.ErrInvalidSize) {
			t.Fatalf("UnmarshalJSON of an absurd min: %v", err)
		}
		q := newPool(t, 0, huge)
		if err := q.AdjustPoolSize(1<<20+1, huge); !errors.Is(err, threadpool.ErrInvalidSize) {
			t.Fatalf("AdjustPoolSize above the bound: %v", err)
		}
		if q.Min() != 0 {
			t.Fatalf("a refused AdjustPoolSize changed min to %d", q.Min())
		}
	})

	// A bad option value is an error even when a later option of the same kind
	// is good: New reports the first bad value.
	t.Run("a bad option is an error even when a later one is good", func(t *testing.T) {
		cases := map[string][]threadpool.Option{
			"WithQueueLimit":  {threadpool.WithQueueLimit(0, threadpool.Reject), threadpool.WithQueueLimit(4, threadpool.Reject)},
			"WithIdleTimeout": {threadpool.WithIdleTimeout(-1), threadpool.WithIdleTimeout(1)},
			"WithLogger":      {threadpool.WithLogger(nil), threadpool.WithLogger(slog.Default())},
		}
		for name, opts := range cases {
			if _, err := threadpool.New(1, 2, opts...); err == nil || !strings.Contains(err.Error(), name) {
				t.Errorf("%s: bad then good: err = %v, want an error naming %s", name, err, name)
			}
		}
	})

	// An Option is opaque: the zero Option, the only one a caller can make
	// without a With function, is refused at the call site.
	t.Run("the zero Option is refused", func(t *testing.T) {
		if _, err := threadpool.New(0, 1, threadpool.Option{}); err == nil || !strings.Contains(err.Error(), "zero Option") {
			t.Fatalf("New with a zero Option: %v", err)
		}
	})

	// A nil observer is a bad option.
	t.Run("a nil observer is a bad option", func(t *testing.T) {
		if _, err := threadpool.New(1, 1, threadpool.WithObserver(nil)); err == nil {
			t.Fatal("New with a nil observer succeeded")
		}
	})

	// A nil init hook is a bad option.
	t.Run("a nil init hook is a bad option", func(t *testing.T) {
		if _, err := threadpool.New(1, 1, threadpool.WithWorkerInit(nil)); err == nil {
			t.Error("New accepted WithWorkerInit(nil)")
		}
	})

	// F1: New refuses a limit below 1 or an unknown
	// policy.
	t.Run("a queue limit below 1 or an unknown policy is a bad option", func(t *testing.T) {
		for _, opt := range []threadpool.Option{
			threadpool.WithQueueLimit(0, threadpool.Block),
			threadpool.WithQueueLimit(-1, threadpool.Reject),
			threadpool.WithQueueLimit(1, threadpool.OverflowPolicy(99)),
			threadpool.WithIdleTimeout(-time.Second),
		} {
			if p, err := threadpool.New(1, 1, opt); err == nil || p != nil {
				t.Errorf("New accepted a bad option: (%v, %v)", p, err)
			}
		}
	})

}
