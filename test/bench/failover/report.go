package main

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/peapod-io/peapod/test/utils"
)

// Goals of peapod's failover, printed beside its figures.
const (
	unfencedGoal = 20 * time.Second // node death -> replacement Ready, p99, at nodeFailure.after 20s
	fencedGoal   = 2 * time.Second  // out-of-service taint -> replacement Ready, p99
	claimsGoal   = 5 * time.Second  // out-of-service taint -> replacement Ready with its volume, p99
)

// outcome is one workload's losses on one kind of kill.
type outcome struct {
	lost, redone             int
	sinceDeath, sinceFencing []time.Duration // of the replaced ones, sorted
}

func outcomes(losses []loss, fenced bool) map[string]*outcome {
	out := map[string]*outcome{}
	for _, w := range workloads {
		out[w] = &outcome{}
	}
	for _, l := range losses {
		if l.kill.fenced != fenced {
			continue
		}
		o := out[l.workload]
		o.lost++
		o.redone += l.redone
		if !l.replacedAt.IsZero() {
			o.sinceDeath = append(o.sinceDeath, l.replacedAt.Sub(l.kill.diedAt))
			if fenced {
				o.sinceFencing = append(o.sinceFencing, l.replacedAt.Sub(l.kill.fencedAt))
			}
		}
	}
	for _, o := range out {
		slices.Sort(o.sinceDeath)
		slices.Sort(o.sinceFencing)
	}
	return out
}

// stats prints p50, p99 and max, or dashes when nothing was replaced.
func stats(sorted []time.Duration) string {
	if len(sorted) == 0 {
		return fmt.Sprintf("%8s %8s %8s", "-", "-", "-")
	}
	s := func(d time.Duration) string { return fmt.Sprintf("%7.1fs", d.Seconds()) }
	return fmt.Sprintf("%s %s %s", s(utils.Percentile(sorted, 50)), s(utils.Percentile(sorted, 99)), s(sorted[len(sorted)-1]))
}

func printReport(o options, losses []loss, strays int) {
	silent, fenced := outcomes(losses, false), outcomes(losses, true)
	window := strings.TrimSuffix(o.window.String(), "0s")
	fmt.Println()
	fmt.Printf("Failover on %d kwok nodes at Kubernetes' default node timings (NotReady 40-50 s after the last heartbeat,\n"+
		"pods evicted 300 s later); %d workloads of %d pods, one pod per node; %d kills, one every %s.\n",
		o.nodes, len(workloads), o.replicas, o.kills, o.interval)

	fmt.Printf("\nA. Node silent, no fencing signal (kills %s): node death -> replacement Ready\n", killNumbers(o.kills, false))
	fmt.Printf("  %-28s %8s %8s %8s %8s   %s\n", "workload", "replaced", "p50", "p99", "max", "goal / note")
	silentNotes := map[string]string{
		unfencedGroup: goal("p99", silent[unfencedGroup], silent[unfencedGroup].sinceDeath, unfencedGoal),
		fencedGroup:   "by design: waits for the node to be known dead",
		statefulSet:   "needs a human to force-delete the pod",
	}
	if len(silent[fencedGroup].sinceDeath) > 0 {
		silentNotes[fencedGroup] = "UNEXPECTED: replaced without the taint"
	}
	for _, w := range plainWorkloads {
		r := silent[w]
		fmt.Printf("  %-28s %8s %s   %s\n", titles[w], r.replaced(), stats(r.sinceDeath), r.note(silentNotes[w], window))
	}
	fmt.Printf("  p50 ratios: Deployment / PodGroup None %s, StatefulSet / PodGroup None %s\n",
		ratio(silent[deployment], silent[unfencedGroup]), ratio(silent[statefulSet], silent[unfencedGroup]))

	fmt.Printf("\nB. Out-of-service taint %s after the kill (kills %s)\n", o.fenceAfter, killNumbers(o.kills, true))
	printFenced(plainWorkloads, fenced, map[string]string{
		fencedGroup: goal("taint -> Ready p99", fenced[fencedGroup], fenced[fencedGroup].sinceFencing, fencedGoal),
	}, window)
	fmt.Printf("  p50 ratios, node death -> Ready: Deployment / PodGroup Required %s, StatefulSet / PodGroup Required %s\n",
		ratio(fenced[deployment], fenced[fencedGroup]), ratio(fenced[statefulSet], fenced[fencedGroup]))

	fmt.Printf("\nC. With a ReadWriteOnce claim per pod (zonal volumes, attached by Kubernetes' attach/detach controller)\n")
	fmt.Printf("  silent node (kills %s): node death -> replacement Ready\n", killNumbers(o.kills, false))
	fmt.Printf("  %-28s %8s %8s %8s %8s   %s\n", "workload", "replaced", "p50", "p99", "max", "note")
	claimsSilentNotes := map[string]string{
		claimsGroup:       "by design: its volume stays attached to the dead node until it is fenced",
		claimsStatefulSet: "needs a human to force-delete the pod",
	}
	if len(silent[claimsGroup].sinceDeath) > 0 {
		claimsSilentNotes[claimsGroup] = "UNEXPECTED: replaced without the taint"
	}
	for _, w := range claimWorkloads {
		r := silent[w]
		fmt.Printf("  %-28s %8s %s   %s\n", titles[w], r.replaced(), stats(r.sinceDeath), r.note(claimsSilentNotes[w], window))
	}
	fmt.Printf("  out-of-service taint %s after the kill (kills %s)\n", o.fenceAfter, killNumbers(o.kills, true))
	printFenced(claimWorkloads, fenced, map[string]string{
		claimsGroup: goal("taint -> Ready p99", fenced[claimsGroup], fenced[claimsGroup].sinceFencing, claimsGoal),
	}, window)
	fmt.Printf("  p50 ratio, node death -> Ready: StatefulSet / PodGroup, RWO claims %s\n",
		ratio(fenced[claimsStatefulSet], fenced[claimsGroup]))

	fmt.Print(`
How to read it:
- Node death is the moment kwok stops heartbeating the node. Its last Lease renewal was 0-10 s earlier, and
  peapod counts nodeFailure.after (20 s) from that renewal.
- The kills alternate because the out-of-service taint is a signal to Kubernetes too: its taint eviction deletes
  the Deployment's and StatefulSet's pods at once, and the pod GC force-deletes them once the node is NotReady,
  so a fenced PodGroup is compared in B with a Deployment and a StatefulSet that got the same signal, and the
  silent-node figures of A are what a cluster does when nobody says the node is dead. An unfenced PodGroup is
  replaced at the taint too, when it comes before nodeFailure.after.
- A replacement is a pod that becomes Ready on another node and stays: the same name for a PodGroup member or a
  StatefulSet pod; for a Deployment, the earliest-deleted lost pod not yet replaced. "Deleted again": a
  replacement was deleted on a live node and another one followed, which is what is timed; the taint-eviction
  controller deletes by name, and evicting the old member it can hit the new one of the same name.
- p50 and p99 are nearest-rank over the replaced pods: with fewer than 100, p99 is the max.
- In C a replacement is Ready only once its volume is attached to its node: Kubernetes' attach/detach controller
  detaches a volume from a node that died only after the out-of-service taint (or its 6-minute
  maxWaitForUnmountDuration), and the simulated kubelet starts a pod only once its volumes are attached. The
  replacement stays in the volume's zone.
`)
	if strays > 0 {
		fmt.Printf("- %d pods became Ready after the first kill without replacing a lost one: the figures may be off.\n", strays)
	}
}

