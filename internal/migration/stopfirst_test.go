package migration

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	"github.com/peapod-io/peapod/internal/nodehealth"
	"github.com/peapod-io/peapod/internal/plan"
	pt "github.com/peapod-io/peapod/internal/testing"
)

// stopping is a stop-then-start move of member 1 off node a, stored before its source was deleted.
func stopping() *peapodv1alpha1.PodMigration {
	m := move(1, nil)
	m.Status = peapodv1alpha1.PodMigrationStatus{
		Phase: peapodv1alpha1.MigrationRunning, Mode: peapodv1alpha1.StopThenStart, Member: ptr.To[int32](1),
		SourcePod: "g-1", SourceNode: "a", StartTime: ptr.To(metav1.NewTime(now.Add(-3 * time.Second))),
	}
	return m
}

// started is stopping() once its replacement was created.
func started() *peapodv1alpha1.PodMigration {
	m := stopping()
	m.Status.ReplacementPod = ReplacementName("g-1", m)
	return m
}

// drainStarted is the drain of member 1 off node a, stopped and its replacement created.
func drainStarted() *peapodv1alpha1.PodMigration {
	m := drain()
	m.Status = *started().Status.DeepCopy()
	m.Status.ReplacementPod = ReplacementName("g-1", m)
	return m
}

func terminating(pod *corev1.Pod) *corev1.Pod {
	pod.DeletionTimestamp = ptr.To(metav1.NewTime(now.Add(-time.Second)))
	return pod
}

