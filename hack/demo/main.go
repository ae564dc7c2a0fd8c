// Command demo starts the local simulated cluster, installs peapod the way a user would, runs the manager,
// applies the sample and tells what happens as it happens: the members come up behind their Service, a node is
// killed and its member comes back elsewhere, a node is drained and its member moves make-before-break. Ctrl-C
// stops everything it started. With --real-nodes the nodes are real kubelets with containerd (`make demo
// REAL_NODES=1`), the members' containers serve HTTP, and a caller calls them through it all. With --exit (the
// default when stdout is not a terminal) it stops by itself once the story is told, and exits non-zero if a step
// does not happen.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/peapod-io/peapod/test/cluster"
	"github.com/peapod-io/peapod/test/utils"
)

// nodes: one per member of the sample, and a spare for the member of the node that dies.
const nodes = replicas + 1

func main() {
	// A flag set of its own: test/utils brings Ginkgo, whose flags would fill --help.
	flags := flag.NewFlagSet("demo", flag.ExitOnError)
	exitAfter := flags.Bool("exit", !isTerminal(os.Stdout), "stop after the story instead of waiting for Ctrl-C")
	realNodes := flags.Bool("real-nodes", false, "run the members on real kubelets and containerd (root; `make realnode`'s "+
		"binaries in $"+cluster.RealNodeDirEnv+") instead of kwok's simulated nodes")
	_ = flags.Parse(os.Args[1:])

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	t := &teller{start: time.Now(), out: os.Stdout}
	err := run(ctx, t, *exitAfter, *realNodes)
	switch {
	case err == nil:
		t.say("stopped everything it started")
	case ctx.Err() != nil:
		t.say("interrupted: stopped everything it started")
		stop()
		os.Exit(130)
	default:
		fmt.Fprintln(os.Stderr, "demo failed:", err)
		stop()
		os.Exit(1)
	}
}

func run(ctx context.Context, t *teller, exitAfter, realNodes bool) (err error) {
	manager, plugin := buildInBackground(ctx, t.say)
	defer func() {
		// A cancelled build ends at once; then what was built goes.
		<-manager.done
		<-plugin.done
		utils.RemoveBuilds()
	}()

	c, err := startCluster(ctx, t, realNodes)
	if err != nil {
		return err
	}
	defer c.Stop()
	t.say("installing the CRDs and the validation policy with kubectl apply --server-side")
	if err := c.Install(ctx, "config/crd/bases", "config/policy/podgroup_validation.yaml"); err != nil {
		return err
	}
	binary, err := manager.wait(ctx, t.say)
	if err != nil {
		return err
	}
	logPath := filepath.Join(c.Dir, "manager.log")
	m, err := utils.StartManagerProcess(binary, c.KubeconfigPath, logPath)
	if err != nil {
		return fmt.Errorf("starting the manager: %w", err)
	}
	defer m.Kill()
	defer func() {
		if err != nil && ctx.Err() == nil {
			t.show([]byte("the manager's last lines:\n"+tail(logPath, 15)), nil)
		}
	}()
	t.say("manager running (log: %s)", logPath)

	// The watches stop before the manager and the cluster do, so they do not complain of a vanished server.
	watchCtx, stopWatching := context.WithCancel(ctx)
	defer stopWatching()
	w, err := watchWorld(watchCtx, c.Clientset, t.say)
	if err != nil {
		return err
	}
	s := &story{c: c, w: w, say: t.say, sample: "config/samples", kill: c.FailNode}
	if realNodes {
		s.sample, s.calls = "hack/demo/real-nodes", true
		s.kill = func(_ context.Context, node string) error { return c.KillRealNode(node) }
	}
	if err := s.tell(ctx); err != nil {
		return err
	}
	explore(ctx, c, plugin, t)
	if exitAfter {
		t.say("the story is told; stopping the manager and the cluster (in a terminal the demo keeps them until Ctrl-C)")
		return nil
	}
	t.say("the cluster keeps running: Ctrl-C stops everything")
	<-ctx.Done()
	return nil
}

// startCluster starts the control plane with kwok's nodes, or with real ones.
func startCluster(ctx context.Context, t *teller, realNodes bool) (*cluster.Cluster, error) {
	timings := fmt.Sprintf("at Kubernetes' default node timings (Lease renewed every %s, NotReady after %s)",
		cluster.DefaultTimings.NodeLeaseDuration/4, cluster.DefaultTimings.NodeMonitorGracePeriod)
	if !realNodes {
		t.say("starting the simulated cluster: etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok "+
			"with %d nodes, %s", nodes, timings)
		return cluster.Start(ctx, cluster.Options{Nodes: nodes, Timings: cluster.DefaultTimings, Logf: t.say})
	}
	if err := cluster.RealNodesPossible(os.Getenv(cluster.RealNodeDirEnv)); err != nil {
		return nil, fmt.Errorf("real nodes: %w", err)
	}
	t.say("starting the control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler) and %d real "+
		"nodes, each a kubelet with its own containerd, %s", nodes, timings)
	c, err := cluster.Start(ctx, cluster.Options{Timings: cluster.DefaultTimings, Logf: t.say})
	if err != nil {
		return nil, err
	}
	if _, err := c.AddRealNodes(ctx, nodes, ""); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

// teller prints the demo's lines, each with the time since the demo started. Lines come from several goroutines.
type teller struct {
	mu    sync.Mutex
	start time.Time
	out   io.Writer
}

func (t *teller) say(format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, _ = fmt.Fprintf(t.out, "[%6.2fs] %s\n", time.Since(t.start).Seconds(), fmt.Sprintf(format, args...))
}

// show prints a command's output indented under the line that named it.
func (t *teller) show(out []byte, err error) {
	text := strings.TrimRight(string(out), "\n")
	if err != nil {
		text += "\n(" + err.Error() + ")"
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for line := range strings.Lines(text + "\n") {
		if line != "\n" {
			line = "    " + line
		}
		_, _ = io.WriteString(t.out, line)
	}
}

// tail is the end of a file, or why it cannot be read.
func tail(path string, lines int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	all := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	return strings.Join(all[max(0, len(all)-lines):], "\n")
}

func isTerminal(f *os.File) bool {
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}
