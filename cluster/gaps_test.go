package cluster_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/twisted-go/threadpool/cluster"
	"github.com/twisted-go/threadpool/cluster/natsembed"
)

// taskIDs records the ids (Nats-Msg-Id) of the tasks published on prefix
// threadpool, as a plain subscriber of the task subjects sees them.
func taskIDs(t *testing.T, nc *nats.Conn) <-chan string {
	t.Helper()
	ids := make(chan string, 100)
	sub, err := nc.Subscribe("threadpool.task.>", func(m *nats.Msg) { ids <- m.Header.Get(nats.MsgIdHdr) })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Unsubscribe() })
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return ids
}

// K1, end to end: a second result for a task whose Future is resolved (a
// re-run's, as a worker sends it: on the client's result subject, stored in
// the results stream under another dedup id, or as a plain message to an
// ephemeral-results client) reaches the client over NATS, is dropped and
// counted in DuplicateResults; the Future keeps its first value.
func TestSecondResultOverNATS(t *testing.T) {
	for _, ephemeral := range []bool{false, true} {
		name := map[bool]string{false: "stored", true: "ephemeral"}[ephemeral]
		t.Run(name, func(t *testing.T) {
			ctx, s, nc := serve(t)
			r := cluster.NewRegistry()
			echo := cluster.Register(r, "echo", func(ctx context.Context, n int) (int, error) { return n, nil })
			var opts []cluster.Option
			if ephemeral {
				opts = append(opts, cluster.WithEphemeralResults())
			}
			c := newClient(t, nc, opts...)
			ids := taskIDs(t, nc)
			startWorker(t, connect(t, s), r, 0, 1)
			f := cluster.Submit(ctx, c, echo, 7)
			if v, err := f.Wait(ctx); err != nil || v != 7 {
				t.Fatal(v, err)
			}
			id := <-ids
			m := nats.NewMsg("threadpool.result." + c.ID())
			m.Header.Set(nats.MsgIdHdr, "r2-"+id) // a re-run after the duplicates window
			m.Header.Set("Tp-Task", id)
			m.Header.Set("Tp-Status", "ok")
			m.Header.Set("Tp-Worker", "another")
			m.Data = []byte("8")
			if ephemeral {
				m.Subject = "threadpool.reply." + c.ID()
				if err := nc.PublishMsg(m); err != nil {
					t.Fatal(err)
				}
			} else {
				js, _ := jetstream.New(nc)
				if _, err := js.PublishMsg(ctx, m); err != nil {
					t.Fatal(err)
				}
			}
			statsUntil(t, ctx, c, "one duplicate result", func(st cluster.Stats) bool { return st.DuplicateResults == 1 })
			if v, err := f.Wait(ctx); err != nil || v != 7 {
				t.Fatalf("after the second result: %v, %v", v, err)
			}
			if !ephemeral {
				eventually(t, ctx, "the second result acked", func() bool { return streamMsgs(t, nc, "THREADPOOL_RESULTS") == 0 })
			}
		})
	}
}

// K8: Client.Stats collects answers for one second when its ctx allows
// longer (a ctx without deadline, or a long one), and that end is not an
// error. The bound is the contract's, not a speed claim.
func TestStatsWaitsOneSecond(t *testing.T) {
	s := startServer(t, natsembed.Options{})
	nc := connect(t, s)
	c := newClient(t, nc)
	startWorker(t, connect(t, s), cluster.NewRegistry(), 0, 2)
	long, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	for name, sctx := range map[string]context.Context{"no deadline": context.Background(), "an hour": long} {
		start := time.Now()
		st, err := c.Stats(sctx)
		d := time.Since(start)
		if err != nil || st.Machines != 1 {
			t.Fatalf("%s: %+v, %v", name, st, err)
		}
		if d < 900*time.Millisecond || d > 3*time.Second {
			t.Fatalf("%s: Stats returned after %v, want about 1s", name, d)
		}
	}
}

