package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"
)

// Client submits tasks to the workers of one prefix and resolves their
// Futures from the results. Make one with NewClient; it is safe for
// concurrent use. Its goroutines (result delivery, advisories, cancellation)
// end in Close.
type Client struct {
	nc   *nats.Conn
	js   jetstream.JetStream
	pub  *publisher // stores the tasks
	cfg  config
	subj subjects
	id   string

	tasks        jetstream.Stream
	results      jetstream.Stream
	cons         jetstream.Consumer       // the workers' consumer, for Stats and cancellation
	resName      string                   // this client's results consumer (stored results)
	resCC        jetstream.ConsumeContext // stored results
	replySub     *nats.Subscription       // ephemeral results
	replySubject string                   // theirs: <prefix>.reply.<client id>
	advSub       *nats.Subscription       // MAX_DELIVERIES advisories

	mu      sync.Mutex
	pending map[string]*pendingTask // by task id
	bySeq   map[uint64]string       // stream sequence -> task id
	closed  bool
	dups    int
	wg      sync.WaitGroup // cancellations and advisories in progress
}

// pendingTask is a submitted task whose Future is not resolved.
type pendingTask struct {
	handler string
	seq     uint64                       // its stream sequence, once stored
	resolve func(data []byte, err error) // decodes and resolves the Future
	stop    func() bool                  // stops the ctx watcher
}

// NewClient connects a client to the streams of its prefix, creating them and
// the workers' consumer when absent (so tasks can be submitted before any
// worker exists; K16), and starts receiving results: from its own consumer on
// the results stream (filtered on <prefix>.result.<client id>), or from the
// core subject <prefix>.reply.<client id> with WithEphemeralResults.
//
// It returns an error for a nil nc or ctx, invalid options, or streams that
// exist with other settings (wrapping ErrConfigMismatch). ctx bounds only the
// setup. nc stays the caller's: Close does not close it.
func NewClient(ctx context.Context, nc *nats.Conn, opts ...Option) (*Client, error) {
	if nc == nil || ctx == nil {
		return nil, errors.New("cluster: NewClient with a nil connection or context")
	}
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	c := &Client{nc: nc, js: js, cfg: cfg, subj: subjects{cfg.prefix}, id: nuid.Next(),
		pending: map[string]*pendingTask{}, bySeq: map[uint64]string{}}
	if c.tasks, c.results, c.cons, err = ensureAll(ctx, js, cfg); err != nil {
		return nil, err
	}
	if c.pub, err = newPublisher(nc, cfg.publishWait); err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	if c.advSub, err = nc.Subscribe(advisorySubject(c.subj.tasksStream()), c.onAdvisory); err != nil {
		c.pub.close()
		return nil, fmt.Errorf("cluster: %w", err)
	}
	if cfg.ephemeral {
		c.replySubject = c.subj.reply(c.id)
		c.replySub, err = nc.Subscribe(c.replySubject, func(m *nats.Msg) { c.onResult(m.Header, m.Data) })
		if err == nil {
			err = nc.FlushTimeout(5 * time.Second) // the subscription exists before any task does
		}
	} else {
		err = c.consumeResults(ctx)
	}
	if err != nil {
		c.pub.close()
		c.advSub.Unsubscribe()
		if c.replySub != nil {
			c.replySub.Unsubscribe()
		}
		return nil, fmt.Errorf("cluster: results: %w", err)
	}
	return c, nil
}

