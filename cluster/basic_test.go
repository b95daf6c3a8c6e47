package cluster_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twisted-go/threadpool"
	"github.com/twisted-go/threadpool/cluster"
)

type pt struct{ X int }

// K2: a result, a handler's error and a handler's panic, each as the
// Future's outcome; the worker and its slot survive the panic.
func TestResultErrorPanic(t *testing.T) {
	ctx, _, nc := serve(t)
	r := cluster.NewRegistry()
	double := cluster.Register(r, "double", func(ctx context.Context, p pt) (pt, error) { return pt{2 * p.X}, nil })
	fail := cluster.Register(r, "fail", func(ctx context.Context, n int) (int, error) { return 0, errTest })
	boom := cluster.Register(r, "boom", func(ctx context.Context, n int) (int, error) { panic("boom") })
	c := newClient(t, nc)
	w := startWorker(t, nc, r, 0, 1)

	if v, err := cluster.Submit(ctx, c, double, pt{21}).Wait(ctx); err != nil || v.X != 42 {
		t.Fatalf("double = %v, %v", v, err)
	}
	_, err := cluster.Submit(ctx, c, fail, 1).Wait(ctx)
	var re *cluster.RemoteError
	if !errors.As(err, &re) || re.Message != errTest.Error() || re.Panic || re.Handler != "fail" || re.Worker != w.Name() {
		t.Fatalf("fail: %#v", err)
	}
	_, err = cluster.Submit(ctx, c, boom, 1).Wait(ctx)
	if !errors.As(err, &re) || !re.Panic || re.Message != "boom" || !strings.Contains(re.Stack, "basic_test.go") {
		t.Fatalf("boom: %#v", err)
	}
	if v, err := cluster.Submit(ctx, c, double, pt{1}).Wait(ctx); err != nil || v.X != 2 {
		t.Fatalf("after panic: %v, %v", v, err)
	}
	// The pool counts a task once its callback (store, ack) has returned.
	eventually(t, ctx, "2 completed, 2 failed", func() bool {
		st := w.Stats()
		return st.Completed == 2 && st.Failed == 2 && st.Workers == 1
	})
	eventually(t, ctx, "empty streams", func() bool {
		return streamMsgs(t, nc, "THREADPOOL_TASKS") == 0 && streamMsgs(t, nc, "THREADPOOL_RESULTS") == 0
	})
}

// K3, K17: a handler the worker lacks and an argument that does not decode
// fail at once, without redelivery.
func TestUnknownHandlerAndBadArgument(t *testing.T) {
	ctx, _, nc := serve(t)
	wr := cluster.NewRegistry()
	var ran atomic.Int32
	cluster.Register(wr, "point", func(ctx context.Context, p pt) (int, error) { ran.Add(1); return p.X, nil })
	cr := cluster.NewRegistry() // the client's view: another handler set
	missing := cluster.Register(cr, "missing", func(ctx context.Context, n int) (int, error) { return n, nil })
	wrongType := cluster.Register(cr, "point", func(ctx context.Context, s string) (int, error) { return 0, nil })
	c := newClient(t, nc, cluster.WithAckWait(time.Second))
	startWorker(t, nc, wr, 0, 2, cluster.WithAckWait(time.Second))

	if _, err := cluster.Submit(ctx, c, missing, 1).Wait(ctx); !errors.Is(err, cluster.ErrUnknownHandler) {
		t.Fatalf("missing: %v", err)
	}
	if _, err := cluster.Submit(ctx, c, wrongType, "not a point").Wait(ctx); !errors.Is(err, cluster.ErrBadArgument) {
		t.Fatalf("wrong type: %v", err)
	}
	if ran.Load() != 0 {
		t.Fatal("handler ran on a bad argument")
	}
	// The task is acked just after its result is stored: wait for the ack.
	eventually(t, ctx, "both tasks acked", func() bool { return streamMsgs(t, nc, "THREADPOOL_TASKS") == 0 })
	st, err := c.Stats(ctx)
	if err != nil || st.Redelivered != 0 || st.InFlight != 0 || st.Queued != 0 || st.DuplicateResults != 0 {
		t.Fatalf("stats %+v, %v", st, err)
	}
}

