package threadpool_test

// TestJSON: MarshalJSON and UnmarshalJSON (SPEC I1), the Go form of
// Twisted's pickling of a ThreadPool.

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/twisted-go/threadpool"
)

func TestJSON(t *testing.T) {
	// I1: MarshalJSON saves min, max and name, exactly.
	t.Run("MarshalJSON saves min max and name", func(t *testing.T) {
		p := newPool(t, 7, 20, threadpool.WithName("db"))
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != `{"min":7,"max":20,"name":"db"}` {
			t.Fatalf("MarshalJSON = %s", b)
		}
		mustStart(t, p) // a started pool with work saves the same
		mustCall(t, p, func() {})
		if b2, err := json.Marshal(p); err != nil || string(b2) != string(b) {
			t.Fatalf("MarshalJSON of the started pool = %s, %v", b2, err)
		}
		q := newPool(t, 0, 0)
		if b, err := json.Marshal(q); err != nil || string(b) != `{"min":0,"max":0,"name":""}` {
			t.Fatalf("MarshalJSON of an unnamed pool = %s, %v", b, err)
		}
	})

	// I1: the round trip through a zero Pool gives a fresh, stopped pool with
	// the same settings, which starts and works (Twisted's testPersistence).
	t.Run("the round trip gives a fresh pool with the same settings", func(t *testing.T) {
		p := newPool(t, 7, 20, threadpool.WithName("db"))
		mustStart(t, p)
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		var q threadpool.Pool
		if err := json.Unmarshal(b, &q); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = q.Stop() })
		if q.Min() != 7 || q.Max() != 20 || q.Name() != "db" || q.Started() {
			t.Fatalf("restored Min, Max, Name, Started = %d, %d, %q, %v", q.Min(), q.Max(), q.Name(), q.Started())
		}
		wantCounts(t, &q, 0, 0, 0, 0)
		if s := checkStats(t, &q); s.Submitted != 0 || s.PeakWorkers != 0 {
			t.Fatalf("restored pool Stats %+v", s)
		}
		mustStart(t, &q)
		wantCounts(t, &q, 7, 0, 7, 0)
		if got := names(q.Threads()); got[0] != "PoolThread-db-1" || got[6] != "PoolThread-db-7" {
			t.Fatalf("restored pool's workers %v", got)
		}
		o := recv(t, callWith(t, &q, func() (any, error) { return "hi", nil }), "a task on the restored pool")
		if o.result != "hi" {
			t.Fatalf("onResult(%v, %v)", o.result, o.err)
		}
		mustStop(t, &q)
		if b2, _ := json.Marshal(&q); string(b2) != string(b) {
			t.Fatalf("second round trip %s, want %s", b2, b)
		}
		// The original pool is untouched.
		wantCounts(t, p, 7, 0, 7, 0)

		// Inside a config struct.
		type config struct {
			Workers *threadpool.Pool `json:"workers"`
		}
		var c config
		if err := json.Unmarshal([]byte(`{"workers":{"min":1,"max":2,"name":"cfg"}}`), &c); err != nil {
			t.Fatal(err)
		}
		if c.Workers == nil || c.Workers.Min() != 1 || c.Workers.Max() != 2 || c.Workers.Name() != "cfg" {
			t.Fatalf("pool in a struct: %+v", c.Workers)
		}
		if err := c.Workers.Stop(); err != nil {
			t.Fatal(err)
		}
	})

	// I1: into a pool that is not started, UnmarshalJSON replaces min, max and
	// the name and keeps the options and the waiting work.
	t.Run("UnmarshalJSON into a new pool keeps options and waiting work", func(t *testing.T) {
		rec, logger := newRecorder()
		p := newPool(t, 1, 2, threadpool.WithName("old"), threadpool.WithLogger(logger))
		ran := make(chan struct{})
		mustCall(t, p, func() { close(ran) })
		if err := json.Unmarshal([]byte(`{"min":3,"max":4,"name":"new"}`), p); err != nil {
			t.Fatal(err)
		}
		if p.Min() != 3 || p.Max() != 4 || p.Name() != "new" {
			t.Fatalf("Min, Max, Name = %d, %d, %q", p.Min(), p.Max(), p.Name())
		}
		wantCounts(t, p, 0, 0, 0, 1)
		mustStart(t, p)
		waitClosed(t, ran, "the task submitted before UnmarshalJSON")
		if got := names(p.Threads()); len(got) != 3 || !strings.HasPrefix(got[0], "PoolThread-new-") {
			t.Fatalf("workers %v, want 3 named after the new name", got)
		}
		p.DumpStats()
		r := rec.records()
		if len(r) != 1 || r[0].Attrs["pool"].String() != "new" {
			t.Fatalf("the logger option was not kept: %+v", r)
		}
		mustStop(t, p)
		// A stopped pool is not started either.
		if err := json.Unmarshal([]byte(`{"min":0,"max":1,"name":"again"}`), p); err != nil {
			t.Fatalf("UnmarshalJSON into a stopped pool: %v", err)
		}
		if p.Min() != 0 || p.Max() != 1 || p.Name() != "again" {
			t.Fatalf("Min, Max, Name = %d, %d, %q", p.Min(), p.Max(), p.Name())
		}
	})

	// I1: UnmarshalJSON into a started pool is an error and changes nothing;
	// so are missing sizes, bad sizes and bad JSON.
	t.Run("UnmarshalJSON into a started pool or of bad JSON is an error", func(t *testing.T) {
		p := newPool(t, 2, 3, threadpool.WithName("keep"))
		mustStart(t, p)
		if err := json.Unmarshal([]byte(`{"min":1,"max":1,"name":"x"}`), p); err == nil {
			t.Fatal("UnmarshalJSON into a started pool = nil, want an error")
		}
		if p.Min() != 2 || p.Max() != 3 || p.Name() != "keep" || !p.Started() {
			t.Fatalf("the started pool changed: %d, %d, %q, %v", p.Min(), p.Max(), p.Name(), p.Started())
		}
		wantCounts(t, p, 2, 0, 2, 0)
		if got := names(p.Threads()); !slices.Equal(got, []string{"PoolThread-keep-1", "PoolThread-keep-2"}) {
			t.Fatalf("workers %v", got)
		}

		q := newPool(t, 1, 1, threadpool.WithName("q"))
		for _, in := range []string{`{"max":3}`, `{"min":3}`, `{"name":"x"}`, `{}`, `not json`, `[1,2]`, `{"min":"1","max":2}`} {
			if err := json.Unmarshal([]byte(in), q); err == nil {
				t.Errorf("UnmarshalJSON(%s) = nil, want an error", in)
			}
			var z threadpool.Pool
			if err := json.Unmarshal([]byte(in), &z); err == nil {
				t.Errorf("UnmarshalJSON(%s) into a zero Pool = nil, want an error", in)
			}
		}
		for _, in := range []string{`{"min":-1,"max":3}`, `{"min":4,"max":3}`} {
			err := json.Unmarshal([]byte(in), q)
			if !errors.Is(err, threadpool.ErrInvalidSize) {
				t.Errorf("UnmarshalJSON(%s) = %v, want ErrInvalidSize", in, err)
			}
			var z threadpool.Pool
			if err := json.Unmarshal([]byte(in), &z); !errors.Is(err, threadpool.ErrInvalidSize) {
				t.Errorf("UnmarshalJSON(%s) into a zero Pool = %v, want ErrInvalidSize", in, err)
			}
		}
		if q.Min() != 1 || q.Max() != 1 || q.Name() != "q" {
			t.Fatalf("refused UnmarshalJSON changed the pool: %d, %d, %q", q.Min(), q.Max(), q.Name())
		}
	})

	// I1: JSON null unmarshals as a no-op, as encoding/json does for every type.
	t.Run("JSON null leaves the pool as it is", func(t *testing.T) {
		p := newPool(t, 2, 9, threadpool.WithName("kept"))
		if err := p.UnmarshalJSON([]byte(" null ")); err != nil {
			t.Fatalf("UnmarshalJSON(null): %v", err)
		}
		if p.Min() != 2 || p.Max() != 9 || p.Name() != "kept" {
			t.Fatalf("after null: min %d max %d name %q", p.Min(), p.Max(), p.Name())
		}
	})

	// I1: UnmarshalJSON into an unnamed pool that keeps no name keeps the number
	// that stands in for the name, so worker names do not change.
	t.Run("UnmarshalJSON into an unnamed pool keeps its number", func(t *testing.T) {
		p, _ := threadpool.New(1, 1)
		_ = p.Start()
		before := p.Threads()[0].Name
		_ = p.Stop()
		if err := p.UnmarshalJSON([]byte(`{"min":1,"max":1,"name":""}`)); err != nil {
			t.Fatal(err)
		}
		_ = p.Start()
		after := p.Threads()[0].Name
		_ = p.Stop()
		if strings.Split(before, "-")[1] != strings.Split(after, "-")[1] {
			t.Fatalf("worker names %q then %q: the pool's stand-in name changed", before, after)
		}
	})

}
