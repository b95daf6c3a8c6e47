package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twisted-go/threadpool/cluster"
	"github.com/twisted-go/threadpool/cluster/natsembed"
)

// A Worker and a Client on one embedded server (no listener). On real
// machines each side only gets its own *nats.Conn to the same NATS cluster.
func Example() {
	srv, err := natsembed.Start(natsembed.Options{}) // Port 0: in-process only
	if err != nil {
		panic(err)
	}
	defer srv.Shutdown()
	nc, err := srv.Connect()
	if err != nil {
		panic(err)
	}
	defer nc.Close()

	// The handler set, the same on every worker and client of the prefix.
	reg := cluster.NewRegistry()
	square := cluster.Register(reg, "square", func(ctx context.Context, n int) (int, error) {
		return n * n, nil
	})

	w, err := cluster.NewWorker(nc, reg, 0, 4)
	if err != nil {
		panic(err)
	}
	if err := w.Start(); err != nil {
		panic(err)
	}
	defer w.Stop()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := cluster.NewClient(ctx, nc)
	if err != nil {
		panic(err)
	}
	defer c.Close()

	n, err := cluster.Submit(ctx, c, square, 12).Wait(ctx)
	fmt.Println(n, err)
	// Output: 144 <nil>
}

// A handler's error and panic reach the Future as a *RemoteError.
func ExampleRemoteError() {
	srv, _ := natsembed.Start(natsembed.Options{})
	defer srv.Shutdown()
	nc, _ := srv.Connect()
	defer nc.Close()
	reg := cluster.NewRegistry()
	div := cluster.Register(reg, "div", func(ctx context.Context, p [2]int) (int, error) {
		if p[1] == 0 {
			return 0, errors.New("division by zero")
		}
		return p[0] / p[1], nil
	})
	w, _ := cluster.NewWorker(nc, reg, 0, 1, cluster.WithWorkerName("w1"))
	w.Start()
	defer w.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _ := cluster.NewClient(ctx, nc, cluster.WithEphemeralResults())
	defer c.Close()

	_, err := cluster.Submit(ctx, c, div, [2]int{1, 0}).Wait(ctx)
	var re *cluster.RemoteError
	fmt.Println(errors.As(err, &re), re.Message, re.Worker)
	// Output: true division by zero w1
}

// Stats gathers every live worker's pool and the stream's counts.
func ExampleClient_Stats() {
	srv, _ := natsembed.Start(natsembed.Options{})
	defer srv.Shutdown()
	nc, _ := srv.Connect()
	defer nc.Close()
	reg := cluster.NewRegistry()
	for _, name := range []string{"a", "b"} {
		w, _ := cluster.NewWorker(nc, reg, 2, 8, cluster.WithWorkerName(name))
		w.Start()
		defer w.Stop()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _ := cluster.NewClient(ctx, nc)
	defer c.Close()
	sctx, scancel := context.WithTimeout(ctx, 200*time.Millisecond) // bounds the gathering
	defer scancel()
	st, err := c.Stats(sctx)
	fmt.Printf("%d machines, %d workers, %d queued, %v\n", st.Machines, st.Workers, st.Queued, err)
	// Output: 2 machines, 4 workers, 0 queued, <nil>
}