// consumeResults creates this client's results consumer and consumes it.
func (c *Client) consumeResults(ctx context.Context) error {
	c.resName = "client-" + c.id
	rc, err := c.results.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Name:              c.resName,
		FilterSubject:     c.subj.result(c.id),
		AckPolicy:         jetstream.AckExplicitPolicy,
		DeliverPolicy:     jetstream.DeliverAllPolicy,
		InactiveThreshold: c.cfg.resultTTL,
		AckWait:           c.cfg.ackWait, // a result lost on its way (a reconnect) comes again after it
		MaxAckPending:     1 << 16,
	})
	if err != nil {
		return err
	}
	c.resCC, err = rc.Consume(func(m jetstream.Msg) {
		c.onResult(m.Headers(), m.Data())
		m.Ack() // after the Future is resolved (K12); a lost ack redelivers, counted as duplicate
	}, jetstream.PullExpiry(5*time.Second), jetstream.PullHeartbeat(time.Second))
	return err
}

// ID returns the client's random id, the last token of its result subject.
func (c *Client) ID() string { return c.id }

// onResult resolves the Future of the result's task, or counts a result for
// a task that is not pending (resolved already, or after Close) (K1).
func (c *Client) onResult(h nats.Header, data []byte) {
	id := h.Get(hdrTask)
	c.mu.Lock()
	p := c.pending[id]
	if p == nil {
		c.dups++
		c.mu.Unlock()
		return
	}
	c.forgetLocked(id, p)
	c.mu.Unlock()
	p.resolve(data, resultError(h.Get(hdrStatus), p.handler, h.Get(hdrWorker), data))
}

// forgetLocked removes a pending task; the caller then resolves it.
func (c *Client) forgetLocked(id string, p *pendingTask) {
	delete(c.pending, id)
	delete(c.bySeq, p.seq)
	if p.stop != nil {
		p.stop()
	}
}

// fail resolves the pending task id with err, if it is still pending;
// it reports whether it did.
func (c *Client) fail(id string, err error) bool {
	c.mu.Lock()
	p := c.pending[id]
	if p == nil {
		c.mu.Unlock()
		return false
	}
	c.forgetLocked(id, p)
	c.mu.Unlock()
	p.resolve(nil, err)
	return true
}

// onAdvisory handles a MAX_DELIVERIES advisory for a task of this client:
// whoever removes the message from the stream reports it, this client or a
// worker (which then sends a result), so the Future resolves once (K5).
func (c *Client) onAdvisory(m *nats.Msg) {
	var a maxDeliveriesAdvisory
	if json.Unmarshal(m.Data, &a) != nil {
		return
	}
	c.mu.Lock()
	id, ok := c.bySeq[a.StreamSeq]
	if !ok || c.closed {
		c.mu.Unlock()
		return
	}
	c.wg.Add(1)
	c.mu.Unlock()
	defer c.wg.Done()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if c.tasks.DeleteMsg(ctx, a.StreamSeq) == nil {
		c.fail(id, fmt.Errorf("%w: task %s after %d deliveries", ErrDeliveriesExhausted, id, a.Deliveries))
	}
}

// testHookClosing, when set (by tests), runs in Close once the pending
// Futures have failed, before the results stop arriving.
var testHookClosing func(*Client)

// Close fails every pending Future with an error wrapping ErrClosed (their
// tasks may still run; their results are then dropped), stops receiving
// results, waits for its goroutines and removes its results consumer (best
// effort). Later Submits fail with ErrClosed. Close twice returns nil.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	pend := c.pending
	c.pending = map[string]*pendingTask{}
	c.bySeq = map[uint64]string{}
	c.mu.Unlock()
	for _, p := range pend {
		if p.stop != nil {
			p.stop()
		}
		p.resolve(nil, fmt.Errorf("%w: task %s not resolved (it may still run)", ErrClosed, p.handler))
	}
	if testHookClosing != nil {
		testHookClosing(c)
	}
	c.pub.close()
	c.advSub.Unsubscribe()
	if c.replySub != nil {
		c.replySub.Unsubscribe()
	}
	if c.resCC != nil {
		c.resCC.Stop()
		<-c.resCC.Closed()
	}
	c.wg.Wait()
	if c.resName != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		c.results.DeleteConsumer(ctx, c.resName)
		cancel()
	}
	return nil
}
