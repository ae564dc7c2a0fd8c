package controllers

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	"github.com/peapod-io/peapod/internal/desired"
	"github.com/peapod-io/peapod/internal/metrics"
	"github.com/peapod-io/peapod/internal/migration"
	"github.com/peapod-io/peapod/internal/nodehealth"
	"github.com/peapod-io/peapod/internal/plan"
)

// migrationGroupIndex indexes cached PodMigrations by spec.group.
const migrationGroupIndex = "spec.group"

// +kubebuilder:rbac:groups=peapod.io,resources=podmigrations,verbs=get;list;watch;create;delete
// +kubebuilder:rbac:groups=peapod.io,resources=podmigrations/status,verbs=get;update;patch

// runMigrations takes every PodMigration of the group one step. It returns the Pods that hold the members'
// identities for the rest of the reconcile (the replacements of migrations in flight set aside), and whether it
// wrote a Pod: then the plan waits for the next reconcile, which sees those writes.
func (w *reconcileWork) runMigrations(ctx context.Context, migrations []*peapodv1alpha1.PodMigration,
	nodes map[string]nodehealth.Verdict) (members []*corev1.Pod, wrote bool, err error) {
	_, fencingRequired := failurePolicy(w.group)
	claims := claimMembers(migrations, w.pods)
	running := 0
	for _, m := range migrations {
		if m.Status.Phase == peapodv1alpha1.MigrationRunning {
			running++
		}
	}
	var errs []error
	for _, m := range migrations {
		if !m.Active() && (m.Status.Phase != peapodv1alpha1.MigrationFailed || migration.ReplacementOf(m, w.pods) == nil) {
			continue
		}
		step := migration.Next(migration.Input{
			Migration: m, Replicas: desired.Replicas(w.group), Pods: w.pods, Target: w.r.targetOf(ctx, m),
			Nodes: nodes, FencingRequired: fencingRequired,
			MovedBy: claims.movedBy(m, w.pods), Running: running, MaxRunning: maxMigrations(w.group), Now: w.now,
		})
		acted, err := w.take(ctx, m, step)
		if err != nil {
			errs = append(errs, err)
		}
		// A step that ends the migration but whose status did not land (a conflict) leaves the migration active
		// as stored, so its replacement stays set aside: a plan made now would find the member without its
		// source and create a second Pod beside the replacement. The plan waits for the migration's next event.
		ended := step.Status.Phase == peapodv1alpha1.MigrationSucceeded || step.Status.Phase == peapodv1alpha1.MigrationFailed
		wrote = wrote || acted || (ended && m.Active())
		if acted && step.Action == migration.CreateReplacement {
			running++
		}
	}
	// A replacement stays out of the plan while its migration is, or may still be, in flight (its status as
	// stored: a write that did not land leaves it active).
	return migration.SetAside(migrations, w.pods), wrote, errors.Join(errs...)
}

// take carries out a step: the Pod write and the status. A step that gives up and removes the replacement writes
// the status first, over the status it was decided from (a step decided from a stale cache is dropped, see
// writeMigrationStatus), and removes the Pod only then: a manager killed in between finds a Failed migration with
// a replacement left, which the next step removes. Every other step writes the Pod first: killed in between, the
// next step reads the same decision from the Pods (a replacement is adopted, a retired source is seen gone).
func (w *reconcileWork) take(ctx context.Context, m *peapodv1alpha1.PodMigration, step migration.Step) (acted bool, err error) {
	before := m.Status.Phase
	statusFirst := step.Action == migration.RemoveReplacement && m.Active()
	if !statusFirst {
		if acted, err = w.act(ctx, m, step); err != nil {
			return acted, err
		}
	}
	written, err := w.r.writeMigrationStatus(ctx, m, step.Status)
	if err != nil {
		return acted, err
	}
	if written {
		w.recordMigration(m, before, step)
	}
	if statusFirst && written {
		return w.act(ctx, m, step)
	}
	return acted, nil
}

