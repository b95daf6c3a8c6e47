// Package cluster runs the threadpool model across machines on NATS
// JetStream: a Client on any machine submits named tasks, and a Worker on each
// machine runs them on its own local threadpool.Pool(min, max). No home-made
// broker and no polling: the engine is a JetStream work-queue stream with one
// durable pull consumer. The contract is section 3 of the project's SPEC
// (statements K1–K17); this comment records every decision the SPEC leaves open.
//
// # Work
//
// Closures cannot cross machines, so work is a handler registered by name in
// a Registry (Register returns a typed Task[A, R]) and an argument encoded as
// JSON. Only registered handlers ever run (K15). One prefix serves one
// handler set: every Worker of a prefix must register the same handlers, and
// separate handler sets use separate prefixes (K17). A worker that receives a
// task for a handler it lacks fails it with ErrUnknownHandler and acks it.
//
// # Streams, subjects and messages
//
// For a prefix p (default "threadpool"; WithPrefix) NewClient and NewWorker
// create, when absent (K16):
//
//   - stream <P>_TASKS on subjects p.task.> (P is p upper-cased, with
//     characters a stream name may not hold replaced by '_'); work-queue
//     retention, file storage (WithMemoryStorage for memory), WithReplicas
//     replicas, a 2-minute duplicates window;
//   - its one durable pull consumer "workers": explicit acks, AckWait
//     (WithAckWait, default 30s), MaxDeliver (WithMaxDeliver, default 5),
//     MaxAckPending 2^20, deliver all;
//   - stream <P>_RESULTS on subjects p.result.>, work-queue retention, the
//     same storage and replicas, MaxAge = WithResultTTL (default one hour).
//
// An existing stream or consumer whose retention, storage, replicas, subjects,
// MaxAge, AckWait, MaxDeliver or ack policy differ is an error wrapping
// ErrConfigMismatch (from NewClient, NewWorker or Worker.Start) and is never
// changed. So every party of a prefix uses the same such options.
//
// A task is published on p.task.<handler> with its JSON argument as data and
// the headers Nats-Msg-Id (the task id, a NUID), Tp-Handler, Tp-Client (the
// client's id), Tp-Reply (only for ephemeral results: the core subject
// p.reply.<client id>), Tp-Deadline (the Submit ctx's deadline, RFC 3339 with
// nanoseconds) and Tp-No-Result (CallInThread). A result is published on
// p.result.<client id> (stored) or on the Tp-Reply subject (ephemeral) with
// the headers Nats-Msg-Id ("r-" and the task id; stored results only),
// Tp-Task, Tp-Status (ok, error, panic, unknown, badarg, deadline, canceled,
// exhausted) and Tp-Worker; its data is the JSON result, or {"message": ..., "stack": ...}. Other
// subjects: p.cancel (cancel notices, data = task id) and p.stats (the workers'
// stats endpoint).
//
// # Submitting
//
// Submit and Client.CallInThread encode the argument (failure, or more than
// the connection's MaxPayload with headers: ErrBadArgument, nothing published;
// K3) and publish with the task id as dedup id, retrying for up to 15 s with
// the same id, so a retry after a lost acknowledgement stores the task once
// (K10). The PubAcks come back on one subscription of the client's own (an
// _INBOX subject with a token per publish), read without a JSON decode when
// they are plain. They return once the server has stored the task; Submit
// then returns the core's *threadpool.Future, already resolved if the task
// was not stored.
// Execution is at-least-once; each Future resolves exactly once: a result for
// a task that is not pending (resolved already, or after Close) is dropped and
// counted in Stats.DuplicateResults (K1).
//
// Each stored-results Client has its own consumer on the results stream,
// filtered on p.result.<client id> (non-overlapping filters may share a
// work-queue stream), with explicit acks, AckWait as set, and an inactivity
// threshold equal to the result TTL, so a dead client's consumer disappears.
// The client acks a result once it has resolved the Future (K12); Close
// deletes the consumer. If a client dies, its tasks still run, and their
// stored results stay in the stream until the result TTL (K13).
// WithEphemeralResults trades this for speed: results are plain core NATS
// messages, and a result sent while the client is disconnected is lost; that
// Future never resolves and Wait returns at its own context (K12). The choice
// travels with each task, so clients of both kinds share the same workers.
//
// Cancellation (K9): the deadline of the Submit ctx travels with the task. A
// task whose deadline has passed on the worker's clock before it starts is not
// run, is acked, and its Future fails wrapping threadpool.ErrCanceled and
// context.DeadlineExceeded. When the ctx ends, the client publishes a cancel
// notice (a worker holding the task cancels the handler's ctx, or skips a task
// that has not started, answering status canceled; a worker remembers notices
// for tasks it does not hold for 10 minutes), and if the consumer has not yet
// delivered the task's sequence it deletes the message and fails the Future
// wrapping ErrCanceled and ctx.Err(). This is best effort: a task delivered
// meanwhile runs, and its late result counts as a duplicate. After delivery
// the Future resolves with whatever the handler returns (an error becomes a
// RemoteError).
//
// Poison tasks (K5): after MaxDeliver deliveries the server sends the
// advisory $JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.<stream>.workers when a
// live worker next asks for work. The client and every worker subscribe to
// it; whoever deletes the message from the stream first reports: the client
// fails the Future with ErrDeliveriesExhausted, or a worker sends an
// "exhausted" result (so a dead client's poison task leaves the stream too).
//
// # Working
//
// A Worker runs handlers on a local threadpool.Pool(min, max) through
// CallInThreadWithCallback, so panics (threadpool.PanicError, sent as a
// RemoteError with Panic and Stack; K2), worker names, pprof labels and Stats
// come from the core. A handler's error is a result, not a retry (K2).
//
// Exact pull (K6): a worker's open pull requests never ask for more than
// window − held messages, where window is the pool's max (plus WithPrefetch,
// default 0) and held counts the tasks delivered to it and not yet acked or
// handed back. It has one subscription for every request's deliveries and
// status messages, and one goroutine that publishes raw requests to the
// consumer's $JS.API.CONSUMER.MSG.NEXT subject; it counts what the open
// requests still owe (each delivery takes one off; a request's end, a 408 at
// its expiry or a 409, says what it still owed). With exact pull a new
// request for the whole gap starts as soon as there is one (a task acked, the
// window grown); with WithPrefetch(n), once the gap reaches n/2, so tasks are
// asked for in batches. When a request expires while others are still open
// and nothing else happened, the worker waits for them to end too, so an
// idle worker's requests merge into one for its whole window. A pull request is a long poll (5 s expiry, server
// heartbeats every second: when nothing is heard for 2.5 s while requests
// are open, the worker counts them lost and asks again, so a lost server is
// noticed within 4 s). A request refused or ended early (no responders, a
// leadership change) delays the next by 250 ms. So Working equals un-acked
// deliveries, no task waits behind a busy machine while another has a free
// slot, and the stream stays one global FIFO. AdjustPoolSize (K7) resizes the
// pool and the window together; tasks that arrive beyond a lowered window
// from requests already outstanding are handed back at once (Nak, which
// counts as a delivery).
//
// Heartbeats (K4): one ticker per Worker sends InProgress for every held task
// every AckWait/4, while it waits, runs or its result is being stored. A
// worker that dies stops heartbeating, and its tasks are delivered again one
// AckWait later.
//
// Results and acks (K12): the worker stores the result (a publish with
// PubAck, dedup id "r-" and the task id, so a re-run within two minutes is
// stored once) and only then acks the task. Acks are fire and forget (a lost
// ack only causes a redelivery, whose result is dropped as a duplicate); a
// stop ends by waiting for the server's reply to a progress notice sent after
// the last ack, which it handles after every earlier one, so the tasks a
// Stop acked have left the stream when it returns (with one server; on a
// replicated stream, once the removals are applied). If it cannot store the
// result it keeps the task (heartbeating) and retries with backoff for
// WithResultStoreBound (default max(4×AckWait, 10 s)), then hands it back
// with a Nak. Unknown handlers and undecodable arguments are results too, acked and
// never redelivered (K3).
//
// Stopping (K11): Worker.Stop stops pulling (a message that arrives meanwhile
// is handed back; one the server sends after the pull subscription has ended
// is dropped and comes back after AckWait), lets
// the running handlers finish, stores their results,
// acks, then stops the heartbeat, the stats service and its subscriptions.
// Shutdown(ctx) is the same, bounded: when ctx ends, every task not yet acked
// is handed back at once (Nak) and its handler's ctx canceled; its outcome is
// then discarded. A stopped Worker cannot start again. Client.Close fails the
// pending Futures wrapping ErrClosed (their tasks may still run).
//
// Stats (K8): each Worker runs a NATS micro service "threadpool-<P>" whose
// endpoint on p.stats (no queue group: every worker answers) returns its
// pool's threadpool.Stats as JSON. Client.Stats sends one request and sums
// the answers that arrive within its ctx or one second, whichever ends first
// (that end is not an error); Queued, InFlight and Redelivered are the
// consumer's NumPending, NumAckPending and NumRedelivered, so InFlight also
// counts tasks handed back (Nak) and not yet delivered again.
//
// # Goroutines
//
// Client: the nats.go callbacks of its subscriptions (results, advisories)
// and its results consumer, and one short-lived goroutine per canceled
// context; Close ends them all and waits for them. Worker: the local pool's
// workers (the core's), one pull goroutine, one heartbeat goroutine, and the
// callbacks of its subscriptions (the pull subscription's included) and of
// its micro service; Stop ends them all. After a Shutdown whose ctx ended,
// the handlers still running are the pool's; a later Stop waits for them.
//
// # Durability
//
// Durability is the engine's (K12): with file storage, stored tasks survive a
// server restart; on a NATS cluster with WithReplicas(3), losing one server,
// including the one a client or worker is connected to, loses no task and no
// result, given connection options that list the cluster's servers and
// reconnect forever (nats.MaxReconnects(-1)).
//
// # Security
//
// Authentication, TLS and permissions are the *nats.Conn's and the server's
// (K15). A least-privilege layout for prefix p (P as in the stream names;
// TestLeastPrivilege runs a client and a worker under exactly these allow
// lists). The streams and the workers' consumer are created once by a party
// allowed $JS.API.STREAM.CREATE.<P>_TASKS and _RESULTS and
// $JS.API.CONSUMER.CREATE.<P>_TASKS.workers (a deployment step, or one
// NewClient with those rights); after that:
//
//   - clients publish p.task.>, p.cancel, p.stats,
//     $JS.API.STREAM.INFO.<P>_TASKS and .<P>_RESULTS,
//     $JS.API.STREAM.MSG.DELETE.<P>_TASKS, $JS.API.CONSUMER.INFO.<P>_TASKS.workers,
//     $JS.API.CONSUMER.CREATE.<P>_RESULTS.*.p.result.*,
//     $JS.API.CONSUMER.INFO, .DELETE and .MSG.NEXT .<P>_RESULTS.*, and
//     $JS.ACK.<P>_RESULTS.>; they subscribe to _INBOX.> (replies, and the
//     deliveries of their results consumer), p.reply.* (ephemeral results)
//     and $JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.<P>_TASKS.workers;
//   - workers publish p.result.>, p.reply.>, $JS.API.STREAM.INFO.<P>_TASKS
//     and .<P>_RESULTS, $JS.API.STREAM.MSG.GET and .MSG.DELETE .<P>_TASKS,
//     $JS.API.CONSUMER.INFO and .MSG.NEXT .<P>_TASKS.workers and
//     $JS.ACK.<P>_TASKS.workers.>, and answer requests (allow_responses, for
//     the stats endpoint); they subscribe to _INBOX.> (replies, and the
//     deliveries of their pull requests), p.cancel, p.stats, $SRV.> (the micro
//     service's PING, INFO and STATS) and the MAX_DELIVERIES advisory.
//
// A client's id is random (chosen by NewClient), so the client rules name it
// with a wildcard: they separate clients from workers, not one client from
// another; separate tenants use separate prefixes. Nothing executable
// crosses the wire.
//
// natsembed (package cluster/natsembed) is the embedded default: an
// in-process JetStream server that listens on nothing unless asked (K14);
// the same code runs on a production NATS cluster with only another
// *nats.Conn.
package cluster
