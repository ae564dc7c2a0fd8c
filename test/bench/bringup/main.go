// Command bringup measures how fast peapod brings up members against Kubernetes' own StatefulSet controller, in
// one run, on the simulated cluster (real apiserver, controller-manager and scheduler; kwok nodes): N groups of M
// members versus N StatefulSets of M replicas (podManagementPolicy Parallel, the fastest), with the same client
// QPS for peapod's manager and the controller-manager. It prints time-to-all-Ready, API requests per pod, peapod's
// API writes per minute while nothing changes, and the manager's heap per cached pod.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/peapod-io/peapod/test/cluster"
)

type options struct {
	groups, members, nodes int
	// namespaces is how many namespaces the groups (and StatefulSets) are spread over, round robin.
	namespaces  int
	concurrency int
	qps         float64
	burst       int
	idle        time.Duration
	heapProfile string
	profileDir  string
	// peapodOnly skips the StatefulSet side: a scale run of peapod alone.
	peapodOnly bool
	// statefulSetChildren creates with each StatefulSet what its user writes by hand for what a group comes
	// with: the headless Service its serviceName names (per-member DNS) and a budget (drains that keep members up).
	statefulSetChildren bool
	// statefulSetWiring gives each StatefulSet's Pods, by hand, what a group's members are told: peapod's env and
	// the peer file, from a ConfigMap created with the StatefulSet.
	statefulSetWiring bool
}

func main() {
	var o options
	// A flag set of its own: test/utils brings in Ginkgo, which puts its flags and its usage on the default one.
	flags := flag.NewFlagSet("bringup", flag.ExitOnError)
	sizes := flags.String("sizes", "250x4,2500x4", "what to bring up, GROUPSxMEMBERS, comma-separated: each size on "+
		"one kwok node per 80 pods (at least 12)")
	throttles := flags.String("throttles", "20/30,500/1000", "client QPS/burst of both the controller-manager and "+
		"peapod's manager, comma-separated (20/30: both defaults; 500/1000: neither client the limit)")
	flags.IntVar(&o.namespaces, "namespaces", 1, "spread the groups and StatefulSets over this many namespaces, "+
		"round robin (one namespace of thousands makes every budget's and Service's sync in the controller-manager "+
		"list thousands of Pods)")
	flags.IntVar(&o.concurrency, "podgroup-concurrency", 0, "peapod's --podgroup-concurrency (0: its default)")
	flags.DurationVar(&o.idle, "idle", time.Minute, "how long to count peapod's writes while nothing changes")
	flags.StringVar(&o.heapProfile, "heap-profile", "", "write the manager's heap profile here once all groups settled")
	flags.StringVar(&o.profileDir, "profile-dir", "", "write CPU profiles of the bring-up here: the apiserver's on each side, "+
		"and this process's (peapod's manager, and the bench's watch) on peapod's")
	flags.BoolVar(&o.peapodOnly, "peapod-only", false, "measure peapod alone, without the StatefulSet side (a scale run)")
	flags.BoolVar(&o.statefulSetChildren, "statefulset-children", true, "create with each StatefulSet "+
		"the headless Service and the PodDisruptionBudget a group comes with (false: the StatefulSets alone)")
	flags.BoolVar(&o.statefulSetWiring, "statefulset-wiring", false, "give each StatefulSet's Pods by hand "+
		"what a group's members are told (peapod's env, and the peer file from a ConfigMap created with it), "+
		"so both sides' Pods are as large")
	_ = flags.Parse(os.Args[1:]) // ExitOnError: it exits itself
	if o.heapProfile != "" {
		runtime.MemProfileRate = 1 // every allocation, so the profile accounts for every byte
	}
	ctrl.SetLogger(logr.Discard())

	settings, err := matrix(o, *sizes, *throttles)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rows := make([]summary, 0, len(settings))
	for _, setting := range settings {
		row, err := run(ctx, setting)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench failed:", err)
			os.Exit(1)
		}
		rows = append(rows, row)
	}
	printSummary(rows)
}

