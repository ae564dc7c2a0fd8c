// Command failover measures how long a workload waits for a pod lost with its node, on the simulated cluster at
// Kubernetes' default node timings: a PodGroup with fencing None, one with fencing Required, a Deployment and a
// StatefulSet, of equal size and spread one pod per node, lose a pod with every node killed. Half the kills
// leave the node silent, as a machine that lost power and that nobody has noticed; the other half add the
// out-of-service taint some seconds later, as an administrator or a fencing agent does. It prints, per workload
// and kind of kill, node death -> replacement Ready (p50, p99, max), and for the fenced kills taint -> Ready.
//
// The manager runs as its own process with its default flags. PEAPOD_KEEP_CLUSTER=1 keeps the cluster's
// directory, with every component's log and the manager's, for reading afterwards.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/peapod-io/peapod/test/cluster"
	"github.com/peapod-io/peapod/test/utils"
)

type options struct {
	replicas, kills, nodes int
	interval, fenceAfter   time.Duration
	window                 time.Duration
}

func main() {
	var o options
	// A flag set of its own: test/utils brings in Ginkgo, which puts its flags and its usage on the default one.
	flags := flag.NewFlagSet("failover", flag.ExitOnError)
	flags.IntVar(&o.replicas, "replicas", 10, "pods of each workload")
	flags.IntVar(&o.kills, "kills", 10, "nodes to kill, one at a time; the even-numbered ones are fenced")
	flags.IntVar(&o.nodes, "nodes", 0, "kwok nodes; 0 means replicas + 2 x kills: room for every replacement, and "+
		"no zone loses half its nodes")
	flags.DurationVar(&o.interval, "interval", 15*time.Second, "time between kills")
	flags.DurationVar(&o.fenceAfter, "fence-after", 10*time.Second, "time from a fenced kill to the out-of-service taint")
	flags.DurationVar(&o.window, "window", 7*time.Minute, "how long after its node died a lost pod may take to be "+
		"replaced; a Deployment's takes about 6 minutes (NotReady at 50 s, then the 300 s toleration)")
	_ = flags.Parse(os.Args[1:]) // ExitOnError: it exits itself
	if o.nodes == 0 {
		o.nodes = o.replicas + 2*o.kills
	}
	if err := o.validate(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctrl.SetLogger(logr.Discard())

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "bench failed:", err)
		os.Exit(1)
	}
}

func (o options) validate() error {
	switch {
	case o.replicas < 1 || o.kills < 1:
		return errors.New("-replicas and -kills must be at least 1")
	case o.nodes < o.replicas+o.kills:
		return fmt.Errorf("-nodes %d leaves no room: every replacement needs a live node free of its workload "+
			"(at least replicas + kills = %d)", o.nodes, o.replicas+o.kills)
	case o.interval <= o.fenceAfter:
		return errors.New("-interval must be longer than -fence-after: a kill is fenced before the next one")
	case o.interval < 10*time.Second:
		// The controller-manager taints at most one NotReady node per 10 s per zone (--node-eviction-rate 0.1):
		// kills closer together would delay the Deployment's evictions by queueing, not by the node timings.
		return errors.New("-interval must be at least 10s")
	}
	return nil
}

func run(ctx context.Context, o options) error {
	started := time.Now()
	logf := func(format string, args ...any) {
		fmt.Printf("[%5.1fs] %s\n", time.Since(started).Seconds(), fmt.Sprintf(format, args...))
	}

	// The cluster starts with one node per pod, so the first pod of every workload lands on every node and every
	// kill takes a pod from all four; the spare nodes come once they are placed, for the replacements.
	c, err := cluster.Start(ctx, cluster.Options{Nodes: o.replicas, Timings: cluster.DefaultTimings, Logf: logf})
	if err != nil {
		return err
	}
	defer c.Stop()
	if err := c.Install(ctx, "config/crd/bases", "config/policy/podgroup_validation.yaml"); err != nil {
		return err
	}
	stopManager, err := startManager(ctx, c)
	if err != nil {
		return err
	}
	defer stopManager()
	pods, stopTracking, err := trackPods(ctx, c, logf)
	if err != nil {
		return err
	}
	defer stopTracking()

	if err := createWorkloads(ctx, c, int32(o.replicas)); err != nil {
		return err
	}
	if err := pods.waitReady(ctx, len(workloads)*o.replicas, 3*time.Minute); err != nil {
		return err
	}
	logf("all %d pods Ready, one of each workload per node; adding %d spare nodes", len(workloads)*o.replicas, o.nodes-o.replicas)
	if err := c.AddNodes(ctx, o.nodes-o.replicas); err != nil {
		return err
	}

	if err := killNodes(ctx, c, pods, o, logf); err != nil {
		return err
	}
	logf("waiting for the replacements, up to %s after each node died", o.window)
	losses, strays, err := pods.waitOutcomes(ctx, c, o.window)
	if err != nil {
		return err
	}
	printReport(o, losses, strays)
	return nil
}

// startManager builds the manager and runs it as its own process, as it runs in a cluster; stop kills it.
func startManager(ctx context.Context, c *cluster.Cluster) (stop func(), err error) {
	binary, err := utils.BuildManager(ctx, ".")
	if err != nil {
		return nil, err
	}
	m, err := utils.StartManagerProcess(binary, c.KubeconfigPath, filepath.Join(c.Dir, "manager.log"))
	if err != nil {
		return nil, err
	}
	return func() { m.Kill(); utils.RemoveBuilds() }, nil
}
