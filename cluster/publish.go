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

// publisher stores a client's tasks in the tasks stream. It publishes each
// with a reply subject of its own, <inbox>.<token>, and one subscription on
// <inbox>.* hands every PubAck to the Submit waiting for it.
//
// It is what a JetStream publish does, minus what a task does not need: the
// PubAck is read without decoding its JSON in full, and no context or
// response channel of the connection is set up per task.
type publisher struct {
	nc    *nats.Conn
	inbox string // with its trailing dot
	sub   *nats.Subscription

	mu      sync.Mutex
	last    uint64                   // guarded by mu; the last token handed out
	waiting map[string]chan pubReply // guarded by mu; by token
	closed  bool                     // guarded by mu
}

// pubReply is the server's answer to a publish, or why there is none.
type pubReply struct {
	msg *nats.Msg
	err error
}

// pubAck is what a stored task's PubAck says.
type pubAck struct {
	seq       uint64 // its stream sequence
	duplicate bool   // stored before, under the same dedup id (K10)
}

// errPublisherClosed ends the publishes waiting when the client closes: the
// task may have been stored, and may run, but its Future is failed.
var errPublisherClosed = fmt.Errorf("%w while its task was being stored (it may still run)", ErrClosed)

func newPublisher(nc *nats.Conn) (*publisher, error) {
	p := &publisher{nc: nc, inbox: nc.NewInbox() + ".", waiting: map[string]chan pubReply{}}
	sub, err := nc.Subscribe(p.inbox+"*", p.onReply)
	if err != nil {
		return nil, err
	}
	// The callback never blocks (a buffered channel of one per publish), so
	// the connection's default limit on what may queue for it is not needed.
	sub.SetPendingLimits(-1, -1)
	p.sub = sub
	return p, nil
}

// onReply hands a PubAck (or a status such as 503 no responders) to its
// waiting publish; a reply after the publish gave up is dropped.
func (p *publisher) onReply(m *nats.Msg) {
	tok := m.Subject[len(p.inbox):]
	p.mu.Lock()
	ch := p.waiting[tok]
	delete(p.waiting, tok)
	p.mu.Unlock()
	if ch != nil {
		ch <- pubReply{msg: m}
	}
}

// store publishes m and waits at most wait for the server's PubAck.
func (p *publisher) store(m *nats.Msg, wait time.Duration) (pubAck, error) {
	ch := make(chan pubReply, 1)
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return pubAck{}, errPublisherClosed
	}
	p.last++
	tok := strconv.FormatUint(p.last, 36)
	p.waiting[tok] = ch
	p.mu.Unlock()
	m.Reply = p.inbox + tok
	err := p.nc.PublishMsg(m)
	if err == nil {
		t := time.NewTimer(wait)
		select {
		case r := <-ch:
			t.Stop()
			if r.err != nil {
				return pubAck{}, r.err
			}
			return parsePubAck(r.msg)
		case <-t.C:
			err = fmt.Errorf("cluster: no PubAck within %v: %w", wait, nats.ErrTimeout)
		}
	}
	p.mu.Lock()
	delete(p.waiting, tok)
	p.mu.Unlock()
	return pubAck{}, err
}

// close ends every publish still waiting, with errPublisherClosed, and
// stops receiving PubAcks.
func (p *publisher) close() {
	p.mu.Lock()
	p.closed = true
	waiting := p.waiting
	p.waiting = map[string]chan pubReply{}
	p.mu.Unlock()
	for _, ch := range waiting {
		ch <- pubReply{err: errPublisherClosed}
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
