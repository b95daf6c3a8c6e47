package natsembed_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/twisted-go/threadpool/cluster/natsembed"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// K14: Port 0 listens on nothing, starts in well under a second, and the
// in-process connection has JetStream; its temporary store is removed.
func TestInProcess(t *testing.T) {
	start := time.Now()
	s, err := natsembed.Start(natsembed.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("started in %v", d)
	}
	if s.ClientURL() != "" {
		t.Fatalf("listens on %q", s.ClientURL())
	}
	if s.NATS().Addr() != nil {
		t.Fatal("a client listener exists")
	}
	nc, err := s.Connect()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nc.Request("$JS.API.INFO", nil, 5*time.Second); err != nil {
		t.Fatal("JetStream:", err)
	}
	dir := s.NATS().JetStreamConfig().StoreDir
	nc.Close()
	s.Shutdown()
	if _, err := os.Stat(filepath.Dir(dir)); !os.IsNotExist(err) {
		t.Fatalf("temporary store %s not removed: %v", dir, err)
	}
	s.Shutdown() // twice is harmless
}

// Port -1 listens on a random loopback port; a named Dir is kept.
func TestLoopbackAndDir(t *testing.T) {
	dir := t.TempDir()
	s, err := natsembed.Start(natsembed.Options{Port: -1, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	url := s.ClientURL()
	if !strings.HasPrefix(url, "nats://127.0.0.1:") || strings.HasSuffix(url, ":-1") {
		t.Fatalf("url %q", url)
	}
	nc, err := s.Connect()
	if err != nil {
		t.Fatal(err)
	}
	if nc.ConnectedUrl() != url {
		t.Fatalf("connected to %q", nc.ConnectedUrl())
	}
	nc.Close()
	s.Shutdown()
	if _, err := os.Stat(filepath.Join(dir, "jetstream")); err != nil {
		t.Fatal("store not kept:", err)
	}
}

// A clustered server without a name is refused at once.
func TestClusterNeedsName(t *testing.T) {
	if _, err := natsembed.Start(natsembed.Options{Port: -1, Cluster: natsembed.Cluster{Name: "c", Port: -1}}); err == nil {
		t.Fatal("accepted")
	}
}

// A server that cannot start (a JetStream cluster without routes) makes Start
// return its error at once, without exiting the process.
func TestStartReportsFatalError(t *testing.T) {
	start := time.Now()
	_, err := natsembed.Start(natsembed.Options{Port: -1, Name: "n", Cluster: natsembed.Cluster{Name: "c", Port: -1}})
	if err == nil || !strings.Contains(err.Error(), "JetStream") {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %v", d)
	}
}

// BenchmarkStart measures K14's "starts in milliseconds": an in-process
// server with JetStream, from Start to ready, then its Shutdown (temp dir
// made and removed each time). Speed is measured here, never asserted.
func BenchmarkStart(b *testing.B) {
	for b.Loop() {
		s, err := natsembed.Start(natsembed.Options{})
		if err != nil {
			b.Fatal(err)
		}
		s.Shutdown()
	}
}
