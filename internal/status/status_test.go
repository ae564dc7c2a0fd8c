package status

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	pt "github.com/peapod-io/peapod/internal/testing"
)

var now = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func TestCompute(t *testing.T) {
	readyPod := func(o int, rev string) *corev1.Pod {
		return pt.MakeMemberPod("web", o, rev).Ready(now.Add(-time.Minute)).Obj()
	}
	cases := map[string]struct {
		group      *peapodv1alpha1.PodGroup
		pods       []*corev1.Pod
		failure    error
		permanent  bool
		want       peapodv1alpha1.PodGroupStatus
		wantConds  map[string]metav1.ConditionStatus
		wantKstate status.Status
	}{
		"all members available and current": {
			group: pt.MakePodGroup("web", "default").Replicas(2).Obj(),
			pods:  []*corev1.Pod{readyPod(0, "r1"), readyPod(1, "r1")},
			want: peapodv1alpha1.PodGroupStatus{Replicas: 2, ReadyReplicas: 2, AvailableReplicas: 2, UpdatedReplicas: 2,
				CurrentRevision: "r1", UpdateRevision: "r1", Selector: "peapod.io/group=web"},
			wantConds:  map[string]metav1.ConditionStatus{"Available": "True", "Progressing": "False", "Degraded": "False"},
			wantKstate: status.CurrentStatus,
		},
		"starting: members not ready yet": {
			group: pt.MakePodGroup("web", "default").Replicas(2).Obj(),
			pods:  []*corev1.Pod{readyPod(0, "r1"), pt.MakeMemberPod("web", 1, "r1").Obj()},
			want: peapodv1alpha1.PodGroupStatus{Replicas: 2, ReadyReplicas: 1, AvailableReplicas: 1, UpdatedReplicas: 2,
				CurrentRevision: "r1", UpdateRevision: "r1", Selector: "peapod.io/group=web"},
			wantConds:  map[string]metav1.ConditionStatus{"Available": "True", "Progressing": "True", "Degraded": "False", "Reconciling": "True"},
			wantKstate: status.InProgressStatus,
		},
		"rolling update half way; terminating and surplus members do not count": {
			group: pt.MakePodGroup("web", "default").Replicas(2).Obj(),
			pods: []*corev1.Pod{readyPod(0, "r1"), readyPod(1, "r2"),
				pt.MakeMemberPod("web", 2, "r1").Ready(now).Obj(), pt.MakeMemberPod("web", 3, "r1").Terminating().Obj()},
			want: peapodv1alpha1.PodGroupStatus{Replicas: 2, ReadyReplicas: 2, AvailableReplicas: 2, UpdatedReplicas: 1,
				CurrentRevision: "r1", UpdateRevision: "r2", Selector: "peapod.io/group=web"},
			wantConds:  map[string]metav1.ConditionStatus{"Available": "True", "Progressing": "True", "Degraded": "False", "Reconciling": "True"},
			wantKstate: status.InProgressStatus,
		},
		"minReadySeconds not yet reached": {
			group: pt.MakePodGroup("web", "default").Replicas(1).MinReadySeconds(600).Obj(),
			pods:  []*corev1.Pod{readyPod(0, "r1")},
			want: peapodv1alpha1.PodGroupStatus{Replicas: 1, ReadyReplicas: 1, UpdatedReplicas: 1,
				CurrentRevision: "r1", UpdateRevision: "r1", Selector: "peapod.io/group=web"},
			wantConds:  map[string]metav1.ConditionStatus{"Available": "False", "Progressing": "True", "Degraded": "False", "Reconciling": "True"},
			wantKstate: status.InProgressStatus,
		},
		"the API server rejects the member Pods: degraded and stalled": {
			group:      pt.MakePodGroup("web", "default").Replicas(1).Obj(),
			failure:    errors.New(`Pod "web-0" is invalid: spec.containers[0].ports[1].name: Duplicate value: "http"`),
			permanent:  true,
			want:       peapodv1alpha1.PodGroupStatus{CurrentRevision: "r1", UpdateRevision: "r1", Selector: "peapod.io/group=web"},
			wantConds:  map[string]metav1.ConditionStatus{"Available": "False", "Progressing": "True", "Degraded": "True", "Stalled": "True"},
			wantKstate: status.FailedStatus,
		},
		"scaled to zero is available": {
			group:      pt.MakePodGroup("web", "default").Replicas(0).Obj(),
			want:       peapodv1alpha1.PodGroupStatus{CurrentRevision: "r1", UpdateRevision: "r1", Selector: "peapod.io/group=web"},
			wantConds:  map[string]metav1.ConditionStatus{"Available": "True", "Progressing": "False", "Degraded": "False"},
			wantKstate: status.CurrentStatus,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			tc.group.Generation = 3
			got := Compute(Input{Group: tc.group, Pods: tc.pods, UpdateRevision: tc.want.UpdateRevision,
				CurrentRevision: "r1", MaxUnavailable: 1, Failure: tc.failure, Permanent: tc.permanent, Now: now})
			tc.want.ObservedGeneration = 3
			if diff := cmp.Diff(tc.want, got, cmpopts.IgnoreFields(peapodv1alpha1.PodGroupStatus{}, "Conditions")); diff != "" {
				t.Errorf("Compute() mismatch (-want +got):\n%s", diff)
			}
			conds := map[string]metav1.ConditionStatus{}
			for _, c := range got.Conditions {
				conds[c.Type] = c.Status
				if c.ObservedGeneration != 3 {
					t.Errorf("condition %s has observedGeneration %d", c.Type, c.ObservedGeneration)
				}
			}
			if diff := cmp.Diff(tc.wantConds, conds); diff != "" {
				t.Errorf("conditions mismatch (-want +got):\n%s", diff)
			}
			tc.group.Status = got
			if got := kstatus(t, tc.group); got != tc.wantKstate {
				t.Errorf("kstatus = %s, want %s", got, tc.wantKstate)
			}
		})
	}
}

