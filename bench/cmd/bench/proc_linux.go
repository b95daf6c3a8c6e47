package main

import (
	"os/exec"
	"syscall"
)

// setPdeathsig has the kernel kill a worker process if the bench process dies.
func setPdeathsig(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
