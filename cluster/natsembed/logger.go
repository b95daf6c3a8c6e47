package natsembed

import (
	"fmt"
	"log"
	"os"
	"sync"
)

// logger is the server's logger: it writes to stderr only when asked
// (Options.Logging), and it records a fatal error instead of exiting the
// process as nats-server's own logger does, so Start can return it at once.
type logger struct {
	out   *log.Logger // nil: silent
	mu    sync.Mutex
	fatal error
}

func newLogger(enabled bool) *logger {
	l := &logger{}
	if enabled {
		l.out = log.New(os.Stderr, "natsembed: ", log.LstdFlags|log.Lmicroseconds)
	}
	return l
}

func (l *logger) print(level, format string, v ...any) {
	if l.out != nil {
		l.out.Printf(level+" "+format, v...)
	}
}

func (l *logger) Noticef(format string, v ...any) { l.print("[INF]", format, v...) }
func (l *logger) Warnf(format string, v ...any)   { l.print("[WRN]", format, v...) }
func (l *logger) Errorf(format string, v ...any)  { l.print("[ERR]", format, v...) }
func (l *logger) Debugf(format string, v ...any)  { l.print("[DBG]", format, v...) }
func (l *logger) Tracef(format string, v ...any)  { l.print("[TRC]", format, v...) }

// Fatalf records the first fatal error.
func (l *logger) Fatalf(format string, v ...any) {
	l.print("[FTL]", format, v...)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fatal == nil {
		l.fatal = fmt.Errorf(format, v...)
	}
}

func (l *logger) fatalErr() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.fatal
}
