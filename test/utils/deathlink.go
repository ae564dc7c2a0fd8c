package utils

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"syscall"
)

// envtest starts kube-apiserver and etcd in process groups of their own but does not tie them to the test
// process: a test binary killed by a timeout or SIGKILL would leave them running. DeathLinkedAssets gives envtest
// a directory of links to the test binary itself under the binaries' names; started under such a name, the test
// binary (see ExecIfDeathLinked, first thing in TestMain) asks the kernel to kill it when its parent dies and
// then becomes the real binary.
const deathLinkTargetEnv = "PEAPOD_DEATHLINK_TARGET_DIR"

// deathLinked are the binaries envtest starts.
var deathLinked = []string{"kube-apiserver", "etcd", "kubectl"}

// DeathLinkedAssets returns a directory to use as envtest's binary assets directory in place of realDir.
func DeathLinkedAssets(realDir string) (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "peapod-envtest-bin-")
	if err != nil {
		return "", err
	}
	for _, name := range deathLinked {
		if err := os.Symlink(self, filepath.Join(dir, name)); err != nil {
			return "", err
		}
	}
	if err := os.Setenv(deathLinkTargetEnv, realDir); err != nil {
		return "", err
	}
	return dir, nil
}

// ExecIfDeathLinked replaces this process with the real binary when it was started through a link made by
// DeathLinkedAssets; otherwise it returns at once.
func ExecIfDeathLinked() {
	realDir := os.Getenv(deathLinkTargetEnv)
	name := filepath.Base(os.Args[0])
	if realDir == "" || !slices.Contains(deathLinked, name) {
		return
	}
	// The setting belongs to the calling thread and survives execve from that same thread: keep to one thread.
	runtime.LockOSThread()
	const prSetPdeathsig = 1
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prSetPdeathsig, uintptr(syscall.SIGKILL), 0); errno != 0 {
		fmt.Fprintln(os.Stderr, "prctl(PR_SET_PDEATHSIG):", errno)
		os.Exit(1)
	}
	target := filepath.Join(realDir, name)
	err := syscall.Exec(target, append([]string{target}, os.Args[1:]...), os.Environ())
	fmt.Fprintf(os.Stderr, "exec %s: %v\n", target, err)
	os.Exit(1)
}
