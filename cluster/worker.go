package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nats.go/micro"
	"github.com/nats-io/nuid"
	"github.com/twisted-go/threadpool"
)

// Worker runs the tasks of one prefix on a local threadpool.Pool(min, max),
// pulling exactly as many as the pool has room for (K6). Make one with
// NewWorker, then Start it. It is safe for concurrent use.
//
// Its goroutines: the pool's own workers (the core's), one pull goroutine,
// one heartbeat goroutine, and the nats.go subscription and micro service
// callbacks it registers. Stop (or a Shutdown that returns nil) ends them all.
type Worker struct {
	nc   *nats.Conn
	js   jetstream.JetStream
	pub  *publisher // stores results; made by Start, closed by the stop
	reg  *Registry
	cfg  config
	subj subjects
	name string
	pool *threadpool.Pool

	tasks jetstream.Stream
	cons  jetstream.Consumer

	mu            sync.Mutex
	state         int // stateNew, stateStarted, stateStopping
	window        int // pool max + prefetch: how many tasks it may hold
	held          map[*job]struct{}
	byID          map[string]*job
	outstanding   int                  // messages the open pull requests still owe
	pulls         map[string]pullReq   // open pull requests by reply token
	pullSeq       uint64               // the last pull request's token
	lastHeard     time.Time            // the last message on the pull subscription
	pullNotBefore time.Time            // a backoff: no pull request before it
	pullMerge     bool                 // idle: the next request waits for the open ones to end
	kick          chan struct{}        // wakes the pull goroutine
	pullSubject   string               // the consumer's MSG.NEXT API subject
	pullInbox     string               // pull requests reply to <pullInbox>.<token>
	pullSub       *nats.Subscription   // their deliveries and status messages
	pullSubDone   chan struct{}        // closed when pullSub's callbacks have ended
	canceled      map[string]time.Time // cancel notices for tasks not held (yet)
	lastAck       string               // the ack subject of the last task acked; see confirmAcks
	pullCtx       context.Context      // ends the pull requests at a stop
	pullStop      context.CancelFunc
	hardStop      chan struct{} // closed when a Shutdown's ctx ended: give everything back
	hbStop        chan struct{}
	storing       sync.WaitGroup // results being stored (each until its task is settled)
	pullWG        sync.WaitGroup // the pull goroutine
	hbWG          sync.WaitGroup // heartbeat goroutine
	stopDone      chan struct{}  // closed when the first stop has released its resources
	svc           micro.Service
	subs          []*nats.Subscription
}

const (
	stateNew = iota
	stateStarted
	stateStopping
)

// job is one delivered task, held until it is acked or handed back.
type job struct {
	msg      *nats.Msg // the delivery: its Reply is the ack subject
	info     taskInfo
	noResult bool
	ctx      context.Context
	cancel   context.CancelFunc
	started  bool
	back     bool // handed back (Nak) by a stop or a lowered window; its outcome is discarded
	acking   bool // finish owns it: it stores the outcome, then acks (or naks) it
}

// NewWorker returns a worker that will run r's handlers on a local pool of
// min..max workers, not started. It creates the streams and the consumer when
// absent (K16). It returns an error for a nil nc or r, an error wrapping
// threadpool.ErrInvalidSize for bad sizes, and one wrapping ErrConfigMismatch
// when the streams exist with other settings.
func NewWorker(nc *nats.Conn, r *Registry, min, max int, opts ...Option) (*Worker, error) {
	if nc == nil || r == nil {
		return nil, errors.New("cluster: NewWorker with a nil connection or registry")
	}
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	name := cfg.workerName
	if name == "" {
		host, _ := os.Hostname()
		name = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), nuid.Next()[16:])
	}
	pool, err := threadpool.New(min, max, threadpool.WithName(name))
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	w := &Worker{nc: nc, js: js, reg: r, cfg: cfg, subj: subjects{cfg.prefix}, name: name, pool: pool,
		held: map[*job]struct{}{}, byID: map[string]*job{}, canceled: map[string]time.Time{},
		pulls: map[string]pullReq{}, kick: make(chan struct{}, 1),
		pullSubject: "$JS.API.CONSUMER.MSG.NEXT." + subjects{cfg.prefix}.tasksStream() + "." + consumerName,
		pullInbox:   nc.NewInbox(),
		hardStop:    make(chan struct{}), hbStop: make(chan struct{}), stopDone: make(chan struct{})}
	if err := w.ensure(); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *Worker) ensure() (err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	w.tasks, _, w.cons, err = ensureAll(ctx, w.js, w.cfg)
	return err
}

