package desired

import (
	"cmp"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/apimachinery/pkg/util/rand"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
)

// Shape is everything of a member Pod that is the same for all members: the template, the shared volumes, the
// group env and the placement. It is what a revision versions; replica-dependent values (PEAPOD_REPLICAS,
// PEAPOD_PEERS) are left out so scaling never rolls the group (the live peer list is in the mounted ConfigMap).
type Shape struct {
	Template      corev1.PodTemplateSpec        `json:"template"`
	SharedVolumes []peapodv1alpha1.SharedVolume `json:"sharedVolumes,omitempty"`
	Env           []corev1.EnvVar               `json:"env,omitempty"`
	Placement     *peapodv1alpha1.Placement     `json:"placement,omitempty"`
}

// ShapeOf takes the shape out of a spec.
func ShapeOf(spec *peapodv1alpha1.PodGroupSpec) Shape {
	return Shape{Template: spec.Template, SharedVolumes: spec.SharedVolumes, Env: spec.Env, Placement: spec.Placement}
}

// Encode serialises the shape, as stored in a ControllerRevision, in the form the API server gives JSON it
// decoded into maps (keys sorted, integers kept): a strategic merge patch of the revision, as the garbage collector
// sends to orphan it, re-encodes its data so, and a revision's data may not change.
func (s Shape) Encode() []byte {
	data, err := json.Marshal(s)
	if err != nil {
		// Every field came from JSON; it always marshals back.
		panic(fmt.Sprintf("marshalling a member shape: %v", err))
	}
	var canonical any
	if err := utiljson.Unmarshal(data, &canonical); err != nil {
		panic(fmt.Sprintf("reading back a member shape: %v", err))
	}
	if data, err = json.Marshal(canonical); err != nil {
		panic(fmt.Sprintf("marshalling a member shape: %v", err))
	}
	return data
}

// DecodeShape reads a shape stored by Encode.
func DecodeShape(data []byte) (Shape, error) {
	var s Shape
	err := json.Unmarshal(data, &s)
	return s, err
}

// Revision names the shape: a short hash, safe as a label value.
func (s Shape) Revision() string { return Hash(s) }

// Hash is a short, label-safe hash of any value's JSON.
func Hash(v any) string {
	data, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("hashing %T: %v", v, err))
	}
	h := fnv.New32a()
	_, _ = h.Write(data)
	return rand.SafeEncodeString(fmt.Sprint(h.Sum32()))
}

// ControllerRevisionName names the ControllerRevision that stores a revision's shape.
func ControllerRevisionName(group, revision string) string { return group + "-" + revision }

// ControllerRevision stores a shape, so members below a rollout's partition can be recreated at the revision
// they had. The caller sets the owner reference.
func ControllerRevision(g *peapodv1alpha1.PodGroup, shape Shape) *appsv1.ControllerRevision {
	revision := shape.Revision()
	labels := SelectorLabels(g.Name)
	labels[peapodv1alpha1.RevisionLabel] = revision
	return &appsv1.ControllerRevision{
		ObjectMeta: metav1.ObjectMeta{Name: ControllerRevisionName(g.Name, revision), Namespace: g.Namespace, Labels: labels},
		Data:       runtime.RawExtension{Raw: shape.Encode()},
		Revision:   g.Generation,
	}
}

// DefaultRevisionHistoryLimit is spec.revisionHistoryLimit's default, a StatefulSet's.
const DefaultRevisionHistoryLimit = 10

// RevisionHistoryLimit is spec.revisionHistoryLimit with its default.
func RevisionHistoryLimit(g *peapodv1alpha1.PodGroup) int {
	if g.Spec.RevisionHistoryLimit == nil {
		return DefaultRevisionHistoryLimit
	}
	return max(int(*g.Spec.RevisionHistoryLimit), 0)
}

// RevisionsToPrune picks, as a StatefulSet truncates its history, the revisions to delete: of those that are not
// live (the current and update revisions, and every revision a member Pod runs), all but the newest limit. Newest
// is the highest .revision (the group's generation when it was stored), then the latest creation, then the name.
// A revision is known by its peapod.io/revision label; one without it is left alone.
func RevisionsToPrune(revisions []*appsv1.ControllerRevision, live map[string]bool, limit int) []*appsv1.ControllerRevision {
	var history []*appsv1.ControllerRevision
	for _, rev := range revisions {
		if name, ok := rev.Labels[peapodv1alpha1.RevisionLabel]; ok && !live[name] {
			history = append(history, rev)
		}
	}
	if len(history) <= limit {
		return nil
	}
	slices.SortFunc(history, func(a, b *appsv1.ControllerRevision) int {
		return cmp.Or(cmp.Compare(a.Revision, b.Revision), a.CreationTimestamp.Compare(b.CreationTimestamp.Time), cmp.Compare(a.Name, b.Name))
	})
	return history[:len(history)-limit]
}

// LiveRevisions are the revisions a group must keep: the current and update revisions and those its Pods run.
func LiveRevisions(pods []*corev1.Pod, current, update string) map[string]bool {
	live := map[string]bool{current: true, update: true}
	for _, pod := range pods {
		if rev, ok := pod.Labels[peapodv1alpha1.RevisionLabel]; ok {
			live[rev] = true
		}
	}
	return live
}
