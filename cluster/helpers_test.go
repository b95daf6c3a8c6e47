package cluster_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/twisted-go/threadpool/cluster"
	"github.com/twisted-go/threadpool/cluster/natsembed"
)

// timeout bounds every wait of a test.
const timeout = 60 * time.Second

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	return ctx
}

func startServer(t *testing.T, o natsembed.Options) *natsembed.Server {
	t.Helper()
	s, err := natsembed.Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	return s
}

func connect(t *testing.T, s *natsembed.Server, opts ...nats.Option) *nats.Conn {
	t.Helper()
	nc, err := s.Connect(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// serve starts a server of the test's own and connects to it: the test's
// bounded context, the server and the connection, which the test's cleanup
// closes.
func serve(t *testing.T) (context.Context, *natsembed.Server, *nats.Conn) {
	t.Helper()
	ctx := testCtx(t)
	s := startServer(t, natsembed.Options{})
	return ctx, s, connect(t, s)
}

// restartableServer starts a server with file storage in a directory of
// the test's own, on a free port. restart starts another on the same
// directory and port, to take the first one's place once the test has shut
// it down. The test's cleanup shuts both down.
func restartableServer(t *testing.T) (s *natsembed.Server, restart func() *natsembed.Server) {
	t.Helper()
	dir := t.TempDir()
	s = startServer(t, natsembed.Options{Dir: dir, Port: -1})
	url := s.ClientURL()
	return s, func() *natsembed.Server {
		t.Helper()
		var port int
		fmt.Sscanf(url[strings.LastIndex(url, ":")+1:], "%d", &port)
		return startServer(t, natsembed.Options{Dir: dir, Port: port})
	}
}

func newClient(t *testing.T, nc *nats.Conn, opts ...cluster.Option) *cluster.Client {
	t.Helper()
	c, err := cluster.NewClient(testCtx(t), nc, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func startWorker(t *testing.T, nc *nats.Conn, r *cluster.Registry, min, max int, opts ...cluster.Option) *cluster.Worker {
	t.Helper()
	w, err := cluster.NewWorker(nc, r, min, max, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Stop() })
	return w
}

// eventually polls cond on a ticker until it holds, failing the test at ctx's
// end. It is for server-side state that sends no event (stream counts).
func eventually(t *testing.T, ctx context.Context, what string, cond func() bool) {
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

// streamMsgs returns how many messages the stream holds.
func streamMsgs(t *testing.T, nc *nats.Conn, name string) uint64 {
	t.Helper()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

// gate is a handler gate: started receives each start, release lets them return.
type gate struct {
	started chan int
	release chan struct{}
}

func newGate() *gate { return &gate{started: make(chan int, 1000), release: make(chan struct{})} }

func (g *gate) recv(t *testing.T, ctx context.Context) int {
	t.Helper()
	select {
	case n := <-g.started:
		return n
	case <-ctx.Done():
		t.Fatal("timed out waiting for a handler to start")
	}
	return 0
}

// holdRegistry registers "hold" on a new gate: it reports its argument on
// g.started and returns it once g.release is closed (or fails when its ctx
// ends).
func holdRegistry() (*gate, *cluster.Registry, cluster.Task[int, int]) {
	g := newGate()
	r := cluster.NewRegistry()
	return g, r, cluster.Register(r, "hold", func(ctx context.Context, n int) (int, error) {
		g.started <- n
		select {
		case <-g.release:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
		return n, nil
	})
}

// child is a worker process (this test binary re-executed).
type child struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed once the process has exited and been reaped
}

// startChild starts a worker process on url and waits until its worker
// runs, or until the process has exited: a poison task can reach a new
// worker and end its process before it announces itself.
func startChild(t *testing.T, ctx context.Context, nc *nats.Conn, url, prefix string, ackWait time.Duration, maxDeliver int) *child {
	t.Helper()
	ready := make(chan *nats.Msg, 1)
	sub, err := nc.ChanSubscribe("test.ready", ready)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	nc.Flush()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envChild+"="+url, envPrefix+"="+prefix,
		envAckWait+"="+strconv.Itoa(int(ackWait/time.Millisecond)), envMaxDel+"="+strconv.Itoa(maxDeliver))
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, exited: make(chan struct{})}
	go func() { cmd.Wait(); close(c.exited) }()
	t.Cleanup(func() { c.kill() })
	select {
	case <-ready:
	case <-c.exited:
	case <-ctx.Done():
		t.Fatalf("child worker not ready: %v", ctx.Err())
	}
	return c
}

// kill kills the process with SIGKILL and waits until it is reaped.
func (c *child) kill() {
	select {
	case <-c.exited:
	default:
		c.cmd.Process.Signal(syscall.SIGKILL)
		<-c.exited
	}
}
