package cluster

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// publisher stores messages in a stream: a client's tasks, a worker's
// results. It publishes each with a reply subject of its own,
// <inbox>.<token>, and one subscription on <inbox>.* hands every PubAck to
// the publish waiting for it.
//
// It is what a JetStream publish does, minus what a task does not need: the
// PubAck is read without decoding its JSON in full, and no context, timer
// or response channel of the connection is set up per message. One sweeper
// goroutine, from newPublisher to close, fails the publishes that waited
// longer than wait.
type publisher struct {
	nc    *nats.Conn
	inbox string        // with its trailing dot
	wait  time.Duration // how long a publish waits for its PubAck
	sub   *nats.Subscription
	swept chan struct{} // closed when the sweeper has ended

	mu      sync.Mutex
	last    uint64                // guarded by mu; the last token handed out
	waiting map[string]*pubWaiter // guarded by mu; by token
	closed  bool                  // guarded by mu
	stop    chan struct{}         // closed by close: ends the sweeper
}

// pubWaiter is a publish waiting for its PubAck. Whoever removes it from
// the waiting map reports the outcome: to done, or (store) on ch.
type pubWaiter struct {
	done     func(pubAck, error)
	ch       chan pubOutcome
	deadline time.Time
}

type pubOutcome struct {
	ack pubAck
	err error
}

func (pw *pubWaiter) report(a pubAck, err error) {
	if pw.done != nil {
		pw.done(a, err)
	} else {
		pw.ch <- pubOutcome{a, err}
	}
}

// pubAck is what a stored message's PubAck says.
type pubAck struct {
	seq       uint64 // its stream sequence
	duplicate bool   // stored before, under the same dedup id (K10)
}

// errPublisherClosed ends the publishes waiting when the client closes (or
// the worker stops): the message may have been stored.
var errPublisherClosed = fmt.Errorf("%w while a message was being stored (it may still have been)", ErrClosed)

// newPublisher subscribes to its inbox and starts its sweeper; close ends both.
func newPublisher(nc *nats.Conn, wait time.Duration) (*publisher, error) {
	p := &publisher{nc: nc, inbox: nc.NewInbox() + ".", wait: wait, waiting: map[string]*pubWaiter{},
		stop: make(chan struct{}), swept: make(chan struct{})}
	sub, err := nc.Subscribe(p.inbox+"*", p.onReply)
	if err != nil {
		return nil, err
	}
	// The callback does not wait for anything but a worker's stop, so the
	// connection's default limit on what may queue for it is not needed.
	sub.SetPendingLimits(-1, -1)
	p.sub = sub
	go p.sweep()
	return p, nil
}

// onReply hands a PubAck (or a status such as 503 no responders) to its
// publish; a reply after the publish gave up is dropped.
func (p *publisher) onReply(m *nats.Msg) {
	tok := m.Subject[len(p.inbox):]
	p.mu.Lock()
	pw := p.waiting[tok]
	delete(p.waiting, tok)
	p.mu.Unlock()
	if pw != nil {
		pw.report(parsePubAck(m))
	}
}

// sweep fails, every quarter of wait, the publishes waiting longer than
// wait: a publish gives up between wait and 1.25 wait after it was sent.
func (p *publisher) sweep() {
	defer close(p.swept)
	t := time.NewTicker(max(p.wait/4, time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case now := <-t.C:
			var late []*pubWaiter
			p.mu.Lock()
			for tok, pw := range p.waiting {
				if now.After(pw.deadline) {
					delete(p.waiting, tok)
					late = append(late, pw)
				}
			}
			p.mu.Unlock()
			for _, pw := range late {
				pw.report(pubAck{}, fmt.Errorf("cluster: no PubAck within %v: %w", p.wait, nats.ErrTimeout))
			}
		}
	}
}

// storeAsync publishes m and calls done once, with its PubAck, or an error
// when the publish fails, no PubAck comes within the publisher's wait, or
// the publisher is closed. done runs on the goroutine that learned the
// outcome (the subscription's, the sweeper's, the caller's or close's): it
// must not block for long.
func (p *publisher) storeAsync(m *nats.Msg, done func(pubAck, error)) {
	p.send(m, &pubWaiter{done: done})
}

// store publishes m and waits for its PubAck, at most the publisher's wait.
func (p *publisher) store(m *nats.Msg) (pubAck, error) {
	pw := &pubWaiter{ch: make(chan pubOutcome, 1)}
	p.send(m, pw)
	r := <-pw.ch
	return r.ack, r.err
}

// send registers pw under a new token and publishes m with that token's
// reply subject.
func (p *publisher) send(m *nats.Msg, pw *pubWaiter) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		pw.report(pubAck{}, errPublisherClosed)
		return
	}
	p.last++
	tok := strconv.FormatUint(p.last, 36)
	pw.deadline = time.Now().Add(p.wait)
	p.waiting[tok] = pw
	p.mu.Unlock()
	m.Reply = p.inbox + tok
	if err := p.nc.PublishMsg(m); err != nil {
		p.mu.Lock()
		pw, ok := p.waiting[tok]
		delete(p.waiting, tok)
		p.mu.Unlock()
		if ok {
			pw.report(pubAck{}, err)
		}
	}
}

// close ends every publish still waiting, with errPublisherClosed, stops
// receiving PubAcks and ends the sweeper. Twice is harmless.
func (p *publisher) close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	waiting := p.waiting
	p.waiting = map[string]*pubWaiter{}
	close(p.stop)
	p.mu.Unlock()
	for _, pw := range waiting {
		pw.report(pubAck{}, errPublisherClosed)
	}
	p.sub.Unsubscribe()
	<-p.swept
}

// parsePubAck reads a publish's answer: a PubAck, a JetStream API error
// (a *jetstream.APIError, so errors.Is works with jetstream's errors), or
// a status message (503: no stream listens on the subject).
func parsePubAck(m *nats.Msg) (pubAck, error) {
	if len(m.Data) == 0 && m.Header.Get("Status") != "" {
		if m.Header.Get("Status") == "503" {
			return pubAck{}, nats.ErrNoResponders
		}
		return pubAck{}, fmt.Errorf("cluster: publish answered with status %s %s",
			m.Header.Get("Status"), m.Header.Get("Description"))
	}
	// The server writes a new message's PubAck as
	// {"stream":<name>[,"domain":<d>],"seq":<n>}: read that by hand, and
	// anything else (a duplicate, an error) with encoding/json.
	if bytes.HasPrefix(m.Data, []byte(`{"stream":`)) && bytes.HasSuffix(m.Data, []byte("}")) {
		if i := bytes.LastIndex(m.Data, []byte(`,"seq":`)); i > 0 {
			digits := m.Data[i+len(`,"seq":`) : len(m.Data)-1]
			if seq, err := strconv.ParseUint(string(digits), 10, 64); err == nil {
				return pubAck{seq: seq}, nil
			}
		}
	}
	var r struct {
		Error     *jetstream.APIError `json:"error"`
		Stream    string              `json:"stream"`
		Seq       uint64              `json:"seq"`
		Duplicate bool                `json:"duplicate"`
	}
	if err := json.Unmarshal(m.Data, &r); err != nil {
		return pubAck{}, fmt.Errorf("cluster: unreadable PubAck %q: %w", m.Data, err)
	}
	if r.Error != nil {
		return pubAck{}, r.Error
	}
	if r.Stream == "" {
		return pubAck{}, fmt.Errorf("cluster: PubAck without a stream: %q", m.Data)
	}
	return pubAck{seq: r.Seq, duplicate: r.Duplicate}, nil
}