// Name returns the worker's name, as it appears in results and in its pool.
func (w *Worker) Name() string { return w.name }

// Start checks the streams again (ErrConfigMismatch if they changed), starts
// the local pool, the heartbeat, the stats service and pulling. Start twice
// is harmless; a stopped Worker cannot be started again (make a new one).
func (w *Worker) Start() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch w.state {
	case stateStarted:
		return nil
	case stateStopping:
		return errors.New("cluster: Start on a stopped worker")
	}
	if err := w.ensure(); err != nil {
		return err
	}
	pub, err := newPublisher(w.nc, w.cfg.publishWait) // before anything that may store a result
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	w.pub = pub
	w.subs = nil
	advSub, err := w.nc.Subscribe(advisorySubject(w.subj.tasksStream()), w.onAdvisory)
	if err != nil {
		w.unsubscribe()
		return fmt.Errorf("cluster: %w", err)
	}
	w.subs = append(w.subs, advSub)
	cancelSub, err := w.nc.Subscribe(w.subj.cancel(), w.onCancel)
	if err != nil {
		w.unsubscribe()
		return fmt.Errorf("cluster: %w", err)
	}
	w.subs = append(w.subs, cancelSub)
	pullSub, err := w.nc.Subscribe(w.pullInbox+".*", w.onPull)
	if err != nil {
		w.unsubscribe()
		return fmt.Errorf("cluster: %w", err)
	}
	subDone := make(chan struct{})
	pullSub.SetClosedHandler(func(string) { close(subDone) })
	// Its callback holds no lock while it waits; the worker's window bounds
	// what it receives, so no limit of the connection's is needed.
	pullSub.SetPendingLimits(-1, -1)
	w.subs = append(w.subs, pullSub)
	if w.svc, err = w.addService(); err != nil {
		w.unsubscribe()
		return err
	}
	if err := w.nc.FlushTimeout(5 * time.Second); err != nil { // the subscriptions exist at the server
		w.svc.Stop()
		w.unsubscribe()
		return fmt.Errorf("cluster: %w", err)
	}
	if err := w.pool.Start(); err != nil {
		w.svc.Stop()
		w.unsubscribe()
		return fmt.Errorf("cluster: %w", err)
	}
	w.state = stateStarted
	w.window = w.pool.Max() + w.cfg.prefetch
	w.pullCtx, w.pullStop = context.WithCancel(context.Background())
	w.pullSub, w.pullSubDone = pullSub, subDone
	w.hbWG.Add(1)
	go w.heartbeat()
	w.pullWG.Add(1)
	go w.puller()
	w.topUpLocked()
	return nil
}

// unsubscribe ends the worker's subscriptions and its publisher (a result
// still waiting for its PubAck then fails, and its task is handed back).
func (w *Worker) unsubscribe() {
	for _, s := range w.subs {
		s.Unsubscribe()
	}
	if w.pub != nil {
		w.pub.close()
	}
}

// AdjustPoolSize resizes the local pool (threadpool.Pool.AdjustPoolSize) and
// the pull window at once (K7): a raised max pulls at once; after a lowered
// max nothing is pulled until fewer than max tasks are held, and tasks that
// arrive beyond the new window from requests already outstanding are handed
// back at once (Nak, which counts as a delivery).
func (w *Worker) AdjustPoolSize(min, max int) error {
	if err := w.pool.AdjustPoolSize(min, max); err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.window = max + w.cfg.prefetch
	w.pullMerge = false
	w.topUpLocked()
	return nil
}

// Stats returns the local pool's snapshot (threadpool.Pool.Stats).
func (w *Worker) Stats() threadpool.Stats { return w.pool.Stats() }
