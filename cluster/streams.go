package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// dupWindow is the tasks stream's duplicates window: a publish retried within
// it with the same task id is stored once (K10).
const dupWindow = 2 * time.Minute

func (c config) tasksStreamConfig() jetstream.StreamConfig {
	s := subjects{c.prefix}
	return jetstream.StreamConfig{
		Name:        s.tasksStream(),
		Description: "threadpool cluster tasks, prefix " + c.prefix,
		Subjects:    []string{s.taskWildcard()},
		Retention:   jetstream.WorkQueuePolicy,
		Storage:     c.storage,
		Replicas:    c.replicas,
		Duplicates:  dupWindow,
	}
}

func (c config) resultsStreamConfig() jetstream.StreamConfig {
	s := subjects{c.prefix}
	return jetstream.StreamConfig{
		Name:        s.resultsStream(),
		Description: "threadpool cluster results, prefix " + c.prefix,
		Subjects:    []string{s.resultWildcard()},
		Retention:   jetstream.WorkQueuePolicy,
		Storage:     c.storage,
		Replicas:    c.replicas,
		MaxAge:      c.resultTTL,
		Duplicates:  min(dupWindow, c.resultTTL), // the server wants it within MaxAge
	}
}

func (c config) consumerConfig() jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:       consumerName,
		Description:   "threadpool cluster workers",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       c.ackWait,
		MaxDeliver:    c.maxDeliver,
		MaxAckPending: 1 << 20,
		MaxWaiting:    4096,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	}
}

// ensureStream returns the stream named in want, creating it when absent;
// an existing one whose settings differ is an error wrapping
// ErrConfigMismatch, and is left as it is (K16).
func ensureStream(ctx context.Context, js jetstream.JetStream, want jetstream.StreamConfig) (jetstream.Stream, error) {
	s, err := js.Stream(ctx, want.Name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		var cerr error
		s, cerr = js.CreateStream(ctx, want)
		err = cerr
		if cerr != nil { // created meanwhile by another party?
			if s, err = js.Stream(ctx, want.Name); err != nil {
				err = cerr
			}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("cluster: stream %s: %w", want.Name, err)
	}
	got := s.CachedInfo().Config
	var diff []string
	if got.Retention != want.Retention {
		diff = append(diff, fmt.Sprintf("retention %v, want %v", got.Retention, want.Retention))
	}
	if got.Storage != want.Storage {
		diff = append(diff, fmt.Sprintf("storage %v, want %v", got.Storage, want.Storage))
	}
	if max(got.Replicas, 1) != want.Replicas {
		diff = append(diff, fmt.Sprintf("replicas %d, want %d", got.Replicas, want.Replicas))
	}
	if got.MaxAge != want.MaxAge {
		diff = append(diff, fmt.Sprintf("max age %v, want %v", got.MaxAge, want.MaxAge))
	}
	if len(got.Subjects) != 1 || got.Subjects[0] != want.Subjects[0] {
		diff = append(diff, fmt.Sprintf("subjects %v, want %v", got.Subjects, want.Subjects))
	}
	if diff != nil {
		return nil, fmt.Errorf("%w: stream %s: %v", ErrConfigMismatch, want.Name, diff)
	}
	return s, nil
}

// ensureConsumer returns the tasks stream's durable consumer, creating it
// when absent; one with a different AckWait, MaxDeliver or ack policy is an
// error wrapping ErrConfigMismatch.
func ensureConsumer(ctx context.Context, s jetstream.Stream, want jetstream.ConsumerConfig) (jetstream.Consumer, error) {
	c, err := s.Consumer(ctx, want.Durable)
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		var cerr error
		c, cerr = s.CreateConsumer(ctx, want)
		err = cerr
		if cerr != nil { // created meanwhile by another party?
			if c, err = s.Consumer(ctx, want.Durable); err != nil {
				err = cerr
			}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("cluster: consumer %s: %w", want.Durable, err)
	}
	got := c.CachedInfo().Config
	var diff []string
	if got.AckWait != want.AckWait {
		diff = append(diff, fmt.Sprintf("ack wait %v, want %v", got.AckWait, want.AckWait))
	}
	if got.MaxDeliver != want.MaxDeliver {
		diff = append(diff, fmt.Sprintf("max deliver %d, want %d", got.MaxDeliver, want.MaxDeliver))
	}
	if got.AckPolicy != want.AckPolicy {
		diff = append(diff, fmt.Sprintf("ack policy %v, want %v", got.AckPolicy, want.AckPolicy))
	}
	if diff != nil {
		return nil, fmt.Errorf("%w: consumer %s: %v", ErrConfigMismatch, want.Durable, diff)
	}
	return c, nil
}

// ensureAll creates or checks both streams and the workers' consumer.
func ensureAll(ctx context.Context, js jetstream.JetStream, c config) (tasks, results jetstream.Stream, cons jetstream.Consumer, err error) {
	if tasks, err = ensureStream(ctx, js, c.tasksStreamConfig()); err != nil {
		return
	}
	if results, err = ensureStream(ctx, js, c.resultsStreamConfig()); err != nil {
		return
	}
	cons, err = ensureConsumer(ctx, tasks, c.consumerConfig())
	return
}
