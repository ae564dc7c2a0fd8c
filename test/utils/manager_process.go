package utils

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
)

type build struct {
	once sync.Once
	path string
	err  error
}

var builds sync.Map // package -> *build

// BuildManager builds the manager binary (main.go at the repository root) once per test process.
func BuildManager(ctx context.Context, repoRoot string) (string, error) {
	return Build(ctx, repoRoot, ".", "manager")
}

// Build builds a command of the repository once per test process, into a directory of its own (named as given,
// so a kubectl plugin is found on PATH by its name).
func Build(ctx context.Context, repoRoot, pkg, name string) (string, error) {
	v, _ := builds.LoadOrStore(pkg, &build{})
	b := v.(*build)
	b.once.Do(func() {
		dir, err := os.MkdirTemp("", "peapod-"+name+"-")
		if err != nil {
			b.err = err
			return
		}
		b.path = filepath.Join(dir, name)
		cmd := exec.CommandContext(ctx, "go", "build", "-o", b.path, pkg)
		cmd.Dir = repoRoot
		if out, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("building %s: %w: %s", pkg, err, out)
		}
	})
	return b.path, b.err
}

// RemoveBuilds deletes what Build built in this process; a suite calls it when it ends.
func RemoveBuilds() {
	builds.Range(func(_, v any) bool {
		if b := v.(*build); b.path != "" {
			_ = os.RemoveAll(filepath.Dir(b.path))
		}
		return true
	})
}

// ManagerProcess is the manager running as its own process, so a test can SIGKILL it like a crashed Pod.
type ManagerProcess struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// StartManagerProcess runs the manager against a kubeconfig, with extra flags if given; it is killed with the
// test process if that dies.
func StartManagerProcess(binary, kubeconfig, logPath string, extraArgs ...string) (*ManagerProcess, error) {
	log, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	args := append([]string{"--kubeconfig", kubeconfig, "--health-probe-bind-address=127.0.0.1:0",
		"--metrics-bind-address=0", "--zap-devel"}, extraArgs...)
	cmd := exec.Command(binary, args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		_ = log.Close()
		return nil, err
	}
	m := &ManagerProcess{cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); _ = log.Close(); close(m.done) }()
	return m, nil
}

// Stop sends SIGTERM, as the kubelet does to a Pod, and waits for the process to exit.
func (m *ManagerProcess) Stop() {
	_ = m.cmd.Process.Signal(syscall.SIGTERM)
	<-m.done
}

// Kill sends SIGKILL, as a node or the kernel would, and waits for the process to be gone.
func (m *ManagerProcess) Kill() {
	_ = m.cmd.Process.Signal(syscall.SIGKILL)
	<-m.done
}

// Pause sends SIGSTOP: the manager stops acting mid-step, as one starved of CPU or stuck in a long pause does,
// and its Lease and watches lapse. Resume continues it.
func (m *ManagerProcess) Pause() {
	_ = m.cmd.Process.Signal(syscall.SIGSTOP)
}

// Resume sends SIGCONT to a paused manager.
func (m *ManagerProcess) Resume() {
	_ = m.cmd.Process.Signal(syscall.SIGCONT)
}

// Pid is the manager's process ID, for reading its CPU time and memory in /proc.
func (m *ManagerProcess) Pid() int {
	return m.cmd.Process.Pid
}
