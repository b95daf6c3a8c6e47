// Command primes shows the threadpool model across machines, on NATS
// JetStream: a submitter stores a few thousand CPU-bound tasks (count the
// primes in a range of numbers), worker processes run them on their own local
// pools, one worker is killed with SIGKILL halfway, and at the end every task
// has completed exactly once with the right value.
//
// With no flags everything runs on this machine:
//
//	cd cluster && go run ./examples/primes
//
// It starts an embedded NATS server (natsembed, on a random loopback port),
// re-executes itself three times as worker processes (-role worker), submits
// the tasks, prints progress and the cluster's Stats about once a second,
// kills one worker with SIGKILL about halfway (its tasks come back after the
// AckWait, -ackwait, 5 s), and checks every result against a local sieve. It
// exits non-zero if any task is missing, failed, wrong, or resolved twice.
//
// Across machines, point every side at the same NATS server (or cluster) with
// JetStream enabled, and give every side the same -ackwait:
//
//	nats-server -js                                            # host A
//	go run ./examples/primes -role worker -nats nats://A:4222  # on each worker machine
//	go run ./examples/primes -role submit -nats nats://A:4222  # on any machine
//
// The streams (prefix "primes") are file-backed and stay on a real server;
// remove them with `nats stream rm PRIMES_TASKS PRIMES_RESULTS`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/twisted-go/threadpool/cluster"
	"github.com/twisted-go/threadpool/cluster/natsembed"
)

// Range is a task's argument: count the primes in [Lo, Hi).
type Range struct {
	Index  int `json:"index"`
	Lo, Hi int
}

// Count is a task's result.
type Count struct {
	Index  int    `json:"index"`
	Primes int    `json:"primes"`
	Worker string `json:"worker"` // the worker that counted them
}

// Every worker and submitter of the prefix registers the same handlers and
// uses the same stream options (cluster.WithAckWait among them).
const prefix = "primes"

// startedSubject is where a worker announces that it starts a task (plain
// NATS, "<index> <worker>"), so the submitter can tell which tasks the killed
// worker held. It is the example's own subject, not the cluster's.
const startedSubject = prefix + ".example.started"

var (
	natsURL  = flag.String("nats", "", "NATS server URL; empty starts an embedded server (role all only)")
	role     = flag.String("role", "all", "all, worker or submit")
	tasks    = flag.Int("tasks", 3000, "tasks to submit")
	width    = flag.Int("width", 4000, "numbers per task")
	workers  = flag.Int("workers", 3, "worker processes to start (role all)")
	slots    = flag.Int("slots", runtime.NumCPU(), "tasks a worker process runs at once (its pool's max)")
	ackWait  = flag.Duration("ackwait", 5*time.Second, "AckWait: a killed worker's tasks come back after this; the same on every side")
	kill     = flag.Bool("kill", true, "SIGKILL one worker process halfway (role all)")
	timeout  = flag.Duration("timeout", 2*time.Minute, "bound of the whole run (role all and submit)")
	nameFlag = flag.String("name", "", "worker name (role worker); default <hostname>-<pid>")
)

// handlers is the handler set. started, if not nil, is told when a task starts.
func handlers(worker string, started func(index int)) (*cluster.Registry, cluster.Task[Range, Count]) {
	reg := cluster.NewRegistry()
	count := cluster.Register(reg, "count-primes", func(ctx context.Context, r Range) (Count, error) {
		if started != nil {
			started(r.Index)
		}
		if r.Lo < 0 || r.Hi < r.Lo {
			return Count{}, fmt.Errorf("bad range [%d, %d)", r.Lo, r.Hi)
		}
		n := 0
		for x := r.Lo; x < r.Hi; x++ {
			if isPrime(x) {
				n++
			}
		}
		return Count{Index: r.Index, Primes: n, Worker: worker}, nil
	})
	return reg, count
}

// isPrime is trial division: deliberately CPU-bound.
func isPrime(x int) bool {
	if x < 2 {
		return false
	}
	if x%2 == 0 {
		return x == 2
	}
	for d := 3; d*d <= x; d += 2 {
		if x%d == 0 {
			return false
		}
	}
	return true
}

