package cluster

import (
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Option configures a Client or a Worker. Options that shape the streams
// (prefix, AckWait, MaxDeliver, replicas, storage, result TTL) must agree
// between every Client and Worker of a prefix: the first to arrive creates the
// streams, and a later one that asks for different settings gets
// ErrConfigMismatch (K16).
type Option func(*config)

type config struct {
	prefix      string
	ackWait     time.Duration
	maxDeliver  int
	replicas    int
	storage     jetstream.StorageType
	ephemeral   bool
	resultTTL   time.Duration
	prefetch    int
	workerName  string
	pullExpiry  time.Duration
	storeBound  time.Duration
	publishWait time.Duration
}

// The defaults.
const (
	DefaultPrefix     = "threadpool"
	DefaultAckWait    = 30 * time.Second
	DefaultMaxDeliver = 5
	DefaultResultTTL  = time.Hour
)

func newConfig(opts []Option) (config, error) {
	c := config{
		prefix:      DefaultPrefix,
		ackWait:     DefaultAckWait,
		maxDeliver:  DefaultMaxDeliver,
		replicas:    1,
		storage:     jetstream.FileStorage,
		resultTTL:   DefaultResultTTL,
		pullExpiry:  5 * time.Second,
		publishWait: 5 * time.Second,
	}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	if err := validPrefix(c.prefix); err != nil {
		return c, err
	}
	switch {
	case c.ackWait < 100*time.Millisecond:
		return c, fmt.Errorf("cluster: AckWait %v is below 100ms", c.ackWait)
	case c.maxDeliver < 1:
		return c, fmt.Errorf("cluster: MaxDeliver %d is below 1", c.maxDeliver)
	case c.replicas < 1 || c.replicas > 5:
		return c, fmt.Errorf("cluster: replicas %d is not within 1..5", c.replicas)
	case c.resultTTL < time.Second:
		return c, fmt.Errorf("cluster: result TTL %v is below 1s", c.resultTTL)
	case c.prefetch < 0:
		return c, fmt.Errorf("cluster: prefetch %d is negative", c.prefetch)
	}
	if c.storeBound == 0 {
		c.storeBound = max(4*c.ackWait, 10*time.Second)
	}
	return c, nil
}

func validPrefix(p string) error {
	if p == "" || strings.ContainsAny(p, " \t\r\n*>") || strings.HasPrefix(p, ".") ||
		strings.HasSuffix(p, ".") || strings.Contains(p, "..") {
		return fmt.Errorf("cluster: invalid prefix %q", p)
	}
	return nil
}

// WithPrefix sets the stream and subject namespace (default "threadpool"):
// subjects <prefix>.task.<handler>, <prefix>.result.<client>, streams
// <PREFIX>_TASKS and <PREFIX>_RESULTS. One prefix serves one handler set (K17).
func WithPrefix(p string) Option { return func(c *config) { c.prefix = p } }

// WithAckWait sets the consumer's AckWait (default 30s): a task whose worker
// neither acknowledges nor heartbeats it for that long is delivered again.
// Workers heartbeat every held task at least every AckWait/3.
func WithAckWait(d time.Duration) Option { return func(c *config) { c.ackWait = d } }

// WithMaxDeliver sets how many times a task is delivered before it fails with
// ErrDeliveriesExhausted (default 5).
func WithMaxDeliver(n int) Option { return func(c *config) { c.maxDeliver = n } }

// WithReplicas sets the streams' (and the consumer's) replicas on a NATS
// cluster (default 1; at most 5).
func WithReplicas(n int) Option { return func(c *config) { c.replicas = n } }

// WithMemoryStorage keeps both streams in memory instead of files: faster,
// lost when the server (or, on a cluster, a majority of replicas) stops.
func WithMemoryStorage() Option { return func(c *config) { c.storage = jetstream.MemoryStorage } }

// WithEphemeralResults (Client only) has workers send this client's results
// as plain core NATS messages instead of storing them: faster, but a result
// sent while the client is disconnected is lost and its Future never
// resolves (Wait returns at its own context). The choice travels with each
// task, so clients of both kinds share the same workers (K12).
func WithEphemeralResults() Option { return func(c *config) { c.ephemeral = true } }

// WithResultTTL sets how long a stored result waits for a client that is
// gone (the results stream's MaxAge, and the inactivity after which a dead
// client's result consumer is removed); default one hour (K13).
func WithResultTTL(d time.Duration) Option { return func(c *config) { c.resultTTL = d } }

// WithPrefetch (Worker only) lets a worker hold up to n tasks beyond its
// pool's free slots: more throughput on short tasks, at the price of exact
// pull (K6) — a prefetched task may wait behind a busy machine while another
// has a free slot. Such a worker asks for tasks in batches of about n/2.
// Default 0 (exact pull).
func WithPrefetch(n int) Option { return func(c *config) { c.prefetch = n } }

// WithWorkerName (Worker only) names the worker in results, Stats answers
// and its local pool; default "<hostname>-<pid>-<random>".
func WithWorkerName(name string) Option { return func(c *config) { c.workerName = name } }

// WithResultStoreBound (Worker only) bounds how long a worker retries to
// store a result before it hands the task back for another delivery
// (default max(4×AckWait, 10s)); the task is heartbeated meanwhile.
func WithResultStoreBound(d time.Duration) Option { return func(c *config) { c.storeBound = d } }
