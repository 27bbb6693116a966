//go:build !linux

package bench

import "os/exec"

// setParentDeathSignal does nothing where the kernel offers no such signal.
func setParentDeathSignal(cmd *exec.Cmd) {}
