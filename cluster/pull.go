package cluster

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// pullBackoff is the pause after a pull request that failed or ended early
// (no responders while a cluster elects a leader, a lost connection), so a
// failing pull never spins.
const pullBackoff = 250 * time.Millisecond

// testHookDelivered, when set (by tests), runs for each message a pull
// request delivers, before the worker accounts for it.
var testHookDelivered func()

// pullReq is a pull request that has not reported its end (a status).
type pullReq struct {
	batch int
	at    time.Time
}

// The pull protocol (K6). A Worker has one subscription, on <inbox>.*, for
// every pull request's deliveries and status messages, and one pull
// goroutine that publishes requests to the consumer's MSG.NEXT subject with
// reply <inbox>.<n>. Deliveries carry the task's own subject, so they are
// counted in aggregate: outstanding is the sum of what the open requests
// still owe; each delivery takes one off, and a request's end (408 at its
// expiry, 409) says in Nats-Pending-Messages what it still owed. A request
// fully served ends silently, having owed nothing more.

// topUpLocked wakes the pull goroutine after a change of held, outstanding
// or window. Called with w.mu held.
func (w *Worker) topUpLocked() {
	if w.state != stateStarted {
		return
	}
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// wantLocked is how many messages a new pull request should ask for now:
// the gap window − held − outstanding (so what is asked for never exceeds
// what the worker may hold), once it is at least 1 (exact pull) or half the
// prefetch (WithPrefetch: fewer, larger requests). While requests are open
// after one of them expired with nothing else happening (pullMerge), it
// waits for the others to end too, so an idle worker's requests merge into
// one for its whole window. Called with w.mu held.
func (w *Worker) wantLocked() int {
	gap := w.window - len(w.held) - w.outstanding
	if gap <= 0 || gap < max(1, w.cfg.prefetch/2) || (w.pullMerge && w.outstanding > 0) {
		return 0
	}
	return gap
}

// puller issues the pull requests: after every wake (topUpLocked) one for the
// whole gap, if there is one; every heartbeat interval it checks that the
// open requests are alive. It ends at a stop.
func (w *Worker) puller() {
	defer w.pullWG.Done()
	hb := w.cfg.pullExpiry / 5
	tick := time.NewTicker(hb)
	defer tick.Stop()
	wait := time.NewTimer(0) // the end of a backoff
	<-wait.C
	defer wait.Stop()
	waiting := false
	for {
		select {
		case <-w.pullCtx.Done():
			return
		case <-w.kick:
		case now := <-tick.C:
			w.mu.Lock()
			w.checkPullsLocked(now, hb)
			w.mu.Unlock()
		case <-wait.C:
			waiting = false
		}
		w.mu.Lock()
		now := time.Now()
		if w.state != stateStarted {
			w.mu.Unlock()
			continue
		}
		if d := w.pullNotBefore.Sub(now); d > 0 {
			if !waiting {
				wait.Reset(d)
				waiting = true
			}
			w.mu.Unlock()
			continue
		}
		n := w.wantLocked()
		if n == 0 {
			w.mu.Unlock()
			continue
		}
		w.pullSeq++
		w.pullMerge = false
		tok := strconv.FormatUint(w.pullSeq, 36)
		w.pulls[tok] = pullReq{batch: n, at: now}
		if w.outstanding == 0 {
			w.lastHeard = now // heartbeats are due from now on
		}
		w.outstanding += n
		w.mu.Unlock()
		err := w.nc.PublishMsg(&nats.Msg{Subject: w.pullSubject, Reply: w.pullInbox + "." + tok,
			Data: fmt.Appendf(nil, `{"batch":%d,"expires":%d,"idle_heartbeat":%d}`, n, w.cfg.pullExpiry, hb)})
		if err != nil {
			w.mu.Lock()
			w.endPullLocked(tok, n)
			w.pullNotBefore = time.Now().Add(pullBackoff)
			w.topUpLocked()
			w.mu.Unlock()
		}
	}
}

// endPullLocked forgets the open request tok, which still owed owed messages.
func (w *Worker) endPullLocked(tok string, owed int) {
	if _, ok := w.pulls[tok]; !ok {
		return // forgotten already (a reset): not counted any more
	}
	delete(w.pulls, tok)
	w.outstanding = max(0, w.outstanding-owed)
}

// resetPullsLocked forgets every open request: they are lost (no heartbeat)
// or ended in a way that does not say what they owed. A delivery that still
// comes from one is held if the window has room, else handed back.
func (w *Worker) resetPullsLocked() {
	clear(w.pulls)
	w.outstanding = 0
}

// checkPullsLocked runs every heartbeat interval: while requests are open
// the server sends a heartbeat for each idle one every hb, so nothing heard
// for 2.5 hb means they are lost (a lost server or connection): forget them,
// and ask again. A request that neither reported its end nor was heard of
// well after its expiry was served in full, silently: forget it.
func (w *Worker) checkPullsLocked(now time.Time, hb time.Duration) {
	if w.outstanding > 0 && now.Sub(w.lastHeard) > 2*hb+hb/2 {
		w.resetPullsLocked()
		w.topUpLocked()
		return
	}
	for tok, r := range w.pulls {
		if now.Sub(r.at) > w.cfg.pullExpiry+2*hb {
			delete(w.pulls, tok)
		}
	}
}

// onPull receives everything the pull requests bring, on the worker's one
// pull subscription: tasks, and status messages (100 heartbeat, 408 request
// expired, 409, 503 no responders, ...).
func (w *Worker) onPull(m *nats.Msg) {
	if m.Reply != "" && m.Header.Get("Status") == "" {
		w.accept(m)
		return
	}
	code := m.Header.Get("Status")
	tok := strings.TrimPrefix(m.Subject, w.pullInbox+".")
	w.mu.Lock()
	defer w.mu.Unlock()
	w.lastHeard = time.Now()
	if code == "100" { // idle heartbeat
		return
	}
	r, known := w.pulls[tok]
	if p := m.Header.Get("Nats-Pending-Messages"); p != "" {
		owed, _ := strconv.Atoi(p)
		w.endPullLocked(tok, owed)
		if code == "408" && known && w.outstanding > 0 {
			w.pullMerge = true // idle: ask again with the other open requests' end
		}
	} else if known && (code == "503" || code == "400" || code == "404" ||
		strings.HasPrefix(m.Header.Get("Description"), "Exceeded")) {
		w.endPullLocked(tok, r.batch) // refused: it never delivered anything
	} else if known || code == "409" {
		w.resetPullsLocked() // leadership change, consumer deleted, ...: what was owed is unknown
	}
	// Anything but a request's own expiry pauses before the next request, as
	// does an expiry long before its time, so a failing pull never spins.
	if code != "408" || (known && time.Since(r.at) < w.cfg.pullExpiry/2) {
		w.pullNotBefore = time.Now().Add(pullBackoff)
	}
	w.topUpLocked()
}

// accept takes one delivered task, which the pull requests counted in
// outstanding: it holds it and submits it to the local pool, or hands it
// back at once when the worker is stopping or the window was lowered
// meanwhile.
func (w *Worker) accept(m *nats.Msg) {
	if testHookDelivered != nil {
		testHookDelivered()
	}
	info, perr := parseTask(m.Header)
	w.mu.Lock()
	w.lastHeard = time.Now()
	w.outstanding = max(0, w.outstanding-1) // asked for -> held (or handed back) in one step (K6)
	w.pullMerge = false
	if w.state != stateStarted || len(w.held) >= w.window {
		w.topUpLocked()
		w.mu.Unlock()
		w.ackMsg(m, ackNak)
		return
	}
	if perr != nil { // not a task of this package: never deliver it again
		w.topUpLocked()
		w.mu.Unlock()
		w.ackMsg(m, ackTerm)
		return
	}
	j := &job{msg: m, info: info, noResult: m.Header.Get(hdrNoResult) != ""}
	if info.deadline.IsZero() {
		j.ctx, j.cancel = context.WithCancel(context.Background())
	} else {
		j.ctx, j.cancel = context.WithDeadline(context.Background(), info.deadline)
	}
	if _, ok := w.canceled[info.id]; ok {
		delete(w.canceled, info.id)
		j.cancel()
	}
	w.held[j] = struct{}{}
	w.byID[info.id] = j
	w.mu.Unlock()
	err := w.pool.CallInThreadWithCallback(func(res any, err error) { w.finish(j, res, err) },
		func() (any, error) { return w.run(j) })
	if err != nil { // the pool is stopping: give it back
		w.mu.Lock()
		j.back = true
		w.dropLocked(j)
		w.mu.Unlock()
		j.cancel()
		w.ackMsg(m, ackNak)
	}
}

// The acknowledgements a worker sends for a delivered task.
var (
	ackAck      = []byte("+ACK")
	ackNak      = []byte("-NAK")
	ackTerm     = []byte("+TERM")
	ackProgress = []byte("+WPI")
)

// ackMsg sends an acknowledgement of kind a for m (fire and forget).
func (w *Worker) ackMsg(m *nats.Msg, a []byte) { w.nc.Publish(m.Reply, a) }

// outcome is a task's end that is not the handler's own.
type outcome struct{ status, msg string }

func (o *outcome) Error() string { return o.msg }

var errHandedBack = errors.New("cluster: handed back")

// run runs a held task's handler on a pool worker, unless it was handed
// back, its deadline passed or it was canceled before it started (K9), or
// its handler is unknown (K3, K17).
func (w *Worker) run(j *job) (any, error) {
	w.mu.Lock()
	if j.back {
		w.mu.Unlock()
		return nil, errHandedBack
	}
	j.started = true
	w.mu.Unlock()
	if dl := j.info.deadline; !dl.IsZero() && !time.Now().Before(dl) { // on this worker's clock
		return nil, &outcome{statusDeadline, "deadline " + dl.Format(time.RFC3339Nano) + " passed"}
	}
	if j.ctx.Err() != nil {
		return nil, &outcome{statusCanceled, "canceled"}
	}
	h, ok := w.reg.lookup(j.info.handler)
	if !ok {
		return nil, &outcome{statusUnknown, "unknown handler " + j.info.handler}
	}
	return h(j.ctx, j.msg.Data)
}
