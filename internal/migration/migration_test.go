package migration

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	pt "github.com/peapod-io/peapod/internal/testing"
)

var now = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func move(member int32, target *peapodv1alpha1.MigrationTarget) *peapodv1alpha1.PodMigration {
	return &peapodv1alpha1.PodMigration{
		ObjectMeta: metav1.ObjectMeta{Name: "mv", Namespace: "default", UID: "uid-1"},
		Spec:       peapodv1alpha1.PodMigrationSpec{Group: "g", Member: &member, Target: target},
	}
}

// running is a migration of member 1 whose replacement was created.
func running(target *peapodv1alpha1.MigrationTarget) *peapodv1alpha1.PodMigration {
	m := move(1, target)
	m.Status = peapodv1alpha1.PodMigrationStatus{
		Phase: peapodv1alpha1.MigrationRunning, Member: ptr.To[int32](1), SourcePod: "g-1", SourceNode: "a",
		ReplacementPod: ReplacementName("g-1", m), StartTime: ptr.To(metav1.NewTime(now.Add(-time.Second))),
	}
	return m
}

func member(ordinal int, node string) *corev1.Pod {
	pod := pt.MakeMemberPod("g", ordinal, "r").Ready(now.Add(-time.Hour)).Created(now.Add(-time.Hour)).Obj()
	pod.Spec.NodeName = node
	return pod
}

func replacement(m *peapodv1alpha1.PodMigration, node string) *pt.PodWrapper {
	w := pt.MakeMemberPod("g", 1, "r").Name(ReplacementName("g-1", m)).Label(peapodv1alpha1.MigrationLabel, m.Name).Created(now)
	w.Spec.NodeName = node
	return w
}

func unschedulable(w *pt.PodWrapper) *corev1.Pod {
	w.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse,
		Reason: corev1.PodReasonUnschedulable, Message: "0/4 nodes are available: 1 Insufficient cpu."}}
	return w.Obj()
}

