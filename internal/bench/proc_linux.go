package bench

import (
	"os/exec"
	"syscall"
)

// setParentDeathSignal makes the kernel kill the child if the load tool dies,
// so that no Qala is left running after an interrupted suite.
func setParentDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