// printFenced prints the rows of fenced kills: taint -> Ready and node death -> Ready, with each row's note.
func printFenced(rows []string, fenced map[string]*outcome, notes map[string]string, window string) {
	fmt.Printf("  %-28s %8s %-26s   %s\n", "", "", "  taint -> replacement Ready", "  node death -> replacement Ready")
	fmt.Printf("  %-28s %8s %8s %8s %8s   %8s %8s %8s   %s\n", "workload", "replaced", "p50", "p99", "max", "p50", "p99", "max",
		"goal / note")
	for _, w := range rows {
		r := fenced[w]
		fmt.Printf("  %-28s %8s %s   %s   %s\n", titles[w], r.replaced(), stats(r.sinceFencing), stats(r.sinceDeath),
			r.note(notes[w], window))
	}
}

func (r *outcome) replaced() string { return fmt.Sprintf("%d/%d", len(r.sinceDeath), r.lost) }

// note joins what the row needs said: its goal or its design, what was not replaced, what was replaced twice.
func (r *outcome) note(about, window string) string {
	parts := []string{about}
	if missing := r.lost - len(r.sinceDeath); missing > 0 {
		parts = append(parts, fmt.Sprintf("%d not replaced within %s", missing, window))
	}
	if r.redone > 0 {
		parts = append(parts, fmt.Sprintf("%d deleted again", r.redone))
	}
	return strings.Join(slices.DeleteFunc(parts, func(p string) bool { return p == "" }), "; ")
}

// goal says whether every lost pod was replaced and the p99 of sorted durations meets the limit.
func goal(what string, r *outcome, sorted []time.Duration, limit time.Duration) string {
	if r.lost == 0 {
		return fmt.Sprintf("goal %s <= %s: nothing measured", what, limit)
	}
	verdict := "met"
	if len(sorted) < r.lost || utils.Percentile(sorted, 99) > limit {
		verdict = "MISSED"
	}
	return fmt.Sprintf("goal %s <= %s: %s", what, limit, verdict)
}

// ratio is a's p50 over b's p50.
func ratio(a, b *outcome) string {
	switch {
	case len(b.sinceDeath) == 0:
		return "n/a"
	case len(a.sinceDeath) == 0:
		return "never"
	}
	return fmt.Sprintf("%.1fx", utils.Percentile(a.sinceDeath, 50).Seconds()/utils.Percentile(b.sinceDeath, 50).Seconds())
}

// killNumbers lists the kills of one kind: the fenced ones are the even-numbered.
func killNumbers(kills int, fenced bool) string {
	var numbers []string
	for n := 1; n <= kills; n++ {
		if (n%2 == 0) == fenced {
			numbers = append(numbers, fmt.Sprint(n))
		}
	}
	return strings.Join(numbers, ", ")
}
