package migration

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	lifecyclev1alpha1 "k8s.io/api/lifecycle/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
)

func evictionOf(pod *corev1.Pod) *lifecyclev1alpha1.Eviction {
	return &lifecyclev1alpha1.Eviction{
		ObjectMeta: metav1.ObjectMeta{Name: string(pod.UID), Namespace: pod.Namespace},
		Spec: lifecyclev1alpha1.EvictionSpec{Target: lifecyclev1alpha1.EvictionTarget{
			Pod: &lifecyclev1alpha1.EvictionPodReference{Name: pod.Name, UID: pod.UID}}},
	}
}

func TestEvictions(t *testing.T) {
	g := &peapodv1alpha1.PodGroup{ObjectMeta: metav1.ObjectMeta{Name: "g", Namespace: "default", UID: "group-uid"}}
	g.Spec.Replicas = ptr.To[int32](3)
	asked := member(1, "a")
	members := map[int]*corev1.Pod{0: member(0, "c"), 1: asked}
	ev := evictionOf(asked)
	byUID := map[types.UID]*lifecyclev1alpha1.Eviction{asked.UID: ev}

	t.Run("an Eviction hands a member's Pod to peapod: one move, named by the member and its Pod, naming the Eviction", func(t *testing.T) {
		work := Evictions(g, nil, nil, members, byUID)
		if len(work.Start) != 1 {
			t.Fatalf("Start = %v, want one move", work.Start)
		}
		m := work.Start[0]
		if m.Name != EvictionName("g", 1, asked.UID) || m.Spec.Pod != asked.Name || ReasonOf(m) != peapodv1alpha1.MigrationEviction {
			t.Errorf("started %s of %s for %s", m.Name, m.Spec.Pod, ReasonOf(m))
		}
		if m.Annotations[peapodv1alpha1.EvictionAnnotation] != ev.Name {
			t.Errorf("annotations %v do not name the Eviction %s", m.Annotations, ev.Name)
		}
	})
	t.Run("the member moved by another migration already: nothing more", func(t *testing.T) {
		if work := Evictions(g, []*peapodv1alpha1.PodMigration{move(1, nil)}, nil, members, byUID); len(work.Start) != 0 {
			t.Fatalf("Start = %v, want none", work.Start)
		}
	})
	t.Run("no Eviction: nothing", func(t *testing.T) {
		if work := Evictions(g, nil, nil, members, nil); len(work.Start) != 0 {
			t.Fatalf("Start = %v, want none", work.Start)
		}
	})
	t.Run("the Pod terminating already: nothing", func(t *testing.T) {
		going := asked.DeepCopy()
		going.DeletionTimestamp = &metav1.Time{Time: now}
		if work := Evictions(g, nil, nil, map[int]*corev1.Pod{1: going}, byUID); len(work.Start) != 0 {
			t.Fatalf("Start = %v, want none", work.Start)
		}
	})
}

func TestEvictionProgress(t *testing.T) {
	old := member(1, "a")
	ev := evictionOf(old)
	m := evictionMove(true)
	m.Status.Message = "waiting for g-1-mx to be Ready on node b"
	with := func(phase peapodv1alpha1.MigrationPhase, message string) *peapodv1alpha1.PodMigration {
		m := m.DeepCopy()
		m.Status.Phase, m.Status.Message = phase, message
		return m
	}
	cases := map[string]struct {
		m        *peapodv1alpha1.PodMigration
		pods     []*corev1.Pod
		wantDone bool
		want     []string
	}{
		"running: the migration's word": {m: m, pods: []*corev1.Pod{old}, want: []string{"make-before-break", m.Name, "Ready on node b"}},
		"succeeded, the old Pod still terminating: not done yet": {
			m: with(peapodv1alpha1.MigrationSucceeded, "member g-1 moved"), pods: []*corev1.Pod{old},
			want: []string{"member g-1 moved", "waiting for g-1 to terminate"},
		},
		"succeeded, the old Pod gone: done": {
			m: with(peapodv1alpha1.MigrationSucceeded, "member g-1 moved"), wantDone: true, want: []string{"member g-1 moved"},
		},
		"failed: done, the next responder's turn": {
			m: with(peapodv1alpha1.MigrationFailed, "no room"), pods: []*corev1.Pod{old}, wantDone: true,
			want: []string{"did not move", "no room", "next responder"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			p := EvictionProgress(tc.m, ev, tc.pods)
			if p.Done != tc.wantDone {
				t.Errorf("done = %v, want %v (%s)", p.Done, tc.wantDone, p.Message)
			}
			for _, part := range tc.want {
				if !strings.Contains(p.Message, part) {
					t.Errorf("message %q lacks %q", p.Message, part)
				}
			}
		})
	}
}
