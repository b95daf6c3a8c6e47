package team

import (
	"syscall"
	"unsafe"
)

// gettid returns the kernel's id of the calling thread.
func gettid() int { return syscall.Gettid() }

// setThreadName sets the calling thread's kernel name (prctl PR_SET_NAME;
// the kernel keeps 15 bytes). It fails silently: a name is only a label.
func setThreadName(name string) {
	var buf [16]byte
	copy(buf[:15], name)
	_, _, _ = syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_NAME, uintptr(unsafe.Pointer(&buf[0])), 0)
}
