// Command chaos runs a chaos campaign against peapod on the simulated cluster: PodGroups with fencing Required
// and None, spread over kwok nodes in three zones, go through rounds of random faults (see faults.go: nodes
// silent and recovered, or fenced first; every node or a zone silent; drains; PodMigrations; the manager,
// kube-apiserver and etcd restarted; a node whose Lease renewals are stamped in the past), while a watch on every
// member Pod checks, all the time:
//
//	(a) in a fenced group, never two live Pods of one ordinal while one of them is on a node that is silent
//	    (its kubelet stopped by the round) and not fenced;
//	(b) no member Pod deleted on a node the round did not fault, but a migration's source once its own
//	    replacement is Ready (a drain's deletions are on the drained node, which the round faults);
//	(c) every round ends converged: one live Pod per ordinal, all Ready, within -converge-timeout of the
//	    fault's end; the members that are not count as lost.
//
// It prints one table, and exits non-zero when an invariant was violated. The manager runs in this process; a
// manager restart cancels it and starts a fresh one (a new reconciler, a new node observer).
//
// kube-apiserver writes an audit log of who created, deleted and evicted member Pods, which names the actor of
// every violation. The campaign's directory (that log, the manager's, and pods.log: every change of a member Pod
// the watch saw, with the rounds' marks) is kept when a violation happened or PEAPOD_KEEP_CLUSTER is set;
// PEAPOD_KEEP_CLUSTER=1 also keeps the cluster's, with every component's log.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/peapod-io/peapod/test/cluster"
	"github.com/peapod-io/peapod/test/utils"
)

type options struct {
	rounds, nodes, groups int
	seed                  uint64
	defaultTimings        bool
	convergeTimeout       time.Duration
	faults                []faultKind
}

