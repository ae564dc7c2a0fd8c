package migration

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	"github.com/peapod-io/peapod/internal/nodehealth"
)

func TestDrains(t *testing.T) {
	g := &peapodv1alpha1.PodGroup{ObjectMeta: metav1.ObjectMeta{Name: "g", Namespace: "default", UID: "group-uid"}}
	g.Spec.Replicas = ptr.To[int32](3)
	onA := member(1, "a")
	onA.UID = "pod-uid"
	members := map[int]*corev1.Pod{0: member(0, "c"), 1: onA}
	cordoned := map[string]nodehealth.Verdict{"a": {Draining: true}, "c": {}}
	record := func(name string, phase peapodv1alpha1.MigrationPhase) *peapodv1alpha1.PodMigration {
		m := recordOf(g, onA, name, peapodv1alpha1.MigrationDrain)
		m.UID, m.Status.Phase = types.UID("uid-"+name), phase
		return m
	}
	name := DrainName("g", 1, onA.UID)

	t.Run("a member on a cordoned node: one drain, named by the member and its Pod", func(t *testing.T) {
		work := Drains(g, nil, nil, members, cordoned)
		if len(work.Start) != 1 || work.Start[0].Name != name || work.Start[0].Spec.Pod != onA.Name {
			t.Fatalf("Start = %v, want one drain %s of %s", work.Start, name, onA.Name)
		}
		if !metav1.IsControlledBy(work.Start[0], g) {
			t.Error("the drain is not controlled by its group: it would outlive it")
		}
	})
	t.Run("a drain of it running: nothing more", func(t *testing.T) {
		work := Drains(g, []*peapodv1alpha1.PodMigration{record(name, peapodv1alpha1.MigrationRunning)}, nil, members, cordoned)
		if len(work.Start)+len(work.Clear) != 0 {
			t.Fatalf("work = %+v, want none", work)
		}
	})
	t.Run("cordoned again after a cancelled drain of the same Pod: the old record is cleared first", func(t *testing.T) {
		old := record(name, peapodv1alpha1.MigrationFailed)
		work := Drains(g, []*peapodv1alpha1.PodMigration{old}, nil, members, cordoned)
		if len(work.Start) != 0 || len(work.Clear) != 1 || work.Clear[0] != old {
			t.Fatalf("work = %+v, want the old record cleared and no start (it starts next time)", work)
		}
		if len(work.Prune) != 0 {
			t.Errorf("Prune = %v: the cleared record is deleted once", work.Prune)
		}
	})
	t.Run("drain policy Evict: no migration, Kubernetes evicts", func(t *testing.T) {
		none := g.DeepCopy()
		none.Spec.Migration = &peapodv1alpha1.MigrationPolicy{Drain: peapodv1alpha1.DrainEvict}
		if work := Drains(none, nil, nil, members, cordoned); len(work.Start) != 0 {
			t.Fatalf("Start = %v, want none", work.Start)
		}
	})
	t.Run("more finished records than kept: the oldest are pruned, a user's never", func(t *testing.T) {
		var migrations []*peapodv1alpha1.PodMigration
		for i := range KeptDrainRecords + 2 {
			migrations = append(migrations, record(fmt.Sprintf("g-0-drain-%08d", i), peapodv1alpha1.MigrationSucceeded))
		}
		users := record("users-own", peapodv1alpha1.MigrationSucceeded)
		users.OwnerReferences = nil
		migrations = append([]*peapodv1alpha1.PodMigration{users}, migrations...)
		work := Drains(g, migrations, nil, map[int]*corev1.Pod{}, nil)
		if len(work.Prune) != 2 || work.Prune[0] != migrations[1] || work.Prune[1] != migrations[2] {
			t.Fatalf("Prune = %v, want the two oldest of peapod's records", work.Prune)
		}
	})
}
