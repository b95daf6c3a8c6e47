package threadpool_test

// Shared helpers of the black-box tests of the root package: gates, a
// recording slog handler, the Stats invariant checker, a pprof label probe
// and a goroutine census.

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twisted-go/threadpool"
)

// failAfter bounds a wait that a correct pool never makes long; it detects
// a hang, it never synchronises.
const failAfter = 10 * time.Second

// gate is a channel tasks block on until the test opens it.
type gate struct {
	ch   chan struct{}
	once sync.Once
}

// newGate returns a shut gate that the test's cleanup opens, so that a
// failing test never leaves tasks blocked (its pools' Stop, registered
// earlier, runs after).
func newGate(t testing.TB) *gate {
	g := &gate{ch: make(chan struct{})}
	t.Cleanup(g.open)
	return g
}

// open releases every goroutine waiting at the gate, now and later.
func (g *gate) open() { g.once.Do(func() { close(g.ch) }) }

// wait blocks until the gate is open.
func (g *gate) wait() { <-g.ch }

// recv waits for one value from ch, failing the test after failAfter.
func recv[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(failAfter):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

// waitClosed waits until ch is closed, failing the test after failAfter.
func waitClosed(t testing.TB, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(failAfter):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// newPool makes a pool that the test's cleanup stops, failing on error.
func newPool(t testing.TB, min, max int, opts ...threadpool.Option) *threadpool.Pool {
	t.Helper()
	p, err := threadpool.New(min, max, opts...)
	if err != nil {
		t.Fatalf("New(%d, %d): %v", min, max, err)
	}
	t.Cleanup(func() { stopAndCheck(t, p) })
	return p
}

// stopAndCheck stops p, then checks the invariants once more: a drained
// pool has no worker, no backlog, and accounts for every task.
func stopAndCheck(t testing.TB, p *threadpool.Pool) threadpool.Stats {
	t.Helper()
	if err := p.Stop(); err != nil {
		t.Errorf("Stop: %v", err)
	}
	s := checkStats(t, p)
	if s.Workers != 0 || s.Queued != 0 || s.Started {
		t.Errorf("after Stop: %+v", s)
	}
	return s
}

// mustStart starts p, failing the test on error.
func mustStart(t testing.TB, p *threadpool.Pool) {
	t.Helper()
	if err := p.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
}

// mustCall submits f with CallInThread, failing the test on error.
func mustCall(t testing.TB, p *threadpool.Pool, f func()) {
	t.Helper()
	if err := p.CallInThread(f); err != nil {
		t.Fatalf("CallInThread: %v", err)
	}
}

// mustStop stops p, failing the test on a non-nil error or after failAfter.
func mustStop(t testing.TB, p *threadpool.Pool) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- p.Stop() }()
	if err := recv(t, done, "Stop"); err != nil {
		t.Fatalf("Stop: %v", err)
	}
}

// blockers submits n tasks that each report on started and then wait at g.
// It checks the invariants after each submission.
func blockers(t testing.TB, p *threadpool.Pool, n int, g *gate, started chan<- struct{}) {
	t.Helper()
	for range n {
		mustCall(t, p, func() {
			if started != nil {
				started <- struct{}{}
			}
			g.wait()
		})
		checkStats(t, p)
	}
}

// lastStats is the previous snapshot checkStats saw of each pool, to check
// that counters never decrease.
// checkMu orders the snapshots with the stores, so that checkStats may be
// called from several goroutines at once.
var (
	lastStats sync.Map // *threadpool.Pool -> threadpool.Stats
	checkMu   sync.Mutex
)