func TestNextStopThenStart(t *testing.T) {
	rwo := pt.MakePodGroup("g", "default").Claim("data", "1Gi").Obj()
	notReady := func(pod *corev1.Pod) *corev1.Pod { pod.Status.Conditions = nil; return pod }
	cases := map[string]struct {
		in Input
		// source is member 1's Pod, Ready on node a unless set; noSource: it is gone.
		source     *corev1.Pod
		noSource   bool
		others     []*corev1.Pod
		extra      []*corev1.Pod
		wantAction Action
		wantPod    string
		wantPhase  peapodv1alpha1.MigrationPhase
		wantReason string
		// wantMessage are parts of the status message.
		wantMessage []string
		// keepsOffSource: a CreateReplacement step keeps the replacement off the source's node.
		keepsOffSource bool
	}{
		"starts by stopping the old Pod; no replacement yet": {
			in:         Input{Migration: move(1, nil)},
			wantAction: StopSource, wantPod: "g-1", wantPhase: peapodv1alpha1.MigrationRunning, wantReason: "StoppingSource",
			wantMessage: []string{"stop-then-start", "claims data can be mounted by one node at a time"},
		},
		"another member is not Ready: waits, the budget is one member down": {
			in:        Input{Migration: move(1, nil)},
			others:    []*corev1.Pod{member(0, "c"), notReady(member(2, "b"))},
			wantPhase: peapodv1alpha1.MigrationPending, wantMessage: []string{"1 other members are down or moving", "at most 1"},
		},
		"another member is being moved: waits": {
			in:        Input{Migration: move(1, nil), Moving: map[int]bool{2: true}},
			wantPhase: peapodv1alpha1.MigrationPending, wantMessage: []string{"down or moving"},
		},
		"maxConcurrentMigrations 2 and one member down: stops": {
			in:         Input{Migration: move(1, nil), MaxRunning: 2},
			others:     []*corev1.Pod{member(0, "c"), notReady(member(2, "b"))},
			wantAction: StopSource, wantPod: "g-1", wantPhase: peapodv1alpha1.MigrationRunning,
		},
		"the source's node is unhealthy and not fenced: waits, nothing is stopped": {
			in:        Input{Migration: move(1, nil), FencingRequired: true, Nodes: map[string]nodehealth.Verdict{"a": awaitingFencing}},
			wantPhase: peapodv1alpha1.MigrationPending, wantReason: ReasonAwaitingFencing,
		},
		"stored, but the delete did not land: stops it again": {
			in:         Input{Migration: stopping()},
			wantAction: StopSource, wantPod: "g-1", wantPhase: peapodv1alpha1.MigrationRunning,
		},
		"the old Pod is stopping: waits": {
			in: Input{Migration: stopping()}, source: terminating(member(1, "a")),
			wantPhase: peapodv1alpha1.MigrationRunning, wantMessage: []string{"waiting for g-1 to stop on node a"},
		},
		"the old Pod is stopping on a node gone silent: waits for fencing": {
			in:        Input{Migration: stopping(), FencingRequired: true, Nodes: map[string]nodehealth.Verdict{"a": awaitingFencing}},
			source:    terminating(member(1, "a")),
			wantPhase: peapodv1alpha1.MigrationRunning, wantReason: ReasonAwaitingFencing,
		},
		"the old Pod is gone: the replacement starts": {
			in: Input{Migration: stopping()}, noSource: true,
			wantAction: CreateReplacement, wantPhase: peapodv1alpha1.MigrationRunning, wantMessage: []string{"same claims"},
			keepsOffSource: true,
		},
		"a drained member's old Pod is gone: the replacement starts, free to come back once the node is uncordoned": {
			in:       Input{Migration: func() *peapodv1alpha1.PodMigration { m := drainStarted(); m.Status.ReplacementPod = ""; return m }()},
			noSource: true, wantAction: CreateReplacement, wantPhase: peapodv1alpha1.MigrationRunning,
		},
		"the replacement was deleted before it was seen Ready: fails, nothing removed": {
			in: Input{Migration: started()}, noSource: true,
			wantPhase: peapodv1alpha1.MigrationFailed, wantReason: peapodv1alpha1.ReasonReplacementFailed,
		},
		"the replacement waits for its volume: waits": {
			in: Input{Migration: started()}, noSource: true, extra: []*corev1.Pod{replacement(started(), "b").Obj()},
			wantPhase: peapodv1alpha1.MigrationRunning, wantMessage: []string{"volumes attach"},
		},
		"a drained member finds no room in its volume's zone: waits for capacity, the replacement stays": {
			in: Input{Migration: drainStarted()}, noSource: true, extra: []*corev1.Pod{unschedulable(replacement(drainStarted(), ""))},
			wantPhase: peapodv1alpha1.MigrationRunning, wantReason: peapodv1alpha1.ReasonWaitingForCapacity,
		},
		"a requested move finds no room off its node: fails, the replacement removed, the group recreates the member": {
			in: Input{Migration: started()}, noSource: true, extra: []*corev1.Pod{unschedulable(replacement(started(), ""))},
			wantAction: RemoveReplacement, wantPhase: peapodv1alpha1.MigrationFailed, wantReason: peapodv1alpha1.ReasonUnschedulable,
		},
		"the replacement waits kept off a node healthy again: removed and started again": {
			in:       Input{Migration: drainStarted(), AvoidingKnown: true},
			noSource: true, extra: []*corev1.Pod{keptOff(drainStarted(), "x")},
			wantAction: RemoveReplacement, wantPhase: peapodv1alpha1.MigrationRunning,
		},
		"the replacement's node failed: fails, the replacement stays (it is the member)": {
			in: Input{Migration: started(), Nodes: map[string]nodehealth.Verdict{"b": failedNode}}, noSource: true,
			extra:     []*corev1.Pod{replacement(started(), "b").Obj()},
			wantPhase: peapodv1alpha1.MigrationFailed, wantReason: peapodv1alpha1.ReasonReplacementFailed,
		},
		"the replacement is Ready: done, the downtime measured": {
			in: Input{Migration: started()}, noSource: true, extra: []*corev1.Pod{replacement(started(), "b").Ready(now).Obj()},
			wantPhase: peapodv1alpha1.MigrationSucceeded, wantReason: "Migrated", wantMessage: []string{"down 3s"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			in := tc.in
			in.Group, in.Replicas, in.Now = rwo, 3, now
			in.Pods = tc.others
			if in.Pods == nil {
				in.Pods = []*corev1.Pod{member(0, "c"), member(2, "b")}
			}
			switch {
			case tc.source != nil:
				in.Pods = append(in.Pods, tc.source)
			case !tc.noSource:
				in.Pods = append(in.Pods, member(1, "a"))
			}
			in.Pods = append(in.Pods, tc.extra...)
			step := Next(in)
			checkStep(t, step, tc.wantAction, tc.wantPod, tc.wantPhase, tc.wantReason, tc.wantMessage)
			if step.Status.Phase == peapodv1alpha1.MigrationRunning && step.Status.Mode != peapodv1alpha1.StopThenStart {
				t.Errorf("mode %q, want StopThenStart", step.Status.Mode)
			}
			if step.Action == CreateReplacement && step.AvoidSource != tc.keepsOffSource {
				t.Errorf("AvoidSource = %v, want %v", step.AvoidSource, tc.keepsOffSource)
			}
			if step.Action == CreateReplacement && step.Status.ReplacementPod != ReplacementName("g-1", in.Migration) {
				t.Errorf("replacement named %q", step.Status.ReplacementPod)
			}
			if step.Action == RemoveReplacement && step.Status.Phase == peapodv1alpha1.MigrationRunning &&
				(step.Status.ReplacementPod != "" || step.Removal().Reason != plan.ReasonStaleAvoidance) {
				t.Errorf("a restart keeps replacementPod %q and removes as %s", step.Status.ReplacementPod, step.Removal().Reason)
			}
			if tc.wantReason == "Migrated" && (step.Status.Downtime == nil || step.Status.Downtime.Duration != 3*time.Second) {
				t.Errorf("downtime %v, want 3s", step.Status.Downtime)
			}
		})
	}
}

func TestHeldAndSetAsideOfStopThenStart(t *testing.T) {
	m := started()
	pods := []*corev1.Pod{member(0, "c"), replacement(m, "b").Obj()}
	if held := Held([]*peapodv1alpha1.PodMigration{m}); !held[1] || len(held) != 1 {
		t.Errorf("Held() = %v, want member 1", held)
	}
	if got := SetAside([]*peapodv1alpha1.PodMigration{m}, pods); len(got) != 2 {
		t.Errorf("SetAside() kept %d Pods; a stop-then-start replacement is the member's only Pod and stays", len(got))
	}
	done := started()
	done.Status.Phase = peapodv1alpha1.MigrationSucceeded
	if held := Held([]*peapodv1alpha1.PodMigration{done, running(nil)}); len(held) != 0 {
		t.Errorf("Held() = %v for a finished and a make-before-break migration, want none", held)
	}
}
