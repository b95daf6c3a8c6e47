package cluster

import (
	"time"

	"github.com/nats-io/nats.go"
)

// heartbeat sends InProgress for every held task every AckWait/4 (K4), so
// neither a waiting nor a long-running task is redelivered while this worker
// lives, and forgets cancel notices older than cancelMemory. It ends at a stop.
func (w *Worker) heartbeat() {
	defer w.hbWG.Done()
	t := time.NewTicker(w.cfg.ackWait / 4)
	defer t.Stop()
	for {
		select {
		case <-w.hbStop:
			return
		case now := <-t.C:
			w.mu.Lock()
			msgs := make([]*nats.Msg, 0, len(w.held))
			for j := range w.held {
				msgs = append(msgs, j.msg)
			}
			for id, at := range w.canceled {
				if now.Sub(at) > cancelMemory {
					delete(w.canceled, id)
				}
			}
			w.mu.Unlock()
			for _, m := range msgs {
				w.ackMsg(m, ackProgress)
			}
		}
	}
}

// cancelMemory is how long a worker remembers a cancel notice for a task it
// does not hold, in case the task is delivered to it later.
const cancelMemory = 10 * time.Minute

// onCancel cancels the handler of a held task, or remembers the notice.
func (w *Worker) onCancel(m *nats.Msg) {
	id := string(m.Data)
	w.mu.Lock()
	j := w.byID[id]
	if j == nil {
		w.canceled[id] = time.Now()
	}
	w.mu.Unlock()
	if j != nil {
		j.cancel()
	}
}
