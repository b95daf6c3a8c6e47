package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
)

// Registry maps handler names to typed handlers: decode the JSON argument,
// run, encode the JSON result. Only registered handlers ever run on a worker:
// nothing executable crosses the wire (K15). Every worker of a prefix should
// register the same handlers (K17). A Registry is safe for concurrent use.
type Registry struct {
	mu       sync.RWMutex
	handlers map[string]handlerFunc
}

// handlerFunc runs a handler on an encoded argument. An argument that does
// not decode returns an error wrapping ErrBadArgument, without running it.
type handlerFunc func(ctx context.Context, arg []byte) ([]byte, error)

// NewRegistry returns an empty Registry.
func NewRegistry() *Registry { return &Registry{handlers: map[string]handlerFunc{}} }

// Task names a registered handler; its argument and result types are agreed
// at compile time. The zero Task names nothing (its Submit fails with
// ErrUnknownHandler on the worker).
type Task[A, R any] struct{ name string }

// Name returns the handler's name.
func (t Task[A, R]) Name() string { return t.name }

// Register registers h under name and returns its Task. Like http.ServeMux it
// panics on a nil Registry or handler, an empty name, a name that is not a
// valid NATS subject part (whitespace, '*', '>', empty tokens), or a name
// already registered. A and R must round-trip through encoding/json.
func Register[A, R any](r *Registry, name string, h func(ctx context.Context, arg A) (R, error)) Task[A, R] {
	if r == nil || h == nil {
		panic("cluster: Register with a nil registry or handler")
	}
	if !validName(name) {
		panic(fmt.Sprintf("cluster: invalid handler name %q", name))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.handlers[name]; dup {
		panic(fmt.Sprintf("cluster: handler %q registered twice", name))
	}
	r.handlers[name] = func(ctx context.Context, data []byte) ([]byte, error) {
		var arg A
		if err := json.Unmarshal(data, &arg); err != nil {
			return nil, &badArgError{fmt.Sprintf("%s: %v", name, err)}
		}
		res, err := h(ctx, arg)
		if err != nil {
			return nil, err
		}
		out, err := json.Marshal(res)
		if err != nil {
			return nil, fmt.Errorf("cluster: result does not encode: %v", err)
		}
		return out, nil
	}
	return Task[A, R]{name: name}
}

func (r *Registry) lookup(name string) (handlerFunc, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	h, ok := r.handlers[name]
	return h, ok
}

func validName(s string) bool {
	return s != "" && !strings.ContainsAny(s, " \t\r\n*>") && !strings.HasPrefix(s, ".") &&
		!strings.HasSuffix(s, ".") && !strings.Contains(s, "..")
}

// badArgError is a registry's report of an argument that does not decode;
// it is told apart from a handler's own error by its type.
type badArgError struct{ msg string }

func (e *badArgError) Error() string { return ErrBadArgument.Error() + ": " + e.msg }
func (e *badArgError) Unwrap() error { return ErrBadArgument }
