// Command storm measures a failover storm at scale on the simulated cluster at Kubernetes' default node timings:
// N PodGroups of M members on many kwok nodes, K nodes killed at once, every member on them replaced by one
// manager. It prints node death -> replacement Ready per member (p50, p99, max), the time until all are Ready
// again, the most members seen moving at once against --max-concurrent-migrations, the podgroup controller's
// reconcile time (p50, p99, from controller-runtime's metrics) and the manager's CPU and memory during the storm.
// Then disruption mode: a share of the nodes above --unhealthy-node-threshold goes silent at once, and the bench
// counts the members deleted while they are silent (none, when failovers pause) and replaced after they return.
//
// The groups are brought up by a manager at a high client QPS, so the bench does not wait on bring-up; the
// storm's manager is then started afresh with the flags given (by default the manager's own defaults).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/peapod-io/peapod/test/cluster"
	"github.com/peapod-io/peapod/test/utils"
)

type options struct {
	groups, members, nodes, kill, podsPerNode int
	qps                                       float64
	burst, maxMigrations                      int
	silentShare                               float64
	hold, window                              time.Duration
}

func main() {
	var o options
	// A flag set of its own: test/utils brings in Ginkgo, which puts its flags and its usage on the default one.
	flags := flag.NewFlagSet("storm", flag.ExitOnError)
	flags.IntVar(&o.groups, "groups", 2500, "PodGroups")
	flags.IntVar(&o.members, "members", 4, "members of each")
	flags.IntVar(&o.nodes, "nodes", 100, "kwok nodes")
	flags.IntVar(&o.kill, "kill", 10, "nodes killed at once in the storm")
	flags.IntVar(&o.podsPerNode, "pods-per-node", 200, "each node's pod capacity: the survivors must hold the members "+
		"of the killed nodes (at 110, the kubelet's default, 10,000 members do not fit on 90 nodes)")
	flags.Float64Var(&o.qps, "qps", 50, "the storm manager's --kube-api-qps (50 is its default)")
	flags.IntVar(&o.burst, "burst", 100, "the storm manager's --kube-api-burst (100 is its default)")
	flags.IntVar(&o.maxMigrations, "max-concurrent-migrations", 50, "the storm manager's --max-concurrent-migrations")
	flags.Float64Var(&o.silentShare, "silent-share", 0.6, "share of the nodes silenced at once for disruption mode "+
		"(above the manager's --unhealthy-node-threshold, 0.55); 0 skips it")
	flags.DurationVar(&o.hold, "hold", 2*time.Minute, "how long the nodes stay silent in disruption mode: past their "+
		"Leases' expiry (40 s) and nodeFailure.after (20 s), when failovers would otherwise begin")
	flags.DurationVar(&o.window, "window", 10*time.Minute, "how long the storm's replacements may take")
	_ = flags.Parse(os.Args[1:]) // ExitOnError: it exits itself
	if o.kill < 1 || o.kill >= o.nodes {
		fmt.Fprintln(os.Stderr, "-kill must be at least 1 and fewer than -nodes")
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

func run(ctx context.Context, o options) error {
	started := time.Now()
	logf := func(format string, args ...any) {
		fmt.Printf("[%6.1fs] %s\n", time.Since(started).Seconds(), fmt.Sprintf(format, args...))
	}
	members := o.groups * o.members
	// The scheduler binds every replacement: at its default QPS (50) it would be what the storm waits for.
	extra := map[string][]string{"kube-scheduler": {"--kube-api-qps=500", "--kube-api-burst=1000"}}
	c, err := cluster.Start(ctx, cluster.Options{Nodes: o.nodes, Timings: cluster.DefaultTimings, ExtraArgs: extra,
		WithoutStorage: true, PodsPerNode: o.podsPerNode, Logf: logf})
	if err != nil {
		return err
	}
	defer c.Stop()
	if err := c.Install(ctx, "config/crd/bases"); err != nil {
		return err
	}
	binary, err := utils.BuildManager(ctx, ".")
	if err != nil {
		return err
	}
	defer utils.RemoveBuilds()
	tracker, stopTracking, err := trackMembers(ctx, c)
	if err != nil {
		return err
	}
	defer stopTracking()

	bringUp, err := startManager(ctx, c, binary, "manager-bringup.log", "--kube-api-qps=500", "--kube-api-burst=1000",
		"--podgroup-concurrency=16")
	if err != nil {
		return err
	}
	if err := createGroups(ctx, c, o); err != nil {
		bringUp.Kill()
		return err
	}
	err = tracker.waitReady(ctx, members, 15*time.Minute)
	bringUp.Stop()
	if err != nil {
		return err
	}
	logf("%d members of %d groups Ready on %d nodes; starting the storm's manager afresh", members, o.groups, o.nodes)

	m, err := startManager(ctx, c, binary, "manager.log", fmt.Sprintf("--kube-api-qps=%g", o.qps),
		fmt.Sprintf("--kube-api-burst=%d", o.burst), fmt.Sprintf("--max-concurrent-migrations=%d", o.maxMigrations))
	if err != nil {
		return err
	}
	defer m.Kill()
	idle, err := sampleUsage(ctx, m)
	if err != nil {
		return err
	}
	time.Sleep(30 * time.Second)
	idleCores, _, idleRSS := idle.finish()

	s, err := storm(ctx, c, m, tracker, o, logf)
	if err != nil {
		return err
	}
	s.idleCores, s.idleRSSMiB = idleCores, idleRSS
	var d *disruptionResult
	if o.silentShare > 0 {
		if d, err = disruption(ctx, c, m, tracker, o, logf); err != nil {
			return err
		}
	}
	printReport(o, s, d)
	return nil
}

// stormResult is what the storm measured.
type stormResult struct {
	lost                         int
	times                        []time.Duration
	peakMoving                   int
	reconcileP50, reconcileP99   float64
	reconciles                   float64
	avgCores, peakCores, peakRSS float64
	idleCores, idleRSSMiB        float64
}

func storm(ctx context.Context, c *cluster.Cluster, m *managerProcess, t *memberTracker, o options,
	logf func(string, ...any)) (*stormResult, error) {
	before, err := m.reconcileTimes(ctx)
	if err != nil {
		return nil, err
	}
	usage, err := sampleUsage(ctx, m)
	if err != nil {
		return nil, err
	}
	victims := c.Nodes()[:o.kill]
	lost, err := t.kill(ctx, c, victims)
	if err != nil {
		return nil, err
	}
	logf("killed %d nodes at once, %d members on them; waiting for every one to run Ready elsewhere", o.kill, lost)
	times, peak, err := t.waitReplaced(ctx, o.window)
	if err != nil {
		return nil, err
	}
	r := &stormResult{lost: lost, times: times, peakMoving: peak}
	r.avgCores, r.peakCores, r.peakRSS = usage.finish()
	after, err := m.reconcileTimes(ctx)
	if err != nil {
		return nil, err
	}
	during := after.Since(before)
	r.reconciles, r.reconcileP50, r.reconcileP99 = during.Count, during.Quantile(0.5), during.Quantile(0.99)
	logf("all %d replaced, the last %s after the kill; reviving the nodes", lost, times[len(times)-1].Round(100*time.Millisecond))
	if err := t.revive(ctx, c, victims); err != nil {
		return nil, err
	}
	return r, nil
}

// disruptionResult is what disruption mode measured.
type disruptionResult struct {
	silent, onSilent           int
	paused                     bool
	deletedWhile, deletedAfter []string
	replacedAfter              int
	readyAgain                 time.Duration
}

func disruption(ctx context.Context, c *cluster.Cluster, m *managerProcess, t *memberTracker, o options,
	logf func(string, ...any)) (*disruptionResult, error) {
	silent := c.Nodes()[o.nodes-int(math.Ceil(o.silentShare*float64(o.nodes))):]
	before := t.uids()
	t.resetDeletions()
	r := &disruptionResult{silent: len(silent)}
	var err error
	if r.onSilent, err = t.kill(ctx, c, silent); err != nil {
		return nil, err
	}
	logf("silenced %d of %d nodes at once (%d members on them); holding %s", len(silent), o.nodes, r.onSilent, o.hold)
	deadline := time.Now().Add(o.hold)
	for time.Now().Before(deadline) {
		paused, err := m.series(ctx, `peapod_failover_paused{zone=""}`)
		if err != nil {
			return nil, err
		}
		r.paused = r.paused || paused == 1
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
	r.deletedWhile = t.deletionsSoFar()
	back := time.Now()
	if err := t.revive(ctx, c, silent); err != nil {
		return nil, err
	}
	if err := t.waitReady(ctx, len(before), 10*time.Minute); err != nil {
		return nil, err
	}
	r.readyAgain = time.Since(back)
	r.deletedAfter = t.deletionsSoFar()[len(r.deletedWhile):]
	for name, uid := range t.uids() {
		if before[name] != uid {
			r.replacedAfter++
		}
	}
	logf("nodes back; every member Ready %s later", r.readyAgain.Round(100*time.Millisecond))
	if !r.paused && len(r.deletedWhile) == 0 {
		return r, errors.New("failovers neither paused nor ran: the hold was too short to tell")
	}
	return r, nil
}
