package cluster

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twisted-go/threadpool/cluster/natsembed"
)

// K6: a delivered task moves from "asked for" to "held" in one step. Task B
// arrives while task A runs; before the worker accounts for B, A finishes
// and tops up. The worker must still count B, so its requests never ask for
// more than window − held: at no point do held and outstanding requests
// together exceed the window (else a task beyond it is delivered and handed
// back, which counts as a delivery).
func TestDeliveryAccountedInOneStep(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := natsembed.Start(natsembed.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown()
	nc, err := s.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	r := NewRegistry()
	release := []chan struct{}{nil, make(chan struct{}), make(chan struct{})}
	started := make(chan int, 4)
	hold := Register(r, "hold", func(ctx context.Context, n int) (int, error) {
		started <- n
		<-release[n]
		return n, nil
	})
	c, err := NewClient(ctx, nc, WithEphemeralResults())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	w, err := NewWorker(nc, r, 0, 2)
	if err != nil {
		t.Fatal(err)
	}
	arrived, resume := make(chan struct{}), make(chan struct{})
	var armed atomic.Bool
	testHookDelivered = func() { // B's delivery: hold it until A has finished
		if armed.Load() {
			close(arrived)
			<-resume
		}
	}
	defer func() { testHookDelivered = nil }()
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	fa := Submit(ctx, c, hold, 1)
	select {
	case <-started:
	case <-ctx.Done():
		t.Fatal("task A did not start")
	}
	armed.Store(true)
	fb := Submit(ctx, c, hold, 2)
	select {
	case <-arrived:
	case <-ctx.Done():
		t.Fatal("task B was not delivered")
	}
	close(release[1])
	if _, err := fa.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	// A's finish drops it and tops up before it acks: wait for the ack.
	for {
		info, err := w.cons.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.NumAckPending == 1 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("task A was not acked")
		case <-time.After(10 * time.Millisecond): // polling server state, which sends no event
		}
	}
	close(resume)
	select {
	case <-started: // B is held and runs
	case <-ctx.Done():
		t.Fatal("task B did not start")
	}
	w.mu.Lock()
	held, asked := len(w.held), w.outstanding
	w.mu.Unlock()
	close(release[2])
	if _, err := fb.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if held+asked > 2 {
		t.Fatalf("%d held and %d asked for, window 2", held, asked)
	}
}
