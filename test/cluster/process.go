package cluster

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// process is one control-plane component started by the cluster. It runs in its own process group so that
// stopping it also stops anything it forked, and it is killed by the kernel if the test process dies first.
type process struct {
	name    string
	binary  string
	args    []string
	cmd     *exec.Cmd
	logPath string
	exited  chan struct{}
	waitErr error
	// deliberate is set when the cluster itself stops or kills the process, so its exit is not restarted.
	deliberate atomic.Bool
}

func startProcess(name, binary, logDir string, args []string) (*process, error) {
	if _, err := os.Stat(binary); err != nil {
		return nil, fmt.Errorf("%s: binary %s is missing (build it with `make controlplane`): %w", name, binary, err)
	}
	return launch(name, binary, args, filepath.Join(logDir, name+".log"), os.O_CREATE|os.O_TRUNC)
}

// launch runs binary with args, its output going to logPath opened with the given extra flags.
func launch(name, binary string, args []string, logPath string, flags int) (*process, error) {
	return launchIn(name, binary, args, logPath, flags, nil)
}

// launchWithPath runs binary with binDir first on its PATH (containerd finds its shim there), its output going to
// logPath.
func launchWithPath(name, binary string, args []string, logPath, binDir string) (*process, error) {
	env := append(os.Environ(), "PATH="+binDir+":"+os.Getenv("PATH"))
	return launchIn(name, binary, args, logPath, os.O_CREATE|os.O_APPEND, env)
}

func launchIn(name, binary string, args []string, logPath string, flags int, env []string) (*process, error) {
	logFile, err := os.OpenFile(logPath, os.O_WRONLY|flags, 0o600)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(binary, args...)
	cmd.Env = env
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return nil, fmt.Errorf("%s: starting %s: %w", name, binary, err)
	}
	p := &process{name: name, binary: binary, args: args, cmd: cmd, logPath: logPath, exited: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		_ = logFile.Close()
		close(p.exited)
	}()
	return p, nil
}

// stop asks the process group to terminate and kills it if it has not exited after the grace period.
func (p *process) stop(grace time.Duration) {
	p.deliberate.Store(true)
	if p.hasExited() {
		return
	}
	pgid := -p.cmd.Process.Pid
	_ = syscall.Kill(pgid, syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(grace):
		_ = syscall.Kill(pgid, syscall.SIGKILL)
		<-p.exited
	}
}

func (p *process) hasExited() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// exitError describes how the process ended, with the end of its log, so a broken flag is named in the failure.
func (p *process) exitError() error {
	return fmt.Errorf("%s exited early (%v); last lines of %s:\n%s", p.name, p.waitErr, p.logPath, p.logTail(15))
}

func (p *process) logTail(lines int) string {
	data, err := os.ReadFile(p.logPath)
	if err != nil {
		return err.Error()
	}
	all := strings.Split(string(bytes.TrimRight(data, "\n")), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return "  " + strings.Join(all, "\n  ")
}

// waitUntil polls ready until it reports true, failing at once when the process exits or ctx ends.
func (p *process) waitUntil(ctx context.Context, timeout time.Duration, ready func(context.Context) bool) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if ready(ctx) {
			return nil
		}
		select {
		case <-p.exited:
			return p.exitError()
		case <-ctx.Done():
			return fmt.Errorf("%s not ready after %s; last lines of %s:\n%s", p.name, timeout, p.logPath, p.logTail(15))
		case <-tick.C:
		}
	}
}

// freePort asks the kernel for a free port on loopback.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}