// K3: an argument that does not encode, or is too large, fails at Submit
// and nothing is published.
func TestSubmitRejectsBadArgument(t *testing.T) {
	ctx, _, nc := serve(t)
	r := cluster.NewRegistry()
	bytes := cluster.Register(r, "bytes", func(ctx context.Context, b []byte) (int, error) { return len(b), nil })
	fn := cluster.Register(r, "fn", func(ctx context.Context, f func()) (int, error) { return 0, nil })
	c := newClient(t, nc)

	for name, f := range map[string]*threadpool.Future[int]{
		"oversize":    cluster.Submit(ctx, c, bytes, make([]byte, nc.MaxPayload())),
		"not encoded": cluster.Submit(ctx, c, fn, func() {}),
	} {
		select {
		case <-f.Done():
		default:
			t.Fatalf("%s: Future not resolved when Submit returned", name)
		}
		if _, err := f.Wait(ctx); !errors.Is(err, cluster.ErrBadArgument) {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if err := c.CallInThread(ctx, "bytes", make([]byte, nc.MaxPayload())); !errors.Is(err, cluster.ErrBadArgument) {
		t.Fatalf("CallInThread oversize: %v", err)
	}
	if n := streamMsgs(t, nc, "THREADPOOL_TASKS"); n != 0 {
		t.Fatalf("%d messages published", n)
	}
	// Just under the limit is accepted.
	startWorker(t, nc, r, 0, 1)
	if n, err := cluster.Submit(ctx, c, bytes, make([]byte, nc.MaxPayload()/2)).Wait(ctx); err != nil || n != int(nc.MaxPayload()/2) {
		t.Fatalf("large: %d, %v", n, err)
	}
}

// K15: bad input at the door.
func TestBadInput(t *testing.T) {
	ctx, _, nc := serve(t)
	r := cluster.NewRegistry()
	if _, err := cluster.NewClient(ctx, nil); err == nil {
		t.Error("NewClient(nil conn)")
	}
	if _, err := cluster.NewWorker(nil, r, 1, 1); err == nil {
		t.Error("NewWorker(nil conn)")
	}
	if _, err := cluster.NewWorker(nc, nil, 1, 1); err == nil {
		t.Error("NewWorker(nil registry)")
	}
	for _, mm := range [][2]int{{-1, 2}, {3, 1}} {
		if _, err := cluster.NewWorker(nc, r, mm[0], mm[1]); !errors.Is(err, threadpool.ErrInvalidSize) {
			t.Errorf("NewWorker%v: %v", mm, err)
		}
	}
	w := startWorker(t, nc, r, 1, 2)
	if err := w.AdjustPoolSize(3, 1); !errors.Is(err, threadpool.ErrInvalidSize) {
		t.Errorf("AdjustPoolSize(3, 1): %v", err)
	}
	if _, err := cluster.NewClient(ctx, nc, cluster.WithPrefix("a b")); err == nil {
		t.Error("bad prefix accepted")
	}
	for _, name := range []string{"", "dup", "a b", "x.>"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Register(%q) did not panic", name)
				}
			}()
			if name == "dup" {
				cluster.Register(r, "dup", func(ctx context.Context, n int) (int, error) { return n, nil })
			}
			cluster.Register(r, name, func(ctx context.Context, n int) (int, error) { return n, nil })
		}()
	}
}

// K16: existing streams or consumer with other settings are an error, and
// are left unchanged.
func TestConfigMismatch(t *testing.T) {
	ctx, _, nc := serve(t)
	r := cluster.NewRegistry()
	newClient(t, nc, cluster.WithAckWait(2*time.Second))
	for name, opt := range map[string]cluster.Option{
		"ack wait":    cluster.WithAckWait(3 * time.Second),
		"max deliver": cluster.WithMaxDeliver(9),
		"storage":     cluster.WithMemoryStorage(),
		"result ttl":  cluster.WithResultTTL(time.Minute),
	} {
		if _, err := cluster.NewClient(ctx, nc, cluster.WithAckWait(2*time.Second), opt); !errors.Is(err, cluster.ErrConfigMismatch) {
			t.Errorf("NewClient %s: %v", name, err)
		}
		if _, err := cluster.NewWorker(nc, r, 1, 1, cluster.WithAckWait(2*time.Second), opt); !errors.Is(err, cluster.ErrConfigMismatch) {
			t.Errorf("NewWorker %s: %v", name, err)
		}
	}
	// Unchanged: the original settings still fit.
	startWorker(t, nc, r, 0, 1, cluster.WithAckWait(2*time.Second))
}
