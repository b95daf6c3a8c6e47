package team

import (
	"context"
	"runtime"
	"testing"
)

// faultTeam is a started team of one memory worker whose FuncFailed
// records what it is given.
func faultTeam(t *testing.T) (*Team, *Memory, *[]any) {
	t.Helper()
	var got []any
	m := &Memory{}
	tm := New(0, 1, Config{NewExecutor: m.Factory(), Synchronous: true,
		FuncFailed: func(r any) { got = append(got, r) }})
	if err := tm.Start(); err != nil {
		t.Fatal(err)
	}
	return tm, m, &got
}

// Run recovers a fire-and-forget function's panic, reports it once through
// FuncFailed, counts the task failed, and the worker goes on.
func TestRunRecoversAFunctionsPanic(t *testing.T) {
	tm, m, got := faultTeam(t)
	_ = tm.Submit(FuncTask(func() { panic("boom") }))
	_ = tm.Submit(FuncTask(func() {}))
	m.RunOne() // the panic does not reach the caller
	if len(*got) != 1 || (*got)[0] != "boom" {
		t.Fatalf("FuncFailed got %v, want [boom]", *got)
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
		t.Fatalf("FuncFailed got %v, want [<nil>]", *got)
	}
	if s := tm.Snapshot(); s.Failed != 1 || s.Workers != 1 || m.Created() != 2 {
		t.Fatalf("after a Goexit: %+v, %d workers made; want the worker replaced", s, m.Created())
	}
}

type panickingJob struct{}

func (panickingJob) Run() bool                { panic("job boom") }
func (panickingJob) Cancel(error)             {}
func (panickingJob) Context() context.Context { return nil }

// A Job recovers its own panics; one that escapes it anyway is not
// swallowed by Run: it goes on up the worker's goroutine, after the worker
// is counted dead (and replaced), and FuncFailed is not called.
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
		t.Fatalf("FuncFailed got %v for a Job", *got)
	}
	if s := tm.Snapshot(); s.Failed != 1 || s.Workers != 1 || m.Created() != 2 {
		t.Fatalf("after the escaped panic: %+v, %d workers made; want the worker replaced", s, m.Created())
	}
}
