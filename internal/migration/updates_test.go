package migration

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
)

func TestUpdates(t *testing.T) {
	g := &peapodv1alpha1.PodGroup{ObjectMeta: metav1.ObjectMeta{Name: "g", Namespace: "default", UID: "group-uid"}}
	g.Spec.Replicas = ptr.To[int32](3)
	outdated := member(2, "a")
	outdated.UID = "pod-uid"
	name := UpdateName("g", 2, outdated.UID)

	work := Updates(g, nil, []*corev1.Pod{outdated})
	if len(work.Start) != 1 || work.Start[0].Name != name || work.Start[0].Spec.Pod != outdated.Name ||
		ReasonOf(work.Start[0]) != peapodv1alpha1.MigrationUpdate || !metav1.IsControlledBy(work.Start[0], g) {
		t.Fatalf("Start = %+v, want one Update migration %s of %s, controlled by the group", work.Start, name, outdated.Name)
	}

	failed := work.Start[0].DeepCopy()
	failed.Status.Phase = peapodv1alpha1.MigrationFailed
	again := Updates(g, []*peapodv1alpha1.PodMigration{failed}, []*corev1.Pod{outdated})
	if len(again.Start) != 0 || len(again.Clear) != 1 || len(again.Prune) != 0 {
		t.Fatalf("after a failed update of the Pod: %+v, want its record cleared (the move starts next time)", again)
	}

	running := work.Start[0].DeepCopy()
	running.Status.Phase = peapodv1alpha1.MigrationRunning
	if busy := Updates(g, []*peapodv1alpha1.PodMigration{running}, []*corev1.Pod{outdated}); len(busy.Start)+len(busy.Clear) != 0 {
		t.Fatalf("while it runs: %+v, want nothing", busy)
	}
	if moving := Moving([]*peapodv1alpha1.PodMigration{running}, []*corev1.Pod{outdated}); moving[2] != peapodv1alpha1.MigrationUpdate || len(moving) != 1 {
		t.Errorf("Moving() = %v, want member 2 by Update", moving)
	}
}
