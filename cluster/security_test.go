package cluster_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/twisted-go/threadpool/cluster"
)

// The least-privilege layout of cluster/doc.go ("Security") and
// cluster/README.md, for prefix "threadpool", as nats-server permissions.
var (
	clientPerms = &server.Permissions{
		Publish: &server.SubjectPermission{Allow: []string{
			"threadpool.task.>", "threadpool.cancel", "threadpool.stats",
			"$JS.API.STREAM.INFO.THREADPOOL_TASKS", "$JS.API.STREAM.INFO.THREADPOOL_RESULTS",
			"$JS.API.STREAM.MSG.DELETE.THREADPOOL_TASKS",
			"$JS.API.CONSUMER.INFO.THREADPOOL_TASKS.workers",
			"$JS.API.CONSUMER.CREATE.THREADPOOL_RESULTS.*.threadpool.result.*",
			"$JS.API.CONSUMER.INFO.THREADPOOL_RESULTS.*",
			"$JS.API.CONSUMER.DELETE.THREADPOOL_RESULTS.*",
			"$JS.API.CONSUMER.MSG.NEXT.THREADPOOL_RESULTS.*",
			"$JS.ACK.THREADPOOL_RESULTS.>",
		}},
		Subscribe: &server.SubjectPermission{Allow: []string{
			"_INBOX.>", "threadpool.reply.*",
			"$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.THREADPOOL_TASKS.workers",
		}},
	}
	workerPerms = &server.Permissions{
		Publish: &server.SubjectPermission{Allow: []string{
			"threadpool.result.>", "threadpool.reply.>",
			"$JS.API.STREAM.INFO.THREADPOOL_TASKS", "$JS.API.STREAM.INFO.THREADPOOL_RESULTS",
			"$JS.API.STREAM.MSG.GET.THREADPOOL_TASKS", "$JS.API.STREAM.MSG.DELETE.THREADPOOL_TASKS",
			"$JS.API.CONSUMER.INFO.THREADPOOL_TASKS.workers",
			"$JS.API.CONSUMER.MSG.NEXT.THREADPOOL_TASKS.workers",
			"$JS.ACK.THREADPOOL_TASKS.workers.>",
		}},
		Subscribe: &server.SubjectPermission{Allow: []string{
			"_INBOX.>", "threadpool.cancel", "threadpool.stats", "$SRV.>",
			"$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.THREADPOOL_TASKS.workers",
		}},
		Response: &server.ResponsePermission{MaxMsgs: 1}, // the stats answers
	}
)

// K15: a client and a worker run under the least-privilege layout (users
// with publish and subscribe allow lists, on a loopback listener): a task
// with a stored result, one with an ephemeral result, a handler's error,
// Stats and a cancellation all work, and the server reports no permission
// violation, while one outside the layout (a worker submitting a task) is
// refused. The streams and the consumer are created once by a user with
// full rights (the deployment step).
func TestLeastPrivilege(t *testing.T) {
	ctx := testCtx(t)
	ns, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true,
		Users: []*server.User{
			{Username: "admin", Password: "a"},
			{Username: "client", Password: "c", Permissions: clientPerms},
			{Username: "worker", Password: "w", Permissions: workerPerms},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("server not ready")
	}
	var mu sync.Mutex
	var violations []string
	conn := func(user, pass string) *nats.Conn {
		nc, err := nats.Connect(ns.ClientURL(), nats.UserInfo(user, pass),
			nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
				mu.Lock()
				violations = append(violations, user+": "+err.Error())
				mu.Unlock()
			}))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		return nc
	}
	// The deployment step: streams and consumer, with full rights.
	admin, err := cluster.NewClient(ctx, conn("admin", "a"))
	if err != nil {
		t.Fatal(err)
	}
	admin.Close()

	r := cluster.NewRegistry()
	echo := cluster.Register(r, "echo", func(ctx context.Context, n int) (int, error) { return n, nil })
	fail := cluster.Register(r, "fail", func(ctx context.Context, n int) (int, error) { return 0, errTest })
	block := cluster.Register(r, "block", func(ctx context.Context, n int) (int, error) { <-ctx.Done(); return 0, ctx.Err() })
	wnc := conn("worker", "w")
	startWorker(t, wnc, r, 0, 2)
	for _, opts := range [][]cluster.Option{nil, {cluster.WithEphemeralResults()}} {
		c := newClient(t, conn("client", "c"), opts...)
		if v, err := cluster.Submit(ctx, c, echo, 5).Wait(ctx); err != nil || v != 5 {
			t.Fatal(v, err)
		}
		var re *cluster.RemoteError
		if _, err := cluster.Submit(ctx, c, fail, 1).Wait(ctx); !errors.As(err, &re) {
			t.Fatalf("handler error: %v", err)
		}
		cctx, cancel := context.WithCancel(ctx)
		f := cluster.Submit(cctx, c, block, 1)
		statsUntil(t, ctx, c, "the blocking task running", func(st cluster.Stats) bool { return st.Machines == 1 && st.Working == 1 })
		cancel()
		if _, err := f.Wait(ctx); err == nil {
			t.Fatal("a canceled task succeeded")
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := wnc.FlushTimeout(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if len(violations) > 0 {
		t.Fatalf("permission violations: %v", violations)
	}
	mu.Unlock()
	// Enforced: a worker may not submit.
	wnc.Publish("threadpool.task.echo", []byte("1"))
	wnc.Flush()
	eventually(t, ctx, "the worker's publish refused", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(violations) == 1 && strings.Contains(violations[0], "Permissions Violation for Publish")
	})
}
