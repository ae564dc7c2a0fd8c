package main

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/peapod-io/peapod/test/cluster"
	"github.com/peapod-io/peapod/test/utils"
)

const (
	clockFormat = "15:04:05.000"
	// described is how many violations the report describes in full.
	described = 5
)

// report is the campaign's outcome.
type report struct {
	o     options
	f     *campaign
	wall  time.Duration
	found []violation
	// byKubernetes are (b) deletions Kubernetes' own controllers began; stoppedByKubelet are (a) Pods on a
	// silent node that their kubelet stopped and removed (attribute).
	byKubernetes, stoppedByKubelet []violation
	notes                          []string
	retired, unserved              int
	// multiAttached (d) are the moments a volume had VolumeAttachments on two nodes; lostClaims (e) the claims of
	// the groups with claims not as first bound, or not mounted by their member, at the end.
	multiAttached, lostClaims []string
}

func newReport(o options, f *campaign, w *watcher, a *audit, wall time.Duration) *report {
	// Stopped first: the checks under way finish, and nothing after the last round counts.
	w.stop()
	found, notes, retired, unserved := w.snapshot()
	r := &report{o: o, f: f, wall: wall, notes: append(slices.Clone(f.notes), notes...), retired: retired, unserved: unserved}
	r.attribute(found, a)
	return r
}

// attribute reads in the audit log who deleted the Pod each violation names. The invariants are peapod's: a
// deletion Kubernetes' own controllers began (the taint eviction of a node the controller-manager found
// NotReady, when the machine stalled its kubelets) is reported apart, and a Pod on a silent node that its own
// kubelet removed was stopped first, so it is no second live copy.
func (r *report) attribute(found []violation, a *audit) {
	for _, v := range found {
		if v.pod == "" || v.invariant == invariantConverged {
			r.found = append(r.found, v)
			continue
		}
		d, err := a.deletionOf(v.pod, v.at.Add(-time.Minute), v.at.Add(200*time.Millisecond))
		switch {
		case err != nil:
			r.notes = append(r.notes, fmt.Sprintf("the audit log could not be read for %s: %v", v.pod, err))
			r.found = append(r.found, v)
		case v.invariant == invariantIdentity && d.byKubelet:
			r.stoppedByKubelet = append(r.stoppedByKubelet, v)
		case v.invariant == invariantDeletion && d.began != "" && !strings.HasPrefix(d.began, "peapod") && d.began != kubeletActor:
			v.detail += "; deleted by " + d.began
			r.byKubernetes = append(r.byKubernetes, v)
		default:
			r.found = append(r.found, v)
		}
	}
}

func (r *report) violations() int { return len(r.found) + len(r.multiAttached) + len(r.lostClaims) }

func (r *report) count(invariant string, in func(violation) bool) (n int) {
	for _, v := range r.found {
		if v.invariant == invariant && in(v) {
			n++
		}
	}
	return n
}

