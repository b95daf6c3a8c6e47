package threadpool_test

import (
	"testing"

	"github.com/twisted-go/threadpool"
)

// The cost of WithOSThreads: the throughput of tiny tasks, and the round
// trip of one task handed to an idle worker (the hand-over wakes the
// worker's own thread), each against the default goroutine workers.

func BenchmarkCallInThreadOSThreads(b *testing.B) {
	benchCallInThread(b, threadpool.WithOSThreads())
}

func BenchmarkRoundTripGoroutineWorker(b *testing.B) { benchRoundTrip(b) }

func BenchmarkRoundTripOSThreadWorker(b *testing.B) {
	benchRoundTrip(b, threadpool.WithOSThreads())
}

func benchRoundTrip(b *testing.B, opts ...threadpool.Option) {
	p, err := threadpool.New(1, 1, opts...)
	if err != nil {
		b.Fatal(err)
	}
	if err := p.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := p.Stop(); err != nil {
			b.Error(err)
		}
	})
	done := make(chan struct{})
	task := func() { done <- struct{}{} }
	b.ReportAllocs()
	for b.Loop() {
		if err := p.CallInThread(task); err != nil {
			b.Fatal(err)
		}
		<-done
	}
}