func options() []cluster.Option {
	return []cluster.Option{cluster.WithPrefix(prefix), cluster.WithAckWait(*ackWait)}
}

func main() {
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	var err error
	switch *role {
	case "worker":
		err = runWorker(ctx)
	case "submit", "all":
		err = runSubmitter(ctx)
	default:
		err = fmt.Errorf("unknown -role %q (all, worker or submit)", *role)
	}
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "primes:", err)
		os.Exit(1)
	}
}

// runWorker runs one worker process until it is signalled or its connection
// is closed for good.
func runWorker(ctx context.Context) error {
	if *natsURL == "" {
		return errors.New("-role worker needs -nats URL")
	}
	name := *nameFlag
	if name == "" {
		host, _ := os.Hostname()
		name = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	closed := make(chan struct{})
	nc, err := nats.Connect(*natsURL, nats.Name("primes worker "+name),
		nats.ClosedHandler(func(*nats.Conn) { close(closed) }))
	if err != nil {
		return err
	}
	defer nc.Close()
	reg, _ := handlers(name, func(index int) {
		// Flushed before the work starts, so the notice is not lost
		// with the process if it is killed mid-task.
		nc.Publish(startedSubject, fmt.Appendf(nil, "%d %s", index, name))
		nc.Flush()
	})
	w, err := cluster.NewWorker(nc, reg, 0, *slots, append(options(), cluster.WithWorkerName(name))...)
	if err != nil {
		return err
	}
	if err := w.Start(); err != nil {
		return err
	}
	fmt.Printf("worker %s: pid %d, %d slots, on %s\n", name, os.Getpid(), *slots, *natsURL)
	select {
	case <-ctx.Done():
	case <-closed:
	}
	// Finish and ack what it holds; what is not done in 5 s goes back to
	// the stream at once.
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := w.Shutdown(sctx); err != nil {
		fmt.Printf("worker %s: shutdown: %v\n", name, err)
	}
	return nil
}

// workerProc is a worker process started by role all.
type workerProc struct {
	name string
	cmd  *exec.Cmd
}

// startWorkers re-executes this binary as n worker processes on url. The
// processes get SIGTERM when ctx ends, SIGKILL 3 s later (exec.Cmd's
// WaitDelay), and die with this process on Linux (Pdeathsig).
func startWorkers(ctx context.Context, n int, url string) ([]*workerProc, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	var procs []*workerProc
	for i := range n {
		name := fmt.Sprintf("worker-%d", i+1)
		cmd := exec.CommandContext(ctx, exe, "-role", "worker", "-nats", url, "-name", name,
			"-slots", fmt.Sprint(*slots), "-ackwait", ackWait.String())
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
		cmd.WaitDelay = 3 * time.Second
		setPdeathsig(cmd)
		if err := cmd.Start(); err != nil {
			return procs, err
		}
		procs = append(procs, &workerProc{name: name, cmd: cmd})
	}
	return procs, nil
}

// outcome is one resolved Future.
type outcome struct {
	index int
	count Count
	err   error
	at    time.Time
}

func runSubmitter(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	if *tasks < 1 || *width < 1 {
		return errors.New("-tasks and -width must be positive")
	}

	// The server: embedded, or the one named by -nats.
	url := *natsURL
	if url == "" {
		if *role != "all" {
			return errors.New("-role submit needs -nats URL")
		}
		srv, err := natsembed.Start(natsembed.Options{Port: -1}) // a random loopback port, for the workers
		if err != nil {
			return err
		}
		defer srv.Shutdown()
		url = srv.ClientURL()
		fmt.Println("embedded NATS server on", url)
	}
	nc, err := nats.Connect(url, nats.Name("primes submitter"))
	if err != nil {
		return err
	}
	defer nc.Close()

	// The worker processes (role all). Deferred in this order, they are
	// stopped and waited for before the server shuts down.
	var procs []*workerProc
	if *role == "all" {
		wctx, stopWorkers := context.WithCancel(context.Background())
		procs, err = startWorkers(wctx, *workers, url)
		defer func() {
			stopWorkers()
			for _, p := range procs {
				p.cmd.Wait() // bounded by WaitDelay
			}
		}()
		if err != nil {
			return err
		}
	}

	// Which worker started which task, from the workers' notices.
	var mu sync.Mutex
	startedBy := make(map[int][]string)
	sub, err := nc.Subscribe(startedSubject, func(m *nats.Msg) {
		var i int
		var w string
		if _, err := fmt.Sscanf(string(m.Data), "%d %s", &i, &w); err == nil {
			mu.Lock()
			startedBy[i] = append(startedBy[i], w)
			mu.Unlock()
		}
	})
	if err != nil {
		return err
	}
	defer sub.Unsubscribe()

	c, err := cluster.NewClient(ctx, nc, options()...)
	if err != nil {
		return err
	}
	defer c.Close()
	_, count := handlers("", nil)

	if *role == "all" {
		waitForMachines(ctx, c, *workers)
	}

	// The expected answer, computed here with a sieve.
	t0 := time.Now()
	want := primeCounts(*tasks, *width)
	fmt.Printf("local sieve: %d primes below %d in %v\n", sum(want), *tasks**width, time.Since(t0).Round(time.Millisecond))

	// Submit every task; each Future reports on outcomes when it resolves.
	// Submit returns once the server has stored the task.
	start := time.Now()
	outcomes := make(chan outcome, *tasks)
	var submitted sync.WaitGroup
	var nSubmitted int64
	var smu sync.Mutex
	const submitters = 4
	for s := range submitters {
		submitted.Go(func() {
			for i := s; i < *tasks; i += submitters {
				f := cluster.Submit(ctx, c, count, Range{Index: i, Lo: i * *width, Hi: (i + 1) * *width})
				go func() {
					v, err := f.Wait(context.Background()) // every Future resolves (K1); Close ends the rest
					outcomes <- outcome{i, v, err, time.Now()}
				}()
				smu.Lock()
				nSubmitted++
				smu.Unlock()
			}
		})
	}

	// Collect, print progress, and kill a worker halfway.
	got := make([]*outcome, *tasks)
	resolved, failed := 0, 0
	var killedAt time.Time
	var killed string
	held := map[int]bool{} // tasks the killed worker had started and not finished
	statsCh := make(chan string, 1)
	go statsLoop(ctx, c, statsCh)
	for resolved < *tasks {
		select {
		case o := <-outcomes:
			resolved++
			if got[o.index] != nil {
				return fmt.Errorf("task %d resolved twice", o.index)
			}
			got[o.index] = &o
			if o.err != nil {
				failed++
				fmt.Printf("task %d failed: %v\n", o.index, o.err)
			}
			switch {
			case !held[o.index]:
			case o.count.Worker == killed:
				// Its result was stored before the kill, its ack was
				// not: the task runs again, and the second result is
				// dropped as a duplicate.
				fmt.Printf("task %d had completed on the killed %s just before the kill\n", o.index, killed)
			default:
				fmt.Printf("task %d, running on the killed %s, was redelivered and completed on %s %v after the kill (AckWait %v)\n",
					o.index, killed, o.count.Worker, o.at.Sub(killedAt).Round(time.Millisecond), *ackWait)
			}
			if *kill && killed == "" && len(procs) > 1 && resolved >= *tasks/2 {
				// Kill the worker that holds the most running tasks (none
				// may, between two tasks: then try again at the next result).
				mu.Lock()
				holding := map[string][]int{}
				for i, ws := range startedBy {
					if got[i] == nil {
						holding[ws[len(ws)-1]] = append(holding[ws[len(ws)-1]], i)
					}
				}
				mu.Unlock()
				var victim *workerProc
				for _, p := range procs {
					if victim == nil || len(holding[p.name]) > len(holding[victim.name]) {
						victim = p
					}
				}
				if len(holding[victim.name]) > 0 {
					victim.cmd.Process.Signal(syscall.SIGKILL)
					killedAt, killed = time.Now(), victim.name
					for _, i := range holding[victim.name] {
						held[i] = true
					}
					fmt.Printf("SIGKILL %s (pid %d) at %d/%d done, running tasks %v\n",
						victim.name, victim.cmd.Process.Pid, resolved, *tasks, slices.Sorted(maps.Keys(held)))
				}
			}
		case line := <-statsCh:
			smu.Lock()
			n := nSubmitted
			smu.Unlock()
			el := time.Since(start)
			fmt.Printf("%5.1fs  submitted %d  done %d/%d (%.0f/s)  %s\n", el.Seconds(), n, resolved, *tasks,
				float64(resolved)/el.Seconds(), line)
		case <-ctx.Done():
			return fmt.Errorf("%d of %d tasks resolved: %w", resolved, *tasks, ctx.Err())
		}
	}
	submitted.Wait()
	elapsed := time.Since(start)

	// Verify.
	sctx, scancel := context.WithTimeout(ctx, 500*time.Millisecond)
	st, err := c.Stats(sctx)
	scancel()
	if err != nil {
		return err
	}
	total, wrong := 0, 0
	perWorker := map[string]int{}
	for i, o := range got {
		if o.err != nil {
			continue
		}
		total += o.count.Primes
		perWorker[o.count.Worker]++
		if o.count.Primes != want[i] || o.count.Index != i {
			wrong++
			fmt.Printf("task %d: %d primes, want %d\n", i, o.count.Primes, want[i])
		}
	}
	mu.Lock()
	starts, again := 0, 0
	for _, ws := range startedBy {
		starts += len(ws)
		if len(ws) > 1 {
			again++
		}
	}
	mu.Unlock()
	fmt.Printf("\n%d tasks in %v (%.0f tasks/s); results per worker: %v\n", *tasks, elapsed.Round(time.Millisecond),
		float64(*tasks)/elapsed.Seconds(), perWorker)
	fmt.Printf("handler starts: %d (%d tasks started more than once: at-least-once execution)\n", starts, again)
	fmt.Printf("every Future resolved once: %d of %d; failed %d; wrong %d; duplicate results dropped %d\n",
		resolved, *tasks, failed, wrong, st.DuplicateResults)
	fmt.Printf("primes below %d: %d from the cluster, %d from the local sieve\n", *tasks**width, total, sum(want))
	if failed > 0 || wrong > 0 || total != sum(want) {
		return errors.New("FAILED: the cluster's answer is not the local one")
	}
	fmt.Println("OK: every task completed exactly once with the right value")
	return nil
}

// waitForMachines waits, at most 10 s, until n workers answer Stats.
func waitForMachines(ctx context.Context, c *cluster.Client, n int) {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		sctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		st, err := c.Stats(sctx)
		cancel()
		if err == nil && st.Machines >= n {
			fmt.Printf("%d workers ready\n", st.Machines)
			return
		}
	}
	fmt.Printf("not every worker answered in 10 s; going on\n")
}

