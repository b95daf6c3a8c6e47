package cluster

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nuid"
)

// K10: a publish retried with the same task id (as after a lost
// acknowledgement) stores the task once.
func TestPublishRetryStoresOnce(t *testing.T) {
	nc := inProcess(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := NewClient(ctx, nc)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	id := nuid.Next()
	msg := &nats.Msg{Subject: c.subj.task("h"), Header: taskHeader(id, "h", c.id, "", time.Time{}, false), Data: []byte("1")}
	a1, err := c.publish(msg, id)
	if err != nil {
		t.Fatal(err)
	}
	a2, err := c.publish(msg, id)
	if err != nil {
		t.Fatal(err)
	}
	if a1.seq != a2.seq || a1.duplicate || !a2.duplicate {
		t.Fatalf("acks %+v and %+v", a1, a2)
	}
	info, err := c.tasks.Info(ctx)
	if err != nil || info.State.Msgs != 1 {
		t.Fatalf("%d stored, %v", info.State.Msgs, err)
	}
}
