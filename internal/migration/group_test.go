package migration

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	"github.com/peapod-io/peapod/internal/nodehealth"
	pt "github.com/peapod-io/peapod/internal/testing"
)

// TestStepAllCapsTheMovesItStarts: two members of one drained node, their drain records new (no phase yet), in one
// pass. The take writes the status into the migration as the controller's does, so the second step must learn of
// the first from the pass itself.
func TestStepAllCapsTheMovesItStarts(t *testing.T) {
	cases := map[string]struct {
		group *peapodv1alpha1.PodGroup
		want  Action
	}{
		"ReadWriteOnce claims: one member stopped, the other waits (one down at a time)": {
			pt.MakePodGroup("g", "default").Replicas(3).Claim("data", "1Gi").Obj(), StopSource},
		"maxConcurrentMigrations 1: one replacement, the other waits": {
			func() *peapodv1alpha1.PodGroup {
				g := pt.MakePodGroup("g", "default").Replicas(3).Obj()
				g.Spec.Migration = &peapodv1alpha1.MigrationPolicy{MaxConcurrentMigrations: ptr.To[int32](1)}
				return g
			}(), CreateReplacement},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			pods := []*corev1.Pod{member(0, "a"), member(1, "a"), member(2, "b")}
			migrations := make([]*peapodv1alpha1.PodMigration, 0, 2)
			for _, pod := range pods[:2] {
				pod.UID = types.UID("uid-" + pod.Name)
				m := recordOf(tc.group, pod, DrainName("g", 0, pod.UID)+pod.Name, peapodv1alpha1.MigrationDrain)
				m.UID = "m-" + pod.UID
				migrations = append(migrations, m)
			}
			var actions []Action
			_, _, err := StepAll(Group{
				PodGroup: tc.group, Pods: pods, Now: now,
				Nodes:  map[string]nodehealth.Verdict{"a": {Draining: true}, "b": {}},
				Target: func(*peapodv1alpha1.PodMigration) Target { return Target{} },
			}, migrations, func(m *peapodv1alpha1.PodMigration, step Step) (bool, error) {
				m.Status = step.Status
				if step.Action != Wait {
					actions = append(actions, step.Action)
				}
				return step.Action != Wait, nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(actions) != 1 || actions[0] != tc.want {
				t.Fatalf("actions %v, want one %s: the first move started in the pass did not count", actions, tc.want)
			}
			if second := migrations[1].Status; second.Phase != peapodv1alpha1.MigrationPending || second.Message == "" {
				t.Errorf("the second migration is %s (%q), want Pending saying why", second.Phase, second.Message)
			}
		})
	}
}
