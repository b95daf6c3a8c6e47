package threadpool_test

// The one family of helpers of the root package's tests (all of them are
// package threadpool_test). Every wait is bounded by hangTimeout; none
// synchronises by sleeping.
//
//   - waits: recv, recvN, waitClosed, within, eventually, isClosed; and
//     gate, which tasks block on until the test opens it;
//   - pools: newPool (stopped and checked at cleanup), startPool,
//     newCountedPool and startCountedPool (with a countHandler logger),
//     mustStart, mustCall, mustStop, stopAndCheck, blockers;
//   - Stats: checkSnapshot (SPEC H1, H2, the one invariant check), and on
//     it checkStats and statsObserver; wantCounts (live counts) and
//     wantCounters (exact counters);
//   - logs: recorder (every record) and countHandler (counts by level);
//   - goroutines: poolGoroutines and poolThreads (one census of the
//     goroutine profile), noPoolGoroutines, goid, myLabels, and for
//     synctest bubbles bubbleGoroutines;
//   - load and Futures: sampleStats (checkStats in a loop, beside the
//     test's load), goWait (a Future waited on a goroutine of its own);
//   - groups: fullGroup (a group whose pool's backlog is full).

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

// recv waits for one value from ch, failing the test after hangTimeout.
func recv[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(hangTimeout):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
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

// mustStop stops p, failing the test on a non-nil error or after hangTimeout.
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

// checkStats takes one snapshot of p, checks it with checkSnapshot against
// the previous snapshot checkStats took of p, and returns it. Several
// goroutines may call it at once.
func checkStats(t testing.TB, p *threadpool.Pool) threadpool.Stats {
	t.Helper()
	checkMu.Lock()
	defer checkMu.Unlock()
	s := p.Stats()
	var prev *threadpool.Stats
	if q, ok := lastStats.Load(p); ok {
		v := q.(threadpool.Stats)
		prev = &v
	} else if tt, ok := t.(interface{ Cleanup(func()) }); ok {
		tt.Cleanup(func() { lastStats.Delete(p) })
	}
	if err := checkSnapshot(prev, s); err != nil {
		t.Errorf("%v", err)
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

// goroutineGroup is one block of a debug=1 goroutine profile: n goroutines
// with the same stack and labels.
type goroutineGroup struct {
	n      int
	labels map[string]string
}

// goroutineCensus reads the goroutine profile once: what it shows is what
// is alive now.
func goroutineCensus() []goroutineGroup {
	var buf bytes.Buffer
	_ = pprof.Lookup("goroutine").WriteTo(&buf, 1)
	var out []goroutineGroup
	for _, block := range strings.Split(buf.String(), "\n\n") {
		block = strings.TrimSpace(block)
		first, _, _ := strings.Cut(block, " @")
		n, err := strconv.Atoi(first)
		if err != nil {
			continue // the profile's header
		}
		out = append(out, goroutineGroup{n: n, labels: parseLabels(block)})
	}
	return out
}

// poolGoroutines counts the live goroutines of pool label, which every
// worker carries as its threadpool pprof label (SPEC G3), from the
// goroutine profile. With label "" it counts every goroutine other than
// the caller that runs the pool's code, labelled or not (so that a
// goroutine the pool started without a label counts too), from a full
// stack dump, as before the helpers were merged: counted from the profile
// instead, TestNew once saw 3 of 4 workers (-race, shuffled).
func poolGoroutines(label string) int {
	n := 0
	if label != "" {
		for _, g := range goroutineCensus() {
			if g.labels["threadpool"] == label {
				n += g.n
			}
		}
		return n
	}
	buf := make([]byte, 1<<20)
	for {
		m := runtime.Stack(buf, true)
		if m < len(buf) {
			buf = buf[:m]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	for _, st := range strings.Split(string(buf), "\n\n")[1:] { // the first is the caller's
		if strings.Contains(st, "twisted-go/threadpool/internal/") || strings.Contains(st, "twisted-go/threadpool.(") {
			n++
		}
	}
	return n
}

// poolThreads returns the thread labels of the live goroutines of pool
// label, one per goroutine.
func poolThreads(label string) []string {
	var threads []string
	for _, g := range goroutineCensus() {
		if g.labels["threadpool"] == label {
			for range g.n {
				threads = append(threads, g.labels["thread"])
			}
		}
	}
	return threads
}

// hangTimeout bounds every wait of the suite: a wait that takes longer is a
// hang (a deadlock or a lost wake-up), never a slow machine. Default 60s;
// THREADPOOL_WATCHDOG (a duration) changes it, e.g. to see a mutation fail
// fast.
var hangTimeout = func() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("THREADPOOL_WATCHDOG")); err == nil && d > 0 {
		return d
	}
	return 60 * time.Second
}()

// countHandler is a slog handler that counts records by level.
type countHandler struct {
	errors atomic.Int64
	others atomic.Int64
}

func (h *countHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *countHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Level >= slog.LevelError {
		h.errors.Add(1)
	} else {
		h.others.Add(1)
	}
	return nil
}

func (h *countHandler) WithAttrs([]slog.Attr) slog.Handler { return h }

func (h *countHandler) WithGroup(string) slog.Handler { return h }

// newCountedPool makes a pool that logs into a counting handler (nothing printed);
// opts come after the logger, so they may override it.
func newCountedPool(t testing.TB, min, max int, opts ...threadpool.Option) (*threadpool.Pool, *countHandler) {
	t.Helper()
	h := &countHandler{}
	all := append([]threadpool.Option{threadpool.WithLogger(slog.New(h))}, opts...)
	p, err := threadpool.New(min, max, all...)
	if err != nil {
		t.Fatalf("New(%d, %d): %v", min, max, err)
	}
	return p, h
}

// startCountedPool makes and starts a pool; the test's cleanup stops it (bounded).
func startCountedPool(t testing.TB, min, max int, opts ...threadpool.Option) (*threadpool.Pool, *countHandler) {
	t.Helper()
	p, h := newCountedPool(t, min, max, opts...)
	if err := p.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { within(t, "cleanup Stop", func() { _ = p.Stop() }) })
	return p, h
}

// within runs f and fails the test (with every goroutine's stack) if f
// does not return within hangTimeout.
func within(t testing.TB, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	waitClosed(t, done, what)
}

// waitClosed waits for ch to close, failing after hangTimeout.
func waitClosed(t testing.TB, ch <-chan struct{}, what string) {
	t.Helper()
	timer := time.NewTimer(hangTimeout)
	defer timer.Stop()
	select {
	case <-ch:
	case <-timer.C:
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		t.Fatalf("%s: still waiting after %v (hang)\n%s", what, hangTimeout, buf)
	}
}

// checkSnapshot checks one Stats snapshot (SPEC H1, H2), and against the
// previous one of the same pool (counters never decrease). RunInCaller
// tasks are counted only once they ran, so the equation holds for them too.
func checkSnapshot(prev *threadpool.Stats, s threadpool.Stats) error {
	switch {
	case s.Workers < 0 || s.Working < 0 || s.Waiters < 0 || s.Queued < 0 ||
		s.Min < 0 || s.Max < 0 || s.PeakWorkers < 0 || s.PendingShrink < 0:
		return fmt.Errorf("H1: negative count in %+v", s)
	case s.Min > s.Max:
		return fmt.Errorf("H1: Min %d > Max %d in %+v", s.Min, s.Max, s)
	case s.Working+s.Waiters != s.Workers:
		return fmt.Errorf("H1: torn snapshot: Working %d + Waiters %d != Workers %d in %+v", s.Working, s.Waiters, s.Workers, s)
	case s.Submitted != s.Completed+s.Failed+s.Canceled+uint64(s.Queued)+uint64(s.Working):
		return fmt.Errorf("H2: Submitted %d != Completed %d + Failed %d + Canceled %d + Queued %d + Working %d",
			s.Submitted, s.Completed, s.Failed, s.Canceled, s.Queued, s.Working)
	case s.PeakWorkers < s.Workers:
		return fmt.Errorf("H1: PeakWorkers %d < Workers %d", s.PeakWorkers, s.Workers)
	case s.PendingShrink > s.Working:
		return fmt.Errorf("H1: PendingShrink %d > Working %d (shrink requests outnumber busy workers)", s.PendingShrink, s.Working)
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
				return fmt.Errorf("H1: counter %s went back from %d to %d", x.name, x.old, x.new)
			}
		}
	}
	return nil
}

