package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
)

// onAdvisory handles a MAX_DELIVERIES advisory on a worker: it reads the
// task, removes it from the stream and, if it removed it (the submitting
// client may have been first), sends its client an ErrDeliveriesExhausted
// result (K5). So a dead client's poison task leaves the stream too.
func (w *Worker) onAdvisory(m *nats.Msg) {
	var a maxDeliveriesAdvisory
	if json.Unmarshal(m.Data, &a) != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	raw, err := w.tasks.GetMsg(ctx, a.StreamSeq)
	if err != nil {
		return
	}
	info, err := parseTask(raw.Header)
	if w.tasks.DeleteMsg(ctx, a.StreamSeq) != nil || err != nil || raw.Header.Get(hdrNoResult) != "" {
		return
	}
	data := failure(fmt.Sprintf("%d deliveries", a.Deliveries), "")
	if info.reply != "" {
		w.nc.PublishMsg(resultMsg(info.reply, info.id, statusExhausted, w.name, data, false))
		return
	}
	done := make(chan struct{})
	w.storeResult(resultMsg(w.subj.result(info.client), info.id, statusExhausted, w.name, data, true),
		func(bool) { close(done) })
	<-done // the advisory's goroutine waits: one exhausted task's result at a time
}