func (r *report) print(ctx context.Context, c *cluster.Cluster, a *audit) {
	t := r.o.timings()
	fmt.Printf("\nChaos campaign: %d of %d rounds, seed %d, wall time %s; %d kwok nodes in 3 zones, node Lease %s, "+
		"NotReady after %s;\n%d PodGroups (%d members; fencing Required and None alternately, every fourth with a "+
		"ReadWriteOnce claim per member), nodeFailure.after %s, drain Migrate, spread Node.\n\n",
		len(r.f.rounds), r.o.rounds, r.o.seed, r.wall.Round(time.Second), r.o.nodes, t.NodeLeaseDuration,
		t.NodeMonitorGracePeriod, len(r.f.groups), members(r.f.groups), r.o.after())

	fmt.Printf("%-42s %6s %4s %4s %5s   %-26s   %-26s\n", "", "", "", "", "", "converged, from fault start", "converged, from fault end")
	fmt.Printf("%-42s %6s %4s %4s %5s   %8s %8s %8s   %8s %8s %8s\n", "fault", "rounds", "(a)", "(b)", "lost",
		"p50", "p99", "max", "p50", "p99", "max")
	for _, kind := range allFaults {
		if rounds := r.roundsOf(func(k faultKind) bool { return k == kind }); len(rounds) > 0 {
			r.row(faults[kind].title, rounds)
		}
	}
	r.row("all rounds", r.roundsOf(func(faultKind) bool { return true }))

	all := func(violation) bool { return true }
	healthy := func(v violation) bool { return v.ready }
	unconvergedRounds := 0
	lost := 0
	for _, rr := range r.f.rounds {
		if rr.lost > 0 {
			unconvergedRounds++
			lost += rr.lost
		}
	}
	fmt.Printf("\ninvariant violations: %d\n", r.violations())
	fmt.Printf("  (a) %-78s %d\n", invariantTitles[invariantIdentity]+":", r.count(invariantIdentity, all))
	fmt.Printf("  (b) %-78s %d\n", invariantTitles[invariantDeletion]+":", r.count(invariantDeletion, all))
	fmt.Printf("  (c) %-78s %d rounds\n", invariantTitles[invariantConverged]+fmt.Sprintf(" (%s)", r.o.convergeTimeout)+":",
		unconvergedRounds)
	fmt.Printf("  (d) %-78s %d\n", "a ReadWriteOnce volume attached to two nodes at once (VolumeAttachments):", len(r.multiAttached))
	fmt.Printf("  (e) %-78s %d\n", "a member's claim lost: recreated, rebound, or not mounted by its Pod at the end:", len(r.lostClaims))
	for _, v := range slices.Concat(tail(r.multiAttached, described), tail(r.lostClaims, described)) {
		fmt.Printf("  - %s\n", v)
	}
	fmt.Printf("members lost (not converged at the end of their round): %d\n", lost)
	fmt.Printf("healthy members deleted (Ready, on a node the round did not fault): %d\n", r.count(invariantDeletion, healthy))
	fmt.Printf("time to converge after the fault ended, all rounds: %s\n", r.quantiles(r.f.rounds))
	fmt.Printf("allowed by (b) on nodes the round did not fault: migration sources retired once their own replacement "+
		"was Ready %d, replacements removed before they served %d\n", r.retired, r.unserved)

	fmt.Printf("not counted, from the audit log: member Pods on nodes the round did not fault deleted by Kubernetes' own "+
		"controllers %d, (a) Pods on a silent node stopped and removed by their own kubelet %d\n", len(r.byKubernetes),
		len(r.stoppedByKubelet))
	for _, v := range tail(r.byKubernetes, described) {
		fmt.Printf("  - %s, round %d (%s): %s\n", v.at.Local().Format(clockFormat), v.round.number, v.round.kind, v.detail)
	}
	restarts := c.Restarts()
	fmt.Printf("control-plane components that exited by themselves and were restarted: %d\n", len(restarts))
	for _, rs := range restarts {
		fmt.Printf("  - %s at %s: %s\n", rs.Component, rs.At.Sub(r.f.started).Round(time.Second), rs.Reason)
	}

	if len(r.found) > 0 {
		fmt.Printf("\nfirst violations:\n")
		r.describe(ctx, c, a)
	}
	if len(r.notes) > 0 {
		fmt.Printf("\nnotes:\n")
		for _, n := range r.notes {
			fmt.Printf("  - %s\n", n)
		}
	}
}

func (r *report) roundsOf(in func(faultKind) bool) []roundResult {
	var out []roundResult
	for _, rr := range r.f.rounds {
		if in(rr.kind) {
			out = append(out, rr)
		}
	}
	return out
}

func (r *report) row(title string, rounds []roundResult) {
	numbers := map[int]bool{}
	lost := 0
	var fromStart, fromEnd []time.Duration
	for _, rr := range rounds {
		numbers[rr.number] = true
		lost += rr.lost
		if !rr.converged.IsZero() {
			fromStart = append(fromStart, rr.converged.Sub(rr.started))
			fromEnd = append(fromEnd, rr.converged.Sub(rr.ended))
		}
	}
	inRounds := func(v violation) bool { return numbers[v.round.number] }
	fmt.Printf("%-42s %6d %4d %4d %5d   %s   %s\n", title, len(rounds), r.count(invariantIdentity, inRounds),
		r.count(invariantDeletion, inRounds), lost, stats(fromStart), stats(fromEnd))
}

