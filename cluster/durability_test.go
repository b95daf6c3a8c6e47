package cluster_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/twisted-go/threadpool"
	"github.com/twisted-go/threadpool/cluster"
	"github.com/twisted-go/threadpool/cluster/natsembed"
)

// reconnecting are the connection options of a client that survives a
// server restart or the loss of one server.
func reconnecting() []nats.Option {
	return []nats.Option{nats.MaxReconnects(-1), nats.ReconnectWait(50 * time.Millisecond), nats.DontRandomize()}
}

// K12: with file storage, stored tasks survive a server restart: a client
// that reconnects gets every Future resolved by a worker started after it.
func TestFileStorageSurvivesRestart(t *testing.T) {
	ctx := testCtx(t)
	s1, restart := restartableServer(t)
	nc := connect(t, s1, reconnecting()...)
	r := cluster.NewRegistry()
	inc := cluster.Register(r, "inc", func(ctx context.Context, n int) (int, error) { return n + 1, nil })
	c := newClient(t, nc)
	var futs []*threadpool.Future[int]
	for i := range 20 {
		futs = append(futs, cluster.Submit(ctx, c, inc, i))
	}
	s1.Shutdown()

	s2 := restart()
	if n := streamMsgs(t, connect(t, s2), "THREADPOOL_TASKS"); n != 20 {
		t.Fatalf("%d tasks after the restart, want 20", n)
	}
	startWorker(t, connect(t, s2), r, 0, 4)
	for i, f := range futs {
		if v, err := f.Wait(ctx); err != nil || v != i+1 {
			t.Fatalf("task %d: %d, %v", i, v, err)
		}
	}
}

// startCluster starts a 3-server JetStream cluster on loopback and waits
// until it has a JetStream meta leader.
func startCluster(t *testing.T, ctx context.Context) []*natsembed.Server {
	t.Helper()
	// JetStream clustering wants every server's routes configured: pick
	// three free loopback ports for the routes first.
	var ports []int
	var routes []string
	for range 3 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
		routes = append(routes, fmt.Sprintf("nats://%s", l.Addr()))
		l.Close()
	}
	var ss []*natsembed.Server
	for i := range 3 {
		ss = append(ss, startServer(t, natsembed.Options{Port: -1, Name: fmt.Sprintf("n%d", i),
			Cluster: natsembed.Cluster{Name: "tp", Port: ports[i], Routes: routes}}))
	}
	nc := connect(t, ss[0])
	js, _ := jetstream.New(nc)
	eventually(t, ctx, "a JetStream meta leader", func() bool {
		actx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		_, err := js.AccountInfo(actx)
		return err == nil
	})
	return ss
}

// K12: on a 3-node cluster with WithReplicas(3), losing the server the
// client (and one worker) is connected to, mid-run, loses nothing: every
// Future resolves with its value.
func TestThreeNodeClusterLosesANode(t *testing.T) {
	if testing.Short() {
		t.Skip("a 3-node cluster")
	}
	ctx := testCtx(t)
	t0 := time.Now()
	ss := startCluster(t, ctx)
	t.Logf("cluster ready after %v", time.Since(t0))
	urls := []string{ss[0].ClientURL(), ss[1].ClientURL(), ss[2].ClientURL()}
	dial := func(first int) *nats.Conn {
		order := append([]string{urls[first]}, append(urls[:first:first], urls[first+1:]...)...)
		nc, err := nats.Connect(strings.Join(order, ","), reconnecting()...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		return nc
	}
	opts := []cluster.Option{cluster.WithReplicas(3), cluster.WithAckWait(2 * time.Second)}
	r := cluster.NewRegistry()
	sq := cluster.Register(r, "sq", func(ctx context.Context, n int) (int, error) { return n * n, nil })
	c, err := cluster.NewClient(ctx, dial(0), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	for i := range 3 {
		startWorker(t, dial(i), r, 1, 4, opts...)
	}

	const n = 400
	futs := make([]*threadpool.Future[int], n)
	half := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range n {
			futs[i] = cluster.Submit(ctx, c, sq, i)
			if i == n/2 {
				close(half)
			}
		}
	})
	<-half
	t.Logf("half submitted after %v", time.Since(t0))
	ss[0].Shutdown() // the client's server, and one worker's
	t.Logf("node down after %v", time.Since(t0))
	wg.Wait()
	t.Logf("all submitted after %v", time.Since(t0))
	for i, f := range futs {
		if v, err := f.Wait(ctx); err != nil || v != i*i {
			t.Fatalf("task %d: %d, %v", i, v, err)
		}
	}
	t.Logf("all resolved after %v", time.Since(t0))
}
