package schedmodel

// Start starts a new or stopped pool: the backlog goes to new workers up to
// Max, then idle workers are added up to Min (B2). Starting a running pool
// does nothing. It reports whether it is refused (ErrStopped: a stop is
// still draining).
func (m *Model) Start() (refused bool) {
	switch m.State {
	case StateRunning:
		return false
	case StateStopping:
		return true
	}
	m.State = StateRunning
	m.drain()
	m.grow()
	return false
}

// Stop begins a stop (E1): a never-started pool is stopped at once and its
// backlog canceled; a running one refuses work from now on, its idle
// workers quit, and busy ones quit as they find the backlog empty. With now
// set (StopNow, E5) the backlog is canceled at once. A stop under way is
// joined, a stopped pool left alone. It returns how many waiting tasks it
// canceled.
func (m *Model) Stop(now bool) (dropped int) {
	switch m.State {
	case StateStopped:
		return 0
	case StateNew:
		m.State = StateStopped
		return m.cancelBacklog()
	case StateRunning:
		m.State = StateStopping
		m.Idle = 0
	}
	if now {
		dropped = m.cancelBacklog()
	}
	return dropped + m.endStopIfDrained()
}

// endStopIfDrained ends a stop whose drain is over: no backlog and no
// worker left. A backlog with no worker left to run it goes to new workers,
// or is canceled if none can start (Max 0, E6). It returns how many tasks
// that canceled. It does nothing unless a stop is under way.
func (m *Model) endStopIfDrained() (dropped int) {
	if m.State != StateStopping {
		return 0
	}
	if len(m.Backlog) > 0 && m.Workers() == 0 {
		if m.Max == 0 {
			dropped = m.cancelBacklog()
		} else {
			m.drain()
		}
	}
	if len(m.Backlog) == 0 && m.Workers() == 0 {
		m.State = StateStopped
		m.Shrink = 0
	}
	return dropped
}

// cancelBacklog cancels every waiting task, oldest first, and returns how
// many.
func (m *Model) cancelBacklog() int {
	n := len(m.Backlog)
	for len(m.Backlog) > 0 {
		m.cancel(m.popBacklog())
	}
	return n
}