func TestComputeKeepsTransitionTimes(t *testing.T) {
	g := pt.MakePodGroup("web", "default").Replicas(1).Obj()
	pods := []*corev1.Pod{pt.MakeMemberPod("web", 0, "r1").Ready(now.Add(-time.Hour)).Obj()}
	g.Status = Compute(Input{Group: g, Pods: pods, UpdateRevision: "r1", MaxUnavailable: 1, Now: now})
	again := Compute(Input{Group: g, Pods: pods, UpdateRevision: "r1", MaxUnavailable: 1, Now: now.Add(time.Hour)})
	if diff := cmp.Diff(g.Status, again); diff != "" {
		t.Errorf("an unchanged group's status changed (-first +second):\n%s", diff)
	}
}

func kstatus(t *testing.T, g *peapodv1alpha1.PodGroup) status.Status {
	t.Helper()
	g.APIVersion, g.Kind = peapodv1alpha1.GroupVersion.String(), "PodGroup"
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(g)
	if err != nil {
		t.Fatal(err)
	}
	res, err := status.Compute(&unstructured.Unstructured{Object: obj})
	if err != nil {
		t.Fatal(err)
	}
	return res.Status
}

func TestComputeWaitingForCapacity(t *testing.T) {
	pending := pt.MakeMemberPod("web", 1, "r1").Obj()
	pending.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse,
		Reason: corev1.PodReasonUnschedulable, Message: "0/3 nodes are available: 3 Insufficient cpu."}}
	got := Compute(Input{Group: pt.MakePodGroup("web", "default").Replicas(2).Obj(), UpdateRevision: "r1", MaxUnavailable: 1, Now: now,
		Pods: []*corev1.Pod{pt.MakeMemberPod("web", 0, "r1").Ready(now).Obj(), pending}})
	degraded := meta.FindStatusCondition(got.Conditions, ConditionDegraded)
	if degraded == nil || degraded.Status != metav1.ConditionTrue || degraded.Reason != "WaitingForCapacity" ||
		degraded.Message != "members web-1 wait for a node with room: 0/3 nodes are available: 3 Insufficient cpu." {
		t.Errorf("Degraded = %+v", degraded)
	}
}

func TestComputeCompletesTheFailoverRecord(t *testing.T) {
	started := metav1.NewTime(now.Add(-20 * time.Second))
	group := pt.MakePodGroup("web", "default").Replicas(2).Obj()
	group.Status.LastMigration = &peapodv1alpha1.MigrationRecord{Member: 1, Reason: peapodv1alpha1.MigrationNodeFailed,
		From: "dead", StartTime: started}
	replacement := pt.MakeMemberPod("web", 1, "r1").Created(now.Add(-10 * time.Second)).Ready(now.Add(-5 * time.Second)).Obj()
	replacement.Spec.NodeName = "alive"
	got := Compute(Input{Group: group, UpdateRevision: "r1", MaxUnavailable: 1, Now: now,
		Pods: []*corev1.Pod{pt.MakeMemberPod("web", 0, "r1").Ready(now).Obj(), replacement}})
	want := &peapodv1alpha1.MigrationRecord{Member: 1, Reason: peapodv1alpha1.MigrationNodeFailed, From: "dead", To: "alive",
		StartTime: started, ReadyTime: ptr.To(metav1.NewTime(now.Add(-5 * time.Second)))}
	if diff := cmp.Diff(want, got.LastMigration); diff != "" {
		t.Errorf("LastMigration mismatch (-want +got):\n%s", diff)
	}
}
