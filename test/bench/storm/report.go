package main

import (
	"fmt"
	"time"

	"github.com/peapod-io/peapod/test/utils"
)

func seconds(d time.Duration) string { return fmt.Sprintf("%.1f s", d.Seconds()) }

func printReport(o options, s *stormResult, d *disruptionResult) {
	fmt.Println()
	fmt.Printf("Failover storm: %d PodGroups x %d members on %d kwok nodes (%d pods each at most), Kubernetes' default\n"+
		"node timings, nodeFailure.after 20 s, fencing None; the manager at --kube-api-qps=%g --kube-api-burst=%d\n"+
		"--max-concurrent-migrations=%d.\n\n", o.groups, o.members, o.nodes, o.podsPerNode, o.qps, o.burst, o.maxMigrations)
	fmt.Printf("  %d nodes killed at once, %d members on them, every one replaced on a live node\n", o.kill, s.lost)
	fmt.Printf("  node death -> replacement Ready   p50 %s   p99 %s   last (all Ready again) %s\n",
		seconds(utils.Percentile(s.times, 50)), seconds(utils.Percentile(s.times, 99)), seconds(s.times[len(s.times)-1]))
	fmt.Printf("  members moving at once, at most  %d (cap %d)\n", s.peakMoving, o.maxMigrations)
	fmt.Printf("  podgroup reconciles              %.0f, p50 <= %gs, p99 <= %gs (controller-runtime's histogram buckets)\n",
		s.reconciles, s.reconcileP50, s.reconcileP99)
	fmt.Printf("  manager during the storm         CPU %.2f cores on average, %.2f at peak (1 s); RSS %.0f MiB at peak\n",
		s.avgCores, s.peakCores, s.peakRSS)
	fmt.Printf("  manager in its first 30 s        CPU %.3f cores; RSS %.0f MiB (every group reconciled once after a start)\n",
		s.idleCores, s.idleRSSMiB)
	if d == nil {
		return
	}
	fmt.Printf("\nDisruption mode: %d of %d nodes silent at once (%d members on them) for %s\n", d.silent, o.nodes,
		d.onSilent, o.hold)
	fmt.Printf("  failovers paused (peapod_failover_paused)  %t\n", d.paused)
	fmt.Printf("  members deleted while the nodes were silent %d %s\n", len(d.deletedWhile), first(d.deletedWhile))
	fmt.Printf("  members replaced once they were back        %d; every member Ready %s after\n", d.replacedAfter,
		seconds(d.readyAgain))
	fmt.Printf("  members deleted once they were back         %d %s\n", len(d.deletedAfter), first(d.deletedAfter))
}

// first lists the first few of what happened, the time counted from the nodes' silencing.
func first(events []string) string {
	if len(events) == 0 {
		return ""
	}
	return fmt.Sprint(events[:min(len(events), 5)])
}
