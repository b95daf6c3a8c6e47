package team

import (
	"context"
	"runtime"
	"testing"
)

// faultTeam is a started team of one memory worker whose Fault hook
// records the values it is given.
func faultTeam(t *testing.T) (*Team, *Memory, *[]any) {
	t.Helper()
	var got []any
	m := &Memory{}
	tm := New(0, 1, Config{NewExecutor: m.Factory(), Synchronous: true,
		Fault: func(f Fault) { got = append(got, f.Value) }})
	if err := tm.Start(); err != nil {
		t.Fatal(err)
	}
	return tm, m, &got
}

// Run recovers a fire-and-forget function's panic, reports it once through
// Fault, counts the task failed, and the worker goes on.
func TestRunRecoversAFunctionsPanic(t *testing.T) {
	tm, m, got := faultTeam(t)
	_ = tm.Submit(FuncTask(func() { panic("boom") }))
	_ = tm.Submit(FuncTask(func() {}))
	m.RunOne() // the panic does not reach the caller
	if len(*got) != 1 || (*got)[0] != "boom" {
		t.Fatalf("Fault got %v, want [boom]", *got)
	}
	m.RunOne() // the same worker runs the next task
	if s := tm.Snapshot(); s.Failed != 1 || s.Completed != 1 || s.Workers != 1 {
		t.Fatalf("after a panic and a task: %+v", s)
	}
	if m.Created() != 1 {
		t.Fatalf("%d workers made, want 1: the worker survives a panic", m.Created())
	}
}

// A function that calls runtime.Goexit is reported with a nil value, and
// its worker is replaced.
func TestRunReportsAFunctionsGoexit(t *testing.T) {
	tm, m, got := faultTeam(t)
	_ = tm.Submit(FuncTask(func() { runtime.Goexit() }))
	done := make(chan struct{})
	go func() { defer close(done); m.RunOne() }()
	<-done
	if len(*got) != 1 || (*got)[0] != nil {
		t.Fatalf("Fault got %v, want [<nil>]", *got)
	}
	if s := tm.Snapshot(); s.Failed != 1 || s.Workers != 1 || m.Created() != 2 {
		t.Fatalf("after a Goexit: %+v, %d workers made; want the worker replaced", s, m.Created())
	}
}

type panickingJob struct{}

func (panickingJob) Run() Outcome             { panic("job boom") }
func (panickingJob) Cancel(error)             {}
func (panickingJob) Context() context.Context { return nil }

// A Job recovers its own panics; one that escapes it anyway is not
// swallowed by Run: it goes on up the worker's goroutine, after the worker
// is counted dead (and replaced), and Fault is not called.
func TestRunLetsAJobsPanicGoOn(t *testing.T) {
	tm, m, got := faultTeam(t)
	_ = tm.Submit(JobTask(panickingJob{}))
	var escaped any
	func() {
		defer func() { escaped = recover() }()
		m.RunOne()
	}()
	if escaped != "job boom" {
		t.Fatalf("recovered %v above Run, want the Job's panic", escaped)
	}
	if len(*got) != 0 {
		t.Fatalf("Fault got %v for a Job", *got)
	}
	if s := tm.Snapshot(); s.Failed != 1 || s.Workers != 1 || m.Created() != 2 {
		t.Fatalf("after the escaped panic: %+v, %d workers made; want the worker replaced", s, m.Created())
	}
}

// Real goroutine workers of a team that does not know them as direct
// (Goroutines passed as the factory) get each backlogged task handed over
// through their channel instead of from Run; every task still runs once.
func TestGoroutinesHandedEachTask(t *testing.T) {
	tm := New(0, 2, Config{NewExecutor: Goroutines})
	if tm.direct {
		t.Fatal("a team with an explicit factory is direct")
	}
	if err := tm.Start(); err != nil {
		t.Fatal(err)
	}
	const n = 200
	var ran [n]int32
	gate := make(chan struct{})
	for i := range n {
		_ = tm.Submit(FuncTask(func() { <-gate; ran[i]++ }))
	}
	if s := tm.Snapshot(); s.Working != 2 || s.Queued != n-2 {
		t.Fatalf("before the gate: %+v", s)
	}
	close(gate)
	st := tm.Stop(false)
	st.Wait(nil)
	for i, r := range ran {
		if r != 1 {
			t.Fatalf("task %d ran %d times", i, r)
		}
	}
	if s := tm.Snapshot(); s.Completed != n || s.Workers != 0 {
		t.Fatalf("after the stop: %+v", s)
	}
}
