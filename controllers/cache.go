package controllers

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	lifecyclev1alpha1 "k8s.io/api/lifecycle/v1alpha1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
)

// CacheOptions keep the manager's memory proportional to peapod's own objects and small per object: Pods,
// Services, ConfigMaps, PodDisruptionBudgets and ControllerRevisions are cached only when they carry the group
// label, managedFields
// are dropped from everything, and cached children keep only what the reconciler reads (see slimPod and
// slimService).
func CacheOptions() cache.Options {
	hasGroup, err := labels.NewRequirement(peapodv1alpha1.GroupLabel, selection.Exists, nil)
	if err != nil {
		panic(err) // a constant requirement
	}
	ours := labels.NewSelector().Add(*hasGroup)
	return cache.Options{
		NewInformer:      newInformer, // member Pods are stored compact (compact_pods.go)
		DefaultTransform: cache.TransformStripManagedFields(),
		ByObject: map[client.Object]cache.ByObject{
			&corev1.Pod{}:                   {Label: ours, Transform: slimPod},
			&corev1.Service{}:               {Label: ours, Transform: slimService},
			&corev1.ConfigMap{}:             {Label: ours, Transform: slimConfigMap},
			&policyv1.PodDisruptionBudget{}: {Label: ours, Transform: slimBudget},
			// The members' claims: only their metadata is read from the cache.
			&corev1.PersistentVolumeClaim{}: {Label: ours},
			// The group's revisions, for pruning; the shape a revision stores is read past the cache when needed.
			&appsv1.ControllerRevision{}: {Label: ours, Transform: slimRevision},
			// Node health: every Node (slimmed) and the node Leases, which kubelets renew every 10 s.
			&corev1.Node{}:          {Transform: slimNode},
			&coordinationv1.Lease{}: {Namespaces: map[string]cache.Config{corev1.NamespaceNodeLease: {}}},
			// A shard's ownership (shards.go); informed only in a manager started with a namespace selector.
			&corev1.Namespace{}: {Transform: slimNamespace},
		},
	}
}

// WithEvictions adds to cache options the Evictions that name peapod a responder (the evictionrequest controller
// labels an Eviction with each responder's name), for a cluster that serves the EvictionRequest API: a cache
// configured for a kind the server does not know fails to start.
func WithEvictions(opts cache.Options) cache.Options {
	namesPeapod, err := labels.NewRequirement(peapodv1alpha1.EvictionResponder, selection.Exists, nil)
	if err != nil {
		panic(err) // a constant requirement
	}
	opts.ByObject[&lifecyclev1alpha1.Eviction{}] = cache.ByObject{Label: labels.NewSelector().Add(*namesPeapod)}
	return opts
}

// slimPod keeps of a cached member Pod its identity, labels, owner, deletion state, node, tolerations, phase, IP,
// Ready condition, and PodScheduled condition unless it is True. The spec is rebuilt from the group whenever a
// Pod is created, so the cache never needs it: the full Pod is several kilobytes, this is a few hundred bytes.
// Readers that need more read past the cache.
func slimPod(obj any) (any, error) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return passTombstone(obj, "Pod")
	}
	// PodScheduled is read only when it is not True (a member that does not fit): once bound, the node says it.
	conditions := internPodConditions(only(pod.Status.Conditions, func(c corev1.PodCondition) bool {
		return c.Type == corev1.PodReady || c.Type == corev1.PodScheduled && c.Status != corev1.ConditionTrue
	}))
	meta := slimMeta(pod)
	if avoided, found := pod.Annotations[peapodv1alpha1.AvoidedNodesAnnotation]; found {
		meta.Annotations = map[string]string{peapodv1alpha1.AvoidedNodesAnnotation: avoided}
	}
	return &corev1.Pod{
		ObjectMeta: meta,
		Spec:       corev1.PodSpec{NodeName: intern(pod.Spec.NodeName), Tolerations: internTolerations(pod.Spec.Tolerations)},
		Status: corev1.PodStatus{
			Phase:      corev1.PodPhase(intern(string(pod.Status.Phase))),
			Conditions: conditions,
			PodIP:      pod.Status.PodIP,
			Reason:     pod.Status.Reason,
		},
	}, nil
}

// The cached children (slimService, slimBudget, slimConfigMap) keep their metadata, the hash of what peapod
// last applied (an annotation), and the fields peapod applies, so a hand edit of one of them is seen and undone
// (desired.Holds) without reading past the cache; their status and everything else are dropped: a status-only
// change (the disruption controller rewrites a budget's often) then compares equal and costs no write.