func (r *report) quantiles(rounds []roundResult) string {
	var d []time.Duration
	for _, rr := range rounds {
		if !rr.converged.IsZero() {
			d = append(d, rr.converged.Sub(rr.ended))
		}
	}
	if len(d) == 0 {
		return "no round converged"
	}
	slices.Sort(d)
	return fmt.Sprintf("p50 %.1fs, p99 %.1fs, max %.1fs (%d rounds)", utils.Percentile(d, 50).Seconds(),
		utils.Percentile(d, 99).Seconds(), d[len(d)-1].Seconds(), len(d))
}

// stats prints p50, p99 (nearest rank: the max under 100 rounds) and max, or dashes when nothing converged.
func stats(d []time.Duration) string {
	if len(d) == 0 {
		return fmt.Sprintf("%8s %8s %8s", "-", "-", "-")
	}
	slices.Sort(d)
	s := func(d time.Duration) string { return fmt.Sprintf("%7.1fs", d.Seconds()) }
	return fmt.Sprintf("%s %s %s", s(utils.Percentile(d, 50)), s(utils.Percentile(d, 99)), s(d[len(d)-1]))
}

// describe prints the first violations with what the audit log says was done to their Pod and the Events of
// their group and Pod around that moment.
func (r *report) describe(ctx context.Context, c *cluster.Cluster, a *audit) {
	events, err := c.Clientset.EventsV1().Events(chaosNamespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		fmt.Printf("  (the Events could not be listed: %v)\n", err)
		events = &eventsv1.EventList{}
	}
	started := r.f.started
	for i, v := range r.found {
		if i == described {
			fmt.Printf("  ... and %d more\n", len(r.found)-described)
			return
		}
		when := fmt.Sprintf("round %d (%s)", v.round.number, v.round.kind)
		if v.round.number == 0 {
			when = "no round"
		}
		fmt.Printf("  %d. (%s) %s, %.1fs into the campaign, %s: %s\n", i+1, v.invariant, v.at.Local().Format(clockFormat),
			v.at.Sub(started).Seconds(), when, v.detail)
		if v.pod == "" {
			continue
		}
		fmt.Printf("     group %s, member %s, Pod %s, node %s\n", v.member.Group, v.member, v.pod, v.node)
		// What led to it: the writes of the 20 s before it was seen (the watch sees a write a few ms late).
		writes, err := a.writes(v.pod, v.at.Add(-20*time.Second), v.at.Add(200*time.Millisecond))
		if err != nil {
			fmt.Printf("     (the audit log could not be read: %v)\n", err)
		}
		for _, w := range tail(writes, 8) {
			fmt.Printf("     audit: %s\n", w)
		}
		for _, e := range tail(eventsAround(events.Items, v), 8) {
			fmt.Printf("     event: %s\n", e)
		}
	}
}

// eventsAround are the Events of the violation's group or Pod from a minute before it to 10 s after.
func eventsAround(events []eventsv1.Event, v violation) []string {
	type timed struct {
		at   time.Time
		line string
	}
	var found []timed
	for _, e := range events {
		if e.Regarding.Name != v.member.Group && e.Regarding.Name != v.pod {
			continue
		}
		at := cmp.Or(e.EventTime.Time, e.DeprecatedLastTimestamp.Time, e.CreationTimestamp.Time)
		if at.Before(v.at.Add(-time.Minute)) || at.After(v.at.Add(10*time.Second)) {
			continue
		}
		found = append(found, timed{at, fmt.Sprintf("%s %s %s/%s %s: %s", at.Local().Format(clockFormat),
			cmp.Or(e.ReportingController, e.DeprecatedSource.Component), e.Regarding.Kind, e.Regarding.Name, e.Reason,
			strings.TrimSpace(e.Note))})
	}
	slices.SortStableFunc(found, func(a, b timed) int { return a.at.Compare(b.at) })
	lines := make([]string, 0, len(found))
	for _, t := range found {
		lines = append(lines, t.line)
	}
	return lines
}

func tail[T any](s []T, n int) []T { return s[max(len(s)-n, 0):] }
