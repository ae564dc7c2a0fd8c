// Command demo starts the local simulated cluster, installs peapod the way a user would, runs the manager and
// applies the samples, telling what happens as it happens. Ctrl-C stops everything it started. With --exit (or
// when stdout is not a terminal) it stops by itself once the story is told.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/peapod-io/peapod/test/cluster"
)

func main() {
	exitAfter := flag.Bool("exit", !isTerminal(os.Stdout), "stop after the story instead of waiting for Ctrl-C")
	nodes := flag.Int("nodes", 3, "kwok nodes to create")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *nodes, *exitAfter); err != nil {
		fmt.Fprintln(os.Stderr, "demo failed:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, nodes int, exitAfter bool) error {
	start := time.Now()
	say := func(format string, args ...any) {
		fmt.Printf("[%6.2fs] %s\n", time.Since(start).Seconds(), fmt.Sprintf(format, args...))
	}

	say("starting the simulated cluster: etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok")
	c, err := cluster.Start(ctx, cluster.Options{Nodes: nodes, Logf: say})
	if err != nil {
		return err
	}
	defer c.Stop()

	manager, err := buildManager(ctx, c.Dir)
	if err != nil {
		return err
	}
	say("installing the CRDs and applying the samples with kubectl")
	if err := c.Install(ctx, "config/crd/bases", "config/policy/podgroup_validation.yaml"); err != nil {
		return err
	}
	mgr := exec.CommandContext(ctx, manager, "--kubeconfig", c.KubeconfigPath, "--health-probe-bind-address=127.0.0.1:0")
	mgrLog, err := os.Create(filepath.Join(c.Dir, "manager.log"))
	if err != nil {
		return err
	}
	defer func() { _ = mgrLog.Close() }()
	mgr.Stdout, mgr.Stderr = mgrLog, mgrLog
	mgr.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := mgr.Start(); err != nil {
		return fmt.Errorf("starting the manager: %w", err)
	}
	defer func() { _ = mgr.Process.Signal(syscall.SIGTERM); _ = mgr.Wait() }()
	say("manager running (log: %s)", mgrLog.Name())

	if err := kubectl(ctx, c, "apply", "-k", "config/samples"); err != nil {
		return err
	}
	if err := kubectl(ctx, c, "get", "podgroups,nodes", "-o", "wide"); err != nil {
		return err
	}
	say("explore it: kubectl --kubeconfig %s get pgroup,pods -o wide", c.KubeconfigPath)
	if exitAfter {
		say("done; stopping the cluster")
		return nil
	}
	say("Ctrl-C stops everything")
	<-ctx.Done()
	return nil
}

func buildManager(ctx context.Context, dir string) (string, error) {
	out := filepath.Join(dir, "manager")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, ".")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building the manager: %w", err)
	}
	return out, nil
}

func kubectl(ctx context.Context, c *cluster.Cluster, args ...string) error {
	cmd := c.Kubectl(ctx, args...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("kubectl %v: %w", args, err)
	}
	return nil
}

func isTerminal(f *os.File) bool {
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}
