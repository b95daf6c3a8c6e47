package cluster

import (
	"context"
	"time"
)

// Stop stops pulling, lets the running handlers finish, stores their results,
// acks their tasks, stops the heartbeat and the stats service, and returns
// (K11). A Stop after a Shutdown that timed out waits for the handlers left.
// It returns nil; called twice it waits for the same stop.
func (w *Worker) Stop() error { return w.Shutdown(context.Background()) }

// Shutdown is Stop bounded by ctx: when ctx ends first, every task not yet
// acked is handed back to the stream at once (Nak: redelivered at once, not
// after AckWait), its handler's context is canceled and its outcome
// discarded, and Shutdown returns ctx.Err() (the handlers still running are
// the local pool's to finish; a later Stop waits for them). A nil ctx waits
// without bound.
func (w *Worker) Shutdown(ctx context.Context) error {
	w.mu.Lock()
	first := w.state != stateStopping
	wasStarted := w.state == stateStarted
	w.state = stateStopping
	if w.pullStop != nil {
		w.pullStop()
	}
	w.mu.Unlock()
	if !first {
		<-w.stopDone
		return w.pool.Shutdown(ctx)
	}
	w.pullWG.Wait() // the pull goroutine ends at once
	if w.pullSub != nil {
		// What arrives until the subscription ends is handed back; what the
		// server sends later is dropped and comes back after AckWait.
		w.pullSub.Unsubscribe()
		t := time.NewTimer(5 * time.Second) // its callback returns at once: accept does not block
		select {
		case <-w.pullSubDone:
		case <-t.C:
		}
		t.Stop()
	}
	var err error
	if wasStarted {
		if ctx == nil {
			w.pool.Stop()
			w.storing.Wait()
		} else if err = w.pool.Shutdown(ctx); err == nil {
			err = w.waitStoring(ctx)
		}
		if err != nil {
			w.handBackAll()
		}
		close(w.hbStop)
		w.hbWG.Wait()
		w.svc.Stop()
		w.unsubscribe() // a result still being stored fails now: its task is handed back
		w.storing.Wait()
		w.confirmAcks()                    // the acks were handled
		w.nc.FlushTimeout(5 * time.Second) // and the naks reach the server
	} else {
		w.pool.Stop()
	}
	close(w.stopDone)
	return err
}

// waitStoring waits until the results being stored are settled, or ctx ends.
func (w *Worker) waitStoring(ctx context.Context) error {
	done := make(chan struct{})
	go func() { // ends when the last store settles: at the latest when unsubscribe closes the publisher
		w.storing.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// handBackAll naks every held task whose outcome is not being sent (those
// are settled by the result path, and storeResult gives up at hardStop)
// and cancels its handler.
func (w *Worker) handBackAll() {
	w.mu.Lock()
	close(w.hardStop)
	var back []*job
	for j := range w.held {
		if !j.acking {
			j.back = true
			back = append(back, j)
			w.dropLocked(j)
		}
	}
	w.mu.Unlock()
	for _, j := range back {
		j.cancel()
		w.ackMsg(j.msg, ackNak)
	}
}

// dropLocked forgets a held job.
func (w *Worker) dropLocked(j *job) {
	delete(w.held, j)
	if w.byID[j.info.id] == j {
		delete(w.byID, j.info.id)
	}
}
