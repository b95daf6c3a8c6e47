package cluster

import (
	"context"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

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
	nc := inProcess(t)
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

// frozenProxy is a loopback TCP proxy that can stop forwarding, in both
// directions, without closing anything: to each side the other has gone
// silent, as when a server is lost without a word.
type frozenProxy struct {
	ln    net.Listener
	mu    sync.Mutex
	open  chan struct{} // closed while forwarding
	conns []net.Conn
	wg    sync.WaitGroup
}

func newFrozenProxy(t *testing.T, target string) *frozenProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &frozenProxy{ln: ln, open: make(chan struct{})}
	close(p.open)
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			p.wg.Add(2)
			go p.pipe(s, c)
			go p.pipe(c, s)
		}
	}()
	t.Cleanup(func() {
		p.thaw()
		ln.Close()
		p.mu.Lock()
		for _, c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
	return p
}

func (p *frozenProxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			open := p.open
			p.mu.Unlock()
			<-open
			if _, werr := dst.Write(buf[:n]); werr != nil {
				src.Close()
				return
			}
		}
		if err != nil {
			dst.Close()
			return
		}
	}
}

func (p *frozenProxy) freeze() {
	p.mu.Lock()
	p.open = make(chan struct{})
	p.mu.Unlock()
}

func (p *frozenProxy) thaw() {
	p.mu.Lock()
	select {
	case <-p.open:
	default:
		close(p.open)
	}
	p.mu.Unlock()
}

func (p *frozenProxy) url() string { return "nats://" + p.ln.Addr().String() }

// K6, K12: a worker notices a silent server by the missing heartbeats of its
// open pull request (nothing heard for 2.5 heartbeat intervals of 1 s): it
// counts the request lost and asks again, not sooner than that and not in a
// loop; when the server is back, a new task runs and nothing is handed back.
func TestSilentServerNoticedByHeartbeats(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := natsembed.Start(natsembed.Options{Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown()
	nc, err := s.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	p := newFrozenProxy(t, strings.TrimPrefix(s.ClientURL(), "nats://"))
	wnc, err := nats.Connect(p.url())
	if err != nil {
		t.Fatal(err)
	}
	defer wnc.Close()
	r := NewRegistry()
	inc := Register(r, "inc", func(ctx context.Context, n int) (int, error) { return n + 1, nil })
	c, err := NewClient(ctx, nc)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	w, err := NewWorker(wnc, r, 0, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	seq := func() uint64 {
		w.mu.Lock()
		defer w.mu.Unlock()
		return w.pullSeq
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for !cond() {
			select {
			case <-ctx.Done():
				t.Fatalf("timed out waiting for %s", what)
			case <-tick.C:
			}
		}
	}
	waitFor("the worker's first pull request", func() bool { return seq() == 1 })
	p.freeze()
	frozen := time.Now()
	waitFor("a new pull request", func() bool { return seq() == 2 })
	if d := time.Since(frozen); d < 2*time.Second || d > 5*time.Second {
		t.Fatalf("asked again %v after the server went silent, want 2.5-3.5 s", d)
	}
	p.thaw()
	if v, err := Submit(ctx, c, inc, 1).Wait(ctx); err != nil || v != 2 {
		t.Fatal(v, err)
	}
	if n := seq(); n > 4 {
		t.Fatalf("%d pull requests: a loop", n)
	}
	info, err := c.cons.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.NumRedelivered != 0 {
		t.Fatalf("%d redelivered", info.NumRedelivered)
	}
}
