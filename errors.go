package threadpool

import (
	"errors"
	"fmt"

	"github.com/twisted-go/threadpool/internal/team"
)

// The sentinel errors. Errors returned by the pool wrap one of these where
// they apply, so test them with [errors.Is].
var (
	// ErrStopped is returned by a submission, [Pool.StartAWorker] or
	// [Pool.StopAWorker] once a stop has begun and until the pool is
	// started again. A [Future] of a task refused this way resolves with it.
	ErrStopped = team.ErrStopped
	// ErrCanceled is reported for a task that was accepted but never ran:
	// [Pool.StopNow] dropped it, its Submit context ended before it started,
	// or the pool was stopped with a backlog that could never run. When a
	// context caused it, the error also wraps the context's error.
	ErrCanceled = team.ErrCanceled
	// ErrQueueFull is returned by a submission that finds the bounded
	// backlog full under the [Reject] policy (see [WithQueueLimit]).
	ErrQueueFull = team.ErrQueueFull
	// ErrInvalidSize is wrapped by the error of [New] and
	// [Pool.AdjustPoolSize] (and of [Pool.UnmarshalJSON]) for a minimum below
	// zero or above the maximum; the error names the values.
	ErrInvalidSize = errors.New("threadpool: invalid pool size")
)

// ErrGoexit is the failure reported for a task that called runtime.Goexit:
// to its callback, to its [Future], or in the log when nobody receives it.
var ErrGoexit = errors.New("threadpool: task called runtime.Goexit")

// PanicError is the error reported for a task that panicked: to its
// callback, to its [Future], or in the log when nobody receives it.
type PanicError struct {
	// Value is what the task passed to panic. For panic(nil) it is the
	// *runtime.PanicNilError the runtime substitutes.
	Value any
	// Stack is the goroutine's stack where the panic was recovered; it
	// shows the panicking function.
	Stack []byte
}

// Error returns "threadpool: task panicked: " and the panic value.
func (e *PanicError) Error() string {
	return fmt.Sprintf("threadpool: task panicked: %v", e.Value)
}

// Unwrap returns Value when it is an error, so [errors.Is] and
// [errors.As] see through the panic; nil otherwise.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// maxMin is the largest minimum accepted. A minimum is started eagerly, one
// goroutine per worker, so an absurd one (a corrupted setting, a
// MaxInt) would exhaust memory instead of failing; a maximum is only a
// limit, and any is accepted.
const maxMin = 1 << 20

// checkSize validates a minimum and maximum pool size.
func checkSize(min, max int) error {
	switch {
	case min < 0:
		return fmt.Errorf("%w (min=%d, max=%d): minimum is negative", ErrInvalidSize, min, max)
	case min > max:
		return fmt.Errorf("%w (min=%d, max=%d): minimum is greater than maximum", ErrInvalidSize, min, max)
	case min > maxMin:
		return fmt.Errorf("%w (min=%d, max=%d): minimum is above %d", ErrInvalidSize, min, max, maxMin)
	}
	return nil
}

// nilFunc is the error for a nil function given to op.
func nilFunc(op string) error {
	return fmt.Errorf("threadpool: %s: nil function", op)
}