func run(ctx context.Context, o options) (summary, error) {
	pods := o.groups * o.members
	fmt.Printf("bring-up of %d pods (%d x %d) in %d namespace(s) on %d kwok nodes; client QPS %.0f, burst %d for both controllers\n",
		pods, o.groups, o.members, max(o.namespaces, 1), o.nodes, o.qps, o.burst)

	sts := &result{}
	if !o.peapodOnly {
		var err error
		if sts, err = measure(ctx, o, "statefulset", statefulSets); err != nil {
			return summary{}, fmt.Errorf("StatefulSets: %w", err)
		}
	}
	pp, err := measure(ctx, o, "peapod", podGroups)
	if err != nil {
		return summary{}, fmt.Errorf("PodGroups: %w", err)
	}

	fmt.Println()
	fmt.Printf("%-34s %14s %14s %8s\n", "", "StatefulSet", "peapod", "ratio")
	row := func(name string, s, p float64, unit string) {
		if o.peapodOnly {
			fmt.Printf("%-34s %14s %12.1f%-2s\n", name, "-", p, unit)
			return
		}
		fmt.Printf("%-34s %12.1f%-2s %12.1f%-2s %8.2f\n", name, s, unit, p, unit, p/s)
	}
	row("bench's creates of the objects", sts.createLoop.Seconds(), pp.createLoop.Seconds(), "s")
	row("time to all Pods created", sts.allCreated.Seconds(), pp.allCreated.Seconds(), "s")
	row("time to all Pods scheduled", sts.allBound.Seconds(), pp.allBound.Seconds(), "s")
	row("time to all Ready", sts.allReady.Seconds(), pp.allReady.Seconds(), "s")
	row("apiserver requests per pod (all)", float64(sts.requests)/float64(pods), float64(pp.requests)/float64(pods), "")
	row("apiserver writes per pod (all)", float64(sts.writes)/float64(pods), float64(pp.writes)/float64(pods), "")
	fmt.Printf("%-34s %14s %12.1fs\n", "all groups' status caught up", "", pp.settled.Seconds())
	fmt.Printf("%-34s %14s %12.0f, p99 <= %gs (controller-runtime's histogram buckets)\n", "podgroup reconciles to settled", "",
		pp.reconciles, pp.reconcileP99)
	fmt.Printf("%-34s %14s %12.1fs, %.1f workers busy on average; queue wait mean %.2fs, p99 <= %gs\n",
		"  time in reconciles, summed", "", pp.reconcileSeconds, pp.reconcileSeconds/pp.settled.Seconds(),
		pp.queueWaitMean, pp.queueWaitP99)
	fmt.Printf("%-34s %14s %12.1f\n", "peapod's own requests per pod", "", float64(pp.ownRequests)/float64(pods))
	fmt.Printf("  peapod's requests by verb and resource: %s\n", strings.Join(pp.ownByKind, ", "))
	if !o.peapodOnly {
		fmt.Printf("  the apiserver's, StatefulSet side: %s\n", strings.Join(sts.apiserverByKind, ", "))
	}
	fmt.Printf("  the apiserver's, peapod side: %s\n", strings.Join(pp.apiserverByKind, ", "))
	for _, name := range cpuOrder {
		row("CPU s to all Ready: "+name, sts.cpu[name].Seconds(), pp.cpu[name].Seconds(), "s")
	}
	row("CPU s to all Ready: all", total(sts.cpu).Seconds(), total(pp.cpu).Seconds(), "s")
	fmt.Printf("%-34s %14s %12.1f   (goal 0)\n", "peapod writes/min, nothing changing", "", pp.idleWritesPerMinute)
	fmt.Printf("%-34s %14s %10.2f KB   (goal <= 4 KB)\n", "manager heap per cached pod", "", pp.heapPerPodKB)
	fmt.Printf("%-34s %14s %10.0f MiB  (the manager and the bench's own watch of every Pod)\n", "process RSS at the end", "", pp.rssMiB)
	return summary{o: o, sts: sts, peapod: pp}, nil
}

// result is one side of the comparison.
type result struct {
	allReady     time.Duration
	allCreated   time.Duration
	createLoop   time.Duration
	allBound     time.Duration
	settled      time.Duration
	reconciles   float64
	reconcileP99 float64
	// reconcileSeconds is the time spent in reconciles, summed over the workers; queueWait* is how long a group
	// waited in the work queue for a worker.
	reconcileSeconds            float64
	queueWaitP99, queueWaitMean float64
	requests, writes            float64
	ownRequests                 float64
	ownByKind                   []string
	apiserverByKind             []string
	idleWritesPerMinute         float64
	heapPerPodKB                float64
	rssMiB                      float64
	// cpu is the CPU time each process used from the first create until all Pods were Ready.
	cpu map[string]time.Duration
}

// step is one timed part of a measurement.
type step func(context.Context) error

// workload prepares one side (for peapod: installs it and runs its manager) and returns the step that creates
// the objects, and optionally a step to run once all pods are Ready.
type workload func(ctx context.Context, c *cluster.Cluster, o options, r *result) (create, afterReady step, err error)

func measure(ctx context.Context, o options, name string, w workload) (*result, error) {
	// The scheduler binds both sides' Pods: at its default QPS (50) it would be what both wait for once the
	// controllers are unthrottled, so it gets the controllers' QPS when that is higher.
	extra := map[string][]string{
		"kube-controller-manager": {fmt.Sprintf("--kube-api-qps=%g", o.qps), fmt.Sprintf("--kube-api-burst=%d", o.burst)},
		"kube-scheduler":          {fmt.Sprintf("--kube-api-qps=%g", max(o.qps, 50)), fmt.Sprintf("--kube-api-burst=%d", max(o.burst, 100))},
	}
	if o.profileDir != "" {
		extra["kube-apiserver"] = []string{"--profiling=true"}
	}
	c, err := cluster.Start(ctx, cluster.Options{Nodes: o.nodes, ExtraArgs: extra, WithoutStorage: true})
	if err != nil {
		return nil, err
	}
	defer c.Stop()
	r := &result{}
	create, afterReady, err := w(ctx, c, o, r)
	if err != nil {
		return nil, err
	}
	ready, err := watchReady(ctx, c)
	if err != nil {
		return nil, err
	}
	if err := waitQuiet(ctx, c); err != nil {
		return nil, err
	}
	before, err := apiserverRequests(ctx, c)
	if err != nil {
		return nil, err
	}
	cpuBefore := cpuTimes(c)
	start := time.Now()
	profiled, err := profileBringUp(ctx, c, o.profileDir, name)
	if err != nil {
		return nil, err
	}
	if err := create(ctx); err != nil {
		return nil, err
	}
	r.createLoop = time.Since(start)
	if err := ready.waitFor(ctx, o.groups*o.members, waitLimit(o)); err != nil {
		return nil, err
	}
	r.allReady = time.Since(start)
	r.cpu = cpuSince(cpuTimes(c), cpuBefore)
	created, bound := ready.stages()
	r.allCreated, r.allBound = created.Sub(start), bound.Sub(start)
	if err := profiled(); err != nil {
		return nil, err
	}
	after, err := apiserverRequests(ctx, c)
	if err != nil {
		return nil, err
	}
	r.requests, r.writes = after.total-before.total, after.writes-before.writes
	r.apiserverByKind = after.since(before)
	if afterReady != nil {
		if err := afterReady(ctx); err != nil {
			return nil, err
		}
	}
	return r, nil
}
