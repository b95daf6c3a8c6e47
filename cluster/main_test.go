package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"go.uber.org/goleak"

	"github.com/twisted-go/threadpool/cluster"
)

// TestMain runs the tests under goleak, or, when envChild is set, runs this
// binary as a worker process for the tests that kill one (see childWorker).
func TestMain(m *testing.M) {
	if os.Getenv(envChild) != "" {
		childWorker()
		return
	}
	goleak.VerifyTestMain(m)
}

const (
	envChild   = "CLUSTER_TEST_CHILD"   // the server URL the child worker connects to
	envPrefix  = "CLUSTER_TEST_PREFIX"  // its prefix
	envAckWait = "CLUSTER_TEST_ACKWAIT" // its AckWait, ms
	envMaxDel  = "CLUSTER_TEST_MAXDEL"  // its MaxDeliver
)

// childRegistry is the handler set of a child worker: "hold" announces on
// subject "test.started" that it started and then never returns (the parent
// kills the process); "poison" exits the process at once.
func childRegistry(nc *nats.Conn) *cluster.Registry {
	r := cluster.NewRegistry()
	cluster.Register(r, "hold", func(ctx context.Context, n int) (int, error) {
		nc.Publish("test.started", []byte(strconv.Itoa(n)))
		nc.Flush()
		<-ctx.Done()
		return 0, ctx.Err()
	})
	cluster.Register(r, "poison", func(ctx context.Context, n int) (int, error) {
		os.Exit(3)
		return 0, nil
	})
	return r
}

// childWorker is the body of a worker process: it connects, starts a
// Worker(1, 1), tells the parent on "test.ready" and waits to be killed.
func childWorker() {
	nc, err := nats.Connect(os.Getenv(envChild))
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(2)
	}
	ms, _ := strconv.Atoi(os.Getenv(envAckWait))
	md, _ := strconv.Atoi(os.Getenv(envMaxDel))
	w, err := cluster.NewWorker(nc, childRegistry(nc), 1, 1, cluster.WithPrefix(os.Getenv(envPrefix)),
		cluster.WithAckWait(time.Duration(ms)*time.Millisecond), cluster.WithMaxDeliver(md))
	if err == nil {
		err = w.Start()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(2)
	}
	nc.Publish("test.ready", []byte(w.Name()))
	nc.Flush()
	select {} // until SIGKILL
}

var errTest = errors.New("handler error")
