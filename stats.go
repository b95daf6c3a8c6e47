package threadpool

import "log/slog"

// Stats is a snapshot of a pool, taken at one instant under the pool's lock,
// like database/sql's DBStats. In every snapshot Working + Waiters ==
// Workers, all counts are non-negative, the counters never decrease, and
//
//	Submitted == Completed + Failed + Canceled + Queued + Working
//
// except that a task run by the [RunInCaller] policy is not counted until it
// has run.
type Stats struct {
	Min, Max int  // the sizes
	Started  bool // see [Pool.Started]

	Workers int // live workers: Working + Waiters
	Working int // workers running a task (and its callback)
	Waiters int // idle workers
	Queued  int // tasks accepted and not yet handed to a worker (group tasks waiting in their group, and tasks waiting in a helping Wait, included)

	PeakWorkers   int // the most workers alive at once, ever
	PendingShrink int // StopAWorker requests waiting for a busy worker to finish

	Submitted uint64 // tasks accepted
	Completed uint64 // tasks that ran and succeeded (their callback too)
	Failed    uint64 // tasks that returned an error, panicked or called Goexit, or ran and then their callback panicked
	Canceled  uint64 // accepted tasks that never ran (StopNow, their context, a backlog that could never run)
	Rejected  uint64 // submissions refused: after a stop, or a full backlog under Reject; not in Submitted
	CallerRan uint64 // tasks the RunInCaller policy took on the submitter; also in Submitted and in Completed, Failed or Canceled

	InitFailed uint64 // workers whose init hook ([WithWorkerInit]) failed: they never ran a task
}

// Stats returns a consistent snapshot of the pool.
func (p *Pool) Stats() Stats {
	s := p.t.Snapshot()
	return Stats{
		Min: s.Min, Max: s.Max, Started: s.Started,
		Workers: s.Workers, Working: s.Working, Waiters: s.Waiters, Queued: s.Queued,
		PeakWorkers: s.PeakWorkers, PendingShrink: s.PendingShrink,
		Submitted: s.Submitted, Completed: s.Completed, Failed: s.Failed,
		Canceled: s.Canceled, Rejected: s.Rejected, CallerRan: s.CallerRan,
		InitFailed: s.InitFailed,
	}
}

// Workers returns the number of live workers, idle and busy (Twisted's
// len(threads)).
func (p *Pool) Workers() int { return p.t.Snapshot().Workers }

// Working returns the number of workers running a task (Twisted's working).
func (p *Pool) Working() int { return p.t.Snapshot().Working }

// Waiters returns the number of idle workers (Twisted's waiters).
func (p *Pool) Waiters() int { return p.t.Snapshot().Waiters }

// QueueSize returns the number of tasks accepted and not yet handed to a
// worker (Twisted's q.qsize()), as Stats.Queued counts them.
func (p *Pool) QueueSize() int { return p.t.Snapshot().Queued }

// ThreadInfo describes one live worker.
type ThreadInfo struct {
	Name string // PoolThread-<pool name>-<n>; n never repeats in a pool
	Busy bool   // running a task

	// ThreadID is the id of the worker's OS thread under [WithOSThreads]
	// on Linux (gettid, as in /proc/self/task/<id>), once the worker has
	// locked it: the one thread all its tasks run on. 0 otherwise.
	ThreadID int
}

// Threads lists the live workers, oldest first. Workers that have quit are
// never listed (Twisted's list keeps dead threads).
func (p *Pool) Threads() []ThreadInfo {
	ts := p.t.Threads()
	out := make([]ThreadInfo, len(ts))
	for i, t := range ts {
		out[i] = ThreadInfo{Name: t.Name, Busy: t.Busy, ThreadID: t.TID}
	}
	return out
}

// DumpStats writes one Info record, "threadpool stats", through the pool's
// logger, with the attributes pool, min, max, waiters, working, workers,
// queued and threads (the live workers' names), all from one snapshot
// except threads.
func (p *Pool) DumpStats() {
	s := p.t.Snapshot()
	ts := p.t.Threads()
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = t.Name
	}
	p.t.Logger().Info("threadpool stats",
		slog.String("pool", p.Name()),
		slog.Int("min", s.Min), slog.Int("max", s.Max),
		slog.Int("waiters", s.Waiters), slog.Int("working", s.Working),
		slog.Int("workers", s.Workers), slog.Int("queued", s.Queued),
		slog.Any("threads", names))
}
