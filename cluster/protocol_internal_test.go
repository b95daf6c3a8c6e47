package cluster

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/twisted-go/threadpool"
)

// The task headers round-trip; a bad deadline or a missing id is refused.
func TestTaskHeaderRoundTrip(t *testing.T) {
	dl := time.Date(2026, 12, 6, 20, 0, 0, 123456789, time.FixedZone("x", 3600))
	h := taskHeader("id1", "h.x", "c1", "p.reply.c1", dl, true)
	got, err := parseTask(h)
	if err != nil || got.id != "id1" || got.handler != "h.x" || got.client != "c1" || got.reply != "p.reply.c1" || !got.deadline.Equal(dl) {
		t.Fatalf("%+v, %v", got, err)
	}
	if h.Get(nats.MsgIdHdr) != "id1" {
		t.Fatal("dedup id is not the task id (K10)")
	}
	h = taskHeader("id2", "h", "c", "", time.Time{}, false)
	if got, err := parseTask(h); err != nil || !got.deadline.IsZero() || got.reply != "" {
		t.Fatalf("%+v, %v", got, err)
	}
	h.Set(hdrDeadline, "yesterday")
	if _, err := parseTask(h); err == nil {
		t.Fatal("bad deadline accepted")
	}
	if _, err := parseTask(nats.Header{}); err == nil {
		t.Fatal("a message without id accepted")
	}
}

// Every status decodes to the documented error.
func TestResultError(t *testing.T) {
	var re *RemoteError
	if err := resultError(statusOK, "h", "w", []byte("1")); err != nil {
		t.Fatal(err)
	}
	err := resultError(statusError, "h", "w", failure("bad", ""))
	if !errors.As(err, &re) || re.Message != "bad" || re.Panic || re.Handler != "h" || re.Worker != "w" {
		t.Fatalf("%#v", err)
	}
	err = resultError(statusPanic, "h", "w", failure("boom", "stack"))
	if !errors.As(err, &re) || !re.Panic || re.Stack != "stack" || !strings.Contains(err.Error(), "panicked: boom") {
		t.Fatalf("%#v", err)
	}
	for status, want := range map[string][]error{
		statusUnknown:   {ErrUnknownHandler},
		statusBadArg:    {ErrBadArgument},
		statusDeadline:  {threadpool.ErrCanceled, context.DeadlineExceeded},
		statusCanceled:  {threadpool.ErrCanceled, context.Canceled},
		statusExhausted: {ErrDeliveriesExhausted},
	} {
		err := resultError(status, "h", "w", failure("m", ""))
		for _, w := range want {
			if !errors.Is(err, w) {
				t.Errorf("%s: %v does not wrap %v", status, err, w)
			}
		}
		if !strings.HasPrefix(err.Error(), "cluster: ") {
			t.Errorf("%s: %q", status, err)
		}
	}
	if err := resultError("???", "h", "w", []byte("not json")); err == nil || !strings.Contains(err.Error(), "not json") {
		t.Fatal(err)
	}
}

// classify maps each outcome of run to its status; a handler's own error that
// wraps ErrBadArgument stays a handler error.
func TestClassify(t *testing.T) {
	cases := []struct {
		res  any
		err  error
		want string
	}{
		{[]byte("1"), nil, statusOK},
		{nil, &threadpool.PanicError{Value: "x"}, statusPanic},
		{nil, &outcome{statusUnknown, "u"}, statusUnknown},
		{nil, &badArgError{"b"}, statusBadArg},
		{nil, errors.Join(ErrBadArgument), statusError},
		{nil, errors.New("e"), statusError},
	}
	for _, c := range cases {
		if got, _ := classify(c.res, c.err); got != c.want {
			t.Errorf("classify(%v) = %s, want %s", c.err, got, c.want)
		}
	}
}

func TestNames(t *testing.T) {
	if got := streamName("my.app-1_x*"); got != "MY_APP-1_X_" {
		t.Fatal(got)
	}
	for _, p := range []string{"", "a b", ".a", "a.", "a..b", "a.*", "a.>"} {
		if validPrefix(p) == nil {
			t.Errorf("prefix %q accepted", p)
		}
	}
	if validPrefix("app.pool") != nil {
		t.Error("app.pool refused")
	}
}

// payloadSize counts what the server checks against max_payload.
func TestPayloadSize(t *testing.T) {
	m := nats.NewMsg("s")
	m.Data = make([]byte, 100)
	m.Header.Set("K", "v")
	if got := payloadSize(m); got < 100+len("K: v\r\n") || got > 140 {
		t.Fatal(got)
	}
}

// K1: the client's result bookkeeping, fed directly: a result resolves its
// Future once; a second result, one for an unknown task and one after Close
// are dropped and counted.
func TestResultDeduplication(t *testing.T) {
	c := &Client{pending: map[string]*pendingTask{}, bySeq: map[uint64]string{}}
	resolved := 0
	var got []byte
	c.pending["t1"] = &pendingTask{handler: "h", seq: 7, resolve: func(d []byte, err error) { resolved++; got = d }}
	c.bySeq[7] = "t1"
	h := resultMsg("p.result.c", "t1", statusOK, "w", []byte("42"), true).Header
	c.onResult(h, []byte("42"))
	c.onResult(h, []byte("43"))
	c.onResult(resultMsg("p.result.c", "nope", statusOK, "w", nil, false).Header, nil)
	if resolved != 1 || string(got) != "42" || c.dups != 2 || len(c.bySeq) != 0 {
		t.Fatalf("resolved %d with %s, dups %d, bySeq %v", resolved, got, c.dups, c.bySeq)
	}
	if c.fail("t1", errors.New("late")) {
		t.Fatal("failed a resolved task")
	}
}