// act does the Pod write a step asks for.
func (w *reconcileWork) act(ctx context.Context, m *peapodv1alpha1.PodMigration, step migration.Step) (bool, error) {
	switch step.Action {
	case migration.CreateReplacement:
		return true, w.createReplacement(ctx, m, step)
	case migration.RetireSource:
		return true, w.deleteMember(ctx, plan.Deletion{Pod: step.Pod, Reason: plan.ReasonMigrated})
	case migration.RemoveReplacement:
		return true, w.deleteMember(ctx, plan.Deletion{Pod: step.Pod, Reason: plan.ReasonMigrationFailed})
	}
	return false, nil
}

func (w *reconcileWork) createReplacement(ctx context.Context, m *peapodv1alpha1.PodMigration, step migration.Step) error {
	shape, err := w.shapeOf(ctx, step.Pod.Labels[peapodv1alpha1.RevisionLabel])
	if err != nil {
		return err
	}
	avoid, err := w.nodesToAvoid(ctx)
	if err != nil {
		return err
	}
	pod := desired.ReplacementPod(w.group, shape, step.Ordinal, step.Status.ReplacementPod, m,
		slices.Concat(avoid, []string{step.Pod.Spec.NodeName}))
	pod.OwnerReferences = []metav1.OwnerReference{desired.ControllerRef(w.group)}
	key := client.ObjectKeyFromObject(w.group).String()
	w.r.Expectations.ExpectCreation(key, pod.Name)
	if err := w.r.Create(ctx, pod); err != nil {
		w.r.Expectations.CreationFailed(key, pod.Name)
		if apierrors.IsAlreadyExists(err) {
			return nil
		}
		return fmt.Errorf("creating replacement %s for PodMigration %s: %w", pod.Name, m.Name, err)
	}
	return nil
}

// recordMigration tells the story of a step as events on the migration and the group, and keeps the group's
// record of its last member move.
func (w *reconcileWork) recordMigration(m *peapodv1alpha1.PodMigration, before peapodv1alpha1.MigrationPhase, step migration.Step) {
	after := step.Status.Phase
	if before == after {
		return
	}
	st := step.Status
	switch after {
	case peapodv1alpha1.MigrationRunning:
		w.r.Recorder.Eventf(m, w.group, corev1.EventTypeNormal, "MigrationStarted", "Migrate", "%s", st.Message)
		w.r.Recorder.Eventf(w.group, m, corev1.EventTypeNormal, "MigrationStarted", "Migrate", "%s (PodMigration %s, %s)",
			st.Message, m.Name, st.Reason)
	case peapodv1alpha1.MigrationSucceeded:
		metrics.Replacements.WithLabelValues(string(st.Reason), "succeeded").Inc()
		w.r.Recorder.Eventf(m, w.group, corev1.EventTypeNormal, "Migrated", "Migrate", "%s", st.Message)
		w.r.Recorder.Eventf(w.group, m, corev1.EventTypeNormal, "Migrated", "Migrate", "%s (PodMigration %s, %s)",
			st.Message, m.Name, st.Reason)
		if st.Member != nil && st.StartTime != nil {
			w.lastMigration = &peapodv1alpha1.MigrationRecord{
				Member: *st.Member, Reason: st.Reason, Migration: m.Name, From: st.SourceNode, To: st.TargetNode,
				StartTime: *st.StartTime, ReadyTime: st.ReplacementReadyTime,
			}
		}
	case peapodv1alpha1.MigrationFailed:
		metrics.Replacements.WithLabelValues(string(st.Reason), "failed").Inc()
		reason := peapodv1alpha1.ReasonReplacementFailed
		if c := meta.FindStatusCondition(st.Conditions, peapodv1alpha1.MigrationFailedCondition); c != nil {
			reason = c.Reason
		}
		w.r.Recorder.Eventf(m, w.group, corev1.EventTypeWarning, reason, "Migrate", "%s", st.Message)
		w.r.Recorder.Eventf(w.group, m, corev1.EventTypeWarning, "MigrationFailed", "Migrate", "PodMigration %s: %s",
			m.Name, st.Message)
	}
}

