package desired

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
)

// HeadlessService gives every member the DNS name <member>.<group>-members.<namespace>.svc. It publishes members
// that are not Ready yet, so peers find each other while starting.
func HeadlessService(g *peapodv1alpha1.PodGroup, owner *metav1ac.OwnerReferenceApplyConfiguration) *corev1ac.ServiceApplyConfiguration {
	return corev1ac.Service(HeadlessServiceName(g.Name), g.Namespace).
		WithLabels(SelectorLabels(g.Name)).
		WithOwnerReferences(owner).
		WithSpec(corev1ac.ServiceSpec().
			WithClusterIP(corev1.ClusterIPNone).
			WithSelector(SelectorLabels(g.Name)).
			WithPublishNotReadyAddresses(true))
}

// ClusterIPService is the group's front end: it selects the Ready members. Nil when the group declares no ports.
func ClusterIPService(g *peapodv1alpha1.PodGroup, owner *metav1ac.OwnerReferenceApplyConfiguration) *corev1ac.ServiceApplyConfiguration {
	if g.Spec.Service == nil || len(g.Spec.Service.Ports) == 0 {
		return nil
	}
	spec := corev1ac.ServiceSpec().WithType(corev1.ServiceTypeClusterIP).WithSelector(SelectorLabels(g.Name))
	for _, p := range g.Spec.Service.Ports {
		target := intstr.FromInt32(p.Port)
		if p.TargetPort != nil {
			target = *p.TargetPort
		}
		protocol := p.Protocol
		if protocol == "" {
			protocol = corev1.ProtocolTCP
		}
		spec.WithPorts(corev1ac.ServicePort().WithName(p.Name).WithPort(p.Port).WithTargetPort(target).WithProtocol(protocol))
	}
	return corev1ac.Service(ServiceName(g.Name), g.Namespace).
		WithLabels(SelectorLabels(g.Name)).
		WithOwnerReferences(owner).
		WithSpec(spec)
}

// OwnerReference makes the group the controller of a child, so children are garbage-collected with it.
func OwnerReference(g *peapodv1alpha1.PodGroup) *metav1ac.OwnerReferenceApplyConfiguration {
	return metav1ac.OwnerReference().
		WithAPIVersion(peapodv1alpha1.GroupVersion.String()).
		WithKind("PodGroup").
		WithName(g.Name).
		WithUID(g.UID).
		WithController(true).
		WithBlockOwnerDeletion(true)
}

// ControllerRef is OwnerReference for objects created with a typed client.
func ControllerRef(g *peapodv1alpha1.PodGroup) metav1.OwnerReference {
	return *metav1.NewControllerRef(g, peapodv1alpha1.GroupVersion.WithKind("PodGroup"))
}

// Claim says what a group may do with an object that has the name of one of its children.
type Claim int

const (
	// Controlled: the group is the object's controller; peapod applies it.
	Controlled Claim = iota
	// Orphan: the object has no controller and carries the group's label, as an orphaning delete of an earlier
	// group of that name leaves its children; the group adopts it.
	Orphan
	// Foreign: someone else's object; peapod leaves it alone.
	Foreign
)

// ClaimOf says whether the group controls obj, may adopt it, or must leave it alone. Like a ReplicaSet adopting
// Pods, a group takes only what has no controller and is marked as the group's (by peapod's own label): never an
// object that merely has the name the group would give a child.
func ClaimOf(obj metav1.Object, g *peapodv1alpha1.PodGroup) Claim {
	switch {
	case metav1.IsControlledBy(obj, g):
		return Controlled
	case metav1.GetControllerOf(obj) == nil && obj.GetLabels()[peapodv1alpha1.GroupLabel] == g.Name:
		return Orphan
	default:
		return Foreign
	}
}

// NameConflict tells why a child of a group was left alone: an object of its kind and name exists and is not
// the group's. It names who controls the object, if anyone.
func NameConflict(kind string, obj metav1.Object) string {
	owner := "has no controller"
	if ref := metav1.GetControllerOf(obj); ref != nil {
		owner = fmt.Sprintf("is controlled by %s %q", ref.Kind, ref.Name)
	}
	return fmt.Sprintf("%s %q exists and %s: peapod leaves it alone; rename the group, or delete that %s",
		kind, obj.GetName(), owner, kind)
}

// Holds reports whether obj still has every field the apply configuration ac sets, with the value ac gives it:
// an object must have ac's keys, a list each of ac's items (matched by any item of obj's list), so what others
// added (a label, an owner) is no drift. Fields the API server treats as one value (the atomic paths, such as
// "spec.selector") must be equal as a whole: applying again replaces them whole. An object someone edited behind
// peapod's back no longer holds what peapod applied.
func Holds(obj, ac any, atomic ...string) bool {
	have, want := asJSON(obj), asJSON(ac)
	if want, ok := want.(map[string]any); ok {
		delete(want, "kind")
		delete(want, "apiVersion")
	}
	return holds(have, want, "", atomic)
}

func holds(have, want any, path string, atomic []string) bool {
	if slices.Contains(atomic, path) {
		return reflect.DeepEqual(have, want)
	}
	switch want := want.(type) {
	case map[string]any:
		have, ok := have.(map[string]any)
		if !ok {
			return false
		}
		for key, w := range want {
			h, found := have[key]
			if !found || !holds(h, w, strings.TrimPrefix(path+"."+key, "."), atomic) {
				return false
			}
		}
		return true
	case []any:
		have, ok := have.([]any)
		if !ok {
			return false
		}
		for _, w := range want {
			if !slices.ContainsFunc(have, func(h any) bool { return holds(h, w, path, atomic) }) {
				return false
			}
		}
		return true
	default:
		return reflect.DeepEqual(have, want)
	}
}

// asJSON is v as encoding/json decodes its JSON into an any: maps, lists, strings, float64s and bools.
func asJSON(v any) any {
	data, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("marshalling %T: %v", v, err))
	}
	var out any
	if err := json.Unmarshal(data, &out); err != nil {
		panic(fmt.Sprintf("unmarshalling %T: %v", v, err))
	}
	return out
}