// statsLoop sends one line of cluster Stats about once a second until ctx ends.
func statsLoop(ctx context.Context, c *cluster.Client, out chan<- string) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
		case <-ctx.Done():
			return
		}
		// Stats collects the workers' answers until its ctx ends (or for
		// its own second): a short ctx is plenty on a LAN and keeps the
		// snapshot fresh.
		sctx, cancel := context.WithTimeout(ctx, 250*time.Millisecond)
		st, err := c.Stats(sctx)
		cancel()
		line := fmt.Sprintf("machines %d, working %d/%d, queued %d, in flight %d, redelivered %d",
			st.Machines, st.Working, st.Workers, st.Queued, st.InFlight, st.Redelivered)
		if err != nil {
			line = "stats: " + err.Error()
		}
		select {
		case out <- line:
		case <-ctx.Done():
			return
		}
	}
}

// primeCounts counts the primes of each task's range with a sieve.
func primeCounts(tasks, width int) []int {
	n := tasks * width
	composite := make([]bool, n)
	counts := make([]int, tasks)
	for x := 2; x < n; x++ {
		if composite[x] {
			continue
		}
		counts[x/width]++
		for m := x * x; m < n; m += x {
			composite[m] = true
		}
	}
	return counts
}

func sum(v []int) int {
	s := 0
	for _, x := range v {
		s += x
	}
	return s
}