// slimService keeps of a Service the selector, ports, type, publishNotReadyAddresses and a clusterIP of None
// (the headless Service's; an allocated clusterIP is the API server's, not peapod's).
func slimService(obj any) (any, error) {
	svc, ok := obj.(*corev1.Service)
	if !ok {
		return passTombstone(obj, "Service")
	}
	spec := corev1.ServiceSpec{
		Type:                     svc.Spec.Type,
		Selector:                 svc.Spec.Selector,
		Ports:                    svc.Spec.Ports,
		PublishNotReadyAddresses: svc.Spec.PublishNotReadyAddresses,
	}
	if svc.Spec.ClusterIP == corev1.ClusterIPNone {
		spec.ClusterIP = corev1.ClusterIPNone
	}
	return &corev1.Service{ObjectMeta: slimChildMeta(svc), Spec: spec}, nil
}

// slimBudget keeps of a PodDisruptionBudget its spec.
func slimBudget(obj any) (any, error) {
	pdb, ok := obj.(*policyv1.PodDisruptionBudget)
	if !ok {
		return passTombstone(obj, "PodDisruptionBudget")
	}
	return &policyv1.PodDisruptionBudget{ObjectMeta: slimChildMeta(pdb), Spec: pdb.Spec}, nil
}

// slimConfigMap keeps of a ConfigMap the peer list, the one key peapod writes.
func slimConfigMap(obj any) (any, error) {
	cm, ok := obj.(*corev1.ConfigMap)
	if !ok {
		return passTombstone(obj, "ConfigMap")
	}
	out := &corev1.ConfigMap{ObjectMeta: slimChildMeta(cm)}
	if peers, found := cm.Data[peapodv1alpha1.PeersFile]; found {
		out.Data = map[string]string{peapodv1alpha1.PeersFile: peers}
	}
	return out, nil
}

// slimRevision keeps of a ControllerRevision its metadata and revision number, not the shape it stores.
func slimRevision(obj any) (any, error) {
	rev, ok := obj.(*appsv1.ControllerRevision)
	if !ok {
		return passTombstone(obj, "ControllerRevision")
	}
	return &appsv1.ControllerRevision{ObjectMeta: slimMeta(rev), Revision: rev.Revision}, nil
}

// slimChildMeta is slimMeta plus the applied-hash annotation.
func slimChildMeta(obj metav1.Object) metav1.ObjectMeta {
	meta := slimMeta(obj)
	if hash, found := obj.GetAnnotations()[peapodv1alpha1.AppliedHashAnnotation]; found {
		meta.Annotations = map[string]string{peapodv1alpha1.AppliedHashAnnotation: hash}
	}
	return meta
}

func slimMeta(obj metav1.Object) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name:                       obj.GetName(),
		Namespace:                  intern(obj.GetNamespace()),
		UID:                        obj.GetUID(),
		ResourceVersion:            obj.GetResourceVersion(),
		CreationTimestamp:          obj.GetCreationTimestamp(),
		DeletionTimestamp:          obj.GetDeletionTimestamp(),
		DeletionGracePeriodSeconds: obj.GetDeletionGracePeriodSeconds(),
		Labels:                     internLabels(obj.GetLabels()),
		OwnerReferences:            internOwners(obj.GetOwnerReferences()),
		Finalizers:                 obj.GetFinalizers(),
	}
}

// slimNode keeps of a Node what failure detection reads: its identity, taints, schedulability and Ready
// condition (a full Node carries its image list and is tens of kilobytes).
func slimNode(obj any) (any, error) {
	node, ok := obj.(*corev1.Node)
	if !ok {
		return passTombstone(obj, "Node")
	}
	conditions := only(node.Status.Conditions, func(c corev1.NodeCondition) bool { return c.Type == corev1.NodeReady })
	return &corev1.Node{
		ObjectMeta: slimMeta(node),
		Spec:       corev1.NodeSpec{Taints: node.Spec.Taints, Unschedulable: node.Spec.Unschedulable},
		Status:     corev1.NodeStatus{Conditions: conditions},
	}, nil
}

// only returns the elements that match, in a new slice.
func only[T any](all []T, match func(T) bool) []T {
	var out []T
	for _, v := range all {
		if match(v) {
			out = append(out, v)
		}
	}
	return out
}

func passTombstone(obj any, what string) (any, error) {
	if tombstone, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		return tombstone, nil
	}
	return nil, fmt.Errorf("caching a %T as a %s", obj, what)
}
