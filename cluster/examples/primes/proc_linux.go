package main

import (
	"os/exec"
	"syscall"
)

// setPdeathsig has the kernel kill the worker process if this one dies, so a
// killed submitter leaves no orphans.
func setPdeathsig(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
