// Package natsembed starts an in-process NATS server with JetStream: the
// embedded default of package cluster, for tests, examples and single-host
// deployments. Pointing the same code at a production NATS cluster is only a
// different *nats.Conn.
//
// By default the server listens on nothing (connections are in-process), logs
// nothing, installs no signal handlers and keeps its JetStream files in a
// temporary directory removed by Server.Shutdown. It is ready in milliseconds.
package natsembed

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// Options configures Start. The zero value is an in-process server with a
// temporary store and no listener.
type Options struct {
	// Dir is the JetStream store directory. "" uses a temporary directory
	// that Shutdown removes; a named directory is kept, so a server started
	// again on it finds its streams (file storage survives a restart).
	Dir string
	// Port is the client port: 0 opens no listener (connections are
	// in-process only, see Server.Connect), -1 a random loopback port, > 0
	// that loopback port.
	Port int

	// Name is the server name, required to be unique within a cluster;
	// "" lets the server choose one.
	Name string
	// Cluster, when Cluster.Name is set, joins a NATS cluster on loopback:
	// JetStream then replicates streams across its servers. A clustered
	// server needs a client listener (Port != 0) for its clients to fail over.
	Cluster Cluster
	// Logging writes the server's log to stderr. Either way a fatal error
	// of the server (nats-server's logger would exit the process) is
	// returned by Start instead.
	Logging bool
	// ReadyTimeout bounds Start's wait for the server (and, in a cluster,
	// for nothing more: JetStream's meta leader is elected later). Default 10s.
	ReadyTimeout time.Duration
}

// Cluster is the route configuration of one server of a loopback cluster.
type Cluster struct {
	Name   string   // the cluster's name, the same on every server
	Port   int      // the route port of this server on 127.0.0.1; -1 for a random one
	Routes []string // route URLs of the other servers, e.g. "nats://127.0.0.1:6222"
}

// Server is a running embedded server. Its methods are safe for concurrent use.
type Server struct {
	ns     *server.Server
	tmpDir string
	url    string // client URL, "" without a listener
}

// Start starts a server and waits until it accepts connections, at most
// Options.ReadyTimeout; otherwise it shuts the server down and returns an error.
func Start(o Options) (*Server, error) {
	dir, tmp := o.Dir, ""
	if dir == "" {
		d, err := os.MkdirTemp("", "natsembed-")
		if err != nil {
			return nil, fmt.Errorf("natsembed: %w", err)
		}
		dir, tmp = d, d
	}
	cleanup := func() {
		if tmp != "" {
			os.RemoveAll(tmp)
		}
	}
	opts := &server.Options{
		ServerName: o.Name,
		Host:       "127.0.0.1",
		JetStream:  true,
		StoreDir:   dir,
		NoLog:      true, // our logger is installed below
		NoSigs:     true,
		HTTPPort:   0,
	}
	switch {
	case o.Port == 0:
		opts.DontListen = true
	case o.Port < 0:
		opts.Port = server.RANDOM_PORT
	default:
		opts.Port = o.Port
	}
	if o.Cluster.Name != "" {
		if o.Name == "" {
			cleanup()
			return nil, errors.New("natsembed: a clustered server needs a Name")
		}
		opts.Cluster = server.ClusterOpts{Name: o.Cluster.Name, Host: "127.0.0.1", Port: o.Cluster.Port}
		if o.Cluster.Port < 0 {
			opts.Cluster.Port = server.RANDOM_PORT
		}
		for _, r := range o.Cluster.Routes {
			u, err := url.Parse(r)
			if err != nil {
				cleanup()
				return nil, fmt.Errorf("natsembed: route %q: %w", r, err)
			}
			opts.Routes = append(opts.Routes, u)
		}
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		cleanup()
		return nil, fmt.Errorf("natsembed: %w", err)
	}
	lg := newLogger(o.Logging)
	ns.SetLogger(lg, false, false)
	ns.Start()
	wait := o.ReadyTimeout
	if wait <= 0 {
		wait = 10 * time.Second
	}
	fail := func(err error) (*Server, error) {
		ns.Shutdown()
		ns.WaitForShutdown()
		cleanup()
		return nil, fmt.Errorf("natsembed: %w", err)
	}
	for end := time.Now().Add(wait); !ns.ReadyForConnections(20 * time.Millisecond); {
		if err := lg.fatalErr(); err != nil {
			return fail(err)
		}
		if time.Now().After(end) {
			return fail(fmt.Errorf("server not ready within %v", wait))
		}
	}
	if err := lg.fatalErr(); err != nil {
		return fail(err)
	}
	srv := &Server{ns: ns, tmpDir: tmp}
	if ns.Addr() != nil {
		srv.url = ns.ClientURL()
	}
	return srv, nil
}

// Connect returns a client connection to the server: in-process when the
// server has no listener, else over loopback to its client port. opts are
// applied after the defaults (name "natsembed").
func (s *Server) Connect(opts ...nats.Option) (*nats.Conn, error) {
	all := append([]nats.Option{nats.Name("natsembed")}, opts...)
	url := s.ClientURL()
	if url == "" {
		all = append(all, nats.InProcessServer(s.ns))
		url = nats.DefaultURL // ignored by an in-process connection
	}
	nc, err := nats.Connect(url, all...)
	if err != nil {
		return nil, fmt.Errorf("natsembed: connect: %w", err)
	}
	return nc, nil
}

// ClientURL returns the client URL ("nats://127.0.0.1:port"), or "" when
// the server has no listener.
func (s *Server) ClientURL() string {
	return s.url
}

// ClusterURL returns the route URL other servers of a cluster use to reach
// this one, or "" when it is not clustered.
func (s *Server) ClusterURL() string {
	a := s.ns.ClusterAddr()
	if a == nil {
		return ""
	}
	return fmt.Sprintf("nats://%s", a.String())
}

// NATS returns the underlying nats-server, for what Options does not cover.
func (s *Server) NATS() *server.Server { return s.ns }

// Shutdown stops the server, waits until it has stopped and removes its
// temporary directory if Options.Dir was "". It may be called more than once.
func (s *Server) Shutdown() {
	s.ns.Shutdown()
	s.ns.WaitForShutdown()
	if s.tmpDir != "" {
		os.RemoveAll(s.tmpDir)
	}
}
