package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/twisted-go/threadpool"
)

// storeRetryFirst and storeRetryMax are the first and the longest pause
// between attempts to store a result.
const (
	storeRetryFirst = 50 * time.Millisecond
	storeRetryMax   = 2 * time.Second
)

// finish runs on the pool worker right after run. It sends the result: as a
// plain message for an ephemeral-results client, then acks the task; stored
// in the results stream otherwise, and acks the task once the server has
// stored it (K12). Storing goes on after finish returns, so the pool slot
// does not wait for the PubAck; the task stays held (and heartbeated) until
// it is acked, or handed back when the result cannot be stored within
// storeBound or the worker is shut down meanwhile.
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
	j.acking = true // from here on the result path acks or naks it
	w.mu.Unlock()
	status, data := classify(res, err)
	switch {
	case j.noResult:
		w.settle(j, true)
	case j.info.reply != "":
		m := resultMsg(j.info.reply, j.info.id, status, w.name, data, false)
		w.settle(j, w.nc.PublishMsg(m) == nil)
	default:
		m := resultMsg(w.subj.result(j.info.client), j.info.id, status, w.name, data, true)
		w.storing.Add(1)
		w.storeResult(m, func(stored bool) {
			w.settle(j, stored)
			w.storing.Done()
		})
	}
}

// storeResult stores m, a result (its dedup id "r-" and the task id make a
// retry store it once), and then calls settled once with whether it was
// stored. A failed attempt is retried after a pause, doubling from
// storeRetryFirst, until storeBound has passed or the worker is shut down
// meanwhile. It does not wait: settled runs on the goroutine that learned
// the outcome.
func (w *Worker) storeResult(m *nats.Msg, settled func(stored bool)) {
	w.storeAttempt(m, time.Now().Add(w.cfg.storeBound), storeRetryFirst, settled)
}

func (w *Worker) storeAttempt(m *nats.Msg, deadline time.Time, backoff time.Duration, settled func(bool)) {
	w.pub.storeAsync(m, func(_ pubAck, err error) {
		left := time.Until(deadline)
		switch {
		case err == nil:
			settled(true)
		case left <= 0 || w.nc.IsClosed() || errors.Is(err, errPublisherClosed) || w.hardStopped():
			settled(false)
		default:
			time.AfterFunc(min(backoff, left), func() { // the last attempt at the bound
				if w.hardStopped() {
					settled(false)
					return
				}
				w.storeAttempt(m, deadline, min(2*backoff, storeRetryMax), settled)
			})
		}
	})
}

// hardStopped reports whether a Shutdown's ctx has ended.
func (w *Worker) hardStopped() bool {
	select {
	case <-w.hardStop:
		return true
	default:
		return false
	}
}

// settle ends a held task whose outcome was sent (stored true) or could not
// be (false): it acks it, or hands it back.
func (w *Worker) settle(j *job, stored bool) {
	w.mu.Lock()
	j.back = !stored
	w.dropLocked(j)
	w.pullMerge = false
	w.topUpLocked()
	if stored {
		w.lastAck = j.msg.Reply
	}
	w.mu.Unlock()
	// Fire and forget, as the other acknowledgements: waiting for the
	// server's reply would cost it a message and a round trip per task. A
	// lost ack only means a redelivery (K1), whose result is dropped as a
	// duplicate (and, stored, de-duplicated by the results stream). A stop
	// ends with confirmAcks.
	if stored {
		w.ackMsg(j.msg, ackAck)
	} else {
		w.ackMsg(j.msg, ackNak)
	}
}

// confirmAcks waits, at most publishWait, until the server has handled every
// ack this worker sent: the server handles a consumer's acks from one
// connection in order, so its reply to a progress notice sent on the last
// ack's subject (a no-op for a message already acked) comes after all of
// them. So when Stop returns, the tasks it acked have left the stream.
func (w *Worker) confirmAcks() {
	w.mu.Lock()
	last := w.lastAck
	w.lastAck = ""
	w.mu.Unlock()
	if last == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), w.cfg.publishWait)
	defer cancel()
	w.nc.RequestWithContext(ctx, last, ackProgress)
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
