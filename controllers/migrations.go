package controllers

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	lifecyclev1alpha1 "k8s.io/api/lifecycle/v1alpha1"
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

// runMigrations takes every PodMigration of the group one step (migration.StepAll). It returns the Pods that hold
// the members' identities for the rest of the reconcile (the replacements of migrations in flight set aside), and
// whether it wrote a Pod: then the plan waits for the next reconcile, which sees those writes.
func (w *reconcileWork) runMigrations(ctx context.Context, migrations []*peapodv1alpha1.PodMigration,
	nodes map[string]nodehealth.Verdict, evicting map[types.UID]*lifecyclev1alpha1.Eviction) (members []*corev1.Pod, wrote bool, err error) {
	return migration.StepAll(migration.Group{
		PodGroup: w.group, Pods: w.pods, Nodes: nodes, Evicting: evicting, Now: w.now,
		Avoiding: func() ([]string, error) { return w.nodesToAvoid() },
		Target:   func(m *peapodv1alpha1.PodMigration) migration.Target { return w.r.targetOf(ctx, m) },
	}, migrations, func(m *peapodv1alpha1.PodMigration, step migration.Step) (bool, error) { return w.take(ctx, m, step) })
}

// take carries out a step: the Pod write and the status, in the order migration.Step.StatusFirst says. A status
// decided from a stale cache is dropped (see writeMigrationStatus), and then no Pod is written after it.
func (w *reconcileWork) take(ctx context.Context, m *peapodv1alpha1.PodMigration, step migration.Step) (acted bool, err error) {
	before := m.Status.Phase
	statusFirst := step.StatusFirst(m)
	if !statusFirst {
		if acted, err = w.act(ctx, m, step); errors.Is(err, errNotConfirmed) {
			// The step rests on a view the API server no longer shows: neither the Pod nor the status is written,
			// and the migration's next event brings it back to be decided again.
			return false, nil
		} else if err != nil {
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

// errNotConfirmed: a live read does not show what the step was decided from.
var errNotConfirmed = errors.New("not confirmed by a live read")

// act does the Pod write a step asks for. The source is retired only once a live read confirms its replacement.
func (w *reconcileWork) act(ctx context.Context, m *peapodv1alpha1.PodMigration, step migration.Step) (bool, error) {
	switch step.Action {
	case migration.CreateReplacement:
		return true, w.createReplacement(ctx, m, step)
	case migration.RetireSource:
		var replacement corev1.Pod
		key := types.NamespacedName{Namespace: m.Namespace, Name: step.Status.ReplacementPod}
		if err := w.r.APIReader.Get(ctx, key, &replacement); client.IgnoreNotFound(err) != nil {
			return false, fmt.Errorf("reading replacement %s: %w", key.Name, err)
		} else if err != nil || !migration.Confirms(&replacement, step) {
			return false, errNotConfirmed
		}
		return true, w.deleteMember(ctx, plan.Deletion{Pod: step.Pod, Reason: plan.ReasonMigrated})
	case migration.RemoveReplacement:
		return true, w.deleteMember(ctx, step.Removal())
	case migration.StopSource:
		return w.stopSource(ctx, step)
	}
	return false, nil
}

// stopSource deletes, gracefully, the old Pod of a stop-then-start move, as read live: only the Pod the step
// saw, still on the node it saw, and only that version of it (a Pod changed since is judged again).
func (w *reconcileWork) stopSource(ctx context.Context, step migration.Step) (bool, error) {
	var source corev1.Pod
	key := client.ObjectKeyFromObject(step.Pod)
	if err := w.r.APIReader.Get(ctx, key, &source); apierrors.IsNotFound(err) {
		return false, nil // gone already: the next step starts the replacement
	} else if err != nil {
		return false, fmt.Errorf("reading %s before stopping it: %w", key.Name, err)
	}
	if !migration.ConfirmsStop(&source, step) {
		return false, nil // changed since, or stopping already: the next step judges it again
	}
	return true, w.deleteMember(ctx, plan.Deletion{Pod: &source, Reason: plan.ReasonStopThenStart})
}

func (w *reconcileWork) createReplacement(ctx context.Context, m *peapodv1alpha1.PodMigration, step migration.Step) error {
	if ready, err := w.ensureClaims(ctx, step.Ordinal); err != nil || !ready {
		return err
	}
	revision := w.revisionFor(step.Ordinal)
	if !step.NewRevision {
		revision = step.Pod.Labels[peapodv1alpha1.RevisionLabel]
	}
	shape, err := w.shapeOf(ctx, revision)
	if err != nil {
		return err
	}
	avoid, err := w.nodesToAvoid()
	if err != nil {
		return err
	}
	if step.AvoidSource {
		avoid = slices.Concat(avoid, []string{step.Status.SourceNode})
	}
	topology, err := w.volumeTopology(ctx, step.Ordinal)
	if err != nil {
		return err
	}
	pod := desired.ReplacementPod(w.group, shape, step.Ordinal, step.Status.ReplacementPod, m, avoid)
	desired.FollowVolumes(pod, topology)
	w.r.respondToEvictions(pod)
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
	w.replacementsCreated++
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
				StartTime: *st.StartTime, ReadyTime: st.ReplacementReadyTime, Downtime: st.Downtime,
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

// startMoves writes the PodMigrations peapod starts itself (migration.Drains, migration.Updates): the ones to
// start, the old records in their way, the old records beyond the ones kept.
func (w *reconcileWork) startMoves(ctx context.Context, work migration.DrainWork, what string) error {
	var errs []error
	for _, m := range work.Start {
		if err := w.r.Create(ctx, m); err != nil && !apierrors.IsAlreadyExists(err) {
			errs = append(errs, fmt.Errorf("starting %s member %s: %w", what, m.Spec.Pod, err))
		}
	}
	for _, m := range slices.Concat(work.Clear, work.Prune) {
		err := w.r.Delete(ctx, m, client.Preconditions{UID: ptr.To(m.UID)})
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("deleting the old record %s: %w", m.Name, err))
		}
	}
	return errors.Join(errs...)
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
