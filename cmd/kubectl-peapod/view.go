package main

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/cli-runtime/pkg/printers"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	"github.com/peapod-io/peapod/internal/desired"
	"github.com/peapod-io/peapod/internal/migration"
	"github.com/peapod-io/peapod/internal/plan"
	"github.com/peapod-io/peapod/internal/status"
)

// none fills a cell that has nothing to show.
const none = "-"

// groupView is what `status` shows: a group, its member Pods and its PodMigrations, as read at Now.
type groupView struct {
	Group      *peapodv1alpha1.PodGroup
	Pods       []*corev1.Pod
	Migrations []*peapodv1alpha1.PodMigration
	claimsView
	Now time.Time
}

// memberRow is one line of the members table.
type memberRow struct {
	Member, Pod, Node, Ready, Status, Age, Migration string
}

// writeStatus prints the header line, the members table and the last migration.
func writeStatus(w io.Writer, v groupView) error {
	var table strings.Builder
	table.WriteString("MEMBER\tPOD\tNODE\tREADY\tSTATUS\tAGE\tMIGRATION\n")
	for _, r := range memberRows(v) {
		table.WriteString(strings.Join([]string{r.Member, r.Pod, r.Node, r.Ready, r.Status, r.Age, r.Migration}, "\t") + "\n")
	}
	if _, err := fmt.Fprintf(w, "%s\n\n", header(v.Group)); err != nil {
		return err
	}
	tw := printers.GetNewTabWriter(w)
	if _, err := io.WriteString(tw, table.String()); err != nil {
		return err
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if err := writeClaims(w, v.claimsView); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\n%s\n", lastMigration(v.Group, v.Now))
	return err
}

// header is the group's name, its ready members against the desired count, and its conditions: each as
// Type=Status, with reason and message where it is not what a settled, healthy group shows.
func header(g *peapodv1alpha1.PodGroup) string {
	parts := []string{fmt.Sprintf("podgroup %s/%s: %d/%d ready", g.Namespace, g.Name, g.Status.ReadyReplicas, desired.Replicas(g))}
	if len(g.Status.Conditions) == 0 {
		return parts[0] + "; no status yet: is the peapod manager running?"
	}
	healthy := []struct {
		typ  string
		want metav1.ConditionStatus
	}{
		{status.ConditionAvailable, metav1.ConditionTrue},
		{status.ConditionProgressing, metav1.ConditionFalse},
		{status.ConditionDegraded, metav1.ConditionFalse},
	}
	for _, h := range healthy {
		c := meta.FindStatusCondition(g.Status.Conditions, h.typ)
		switch {
		case c == nil:
			parts = append(parts, h.typ+"=Unknown")
		case c.Status == h.want:
			parts = append(parts, fmt.Sprintf("%s=%s", c.Type, c.Status))
		default:
			parts = append(parts, fmt.Sprintf("%s=%s (%s)", c.Type, c.Status, strings.TrimSuffix(c.Reason+": "+c.Message, ": ")))
		}
	}
	if g.Status.ObservedGeneration < g.Generation {
		parts = append(parts, fmt.Sprintf("(status is of generation %d, the spec is at %d)", g.Status.ObservedGeneration, g.Generation))
	}
	return strings.Join(parts, "  ")
}

// memberRows is one row per member, ordinals 0..replicas-1 ("missing" where the member has no Pod), one per Pod
// where a member has several (its Pod and a migration's replacement), and rows for surplus ordinals that still
// have Pods.
func memberRows(v groupView) []memberRow {
	g := v.Group
	byOrdinal := map[int][]*corev1.Pod{}
	last := desired.Replicas(g) - 1
	for _, pod := range v.Pods {
		if o, ok := desired.OrdinalOf(pod.Labels); ok {
			byOrdinal[o] = append(byOrdinal[o], pod)
			last = max(last, o)
		}
	}
	active, byName := migrationsOf(v)
	var rows []memberRow
	for o := 0; o <= last; o++ {
		member := desired.MemberName(g.Name, o)
		pods := byOrdinal[o]
		if len(pods) == 0 {
			if o < desired.Replicas(g) {
				rows = append(rows, memberRow{member, "missing", none, none, none, none, migrationCell(active[o], false)})
			}
			continue
		}
		slices.SortFunc(pods, func(a, b *corev1.Pod) int {
			return cmp.Or(a.CreationTimestamp.Compare(b.CreationTimestamp.Time), cmp.Compare(a.Name, b.Name))
		})
		replacement := replacementOf(pods, active[o])
		for _, pod := range pods {
			m, isReplacement := active[o], pod == replacement
			if m == nil && isReplacement {
				m = byName[pod.Labels[peapodv1alpha1.MigrationLabel]]
			}
			rows = append(rows, memberRow{
				Member:    member,
				Pod:       pod.Name,
				Node:      cmp.Or(pod.Spec.NodeName, none),
				Ready:     fmt.Sprint(plan.Ready(pod)),
				Status:    podStatus(pod),
				Age:       age(pod.CreationTimestamp, v.Now),
				Migration: migrationCell(m, isReplacement),
			})
		}
	}
	return rows
}

// migrationsOf returns the group's active migration of each ordinal (the oldest, if several ask for one member),
// and all its migrations by name.
func migrationsOf(v groupView) (active map[int]*peapodv1alpha1.PodMigration, byName map[string]*peapodv1alpha1.PodMigration) {
	active, byName = map[int]*peapodv1alpha1.PodMigration{}, map[string]*peapodv1alpha1.PodMigration{}
	for _, m := range v.Migrations {
		byName[m.Name] = m
		o, ok := migration.OrdinalOf(m, v.Pods)
		if !ok || !m.Active() {
			continue
		}
		if held := active[o]; held == nil || m.CreationTimestamp.Before(&held.CreationTimestamp) {
			active[o] = m
		}
	}
	return active, byName
}

// replacementOf picks, among the Pods of one member (oldest first), the one a migration started: the active
// migration's replacement, else the newest Pod that carries a migration label. A lone Pod is the member, whatever
// started it.
func replacementOf(pods []*corev1.Pod, active *peapodv1alpha1.PodMigration) *corev1.Pod {
	if len(pods) < 2 {
		return nil
	}
	if active != nil {
		// By what only the migration's replacement has (its name from the migration's UID): the member's own Pod
		// may carry the label of an earlier migration of the same name.
		if pod := migration.ReplacementOf(active, pods); pod != nil {
			return pod
		}
	}
	for _, pod := range slices.Backward(pods) {
		if pod.Labels[peapodv1alpha1.MigrationLabel] != "" {
			return pod
		}
	}
	return nil
}

// migrationCell names a migration and its phase, and says whether the row's Pod is its replacement.
func migrationCell(m *peapodv1alpha1.PodMigration, replacement bool) string {
	cell := none
	if m != nil {
		cell = fmt.Sprintf("%s %s", m.Name, cmp.Or(m.Status.Phase, peapodv1alpha1.MigrationPending))
	}
	if replacement {
		cell += ", replacement"
	}
	return cell
}

// podStatus is a short word for where a Pod is, as kubectl get pods says it: Terminating, a container's waiting
// reason (CrashLoopBackOff, ContainerCreating), the Pod's own reason (Evicted), or its phase.
func podStatus(pod *corev1.Pod) string {
	if pod.DeletionTimestamp != nil {
		return "Terminating"
	}
	if pod.Status.Reason != "" {
		return pod.Status.Reason
	}
	for _, s := range pod.Status.ContainerStatuses {
		if s.State.Waiting != nil && s.State.Waiting.Reason != "" {
			return s.State.Waiting.Reason
		}
	}
	return cmp.Or(string(pod.Status.Phase), string(corev1.PodPending))
}

// lastMigration tells of the group's most recent member move: who, why, from where to where, when, and how long
// the member took to be Ready again.
func lastMigration(g *peapodv1alpha1.PodGroup, now time.Time) string {
	r := g.Status.LastMigration
	if r == nil {
		return "last migration: none"
	}
	s := fmt.Sprintf("last migration: member %s (%s) %s → %s, %s ago", desired.MemberName(g.Name, int(r.Member)), r.Reason,
		cmp.Or(r.From, "?"), cmp.Or(r.To, "?"), duration.HumanDuration(now.Sub(r.StartTime.Time)))
	if r.ReadyTime != nil {
		s += ", Ready after " + elapsed(r.ReadyTime.Sub(r.StartTime.Time))
	} else {
		s += ", not Ready yet"
	}
	if r.Downtime != nil {
		s += ", down " + elapsed(r.Downtime.Duration) + " (stopped to move its claims)"
	}
	if r.Migration != "" {
		s += " (podmigration " + r.Migration + ")"
	}
	return s
}

// age is how old an object is, as kubectl prints it (5m, 3h, 2d).
func age(created metav1.Time, now time.Time) string {
	if created.IsZero() {
		return none
	}
	return duration.HumanDuration(now.Sub(created.Time))
}

// elapsed is how long something took: tenths of a second under a minute (2.3s), whole seconds above (1m5s).
func elapsed(d time.Duration) string {
	if d < time.Minute {
		return max(d, 0).Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}
