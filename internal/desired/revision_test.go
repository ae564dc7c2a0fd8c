package desired

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/strategicpatch"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	pt "github.com/peapod-io/peapod/internal/testing"
)

func TestRevisionsToPrune(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	rev := func(name string, revision int64, created time.Duration) *appsv1.ControllerRevision {
		return &appsv1.ControllerRevision{
			ObjectMeta: metav1.ObjectMeta{Name: "web-" + name, CreationTimestamp: metav1.NewTime(t0.Add(created)),
				Labels: map[string]string{peapodv1alpha1.GroupLabel: "web", peapodv1alpha1.RevisionLabel: name}},
			Revision: revision,
		}
	}
	unlabelled := rev("x", 0, 0)
	delete(unlabelled.Labels, peapodv1alpha1.RevisionLabel)
	five := []*appsv1.ControllerRevision{rev("e", 5, 5), rev("a", 1, 1), rev("c", 3, 3), rev("b", 2, 2), rev("d", 4, 4)}
	cases := map[string]struct {
		revisions []*appsv1.ControllerRevision
		live      []string
		limit     int
		want      []string
	}{
		"within the limit":                  {revisions: five, live: []string{"e"}, limit: 4},
		"the oldest beyond the limit":       {revisions: five, live: []string{"e"}, limit: 2, want: []string{"a", "b"}},
		"live revisions count for nothing":  {revisions: five, live: []string{"a", "e"}, limit: 2, want: []string{"b"}},
		"no history: only the live ones":    {revisions: five, live: []string{"b", "e"}, limit: 0, want: []string{"a", "c", "d"}},
		"one without the label is not ours": {revisions: append([]*appsv1.ControllerRevision{unlabelled}, five...), live: []string{"e"}, limit: 0, want: []string{"a", "b", "c", "d"}},
		"same .revision: the older created first": {
			revisions: []*appsv1.ControllerRevision{rev("late", 2, 9), rev("early", 2, 1), rev("now", 3, 10)}, live: []string{"now"}, limit: 0,
			want: []string{"early", "late"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			live := map[string]bool{}
			for _, l := range tc.live {
				live[l] = true
			}
			var got []string
			for _, r := range RevisionsToPrune(tc.revisions, live, tc.limit) {
				got = append(got, r.Labels[peapodv1alpha1.RevisionLabel])
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("pruned mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLiveRevisions(t *testing.T) {
	pods := []*corev1.Pod{pt.MakeMemberPod("web", 0, "old").Obj(), pt.MakeMemberPod("web", 1, "new").Obj()}
	want := map[string]bool{"old": true, "new": true, "current": true, "update": true}
	if diff := cmp.Diff(want, LiveRevisions(pods, "current", "update")); diff != "" {
		t.Errorf("live mismatch (-want +got):\n%s", diff)
	}
}

func TestRevisionHistoryLimit(t *testing.T) {
	g := pt.MakePodGroup("web", "ns").Obj()
	if got := RevisionHistoryLimit(g); got != 10 {
		t.Errorf("default limit = %d, want 10", got)
	}
	g.Spec.RevisionHistoryLimit = ptr[int32](0)
	if got := RevisionHistoryLimit(g); got != 0 {
		t.Errorf("limit = %d, want 0", got)
	}
}

// The garbage collector orphans a ControllerRevision (kubectl delete --cascade=orphan) with a strategic merge
// patch of its owner references, and the API server applies it by decoding the whole object into maps and encoding
// it again: a revision's data must come out of that byte for byte, or the patch is refused (data is immutable) and
// the orphaning delete never finishes.
func TestEncodedShapeSurvivesAStrategicMergePatch(t *testing.T) {
	g := pt.MakePodGroup("web", "ns").SharedVolume("data").Env("MODE", "prod").Spread(peapodv1alpha1.SpreadNode).
		Container(corev1.Container{Name: "sidecar", Image: pt.PauseImage, Ports: []corev1.ContainerPort{{ContainerPort: 8080}},
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse("0.5"), corev1.ResourceMemory: resource.MustParse("1Gi")}},
			ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromString("http")}}},
		}).Obj()
	g.Spec.Template.Labels = map[string]string{"b": "2", "a": "1 < 2 & 3"}
	g.Spec.Template.Spec.ActiveDeadlineSeconds = ptr[int64](9007199254740993) // beyond a float64's integers
	rev := ControllerRevision(g, ShapeOf(&g.Spec))
	original, err := json.Marshal(rev)
	if err != nil {
		t.Fatal(err)
	}
	patched, err := strategicpatch.StrategicMergePatch(original,
		[]byte(`{"metadata":{"ownerReferences":[{"$patch":"delete","uid":"x"}]}}`), &appsv1.ControllerRevision{})
	if err != nil {
		t.Fatal(err)
	}
	var after appsv1.ControllerRevision
	if err := json.Unmarshal(patched, &after); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(rev.Data.Raw), string(after.Data.Raw)); diff != "" {
		t.Errorf("a strategic merge patch changed the stored shape (-before +after):\n%s", diff)
	}
	if shape, err := DecodeShape(rev.Data.Raw); err != nil || Hash(shape) != ShapeOf(&g.Spec).Revision() {
		t.Errorf("the stored shape does not decode to the group's (err %v)", err)
	}
}
