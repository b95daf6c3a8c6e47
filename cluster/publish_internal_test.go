package cluster

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// The answers a publish gets, as the server writes them, read by parsePubAck.
func TestParsePubAck(t *testing.T) {
	for _, tc := range []struct {
		name, data string
		want       pubAck
	}{
		{"a new message", `{"stream":"P_TASKS","seq":42}`, pubAck{seq: 42}},
		{"a new message in a domain", `{"stream":"P_TASKS","domain":"hub","seq":7}`, pubAck{seq: 7}},
		{"a duplicate", `{"stream":"P_TASKS","seq":42,"duplicate": true}`, pubAck{seq: 42, duplicate: true}},
		{"a duplicate without the space", `{"stream":"P_TASKS","seq":3,"duplicate":true}`, pubAck{seq: 3, duplicate: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parsePubAck(&nats.Msg{Data: []byte(tc.data)})
			if err != nil || got != tc.want {
				t.Fatalf("parsePubAck(%s) = %+v, %v; want %+v", tc.data, got, err, tc.want)
			}
		})
	}
	t.Run("an API error is a *jetstream.APIError", func(t *testing.T) {
		_, err := parsePubAck(&nats.Msg{Data: []byte(`{"error":{"code":503,"err_code":10077,"description":"maximum messages exceeded"},"stream":"P_TASKS","seq":0}`)})
		var api *jetstream.APIError
		if !errors.As(err, &api) || api.ErrorCode != 10077 {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("no responders is nats.ErrNoResponders", func(t *testing.T) {
		m := &nats.Msg{Header: nats.Header{"Status": []string{"503"}}}
		if _, err := parsePubAck(m); !errors.Is(err, nats.ErrNoResponders) {
			t.Fatalf("got %v", err)
		}
	})
	for _, data := range []string{``, `{}`, `not json`, `{"stream":"P_TASKS","seq":x}`} {
		t.Run("unreadable "+data, func(t *testing.T) {
			if ack, err := parsePubAck(&nats.Msg{Data: []byte(data)}); err == nil {
				t.Fatalf("parsePubAck(%q) = %+v, nil", data, ack)
			}
		})
	}
}

// A publish still waiting for its PubAck when the client closes ends at
// once, with an error wrapping ErrClosed (its task may still be stored).
func TestPublishWaitingEndsAtClose(t *testing.T) {
	nc := inProcess(t)
	arrived := make(chan struct{}, 1)
	if _, err := nc.Subscribe("sink", func(*nats.Msg) { arrived <- struct{}{} }); err != nil { // never answers
		t.Fatal(err)
	}
	p, err := newPublisher(nc, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := p.store(&nats.Msg{Subject: "sink", Header: nats.Header{}})
		done <- err
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	select { // published, so registered as waiting
	case <-arrived:
	case <-ctx.Done():
		t.Fatal("the message never arrived")
	}
	p.close()
	select {
	case err := <-done:
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("got %v", err)
		}
	case <-ctx.Done():
		t.Fatal("the publish still waits after close")
	}
	if _, err := p.store(&nats.Msg{Subject: "sink", Header: nats.Header{}}); !errors.Is(err, ErrClosed) {
		t.Fatalf("store after close: %v", err)
	}
}

// A publish with no PubAck gives up after the publisher's wait (the
// sweeper), with nats.ErrTimeout, and a PubAck after that is dropped.
func TestPublishWithoutPubAckTimesOut(t *testing.T) {
	nc := inProcess(t)
	sink, err := nc.SubscribeSync("sink") // listens, never answers
	if err != nil {
		t.Fatal(err)
	}
	p, err := newPublisher(nc, 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	done := make(chan error, 1)
	go func() {
		_, err := p.store(&nats.Msg{Subject: "sink", Header: nats.Header{}})
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, nats.ErrTimeout) {
			t.Fatalf("got %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the publish still waits")
	}
	m, err := sink.NextMsg(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Publish(m.Reply, []byte(`{"stream":"S","seq":1}`)); err != nil { // the late PubAck
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.waiting) != 0 {
		t.Fatalf("%d publishes still waiting", len(p.waiting))
	}
}
