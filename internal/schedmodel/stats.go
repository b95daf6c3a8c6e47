package schedmodel

// Stats is threadpool.Stats: the same fields, in the same order, so that a
// test converts one into the other (threadpool.Stats(m.Stats())); the
// conversion stops compiling when a field is added to threadpool.Stats and
// not here. The meaning of each field is documented there.
type Stats struct {
	Min, Max int
	Started  bool

	Workers int
	Working int
	Waiters int
	Queued  int

	PeakWorkers   int
	PendingShrink int

	Submitted uint64
	Completed uint64
	Failed    uint64
	Canceled  uint64
	Rejected  uint64
	CallerRan uint64 // always 0: the model has no RunInCaller policy

	InitFailed uint64 // always 0: the model has no worker init hook
}

// Stats returns the snapshot the pool must report in the model's state.
func (m *Model) Stats() Stats {
	return Stats{
		Min: m.Min, Max: m.Max, Started: m.State == StateRunning,
		Workers: m.Workers(), Working: len(m.Busy), Waiters: m.Idle, Queued: len(m.Backlog),
		PeakWorkers: m.Peak, PendingShrink: m.Shrink,
		Submitted: m.Submitted, Completed: m.Completed, Failed: m.Failed,
		Canceled: m.Canceled, Rejected: m.Rejected,
	}
}