// startDrains creates a PodMigration for every member on a healthy node that is being drained, unless one is
// moving it already. Its name comes from the member and the Pod's UID (migration.DrainName), so a repeated
// reconcile creates nothing twice.
func (w *reconcileWork) startDrains(ctx context.Context, migrations []*peapodv1alpha1.PodMigration, byOrdinal map[int]*corev1.Pod,
	verdicts map[string]nodehealth.Verdict) error {
	if desired.DrainPolicyOf(w.group) != peapodv1alpha1.DrainMigrate {
		return nil
	}
	moving := claimMembers(migrations, w.allPods)
	var errs []error
	for ordinal, pod := range byOrdinal {
		if pod.DeletionTimestamp != nil || pod.Spec.NodeName == "" || !verdicts[pod.Spec.NodeName].Draining {
			continue
		}
		if _, busy := moving.byOrdinal[ordinal]; busy || ordinal >= desired.Replicas(w.group) {
			continue
		}
		m := &peapodv1alpha1.PodMigration{
			ObjectMeta: metav1.ObjectMeta{
				Name:      migration.DrainName(w.group.Name, ordinal, pod.UID),
				Namespace: w.group.Namespace,
				Labels: map[string]string{
					peapodv1alpha1.GroupLabel:           w.group.Name,
					peapodv1alpha1.MigrationReasonLabel: string(peapodv1alpha1.MigrationDrain),
				},
				OwnerReferences: []metav1.OwnerReference{desired.ControllerRef(w.group)},
			},
			Spec: peapodv1alpha1.PodMigrationSpec{Group: w.group.Name, Pod: pod.Name},
		}
		if err := w.r.Create(ctx, m); err != nil && !apierrors.IsAlreadyExists(err) {
			errs = append(errs, fmt.Errorf("starting the drain of member %s: %w", pod.Name, err))
		}
	}
	return errors.Join(errs...)
}

// keptDrainRecords is how many finished PodMigrations of drains peapod keeps per group, the newest: enough to
// tell the recent story, few enough that a group drained every night does not pile them up.
const keptDrainRecords = 10

// pruneDrainRecords deletes the oldest finished PodMigrations that peapod created for drains, beyond
// keptDrainRecords. Those a user created are the user's to delete.
func (w *reconcileWork) pruneDrainRecords(ctx context.Context, migrations []*peapodv1alpha1.PodMigration) error {
	var finished []*peapodv1alpha1.PodMigration
	for _, m := range migrations {
		if !m.Active() && migration.ReasonOf(m) == peapodv1alpha1.MigrationDrain && metav1.IsControlledBy(m, w.group) {
			finished = append(finished, m)
		}
	}
	var errs []error
	// Oldest first, as listed.
	for _, m := range finished[:max(len(finished)-keptDrainRecords, 0)] {
		err := w.r.Delete(ctx, m, client.Preconditions{UID: ptr.To(m.UID)})
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("deleting the old drain record %s: %w", m.Name, err))
		}
	}
	return errors.Join(errs...)
}

// claims says which active migration moves which member: the running ones first, then the oldest.
type claims struct{ byOrdinal map[int]string }

