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
// PubAck is read without decoding its JSON in full, and no context or
// response channel of the connection is set up per message.
type publisher struct {
	nc    *nats.Conn
	inbox string // with its trailing dot
	sub   *nats.Subscription

	mu      sync.Mutex
	last    uint64                // guarded by mu; the last token handed out
	waiting map[string]*pubWaiter // guarded by mu; by token
	closed  bool                  // guarded by mu
}

// pubWaiter is a publish waiting for its PubAck. Whoever removes it from
// the waiting map calls done: the PubAck, its timer, a failed publish or
// close.
type pubWaiter struct {
	done  func(pubAck, error)
	timer *time.Timer
}

// pubAck is what a stored message's PubAck says.
type pubAck struct {
	seq       uint64 // its stream sequence
	duplicate bool   // stored before, under the same dedup id (K10)
}

// errPublisherClosed ends the publishes waiting when the client closes (or
// the worker stops): the message may have been stored.
var errPublisherClosed = fmt.Errorf("%w while a message was being stored (it may still have been)", ErrClosed)

func newPublisher(nc *nats.Conn) (*publisher, error) {
	p := &publisher{nc: nc, inbox: nc.NewInbox() + ".", waiting: map[string]*pubWaiter{}}
	sub, err := nc.Subscribe(p.inbox+"*", p.onReply)
	if err != nil {
		return nil, err
	}
	// The callback does not wait for anything but a worker's stop, so the
	// connection's default limit on what may queue for it is not needed.
	sub.SetPendingLimits(-1, -1)
	p.sub = sub
	return p, nil
}

// onReply hands a PubAck (or a status such as 503 no responders) to its
// publish; a reply after the publish gave up is dropped.
func (p *publisher) onReply(m *nats.Msg) {
	if pw := p.take(m.Subject[len(p.inbox):]); pw != nil {
		pw.done(parsePubAck(m))
	}
}

// take removes the waiter of tok, if it is still waiting, and stops its timer.
func (p *publisher) take(tok string) *pubWaiter {
	p.mu.Lock()
	pw := p.waiting[tok]
	delete(p.waiting, tok)
	p.mu.Unlock()
	if pw != nil {
		pw.timer.Stop()
	}
	return pw
}

// storeAsync publishes m and calls done once, with its PubAck, or an error
// when the publish fails, no PubAck comes within wait, or the publisher is
// closed. done runs on the goroutine that learned the outcome (the
// subscription's, a timer's, the caller's or close's): it must not block for
// long.
func (p *publisher) storeAsync(m *nats.Msg, wait time.Duration, done func(pubAck, error)) {
	pw := &pubWaiter{done: done}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		done(pubAck{}, errPublisherClosed)
		return
	}
	p.last++
	tok := strconv.FormatUint(p.last, 36)
	p.waiting[tok] = pw
	pw.timer = time.AfterFunc(wait, func() {
		if pw := p.take(tok); pw != nil {
			pw.done(pubAck{}, fmt.Errorf("cluster: no PubAck within %v: %w", wait, nats.ErrTimeout))
		}
	})
	p.mu.Unlock()
	m.Reply = p.inbox + tok
	if err := p.nc.PublishMsg(m); err != nil {
		if pw := p.take(tok); pw != nil {
			pw.done(pubAck{}, err)
		}
	}
}

// store publishes m and waits at most wait for its PubAck.
func (p *publisher) store(m *nats.Msg, wait time.Duration) (pubAck, error) {
	type result struct {
		ack pubAck
		err error
	}
	ch := make(chan result, 1)
	p.storeAsync(m, wait, func(a pubAck, err error) { ch <- result{a, err} })
	r := <-ch
	return r.ack, r.err
}

// close ends every publish still waiting, with errPublisherClosed, and
// stops receiving PubAcks.
func (p *publisher) close() {
	p.mu.Lock()
	p.closed = true
	waiting := p.waiting
	p.waiting = map[string]*pubWaiter{}
	p.mu.Unlock()
	for _, pw := range waiting {
		pw.timer.Stop()
		pw.done(pubAck{}, errPublisherClosed)
	}
	p.sub.Unsubscribe()
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
