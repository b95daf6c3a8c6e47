package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
	"github.com/twisted-go/threadpool"
)

// Stats is a cluster-wide snapshot gathered by Client.Stats (K8). The
// workers' counts are their own pools' snapshots, each taken at its own
// instant, so the sums need not satisfy the core's invariants exactly.
type Stats struct {
	Machines                  int // workers that answered
	Workers, Working, Waiters int // summed self-reports of the live workers
	Queued                    int // stored, not yet delivered (consumer NumPending)
	InFlight, Redelivered     int // delivered, not acked (NumAckPending); NumRedelivered
	DuplicateResults          int // this client's second results for a task, dropped (K1)
}

// statsReply is a worker's answer on the stats subject.
type statsReply struct {
	Worker string           `json:"worker"`
	Stats  threadpool.Stats `json:"stats"`
}

// statsWait bounds how long Client.Stats collects answers.
const statsWait = time.Second

// addService starts the worker's micro service ("threadpool-<prefix>") whose
// endpoint on <prefix>.stats answers the pool's Stats. The endpoint has no
// queue group: every worker answers every request.
func (w *Worker) addService() (micro.Service, error) {
	svc, err := micro.AddService(w.nc, micro.Config{
		Name:               "threadpool-" + streamName(w.cfg.prefix),
		Version:            "1.0.0",
		Description:        "threadpool cluster worker " + w.name,
		Metadata:           map[string]string{"worker": w.name},
		QueueGroupDisabled: true,
		Endpoint: &micro.EndpointConfig{
			Subject: w.subj.stats(),
			Handler: micro.HandlerFunc(func(r micro.Request) {
				r.RespondJSON(statsReply{Worker: w.name, Stats: w.pool.Stats()})
			}),
		},
	})
	if err != nil {
		return nil, fmt.Errorf("cluster: stats service: %w", err)
	}
	return svc, nil
}

// Stats gathers the cluster's snapshot: the workers' consumer's counts, and
// one request on the stats subject answered by every live worker, collected
// until ctx ends or one second passes, whichever comes first (the end of that
// wait is not an error). A worker that stopped or died does not answer, so
// Machines drops at once; its un-acked tasks stay in InFlight until AckWait.
// It returns an error if the consumer's info cannot be read.
func (c *Client) Stats(ctx context.Context) (Stats, error) {
	var s Stats
	var mu sync.Mutex
	inbox := c.nc.NewRespInbox()
	sub, err := c.nc.Subscribe(inbox, func(m *nats.Msg) {
		var r statsReply
		if json.Unmarshal(m.Data, &r) != nil {
			return
		}
		mu.Lock()
		s.Machines++
		s.Workers += r.Stats.Workers
		s.Working += r.Stats.Working
		s.Waiters += r.Stats.Waiters
		mu.Unlock()
	})
	if err != nil {
		return s, fmt.Errorf("cluster: stats: %w", err)
	}
	defer sub.Unsubscribe()
	if err := c.nc.PublishRequest(c.subj.stats(), inbox, nil); err != nil {
		return s, fmt.Errorf("cluster: stats: %w", err)
	}
	wctx, cancel := context.WithTimeout(ctx, statsWait)
	defer cancel()
	ictx, icancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer icancel()
	info, err := c.cons.Info(ictx)
	<-wctx.Done()
	sub.Unsubscribe()
	mu.Lock()
	out := s
	mu.Unlock()
	if err != nil {
		return out, fmt.Errorf("cluster: stats: %w", err)
	}
	out.Queued = int(info.NumPending)
	out.InFlight = info.NumAckPending
	out.Redelivered = info.NumRedelivered
	c.mu.Lock()
	out.DuplicateResults = c.dups
	c.mu.Unlock()
	return out, nil
}
