package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/twisted-go/threadpool"
)

// pullBackoff is the pause after a pull request that failed or ended early
// (no responders while a cluster elects a leader, a lost connection), so a
// failing pull never spins.
const pullBackoff = 250 * time.Millisecond

// testHookDelivered, when set (by tests), runs for each message a pull
// request delivers, before the worker accounts for it.
var testHookDelivered func()

// topUpLocked keeps outstanding pull requests for exactly window − held −
// outstanding more messages (K6): one new request for the whole gap, as a
// long poll with server heartbeats. Called with w.mu held, after every change
// of held, outstanding or window.
func (w *Worker) topUpLocked() {
	if w.state != stateStarted {
		return
	}
	want := w.window - len(w.held) - w.outstanding
	if want <= 0 {
		return
	}
	w.outstanding += want
	w.pullWG.Add(1)
	go w.pull(want)
}

// pull runs one pull request for k messages until it is fulfilled, expires
// or the worker stops, handing each message to accept.
func (w *Worker) pull(k int) {
	defer w.pullWG.Done()
	start := time.Now()
	ctx, cancel := context.WithTimeout(w.pullCtx, w.cfg.pullExpiry)
	defer cancel()
	n := 0
	b, err := w.cons.Fetch(k, jetstream.FetchContext(ctx), jetstream.FetchHeartbeat(w.cfg.pullExpiry/5))
	if err == nil {
		for m := range b.Messages() {
			n++
			w.accept(m)
		}
		err = b.Error()
		if errors.Is(err, context.DeadlineExceeded) {
			err = nil // the request's own expiry
		}
	}
	early := n == 0 && time.Since(start) < w.cfg.pullExpiry/2
	if (err != nil || early) && w.pullCtx.Err() == nil {
		t := time.NewTimer(pullBackoff)
		select {
		case <-t.C:
		case <-w.pullCtx.Done():
			t.Stop()
		}
	}
	w.mu.Lock()
	w.outstanding -= k - n
	w.topUpLocked()
	w.mu.Unlock()
}

// accept takes one delivered task, which its pull request counted in
// outstanding: it holds it and submits it to the local
// pool, or hands it back at once when the worker is stopping or the window
// was lowered meanwhile.
func (w *Worker) accept(m jetstream.Msg) {
	if testHookDelivered != nil {
		testHookDelivered()
	}
	info, perr := parseTask(m.Headers())
	w.mu.Lock()
	w.outstanding-- // asked for -> held (or handed back) in one step (K6)
	if w.state != stateStarted || len(w.held) >= w.window {
		w.mu.Unlock()
		m.Nak()
		return
	}
	if perr != nil { // not a task of this package: never deliver it again
		w.mu.Unlock()
		m.Term()
		return
	}
	j := &job{msg: m, info: info, noResult: m.Headers().Get(hdrNoResult) != ""}
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
		m.Nak()
	}
}

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
	return h(j.ctx, j.msg.Data())
}

// finish runs on the pool worker right after run: it stores the result
// (K12), then acks the task; if the result cannot be stored within
// storeBound (or the worker is shut down meanwhile) it hands the task back.
func (w *Worker) finish(j *job, res any, err error) {
	defer j.cancel()
	if errors.Is(err, errHandedBack) {
		return
	}
	w.mu.Lock()
	if j.back { // handed back by Shutdown: its outcome is discarded
		w.mu.Unlock()
		return
	}
	j.acking = true // from here on this goroutine acks or naks it
	w.mu.Unlock()
	status, data := classify(res, err)
	stored := j.noResult || w.sendResult(j, status, data)
	w.mu.Lock()
	j.back = !stored
	w.dropLocked(j)
	w.topUpLocked()
	w.mu.Unlock()
	if stored {
		// A synchronous ack: when Stop returns, its tasks are gone from the
		// stream. A lost ack only means a redelivery (K1), whose result the
		// results stream de-duplicates.
		ctx, cancel := context.WithTimeout(context.Background(), w.cfg.publishWait)
		j.msg.DoubleAck(ctx)
		cancel()
	} else {
		j.msg.Nak()
	}
}

// classify turns run's outcome into a result status and data.
func classify(res any, err error) (string, []byte) {
	var pe *threadpool.PanicError
	var oc *outcome
	var ba *badArgError
	switch {
	case err == nil:
		b, _ := res.([]byte)
		return statusOK, b
	case errors.As(err, &pe):
		return statusPanic, failure(fmt.Sprint(pe.Value), string(pe.Stack))
	case errors.As(err, &oc):
		return oc.status, failure(oc.msg, "")
	case errors.As(err, &ba) && ba == err:
		return statusBadArg, failure(ba.msg, "")
	}
	return statusError, failure(err.Error(), "")
}

// sendResult sends a task's result: stored in the results stream (retried
// with the same dedup id until storeBound, while the heartbeat keeps the
// task), or as a plain message for an ephemeral-results client. It reports
// whether the task may be acked.
func (w *Worker) sendResult(j *job, status string, data []byte) bool {
	if j.info.reply != "" {
		m := resultMsg(j.info.reply, j.info.id, status, w.name, data)
		return w.nc.PublishMsg(m) == nil
	}
	m := resultMsg(w.subj.result(j.info.client), j.info.id, status, w.name, data)
	deadline := time.Now().Add(w.cfg.storeBound)
	backoff := 50 * time.Millisecond
	for {
		ctx, cancel := context.WithTimeout(context.Background(), w.cfg.publishWait)
		_, err := w.js.PublishMsg(ctx, m, jetstream.WithMsgID("r-"+j.info.id))
		cancel()
		if err == nil {
			return true
		}
		if time.Now().Add(backoff).After(deadline) || w.nc.IsClosed() {
			return false
		}
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-w.hardStop:
			t.Stop()
			return false
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}