// checkStats takes one snapshot of p, checks the invariants of SPEC H1 and
// H2 on it and against the previous snapshot checkStats took of p, and
// returns it.
//
// H1: Working + Waiters == Workers, every count >= 0, counters never
// decrease, PeakWorkers >= Workers. H2: Submitted == Completed + Failed +
// Canceled + Queued + Working. Pools here never use RunInCaller.
func checkStats(t testing.TB, p *threadpool.Pool) threadpool.Stats {
	t.Helper()
	checkMu.Lock()
	defer checkMu.Unlock()
	s := p.Stats()
	if s.Working+s.Waiters != s.Workers {
		t.Errorf("H1: Working %d + Waiters %d != Workers %d (%+v)", s.Working, s.Waiters, s.Workers, s)
	}
	if s.Min < 0 || s.Max < 0 || s.Min > s.Max || s.Workers < 0 || s.Working < 0 || s.Waiters < 0 || s.Queued < 0 || s.PendingShrink < 0 {
		t.Errorf("H1: negative or inconsistent count: %+v", s)
	}
	if s.PeakWorkers < s.Workers {
		t.Errorf("H1: PeakWorkers %d < Workers %d", s.PeakWorkers, s.Workers)
	}
	if got := s.Completed + s.Failed + s.Canceled + uint64(s.Queued) + uint64(s.Working); s.Submitted != got {
		t.Errorf("H2: Submitted %d != Completed %d + Failed %d + Canceled %d + Queued %d + Working %d",
			s.Submitted, s.Completed, s.Failed, s.Canceled, s.Queued, s.Working)
	}
	if prev, ok := lastStats.Load(p); ok {
		q := prev.(threadpool.Stats)
		if s.Submitted < q.Submitted || s.Completed < q.Completed || s.Failed < q.Failed ||
			s.Canceled < q.Canceled || s.Rejected < q.Rejected || s.PeakWorkers < q.PeakWorkers {
			t.Errorf("H1: a counter decreased: before %+v, after %+v", q, s)
		}
	} else if tt, ok := t.(interface{ Cleanup(func()) }); ok {
		tt.Cleanup(func() { lastStats.Delete(p) })
	}
	lastStats.Store(p, s)
	return s
}

// wantCounts checks the live counts of p, from Stats and from the single
// accessors, right now.
func wantCounts(t testing.TB, p *threadpool.Pool, workers, working, waiters, queued int) {
	t.Helper()
	s := checkStats(t, p)
	if s.Workers != workers || s.Working != working || s.Waiters != waiters || s.Queued != queued {
		t.Errorf("Stats: workers/working/waiters/queued = %d/%d/%d/%d, want %d/%d/%d/%d",
			s.Workers, s.Working, s.Waiters, s.Queued, workers, working, waiters, queued)
	}
	if p.Workers() != workers || p.Working() != working || p.Waiters() != waiters || p.QueueSize() != queued {
		t.Errorf("accessors: Workers/Working/Waiters/QueueSize = %d/%d/%d/%d, want %d/%d/%d/%d",
			p.Workers(), p.Working(), p.Waiters(), p.QueueSize(), workers, working, waiters, queued)
	}
}

// logRecord is one record a recorder received, its attributes flattened.
type logRecord struct {
	Level slog.Level
	Msg   string
	Attrs map[string]slog.Value
}

// recorder is a slog.Handler that keeps every record.
type recorder struct {
	mu   *sync.Mutex
	recs *[]logRecord
	pre  []slog.Attr
}

func newRecorder() (*recorder, *slog.Logger) {
	r := &recorder{mu: new(sync.Mutex), recs: new([]logRecord)}
	return r, slog.New(r)
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }

func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	lr := logRecord{Level: rec.Level, Msg: rec.Message, Attrs: map[string]slog.Value{}}
	for _, a := range r.pre {
		lr.Attrs[a.Key] = a.Value.Resolve()
	}
	rec.Attrs(func(a slog.Attr) bool {
		lr.Attrs[a.Key] = a.Value.Resolve()
		return true
	})
	r.mu.Lock()
	*r.recs = append(*r.recs, lr)
	r.mu.Unlock()
	return nil
}

