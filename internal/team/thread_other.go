//go:build !linux

package team

// gettid returns 0: outside Linux the pool does not tell threads apart.
func gettid() int { return 0 }

// setThreadName does nothing outside Linux.
func setThreadName(string) {}