func TestNext(t *testing.T) {
	toB := &peapodv1alpha1.MigrationTarget{NodeName: "b"}
	cases := map[string]struct {
		in         Input
		extra      []*corev1.Pod
		noSource   bool
		wantAction Action
		wantPod    string
		wantPhase  peapodv1alpha1.MigrationPhase
		wantReason string
	}{
		"starts: a replacement for the member, named after the migration": {
			in:         Input{Migration: move(1, toB), Target: Target{Exists: true}},
			wantAction: CreateReplacement, wantPod: "g-1", wantPhase: peapodv1alpha1.MigrationRunning,
		},
		"the member named by its Pod": {
			in: Input{Migration: &peapodv1alpha1.PodMigration{ObjectMeta: metav1.ObjectMeta{Name: "mv"},
				Spec: peapodv1alpha1.PodMigrationSpec{Group: "g", Pod: "g-1"}}},
			wantAction: CreateReplacement, wantPod: "g-1", wantPhase: peapodv1alpha1.MigrationRunning,
		},
		"no such member": {
			in:        Input{Migration: move(7, nil)},
			wantPhase: peapodv1alpha1.MigrationFailed, wantReason: peapodv1alpha1.ReasonMemberNotFound,
		},
		"the target node does not exist": {
			in:        Input{Migration: move(1, toB)},
			wantPhase: peapodv1alpha1.MigrationFailed, wantReason: peapodv1alpha1.ReasonTargetNotFound,
		},
		"the target node is cordoned: fails before touching anything": {
			in:        Input{Migration: move(1, toB), Target: Target{Exists: true, Unschedulable: true}},
			wantPhase: peapodv1alpha1.MigrationFailed, wantReason: peapodv1alpha1.ReasonTargetUnschedulable,
		},
		"already on the target: done": {
			in:        Input{Migration: move(1, &peapodv1alpha1.MigrationTarget{NodeName: "a"}), Target: Target{Exists: true}},
			wantPhase: peapodv1alpha1.MigrationSucceeded, wantReason: "AlreadyOnTarget",
		},
		"another migration moves the member": {
			in:        Input{Migration: move(1, nil), MovedBy: "older"},
			wantPhase: peapodv1alpha1.MigrationFailed, wantReason: peapodv1alpha1.ReasonAlreadyMigrating,
		},
		"the group's cap is reached: waits": {
			in:        Input{Migration: move(1, nil), Running: 2, MaxRunning: 2},
			wantPhase: peapodv1alpha1.MigrationPending,
		},
		"the replacement is starting: waits": {
			in: Input{Migration: running(nil)}, extra: []*corev1.Pod{replacement(running(nil), "b").Obj()},
			wantPhase: peapodv1alpha1.MigrationRunning,
		},
		"the replacement is Ready: the old Pod is retired": {
			in: Input{Migration: running(nil)}, extra: []*corev1.Pod{replacement(running(nil), "b").Ready(now).Obj()},
			wantAction: RetireSource, wantPod: "g-1", wantPhase: peapodv1alpha1.MigrationSucceeded, wantReason: "Migrated",
		},
		"no room for a drained member: waits for capacity": {
			in: Input{Migration: running(nil)}, extra: []*corev1.Pod{unschedulable(replacement(running(nil), ""))},
			wantPhase: peapodv1alpha1.MigrationRunning, wantReason: peapodv1alpha1.ReasonWaitingForCapacity,
		},
		"the member does not fit the named target: fails, the replacement is removed": {
			in: Input{Migration: running(toB)}, extra: []*corev1.Pod{unschedulable(replacement(running(toB), ""))},
			wantAction: RemoveReplacement, wantPod: ReplacementName("g-1", running(nil)),
			wantPhase: peapodv1alpha1.MigrationFailed, wantReason: peapodv1alpha1.ReasonUnschedulable,
		},
		"the replacement's node failed: fails, the replacement is removed": {
			in:         Input{Migration: running(nil), FailedNodes: map[string]bool{"b": true}},
			extra:      []*corev1.Pod{replacement(running(nil), "b").Obj()},
			wantAction: RemoveReplacement, wantPhase: peapodv1alpha1.MigrationFailed, wantReason: peapodv1alpha1.ReasonReplacementFailed,
		},
		"the replacement was deleted: fails, the member stays": {
			in:        Input{Migration: running(nil)},
			wantPhase: peapodv1alpha1.MigrationFailed, wantReason: peapodv1alpha1.ReasonReplacementFailed,
		},
		"a replacement created before the manager died is adopted, and the old Pod retired once it is Ready": {
			in: Input{Migration: move(1, nil)}, extra: []*corev1.Pod{replacement(move(1, nil), "b").Ready(now).Obj()},
			wantAction: RetireSource, wantPod: "g-1", wantPhase: peapodv1alpha1.MigrationSucceeded, wantReason: "Migrated",
		},
		"the old Pod already retired (its status write lost): done, with the replacement's Ready time": {
			in: Input{Migration: running(nil)}, extra: []*corev1.Pod{replacement(running(nil), "b").Ready(now).Obj()}, noSource: true,
			wantPhase: peapodv1alpha1.MigrationSucceeded, wantReason: "Migrated",
		},
		"the old Pod went away first: the replacement takes over": {
			in: Input{Migration: running(nil)}, extra: []*corev1.Pod{replacement(running(nil), "b").Obj()}, noSource: true,
			wantPhase: peapodv1alpha1.MigrationSucceeded, wantReason: peapodv1alpha1.ReasonSourceGone,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			in := tc.in
			in.Replicas, in.Now = 3, now
			in.Pods = []*corev1.Pod{member(0, "c")}
			if !tc.noSource {
				in.Pods = append(in.Pods, member(1, "a"))
			}
			in.Pods = append(in.Pods, tc.extra...)
			step := Next(in)
			if step.Action != tc.wantAction || step.Status.Phase != tc.wantPhase {
				t.Fatalf("Next() = %s, phase %s (%s); want %s, phase %s", step.Action, step.Status.Phase, step.Status.Message,
					tc.wantAction, tc.wantPhase)
			}
			if tc.wantPod != "" && (step.Pod == nil || step.Pod.Name != tc.wantPod) {
				t.Errorf("Next() acts on %v, want %s", step.Pod, tc.wantPod)
			}
			if tc.wantReason != "" && !hasReason(step.Status.Conditions, tc.wantReason) {
				t.Errorf("conditions %+v carry no reason %s", step.Status.Conditions, tc.wantReason)
			}
			if step.Status.Message == "" {
				t.Error("no message")
			}
			if step.Status.Phase == peapodv1alpha1.MigrationSucceeded && tc.wantReason == "Migrated" && step.Status.ReplacementReadyTime == nil {
				t.Error("migrated, but no replacementReadyTime")
			}
		})
	}
}

func hasReason(conds []metav1.Condition, reason string) bool {
	for _, c := range conds {
		if c.Reason == reason {
			return true
		}
	}
	return false
}