func (r *recorder) WithAttrs(as []slog.Attr) slog.Handler {
	c := *r
	c.pre = append(append([]slog.Attr{}, r.pre...), as...)
	return &c
}

func (r *recorder) WithGroup(string) slog.Handler { return r }

// records returns a copy of what was logged so far.
func (r *recorder) records() []logRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]logRecord(nil), *r.recs...)
}

// err returns the record's "err" attribute, or nil.
func (rec logRecord) err() error {
	v, ok := rec.Attrs["err"]
	if !ok {
		return nil
	}
	err, _ := v.Any().(error)
	return err
}

// attrText is the text of every attribute of rec, joined, for searching.
func (rec logRecord) attrText() string {
	var b strings.Builder
	for k, v := range rec.Attrs {
		b.WriteString(k + "=" + v.String() + "\n")
	}
	return b.String()
}

var probeMu sync.Mutex

// myLabels returns the pprof labels of the calling goroutine as a goroutine
// profile shows them (SPEC G3). It is how a task or callback learns which
// worker runs it.
func myLabels() map[string]string {
	probeMu.Lock()
	defer probeMu.Unlock()
	return labelProbeMarker()
}

// labelProbeMarker is on the stack of exactly one goroutine while probeMu
// is held: the profile block that shows it carries the caller's labels.
//
//go:noinline
func labelProbeMarker() map[string]string {
	var buf bytes.Buffer
	_ = pprof.Lookup("goroutine").WriteTo(&buf, 1)
	for _, block := range strings.Split(buf.String(), "\n\n") {
		if strings.Contains(block, "labelProbeMarker") {
			return parseLabels(block)
		}
	}
	return nil
}

var labelRE = regexp.MustCompile(`"([^"]*)":"([^"]*)"`)

// parseLabels reads the "# labels: {...}" line of a debug=1 profile block.
func parseLabels(block string) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(block, "\n") {
		if rest, ok := strings.CutPrefix(line, "# labels: "); ok {
			for _, m := range labelRE.FindAllStringSubmatch(rest, -1) {
				out[m[1]] = m[2]
			}
		}
	}
	return out
}

// labeledGoroutines counts the goroutines whose pprof labels include
// threadpool=pool, and returns their thread labels.
func labeledGoroutines(pool string) []string {
	var buf bytes.Buffer
	_ = pprof.Lookup("goroutine").WriteTo(&buf, 1)
	var threads []string
	for _, block := range strings.Split(buf.String(), "\n\n") {
		l := parseLabels(block)
		if l["threadpool"] != pool {
			continue
		}
		var n int
		for _, c := range strings.TrimSpace(block) {
			if c < '0' || c > '9' {
				break
			}
			n = n*10 + int(c-'0')
		}
		for range n {
			threads = append(threads, l["thread"])
		}
	}
	return threads
}

// poolGoroutines counts the goroutines other than the caller that run code
// of the threadpool module (not its tests): a full stack dump is searched
// for frames of the core and the root package.
func poolGoroutines() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	stacks := strings.Split(string(buf), "\n\n")
	count := 0
	for _, st := range stacks[1:] { // the first is the caller's
		if strings.Contains(st, "twisted-go/threadpool/internal/") || strings.Contains(st, "twisted-go/threadpool.(") {
			count++
		}
	}
	return count
}

// relWatchdog bounds every wait of the suite: a wait that takes longer is a
// hang (a deadlock or a lost wake-up), never a slow machine. Default 60s;
// THREADPOOL_WATCHDOG (a duration) changes it, e.g. to see a mutation fail
// fast.
var relWatchdog = func() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("THREADPOOL_WATCHDOG")); err == nil && d > 0 {
		return d
	}
	return 60 * time.Second
}()

// relCountHandler is a slog handler that counts records by level.
type relCountHandler struct {
	errors atomic.Int64
	others atomic.Int64
}