// statsObserver checks every Stats snapshot it can take, in a loop, until
// finished.
type statsObserver struct {
	p         *threadpool.Pool
	stop      chan struct{}
	done      chan struct{}
	snapshots int64
	err       error
}

func observeStats(p *threadpool.Pool) *statsObserver {
	o := &statsObserver{p: p, stop: make(chan struct{}), done: make(chan struct{})}
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
			if err := checkSnapshot(prev, s); err != nil {
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
func (o *statsObserver) finish(t testing.TB) (int64, error) {
	close(o.stop)
	waitClosed(t, o.done, "observer")
	return o.snapshots, o.err
}

// noPoolGoroutines fails unless the goroutines labelled threadpool=<label>
// are gone. A worker signals its WaitGroup in its last deferred call, so
// right after Stop it may still be executing its function's epilogue; it is
// given that much (Gosched rounds for at most 2s), not more.
func noPoolGoroutines(t testing.TB, label string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for {
		n := poolGoroutines(label)
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

// eventually waits (Gosched rounds, bounded by the watchdog) until cond
// holds: for effects that are asynchronous by design, such as a log record
// written on a worker goroutine.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(hangTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %v", what, hangTimeout)
		}
		runtime.Gosched()
	}
}

// envInt reads a positive integer from the environment, or def.
func envInt(t testing.TB, name string, def int) int {
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

// isClosed reports whether ch is closed, without waiting.
func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// recvN receives n values from ch, bounded by the watchdog.
func recvN(t testing.TB, ch <-chan struct{}, n int, what string) {
	t.Helper()
	timer := time.NewTimer(hangTimeout)
	defer timer.Stop()
	for i := 0; i < n; i++ {
		select {
		case <-ch:
		case <-timer.C:
			t.Fatalf("%s: got %d of %d after %v (hang)", what, i, n, hangTimeout)
		}
	}
}

// --- exact counters, synctest bubbles, contexts ---------------------------

// counters is the part of Stats a test pins exactly.
type counters struct {
	Submitted, Completed, Failed, Canceled, Rejected, CallerRan uint64
	Workers, Working, Queued                                    int
}

// wantCounters checks the accounting of p and that its counts are want.
func wantCounters(t *testing.T, p *threadpool.Pool, want counters) {
	t.Helper()
	s := checkStats(t, p)
	got := counters{
		Submitted: s.Submitted, Completed: s.Completed, Failed: s.Failed,
		Canceled: s.Canceled, Rejected: s.Rejected, CallerRan: s.CallerRan,
		Workers: s.Workers, Working: s.Working, Queued: s.Queued,
	}
	if got != want {
		t.Errorf("stats:\n got %+v\nwant %+v", got, want)
	}
}

// startPool makes and starts a pool that logs into a counting handler
// (nothing printed; a WithLogger among opts overrides it); the test's
// cleanup stops it, bounded by hangTimeout.
func startPool(t testing.TB, min, max int, opts ...threadpool.Option) *threadpool.Pool {
	t.Helper()
	p, _ := startCountedPool(t, min, max, opts...)
	return p
}

// goid returns the id of the calling goroutine (from its stack header).
func goid() uint64 {
	var buf [64]byte
	b := bytes.TrimPrefix(buf[:runtime.Stack(buf[:], false)], []byte("goroutine "))
	i := bytes.IndexByte(b, ' ')
	id, _ := strconv.ParseUint(string(b[:i]), 10, 64)
	return id
}

var bubbleRE = regexp.MustCompile(`synctest bubble (\d+)`)

// bubbleStacks returns the stacks of the goroutines in the caller's
// synctest bubble, the caller included.
func bubbleStacks(t *testing.T) []string {
	t.Helper()
	var one [256]byte
	m := bubbleRE.FindSubmatch(one[:runtime.Stack(one[:], false)])
	if m == nil {
		t.Fatal("bubbleStacks: not in a synctest bubble")
	}
	mine := string(m[1])
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var out []string
	for _, g := range bytes.Split(buf, []byte("\n\n")) {
		header, _, _ := bytes.Cut(g, []byte("\n"))
		if m := bubbleRE.FindSubmatch(header); m != nil && string(m[1]) == mine {
			out = append(out, string(g))
		}
	}
	return out
}

// bubbleGoroutines counts the goroutines of the caller's bubble other than
// the caller: workers (goroutines running a worker loop) and others.
func bubbleGoroutines(t *testing.T) (workers, others int, otherStacks []string) {
	t.Helper()
	self := fmt.Sprintf("goroutine %d ", goid())
	for _, g := range bubbleStacks(t) {
		switch {
		case strings.HasPrefix(g, self):
		case isSynctestHarness(g):
		case strings.Contains(g, "internal/team.(*goroutine).loop"):
			workers++
		default:
			others++
			otherStacks = append(otherStacks, g)
		}
	}
	return workers, others, otherStacks
}

// isSynctestHarness reports whether goroutine stack g belongs to testing/synctest
// itself (the bubble's root goroutines), judged by its top frame.
func isSynctestHarness(g string) bool {
	lines := strings.SplitN(g, "\n", 3)
	return len(lines) >= 2 && (strings.HasPrefix(lines[1], "internal/synctest.") ||
		strings.HasPrefix(lines[1], "testing/synctest."))
}

func canceledCtx() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

// --- load, Futures, groups -----------------------------------------------

// sampleStats starts n goroutines that check Stats snapshots of p with
// checkStats in a loop (SPEC H1, H2 hold in every one), yielding between
// snapshots, until the returned stop is called; stop waits for them,
// bounded by hangTimeout.
func sampleStats(t testing.TB, p *threadpool.Pool, n int) (stop func()) {
	t.Helper()
	quit := make(chan struct{})
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for {
				select {
				case <-quit:
					return
				default:
					checkStats(t, p)
					runtime.Gosched()
				}
			}
		})
	}
	return func() {
		t.Helper()
		close(quit)
		within(t, "the Stats samplers", wg.Wait)
	}
}

