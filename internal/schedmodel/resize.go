package schedmodel

// Adjust sets Min and Max (already valid: 0 <= lo <= hi). On a pool that
// is neither running nor stopping it only records them (D1). Otherwise
// idle workers above Max quit, the backlog goes to idle and new workers up
// to Max (D3), a running pool grows to Min (D2), and shrink requests are
// clamped so that they can take the pool neither below Min nor past its
// busy workers. It returns how many waiting tasks a stop under way then
// canceled (a backlog Max 0 keeps from ever running, E6).
func (m *Model) Adjust(lo, hi int) (dropped int) {
	m.Min, m.Max = lo, hi
	if !m.live() {
		return 0
	}
	for m.Workers() > m.Max && m.Idle > 0 {
		m.Idle--
	}
	m.drain()
	if m.State == StateRunning {
		m.grow()
	}
	m.Shrink = min(m.Shrink, max(0, m.Workers()-m.Min), len(m.Busy))
	return m.endStopIfDrained()
}

// StartAWorker adds one idle worker to a running pool below Max (D4); it
// does nothing to a new pool, or at Max. It reports whether it is refused
// (ErrStopped: a stop has begun). A running pool below Max has an empty
// backlog (it drains whenever room appears), so the worker stays idle.
func (m *Model) StartAWorker() (refused bool) {
	if m.refusing() {
		return true
	}
	if m.State == StateRunning && m.Workers() < m.Max {
		m.newWorker()
		m.Idle++
		m.notePeak()
	}
	return false
}

// StopAWorker quits an idle worker of a running pool now, else adds a
// shrink request for the next busy worker to finish, unless there are
// already as many requests as busy workers (D4); it does nothing to a new
// pool. It reports whether it is refused (ErrStopped: a stop has begun).
func (m *Model) StopAWorker() (refused bool) {
	if m.refusing() {
		return true
	}
	if m.State == StateRunning {
		if m.Idle > 0 {
			m.Idle--
		} else if m.Shrink < len(m.Busy) {
			m.Shrink++
		}
	}
	return false
}

// drain hands the backlog, oldest first, to idle workers, then to new ones
// up to Max; only a running or stopping pool drains.
func (m *Model) drain() {
	if !m.live() {
		return
	}
	for len(m.Backlog) > 0 && (m.Idle > 0 || m.Workers() < m.Max) {
		m.handOver(m.popBacklog())
	}
}

// grow adds idle workers up to Min.
func (m *Model) grow() {
	for m.Workers() < m.Min {
		m.newWorker()
		m.Idle++
		m.notePeak()
	}
}