func (h *relCountHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *relCountHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Level >= slog.LevelError {
		h.errors.Add(1)
	} else {
		h.others.Add(1)
	}
	return nil
}

func (h *relCountHandler) WithAttrs([]slog.Attr) slog.Handler { return h }

func (h *relCountHandler) WithGroup(string) slog.Handler { return h }

// relNew makes a pool that logs into a counting handler (nothing printed);
// opts come after the logger, so they may override it.
func relNew(t testing.TB, min, max int, opts ...threadpool.Option) (*threadpool.Pool, *relCountHandler) {
	t.Helper()
	h := &relCountHandler{}
	all := append([]threadpool.Option{threadpool.WithLogger(slog.New(h))}, opts...)
	p, err := threadpool.New(min, max, all...)
	if err != nil {
		t.Fatalf("New(%d, %d): %v", min, max, err)
	}
	return p, h
}

// relStart makes and starts a pool; the test's cleanup stops it (bounded).
func relStart(t testing.TB, min, max int, opts ...threadpool.Option) (*threadpool.Pool, *relCountHandler) {
	t.Helper()
	p, h := relNew(t, min, max, opts...)
	if err := p.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { relWithin(t, "cleanup Stop", func() { _ = p.Stop() }) })
	return p, h
}

// relWithin runs f and fails the test (with every goroutine's stack) if f
// does not return within relWatchdog.
func relWithin(t testing.TB, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	relWaitClosed(t, done, what)
}

// relWaitClosed waits for ch to close, failing after relWatchdog.
func relWaitClosed(t testing.TB, ch <-chan struct{}, what string) {
	t.Helper()
	timer := time.NewTimer(relWatchdog)
	defer timer.Stop()
	select {
	case <-ch:
	case <-timer.C:
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		t.Fatalf("%s: still waiting after %v (hang)\n%s", what, relWatchdog, buf)
	}
}

// relCheckSnapshot checks one Stats snapshot (SPEC H1, H2), and against the
// previous one of the same pool (counters never decrease). RunInCaller
// tasks are counted only once they ran, so the equation holds for them too.
func relCheckSnapshot(prev *threadpool.Stats, s threadpool.Stats) error {
	switch {
	case s.Workers < 0 || s.Working < 0 || s.Waiters < 0 || s.Queued < 0 ||
		s.Min < 0 || s.Max < 0 || s.PeakWorkers < 0 || s.PendingShrink < 0:
		return fmt.Errorf("negative count in %+v", s)
	case s.Working+s.Waiters != s.Workers:
		return fmt.Errorf("torn snapshot: Working %d + Waiters %d != Workers %d in %+v", s.Working, s.Waiters, s.Workers, s)
	case s.Submitted != s.Completed+s.Failed+s.Canceled+uint64(s.Queued)+uint64(s.Working):
		return fmt.Errorf("accounting: Submitted %d != Completed %d + Failed %d + Canceled %d + Queued %d + Working %d",
			s.Submitted, s.Completed, s.Failed, s.Canceled, s.Queued, s.Working)
	case s.PeakWorkers < s.Workers:
		return fmt.Errorf("PeakWorkers %d < Workers %d", s.PeakWorkers, s.Workers)
	case s.PendingShrink > s.Working:
		return fmt.Errorf("PendingShrink %d > Working %d (shrink requests outnumber busy workers)", s.PendingShrink, s.Working)
	}
	if prev != nil {
		type c struct {
			name     string
			old, new uint64
		}
		for _, x := range []c{
			{"Submitted", prev.Submitted, s.Submitted}, {"Completed", prev.Completed, s.Completed},
			{"Failed", prev.Failed, s.Failed}, {"Canceled", prev.Canceled, s.Canceled},
			{"Rejected", prev.Rejected, s.Rejected}, {"CallerRan", prev.CallerRan, s.CallerRan},
			{"PeakWorkers", uint64(prev.PeakWorkers), uint64(s.PeakWorkers)},
		} {
			if x.new < x.old {
				return fmt.Errorf("counter %s went back from %d to %d", x.name, x.old, x.new)
			}
		}
	}
	return nil
}

