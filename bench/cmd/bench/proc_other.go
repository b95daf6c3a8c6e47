//go:build !linux

package main

import "os/exec"

// setPdeathsig does nothing here: a worker process ends when its connection
// to the bench process's server closes.
func setPdeathsig(cmd *exec.Cmd) {}
