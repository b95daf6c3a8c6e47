package schedmodel

// State is where a pool is in its life.
type State int

// The states, in the order a pool goes through them (a stopped pool can be
// started again).
const (
	StateNew      State = iota // made, never started: everything waits
	StateRunning               // started: work goes to workers
	StateStopping              // a stop began: work is refused, the drain runs
	StateStopped               // the drain ended: no worker is left
)

// Model is one pool as the rules see it. The zero Model with Min and Max
// set is a pool New just made. Tests read the fields freely and change
// them only through the methods, which keep Idle + len(Busy) the workers
// alive and every count exact.
type Model struct {
	State    State
	Min, Max int
	Idle     int   // idle workers
	Busy     []int // the task id of every busy worker, in hand-over order
	Backlog  []int // accepted task ids no worker has yet, oldest first
	Shrink   int   // StopAWorker requests waiting for a busy worker to finish
	Peak     int   // the most workers alive at once
	Created  int   // workers ever made (the double reports it; the real pool does not)

	Submitted, Completed, Failed, Canceled, Rejected uint64

	// OnCancel, if set, is called with the id of every accepted task that
	// is canceled before a worker has it (a stop's canceled backlog, a
	// context ending while the task waits or before it would wait), at the
	// moment the count changes, oldest first.
	OnCancel func(id int)
}

// Workers is the number of live workers, idle and busy.
func (m *Model) Workers() int { return m.Idle + len(m.Busy) }

// live reports whether the pool has workers that take work.
func (m *Model) live() bool { return m.State == StateRunning || m.State == StateStopping }

// refusing reports whether a stop has begun: submissions, StartAWorker and
// StopAWorker are refused with ErrStopped.
func (m *Model) refusing() bool { return m.State == StateStopping || m.State == StateStopped }

// newWorker counts one more worker made; the caller makes it idle or busy.
func (m *Model) newWorker() { m.Created++ }

// notePeak records the workers alive now in Peak.
func (m *Model) notePeak() { m.Peak = max(m.Peak, m.Workers()) }
