package cluster

import (
	"errors"
	"fmt"
)

// The sentinel errors. Errors returned or reported by this package wrap one
// of these (or one of the core's, such as threadpool.ErrCanceled) where it
// applies; test with errors.Is.
var (
	// ErrUnknownHandler: the task names a handler the worker that received
	// it has not registered (K3, K17). Not retried.
	ErrUnknownHandler = errors.New("cluster: unknown handler")
	// ErrBadArgument: the argument does not encode, exceeds the server's
	// payload limit (both at Submit, nothing published) or does not decode
	// on the worker (not retried).
	ErrBadArgument = errors.New("cluster: bad argument")
	// ErrDeliveriesExhausted: the task was delivered MaxDeliver times without
	// being acknowledged (each delivery's worker died or hung); it has been
	// removed from the stream (K5).
	ErrDeliveriesExhausted = errors.New("cluster: deliveries exhausted")
	// ErrClosed: the Client was closed; its pending Futures and any later
	// Submit fail with it (K11). Their tasks may still run.
	ErrClosed = errors.New("cluster: client closed")
	// ErrConfigMismatch: an existing stream or consumer has settings that
	// differ from the ones asked for; nothing was changed (K16).
	ErrConfigMismatch = errors.New("cluster: existing stream or consumer has different settings")
)

// RemoteError is the error a Future fails with when its handler returned an
// error or panicked on a worker (K2): the handler's own error does not cross
// the wire, its message does.
type RemoteError struct {
	Handler string // the handler's name
	Worker  string // the name of the worker that ran it
	Message string // the handler's error message, or the panic value
	Panic   bool   // the handler panicked
	Stack   string // the panicking goroutine's stack, when Panic
}

// Error returns "cluster: handler <h> on <worker> failed: <message>" (or
// "panicked").
func (e *RemoteError) Error() string {
	verb := "failed"
	if e.Panic {
		verb = "panicked"
	}
	return fmt.Sprintf("cluster: handler %s on %s %s: %s", e.Handler, e.Worker, verb, e.Message)
}