// waited is what a Future's Wait returned.
type waited[T any] struct {
	v   T
	err error
}

// goWait starts a goroutine, counted in wg, that waits on fut with ctx and
// sends what Wait returned on out.
func goWait[T any](wg *sync.WaitGroup, fut *threadpool.Future[T], ctx context.Context, out chan<- waited[T]) {
	wg.Go(func() {
		v, err := fut.Wait(ctx)
		out <- waited[T]{v, err}
	})
}

// fullGroup returns a started pool (0, 1) with a backlog limit of 1 under
// policy (stopped and checked at cleanup) and a group on it holding two
// tasks: the first runs, blocked at the returned gate, the second waits in
// the backlog, which is full. Each of them adds one to ran as it ends.
func fullGroup(t *testing.T, policy threadpool.OverflowPolicy) (p *threadpool.Pool, g *threadpool.Group, gate *gate, ran *atomic.Int32) {
	t.Helper()
	p = newPool(t, 0, 1, threadpool.WithQueueLimit(1, policy))
	mustStart(t, p)
	gate = newGate(t)
	started := make(chan struct{}, 1)
	g, _ = threadpool.NewGroup(context.Background(), p)
	ran = new(atomic.Int32)
	g.Go(func(context.Context) error { started <- struct{}{}; gate.wait(); ran.Add(1); return nil })
	recv(t, started, "the first task")
	g.Go(func(context.Context) error { ran.Add(1); return nil }) // into the backlog
	return p, g, gate, ran
}