// relObserver checks every Stats snapshot it can take, in a loop, until
// finished.
type relObserver struct {
	p         *threadpool.Pool
	stop      chan struct{}
	done      chan struct{}
	snapshots int64
	err       error
}

func relObserve(p *threadpool.Pool) *relObserver {
	o := &relObserver{p: p, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(o.done)
		var prev *threadpool.Stats
		for {
			select {
			case <-o.stop:
				return
			default:
			}
			s := o.p.Stats()
			o.snapshots++
			if err := relCheckSnapshot(prev, s); err != nil {
				o.err = fmt.Errorf("snapshot %d: %w", o.snapshots, err)
				return
			}
			prev = &s
			runtime.Gosched() // let the pool work; the lock is shared
		}
	}()
	return o
}

// finish stops the observer and returns how many snapshots it checked and
// the first violation.
func (o *relObserver) finish(t testing.TB) (int64, error) {
	close(o.stop)
	relWaitClosed(t, o.done, "observer")
	return o.snapshots, o.err
}

// relPoolGoroutines counts the live goroutines labelled threadpool=<label>
// (SPEC G3: every worker carries it), read from the goroutine profile at
// once, without retries: what it sees is what is alive now.
func relPoolGoroutines(label string) int {
	var b bytes.Buffer
	_ = pprof.Lookup("goroutine").WriteTo(&b, 1)
	want := `"threadpool":"` + label + `"`
	n := 0
	for _, block := range strings.Split(b.String(), "\n\n") {
		if !strings.Contains(block, want) {
			continue
		}
		// debug=1 groups identical stacks: "<count> @ 0x..."
		first := strings.TrimSpace(strings.SplitN(block, "\n", 2)[0])
		if i := strings.Index(first, " @"); i > 0 {
			if c, err := strconv.Atoi(first[:i]); err == nil {
				n += c
				continue
			}
		}
		n++
	}
	return n
}

// relNoPoolGoroutines fails unless the goroutines labelled threadpool=<label>
// are gone. A worker signals its WaitGroup in its last deferred call, so
// right after Stop it may still be executing its function's epilogue; it is
// given that much (Gosched rounds for at most 2s), not more.
func relNoPoolGoroutines(t testing.TB, label string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for {
		n := relPoolGoroutines(label)
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			var b bytes.Buffer
			_ = pprof.Lookup("goroutine").WriteTo(&b, 1)
			t.Fatalf("%d goroutines of pool %q alive after Stop returned\n%s", n, label, b.String())
		}
		runtime.Gosched()
	}
}

// relEventually waits (Gosched rounds, bounded by the watchdog) until cond
// holds: for effects that are asynchronous by design, such as a log record
// written on a worker goroutine.
func relEventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(relWatchdog)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %v", what, relWatchdog)
		}
		runtime.Gosched()
	}
}

// relEnvInt reads a positive integer from the environment, or def.
func relEnvInt(t testing.TB, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

// relGate blocks tasks until opened.
type relGate struct {
	ch   chan struct{}
	once sync.Once
}

func relNewGate() *relGate { return &relGate{ch: make(chan struct{})} }

func (g *relGate) open() { g.once.Do(func() { close(g.ch) }) }

func (g *relGate) wait() { <-g.ch }

func relIsClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// relRecv receives n values from ch, bounded by the watchdog.
func relRecv(t testing.TB, ch <-chan struct{}, n int, what string) {
	t.Helper()
	timer := time.NewTimer(relWatchdog)
	defer timer.Stop()
	for i := 0; i < n; i++ {
		select {
		case <-ch:
		case <-timer.C:
			t.Fatalf("%s: got %d of %d after %v (hang)", what, i, n, relWatchdog)
		}
	}
}