func claimMembers(migrations []*peapodv1alpha1.PodMigration, pods []*corev1.Pod) claims {
	c := claims{byOrdinal: map[int]string{}}
	active := slices.DeleteFunc(slices.Clone(migrations), func(m *peapodv1alpha1.PodMigration) bool { return !m.Active() })
	rank := func(m *peapodv1alpha1.PodMigration) int {
		if m.Status.Phase == peapodv1alpha1.MigrationRunning {
			return 0
		}
		return 1
	}
	slices.SortStableFunc(active, func(a, b *peapodv1alpha1.PodMigration) int { return cmp.Compare(rank(a), rank(b)) })
	for _, m := range active {
		if ordinal, ok := migration.OrdinalOf(m, pods); ok {
			if _, taken := c.byOrdinal[ordinal]; !taken {
				c.byOrdinal[ordinal] = m.Name
			}
		}
	}
	return c
}

// movedBy names the migration that holds the claim on m's member, if it is another one.
func (c claims) movedBy(m *peapodv1alpha1.PodMigration, pods []*corev1.Pod) string {
	ordinal, ok := migration.OrdinalOf(m, pods)
	if !ok {
		return ""
	}
	if holder := c.byOrdinal[ordinal]; holder != m.Name {
		return holder
	}
	return ""
}

// groupMigrations lists a group's PodMigrations, oldest first.
func (r *PodGroupReconciler) groupMigrations(ctx context.Context, namespace, group string) ([]*peapodv1alpha1.PodMigration, error) {
	var list peapodv1alpha1.PodMigrationList
	if err := r.List(ctx, &list, client.InNamespace(namespace), client.MatchingFields{migrationGroupIndex: group}); err != nil {
		return nil, fmt.Errorf("listing the PodMigrations of %s/%s: %w", namespace, group, err)
	}
	out := make([]*peapodv1alpha1.PodMigration, 0, len(list.Items))
	for i := range list.Items {
		out = append(out, &list.Items[i])
	}
	slices.SortFunc(out, func(a, b *peapodv1alpha1.PodMigration) int {
		return cmp.Or(a.CreationTimestamp.Compare(b.CreationTimestamp.Time), cmp.Compare(a.Name, b.Name))
	})
	return out, nil
}

// targetOf looks up the node a migration names, in the cache.
func (r *PodGroupReconciler) targetOf(ctx context.Context, m *peapodv1alpha1.PodMigration) migration.Target {
	if m.Spec.Target == nil || m.Spec.Target.NodeName == "" {
		return migration.Target{}
	}
	var node corev1.Node
	if err := r.Get(ctx, types.NamespacedName{Name: m.Spec.Target.NodeName}, &node); err != nil {
		return migration.Target{}
	}
	return migration.Target{Exists: true, Unschedulable: node.Spec.Unschedulable}
}

// writeMigrationStatus writes a migration's next status, only over the status it was decided from: the cache may
// show a migration before its last status write, and a step decided from that must not overwrite what was decided
// after it (a conflict: the migration's own event brings it back, up to date).
func (r *PodGroupReconciler) writeMigrationStatus(ctx context.Context, m *peapodv1alpha1.PodMigration,
	next peapodv1alpha1.PodMigrationStatus) (written bool, err error) {
	if equality.Semantic.DeepEqual(m.Status, next) {
		return false, nil
	}
	before := m.DeepCopy()
	patch := client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})
	m.Status = next
	err = r.Status().Patch(ctx, m, patch)
	if err == nil {
		return true, nil
	}
	m.Status = before.Status // what is stored is still the old status
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return false, nil
	}
	return false, fmt.Errorf("writing the status of PodMigration %s: %w", m.Name, err)
}

// failOrphanMigrations ends the active migrations of a group that does not exist.
func (r *PodGroupReconciler) failOrphanMigrations(ctx context.Context, namespace, group string) error {
	migrations, err := r.groupMigrations(ctx, namespace, group)
	if err != nil {
		return err
	}
	var errs []error
	for _, m := range migrations {
		if !m.Active() {
			continue
		}
		next := migration.Abandon(m, peapodv1alpha1.ReasonGroupNotFound, fmt.Sprintf("PodGroup %s does not exist", group), r.Clock.Now())
		if _, err := r.writeMigrationStatus(ctx, m, next); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
