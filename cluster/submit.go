package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nuid"
	"github.com/twisted-go/threadpool"
)

// hdrNoResult marks a task submitted by CallInThread: the worker sends no result.
const hdrNoResult = "Tp-No-Result"

// publishBound bounds how long a submission retries storing its task (for
// example while a cluster elects a new stream leader). Retries carry the same
// dedup id, so the task is stored once (K10).
const publishBound = 15 * time.Second

// Submit stores a task that runs t's handler on arg on some worker and
// returns its Future (the core's *threadpool.Future). It blocks until the
// server has stored the task (its PubAck), at most publishBound.
//
// The Future resolves with the handler's result; with a *RemoteError when the
// handler fails or panics (K2); with an error wrapping ErrUnknownHandler or
// ErrBadArgument when no worker can run it (K3); ErrDeliveriesExhausted (K5);
// threadpool.ErrCanceled and ctx.Err() when ctx ends before the task starts
// (K9), while a running handler sees its ctx canceled and its result counts;
// ErrClosed when the client is closed first (K11). It is already resolved when
// Submit returns if arg does not encode or exceeds the server's payload limit
// (ErrBadArgument), if ctx is done, after Close, or if the task could not be
// stored; then nothing is published.
func Submit[A, R any](ctx context.Context, c *Client, t Task[A, R], arg A) *threadpool.Future[R] {
	fut, resolve := threadpool.NewFuture[R]()
	fail := func(err error) {
		var zero R
		resolve(zero, err)
	}
	if c == nil || ctx == nil {
		fail(errors.New("cluster: Submit with a nil client or context"))
		return fut
	}
	data, err := json.Marshal(arg)
	if err != nil {
		fail(fmt.Errorf("%w: %s: %v", ErrBadArgument, t.name, err))
		return fut
	}
	p := &pendingTask{handler: t.name, resolve: func(data []byte, err error) {
		var r R
		if err == nil {
			if e := json.Unmarshal(data, &r); e != nil {
				err = fmt.Errorf("cluster: result of %s does not decode: %w", t.name, e)
			}
		}
		resolve(r, err)
	}}
	if err := c.submit(ctx, t.name, data, p); err != nil {
		fail(err)
	}
	return fut
}

// CallInThread stores a task that runs the handler name on arg (encoded as
// JSON), and returns once the server has stored it: nil then means it will
// run at least once (or be removed after MaxDeliver deliveries); its result
// is discarded (no result is sent). It returns an error wrapping
// ErrBadArgument for an argument that does not encode or is too large,
// ErrClosed after Close, and the publishing error if the task could not be
// stored. ctx's deadline travels with the task as in Submit; a ctx done at
// the call is an error wrapping threadpool.ErrCanceled.
func (c *Client) CallInThread(ctx context.Context, name string, arg any) error {
	if ctx == nil {
		return errors.New("cluster: CallInThread with a nil context")
	}
	data, err := json.Marshal(arg)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrBadArgument, name, err)
	}
	return c.submit(ctx, name, data, nil)
}

// submit publishes one task; p is nil for a task without a result.
func (c *Client) submit(ctx context.Context, name string, data []byte, p *pendingTask) error {
	if !validName(name) {
		return fmt.Errorf("%w: invalid handler name %q", ErrUnknownHandler, name)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("cluster: %s not submitted: %w", name, fmt.Errorf("%w: %w", threadpool.ErrCanceled, err))
	}
	id := nuid.Next()
	reply := ""
	if c.cfg.ephemeral {
		reply = c.replySubject
	}
	dl, hasDL := ctx.Deadline()
	msg := &nats.Msg{Subject: c.subj.task(name), Header: taskHeader(id, name, c.id, reply, dl, hasDL), Data: data}
	if p == nil {
		msg.Header.Set(hdrNoResult, "1")
	}
	if size := int64(payloadSize(msg)); size > c.nc.MaxPayload() {
		return fmt.Errorf("%w: %s: %d bytes with headers exceed the server's limit of %d",
			ErrBadArgument, name, size, c.nc.MaxPayload())
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return fmt.Errorf("%w: %s not submitted", ErrClosed, name)
	}
	if p != nil {
		c.pending[id] = p // before publishing: its result may come before the PubAck
	}
	c.mu.Unlock()

	ack, err := c.publish(msg, id)
	if err != nil {
		if p != nil {
			c.mu.Lock()
			delete(c.pending, id)
			c.mu.Unlock()
		}
		return fmt.Errorf("cluster: %s not stored: %w", name, err)
	}
	if p == nil {
		return nil
	}
	c.mu.Lock()
	if c.pending[id] == p { // still pending: not resolved, not closed
		p.seq = ack.seq
		c.bySeq[ack.seq] = id
		if ctx.Done() != nil {
			p.stop = context.AfterFunc(ctx, func() { c.cancel(id, ctx) })
		}
	}
	c.mu.Unlock()
	return nil
}

// publish stores msg (which carries id as its dedup id), retrying for
// publishBound: a retry after a lost PubAck stores it once (K10).
func (c *Client) publish(msg *nats.Msg, id string) (pubAck, error) {
	deadline := time.Now().Add(publishBound)
	backoff := 50 * time.Millisecond
	for {
		ack, err := c.pub.store(msg)
		if err == nil {
			return ack, nil
		}
		left := time.Until(deadline)
		if left <= 0 || errors.Is(err, nats.ErrConnectionClosed) || errors.Is(err, errPublisherClosed) {
			return pubAck{}, err
		}
		time.Sleep(min(backoff, left)) // bounded retry of a failed publish (the last at the bound), not synchronisation
		backoff = min(2*backoff, time.Second)
	}
}

// cancel runs when a pending task's ctx ends: it tells the workers (a
// holder cancels the handler's ctx or skips it), and if the task was not
// delivered yet it removes it from the stream and fails the Future (K9).
// Best effort: a task delivered meanwhile runs, and its late result is
// counted in DuplicateResults.
func (c *Client) cancel(id string, ctx context.Context) {
	c.mu.Lock()
	p := c.pending[id]
	if p == nil || c.closed {
		c.mu.Unlock()
		return
	}
	seq, handler := p.seq, p.handler
	c.wg.Add(1)
	c.mu.Unlock()
	defer c.wg.Done()
	c.nc.Publish(c.subj.cancel(), []byte(id))
	rctx, done := context.WithTimeout(context.Background(), 5*time.Second)
	defer done()
	info, err := c.cons.Info(rctx)
	if err != nil || info.Delivered.Stream >= seq {
		return // delivered (or unknown): the worker reports
	}
	if c.tasks.DeleteMsg(rctx, seq) == nil {
		c.fail(id, fmt.Errorf("cluster: task %s canceled before delivery: %w", handler,
			fmt.Errorf("%w: %w", threadpool.ErrCanceled, ctx.Err())))
	}
}

// payloadSize is the size the server checks against max_payload: headers
// and data.
func payloadSize(m *nats.Msg) int {
	n := len("NATS/1.0\r\n\r\n") + len(m.Data)
	for k, vs := range m.Header {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	return n
}
