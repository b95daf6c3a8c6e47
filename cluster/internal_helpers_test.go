package cluster

import (
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/twisted-go/threadpool/cluster/natsembed"
)

// inProcess starts a natsembed server with no listener and returns a
// connection to it; the test's cleanup closes both. (The black-box tests
// of package cluster_test have their own helpers in helpers_test.go.)
func inProcess(t *testing.T) *nats.Conn {
	t.Helper()
	s, err := natsembed.Start(natsembed.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	nc, err := s.Connect()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}
