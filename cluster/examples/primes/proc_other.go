//go:build !linux

package main

import "os/exec"

// setPdeathsig does nothing here: the workers end when their connection to
// the submitter's embedded server closes for good.
func setPdeathsig(cmd *exec.Cmd) {}