func main() {
	var o options
	var faults string
	// A flag set of its own: test/utils brings in Ginkgo, which puts its flags and its usage on the default one.
	flags := flag.NewFlagSet("chaos", flag.ExitOnError)
	flags.IntVar(&o.rounds, "rounds", 20, "rounds, one fault each")
	flags.IntVar(&o.nodes, "nodes", 7, "kwok nodes, spread round-robin over 3 zones")
	flags.IntVar(&o.groups, "groups", 4, "PodGroups, alternately fencing Required and None, of 3 to 5 members")
	flags.Uint64Var(&o.seed, "seed", 0, "seed of the fault sequence and its durations; 0 takes one from the clock "+
		"(printed, to repeat a run)")
	flags.BoolVar(&o.defaultTimings, "default-timings", false, "Kubernetes' default node timings (Lease renewed "+
		"every 10 s, NotReady after 50 s) instead of the fast ones (every second, NotReady after 3 s): slower rounds")
	flags.DurationVar(&o.convergeTimeout, "converge-timeout", 3*time.Minute, "how long after its fault ended a round "+
		"may take to converge before its unconverged members count as lost")
	flags.StringVar(&faults, "faults", "", "comma-separated fault kinds to draw from (default all): "+
		strings.Join(faultNames(allFaults), ", "))
	_ = flags.Parse(os.Args[1:]) // ExitOnError: it exits itself
	if o.seed == 0 {
		o.seed = uint64(time.Now().UnixNano())
	}
	var err error
	if o.faults, err = parseFaults(faults); err == nil {
		err = o.validate()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	violations, err := run(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos failed:", err)
		os.Exit(1)
	}
	if violations > 0 {
		fmt.Fprintf(os.Stderr, "chaos: %d invariant violations\n", violations)
		os.Exit(1)
	}
}

func (o options) validate() error {
	switch {
	case o.rounds < 1:
		return errors.New("-rounds must be at least 1")
	case o.nodes < 6:
		// Two drains at once and a zone outage still leave room for every group spread over the nodes.
		return errors.New("-nodes must be at least 6")
	case o.groups < 2:
		return errors.New("-groups must be at least 2: one fenced, one not")
	}
	return nil
}

func (o options) timings() cluster.Timings {
	if o.defaultTimings {
		return cluster.DefaultTimings
	}
	t := cluster.FastTimings
	// As in a real cluster, where Pods tolerate a NotReady node for 300 s and peapod's `after` is 20 s, the
	// controller-manager's taint eviction comes well after peapod's failover: with no toleration at all it evicted
	// the members of any node the busy machine left unrenewed for 3 s, before peapod could judge.
	t.DefaultTolerationSeconds = 60
	return t
}

// after is the groups' nodeFailure.after: a few seconds over the node Lease duration, so a node silent for
// longer is failed over, one silent for less is not, and a Lease stamped 15 s behind fools a manager that
// compares its timestamps with its own clock (at the fast timings).
func (o options) after() time.Duration { return o.timings().NodeLeaseDuration + 4*time.Second }

// run runs the campaign and returns how many invariant violations it saw. Every process it starts is stopped
// before it returns, whatever happened.
func run(ctx context.Context, o options) (violations int, err error) {
	started := time.Now()
	logf := func(format string, args ...any) {
		fmt.Printf("[%6.1fs] %s\n", time.Since(started).Seconds(), fmt.Sprintf(format, args...))
	}
	dir, err := os.MkdirTemp("", "peapod-chaos-")
	if err != nil {
		return 0, err
	}
	defer func() {
		if violations > 0 || err != nil || os.Getenv("PEAPOD_KEEP_CLUSTER") != "" {
			fmt.Printf("kept %s: the manager's log, the Pods' timeline and kube-apiserver's audit log of member Pods\n", dir)
			return
		}
		_ = os.RemoveAll(dir)
	}()
	audit, err := newAudit(dir)
	if err != nil {
		return 0, err
	}

	c, err := cluster.Start(ctx, cluster.Options{Nodes: o.nodes, Timings: o.timings(), Logf: logf,
		ExtraArgs: map[string][]string{"kube-apiserver": audit.apiserverArgs()}})
	if err != nil {
		return 0, err
	}
	defer c.Stop()
	if err := c.Install(ctx, "config/crd/bases", "config/policy/podgroup_validation.yaml"); err != nil {
		return 0, err
	}
	mgr, err := startManager(ctx, c.Config, dir)
	if err != nil {
		return 0, err
	}
	defer mgr.close()

	groups := newGroups(o)
	w, err := watchMembers(ctx, c.Config, groups, o, dir)
	if err != nil {
		return 0, err
	}
	defer w.stop()
	attachments, err := utils.WatchAttachments(ctx, c.Clientset)
	if err != nil {
		return 0, err
	}
	defer attachments.Stop()
	if err := createGroups(ctx, c, groups, o); err != nil {
		return 0, err
	}
	if _, missing, err := w.waitConverged(ctx, c, o.convergeTimeout); err != nil || len(missing) > 0 {
		return 0, fmt.Errorf("the groups never came up: %v %w", missing, err)
	}
	claims, err := recordClaims(ctx, c, groups)
	if err != nil {
		return 0, err
	}
	logf("%d PodGroups up, %d members; %d rounds, seed %d", len(groups), members(groups), o.rounds, o.seed)

	camp := newCampaign(o, c, mgr, w, groups, logf)
	runErr := camp.run(ctx)
	rep := newReport(o, camp, w, audit, time.Since(started))
	// The report reads the audit log and the Events; after Ctrl-C it still gets a few seconds for them.
	readCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	rep.multiAttached = attachments.Violations()
	if rep.lostClaims, err = lostClaims(readCtx, c, groups, claims); err != nil {
		return 0, fmt.Errorf("reading the claims at the end: %w", err)
	}
	rep.print(readCtx, c, audit)
	if runErr != nil {
		return rep.violations(), fmt.Errorf("after %d of %d rounds: %w", len(camp.rounds), o.rounds, runErr)
	}
	return rep.violations(), nil
}
