package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/twisted-go/threadpool"
)

// Message headers. A task message carries its JSON argument as data and:
const (
	hdrMsgID    = nats.MsgIdHdr // "Nats-Msg-Id": the task id (dedup, K10); "r-<id>" on its result
	hdrHandler  = "Tp-Handler"  // handler name
	hdrClient   = "Tp-Client"   // submitting client's id
	hdrReply    = "Tp-Reply"    // ephemeral results: the core subject to publish to; absent: stored
	hdrDeadline = "Tp-Deadline" // the Submit ctx's deadline, RFC3339Nano, if any
	// A result message carries the encoded result (status ok) or a
	// failureBody as data, and:
	hdrTask   = "Tp-Task"   // the task id
	hdrStatus = "Tp-Status" // one of the status values below
	hdrWorker = "Tp-Worker" // the name of the worker that produced it
)

// Result statuses.
const (
	statusOK        = "ok"
	statusError     = "error"     // the handler returned an error
	statusPanic     = "panic"     // the handler panicked
	statusUnknown   = "unknown"   // no such handler on that worker
	statusBadArg    = "badarg"    // the argument did not decode
	statusDeadline  = "deadline"  // the deadline passed before the handler started
	statusCanceled  = "canceled"  // canceled after delivery, before the handler started
	statusExhausted = "exhausted" // MaxDeliver deliveries, never acknowledged
)

// failureBody is the data of a result whose status is not ok.
type failureBody struct {
	Message string `json:"message"`
	Stack   string `json:"stack,omitempty"`
}

// subjects of one prefix.
type subjects struct{ prefix string }

func (s subjects) task(handler string) string  { return s.prefix + ".task." + handler }
func (s subjects) taskWildcard() string        { return s.prefix + ".task.>" }
func (s subjects) result(client string) string { return s.prefix + ".result." + client }
func (s subjects) resultWildcard() string      { return s.prefix + ".result.>" }
func (s subjects) reply(client string) string  { return s.prefix + ".reply." + client }
func (s subjects) cancel() string              { return s.prefix + ".cancel" }
func (s subjects) stats() string               { return s.prefix + ".stats" }
func (s subjects) tasksStream() string         { return streamName(s.prefix) + "_TASKS" }
func (s subjects) resultsStream() string       { return streamName(s.prefix) + "_RESULTS" }

// consumerName is the tasks stream's one durable pull consumer.
const consumerName = "workers"

// streamName upper-cases p and replaces what a stream name may not contain.
func streamName(p string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			return r
		}
		return '_'
	}, p)
}

// taskHeader builds a task's headers (with one allocation for all the
// values: a task is built for every Submit).
func taskHeader(id, handler, client, reply string, deadline time.Time, hasDeadline bool) nats.Header {
	v := make([]string, 3, 5)
	v[0], v[1], v[2] = id, handler, client
	h := make(nats.Header, 5)
	h[hdrMsgID], h[hdrHandler], h[hdrClient] = v[0:1:1], v[1:2:2], v[2:3:3]
	if reply != "" {
		v = append(v, reply)
		h[hdrReply] = v[len(v)-1 : len(v) : len(v)]
	}
	if hasDeadline {
		v = append(v, deadline.UTC().Format(time.RFC3339Nano))
		h[hdrDeadline] = v[len(v)-1 : len(v) : len(v)]
	}
	return h
}

// taskInfo is what a worker reads from a task's headers.
type taskInfo struct {
	id, handler, client, reply string
	deadline                   time.Time // zero: none
}

func parseTask(h nats.Header) (taskInfo, error) {
	t := taskInfo{id: h.Get(hdrMsgID), handler: h.Get(hdrHandler), client: h.Get(hdrClient), reply: h.Get(hdrReply)}
	if t.id == "" || t.client == "" {
		return t, fmt.Errorf("cluster: task message without id or client")
	}
	if d := h.Get(hdrDeadline); d != "" {
		dl, err := time.Parse(time.RFC3339Nano, d)
		if err != nil {
			return t, fmt.Errorf("cluster: task %s: bad deadline %q", t.id, d)
		}
		t.deadline = dl
	}
	return t, nil
}

// resultMsg builds the result of task t as a message to subject; stored, it
// carries the dedup id "r-" and the task id (a plain message has no use for
// one). One allocation holds every header value, as in taskHeader.
func resultMsg(subject, taskID, status, worker string, data []byte, stored bool) *nats.Msg {
	v := make([]string, 4)
	v[0], v[1], v[2] = taskID, status, worker
	h := make(nats.Header, 4)
	h[hdrTask], h[hdrStatus], h[hdrWorker] = v[0:1:1], v[1:2:2], v[2:3:3]
	if stored {
		v[3] = "r-" + taskID
		h[hdrMsgID] = v[3:4:4]
	}
	return &nats.Msg{Subject: subject, Header: h, Data: data}
}

func failure(msg, stack string) []byte {
	b, _ := json.Marshal(failureBody{Message: msg, Stack: stack})
	return b
}

// resultError turns a result's status and data into the Future's error
// (nil for ok).
func resultError(status, handler, worker string, data []byte) error {
	if status == statusOK {
		return nil
	}
	var f failureBody
	if err := json.Unmarshal(data, &f); err != nil {
		f.Message = string(data)
	}
	switch status {
	case statusError:
		return &RemoteError{Handler: handler, Worker: worker, Message: f.Message}
	case statusPanic:
		return &RemoteError{Handler: handler, Worker: worker, Message: f.Message, Panic: true, Stack: f.Stack}
	case statusUnknown:
		return fmt.Errorf("%w: %q on worker %s", ErrUnknownHandler, handler, worker)
	case statusBadArg:
		return fmt.Errorf("%w: %s", ErrBadArgument, f.Message)
	case statusDeadline:
		return fmt.Errorf("cluster: task %s: deadline passed before it started on %s: %w",
			handler, worker, fmt.Errorf("%w: %w", threadpool.ErrCanceled, context.DeadlineExceeded))
	case statusCanceled:
		return fmt.Errorf("cluster: task %s: canceled before it started on %s: %w",
			handler, worker, fmt.Errorf("%w: %w", threadpool.ErrCanceled, context.Canceled))
	case statusExhausted:
		return fmt.Errorf("%w: task %s: %s", ErrDeliveriesExhausted, handler, f.Message)
	}
	return fmt.Errorf("cluster: task %s: unknown result status %q: %s", handler, status, f.Message)
}

// maxDeliveriesAdvisory is the part of the server's
// $JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES advisory this package reads.
type maxDeliveriesAdvisory struct {
	StreamSeq  uint64 `json:"stream_seq"`
	Deliveries uint64 `json:"deliveries"`
}

func advisorySubject(stream string) string {
	return "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES." + stream + "." + consumerName
}