// K12: with WithEphemeralResults a result sent while the client is
// disconnected is lost: the Future does not resolve, and Wait returns at its
// own ctx; the client works again once reconnected. The client connects
// over loopback through a dialer the test holds closed while it is cut off.
func TestEphemeralResultLostWhileDisconnected(t *testing.T) {
	ctx := testCtx(t)
	s := startServer(t, natsembed.Options{Port: -1})
	g, r, hold := holdRegistry()
	startWorker(t, connect(t, s), r, 0, 1)
	var cut atomic.Bool
	allow := make(chan struct{})
	disc, recon := make(chan struct{}, 1), make(chan struct{}, 1)
	cnc := connect(t, s) // the test's own; the client's is cnc2
	cnc2, err := nats.Connect(s.ClientURL(),
		nats.SetCustomDialer(dialerFunc(func(network, addr string) (net.Conn, error) {
			if cut.Load() {
				select {
				case <-allow:
				case <-ctx.Done():
					return nil, ctx.Err()
				}
			}
			return net.Dial(network, addr)
		})),
		nats.MaxReconnects(-1), nats.ReconnectWait(10*time.Millisecond),
		nats.DisconnectErrHandler(func(*nats.Conn, error) { disc <- struct{}{} }),
		nats.ReconnectHandler(func(*nats.Conn) { recon <- struct{}{} }))
	if err != nil {
		t.Fatal(err)
	}
	defer cnc2.Close()
	defer func() {
		select {
		case <-allow:
		default:
			close(allow)
		}
	}()
	c := newClient(t, cnc2, cluster.WithEphemeralResults())
	f := cluster.Submit(ctx, c, hold, 1)
	g.recv(t, ctx) // running on the worker

	cid, err := cnc2.GetClientID()
	if err != nil {
		t.Fatal(err)
	}
	cut.Store(true)
	if err := s.NATS().DisconnectClientByID(cid); err != nil {
		t.Fatal(err)
	}
	select {
	case <-disc:
	case <-ctx.Done():
		t.Fatal("the client was not disconnected")
	}
	eventually(t, ctx, "the server forgot the client", func() bool {
		cz, err := s.NATS().Connz(&server.ConnzOptions{CID: cid})
		return err == nil && len(cz.Conns) == 0
	})
	close(g.release) // the worker sends the result to nobody, then acks the task
	eventually(t, ctx, "the task acked", func() bool { return streamMsgs(t, cnc, "THREADPOOL_TASKS") == 0 })
	close(allow)
	select {
	case <-recon:
	case <-ctx.Done():
		t.Fatal("the client did not reconnect")
	}
	// Connected again: a new task's result arrives, the lost one does not.
	if v, err := cluster.Submit(ctx, c, hold, 2).Wait(ctx); err != nil || v != 2 {
		t.Fatal(v, err)
	}
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if _, err := f.Wait(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("the lost result's Future: %v", err)
	}
	select {
	case <-f.Done():
		t.Fatal("the Future resolved")
	default:
	}
}

type dialerFunc func(network, addr string) (net.Conn, error)

func (d dialerFunc) Dial(network, addr string) (net.Conn, error) { return d(network, addr) }

// K16: an existing stream with other replicas or other subjects is an error
// wrapping ErrConfigMismatch, from NewClient and NewWorker, and is left as
// it is.
func TestConfigMismatchReplicasAndSubjects(t *testing.T) {
	ctx, _, nc := serve(t)
	r := cluster.NewRegistry()
	newClient(t, nc) // creates the streams, replicas 1
	if _, err := cluster.NewClient(ctx, nc, cluster.WithReplicas(3)); !errors.Is(err, cluster.ErrConfigMismatch) ||
		!strings.Contains(err.Error(), "replicas 1, want 3") {
		t.Errorf("NewClient with replicas 3: %v", err)
	}
	if _, err := cluster.NewWorker(nc, r, 1, 1, cluster.WithReplicas(3)); !errors.Is(err, cluster.ErrConfigMismatch) ||
		!strings.Contains(err.Error(), "replicas 1, want 3") {
		t.Errorf("NewWorker with replicas 3: %v", err)
	}
	// A tasks stream of prefix "other" made by someone else, on other subjects.
	js, _ := jetstream.New(nc)
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "OTHER_TASKS", Subjects: []string{"other.task.x"},
		Retention: jetstream.WorkQueuePolicy}); err != nil {
		t.Fatal(err)
	}
	if _, err := cluster.NewClient(ctx, nc, cluster.WithPrefix("other")); !errors.Is(err, cluster.ErrConfigMismatch) ||
		!strings.Contains(err.Error(), "subjects [other.task.x], want [other.task.>]") {
		t.Errorf("NewClient with other subjects: %v", err)
	}
	if _, err := cluster.NewWorker(nc, r, 1, 1, cluster.WithPrefix("other")); !errors.Is(err, cluster.ErrConfigMismatch) ||
		!strings.Contains(err.Error(), "subjects [other.task.x], want [other.task.>]") {
		t.Errorf("NewWorker with other subjects: %v", err)
	}
	st, err := js.Stream(ctx, "OTHER_TASKS")
	if err != nil {
		t.Fatal(err)
	}
	if subj := st.CachedInfo().Config.Subjects; len(subj) != 1 || subj[0] != "other.task.x" {
		t.Fatalf("the stream was changed: %v", subj)
	}
	// Unchanged: the original settings still fit.
	startWorker(t, nc, r, 0, 1)
}
