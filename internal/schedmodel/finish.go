package schedmodel

import "slices"

// Outcome is how a task that a worker had ended.
type Outcome int

// The outcomes, as counted in Stats (H2).
const (
	Completed Outcome = iota // ran and succeeded, its callback too
	Failed                   // returned an error, panicked, called Goexit, or its callback panicked
	Canceled                 // skipped: its context had ended before it ran
)

// Finish ends task id, which a busy worker has, with outcome o, and
// decides what the freed worker does (Twisted's _recycleWorker): above
// Max it quits, paying one shrink request if any; else it takes the oldest
// backlogged task; else it quits to pay a shrink request; else it quits if
// a stop is under way; else it goes idle. A stop whose drain that ends is
// then over. What a task does before it returns (a Submit, a Stop) is
// applied before Finish.
func (m *Model) Finish(id int, o Outcome) {
	i := slices.Index(m.Busy, id)
	if i < 0 {
		panic("schedmodel: Finish of a task no worker has")
	}
	m.Busy = slices.Delete(m.Busy, i, i+1)
	switch o {
	case Completed:
		m.Completed++
	case Failed:
		m.Failed++
	default:
		m.Canceled++
	}
	switch {
	case m.Workers()+1 > m.Max || !m.live():
		if m.Shrink > 0 {
			m.Shrink--
		}
	case len(m.Backlog) > 0:
		m.Busy = append(m.Busy, m.popBacklog())
	case m.Shrink > 0:
		m.Shrink--
	case m.State == StateStopping:
	default:
		m.Idle++
	}
	m.endStopIfDrained()
}

// popBacklog removes and returns the oldest waiting task.
func (m *Model) popBacklog() int {
	id := m.Backlog[0]
	m.Backlog = m.Backlog[1:]
	return id
}
